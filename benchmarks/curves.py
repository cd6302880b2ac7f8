"""Group 3: how the cost moves with policy size, distinct principals and processes."""

from __future__ import annotations

import functools
import itertools
import multiprocessing
import os
import queue
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks import _features as F
from benchmarks._context import Env
from benchmarks._harness import Case
from guardrail import Policy, Principal
from guardrail.policy import Decision
from guardrail.policy.evaluator import Evaluator

POLICY = "3a policy size (us/decision)"
PRINCIPALS = "3b distinct principals (us/call over raw)"
PROCESSES = "3c processes on one Redis (calls/s, all processes)"

ARGS = {"order_id": "A-17", "amount": 40.0}


def add(env: Env) -> None:
    _policy_sizes(env)
    _principals(env)


# -- policy size ------------------------------------------------------------------------------


def _policy_sizes(env: Env) -> None:
    sizes = (10, 100, 1000) if env.quick else (10, 1000, 100_000)
    for size in sizes:
        start = time.perf_counter()
        policy = Policy.from_dict({"rules": F.policy_rules(size)})
        evaluator = policy.evaluator
        globs = sum(1 for r in policy.rules for t in r.tools if "*" in t)
        built_s = time.perf_counter() - start
        env.case(
            Case(
                key=f"policy.{size}",
                group=POLICY,
                label=f"{size:,} rules: decide()",
                sync=functools.partial(evaluator.decide, "refund", F.SUPPORT, ARGS),
                note=f"{globs:,} glob rules; load+compile {built_s:.1f}s",
            )
        )
        env.case(
            Case(
                key=f"policy.{size}.miss",
                group=POLICY,
                label=f"{size:,} rules: first decision for a tool name",
                sync=_unseen(evaluator),
                fixed_n=10 if size >= 100_000 else 200,
                note="memo miss: only globs filed under a prefix of the name are tried",
            )
        )


def _unseen(evaluator: Evaluator) -> Callable[[], Decision]:
    names = (f"unseen_{i}" for i in itertools.count())
    return lambda: evaluator.decide(next(names), F.SUPPORT, ARGS)


# -- distinct principals ------------------------------------------------------------------------


def _rss() -> int:
    """Resident set size of this process in bytes (Linux), 0 elsewhere."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def _principal(i: int) -> Principal:
    # model_construct: a million validated models would time pydantic, not the ledger
    return Principal.model_construct(
        subject=f"user-{i}",
        org="acme",
        teams=(f"team-{i % 1000}",),
        roles=frozenset({"support"}),
        scopes=frozenset(),
        attributes={},
        issuer=None,
        token=None,
        expires_at=None,
    )


def _principals(env: Env) -> None:
    sizes = (1, 100, 1000) if env.quick else (1, 10_000, 1_000_000)
    ledger = F.HAS_MEMORY_LEDGER
    how = "memory ledger, 3 limits" if ledger else "policy+identity only (ledger not landed)"
    for size in sizes:
        built = F.build(ledger="memory://")
        guard, fn = built.guard, built.sync
        if guard is None or fn is None:
            env.na(PRINCIPALS, f"{size:,} principals", f"build failed: {built.error}")
            continue
        memory = "no per-principal state without a ledger"
        if ledger:
            try:
                size, memory = _fill(env, size, guard, fn)
            except Exception as exc:
                env.na(PRINCIPALS, f"{size:,} principals", f"failed: {type(exc).__name__}: {exc}")
                continue
        step = max(1, size // 65_536)
        pool = [_principal(i) for i in range(0, size, step)]
        cycle = itertools.cycle(pool)

        def call(guard: Any = guard, fn: Any = fn, cycle: Any = cycle) -> Any:
            with guard.acting_as(next(cycle)):
                return fn("A-17", 40.0)

        env.case(
            Case(
                key=f"principals.{size}",
                group=PRINCIPALS,
                label=f"{size:,} principals",
                baseline="raw.sync",
                sync=call,
                note=f"{how}; acting_as per call; {memory}",
            )
        )


FILL_SECONDS = 45.0
"""Setting up principals stops after this long (a loaded machine): the row then says how
many it reached, so ``make bench`` stays within about five minutes."""


def _fill(env: Env, size: int, guard: Any, fn: Any) -> tuple[int, str]:
    """Charge the ledger once for each of ``size`` principals (at most ``FILL_SECONDS``);
    how many, and what that costs in memory."""
    before = _rss()
    start = time.perf_counter()
    deadline = start + FILL_SECONDS
    for i in range(size):
        with guard.acting_as(_principal(i)):
            fn("A-17", 40.0)
        if i % 4096 == 4095 and time.perf_counter() > deadline:
            size = i + 1
            break
    fill_s = time.perf_counter() - start
    grown = max(_rss() - before, 0)
    env.extra[f"principals.{size}.rss_bytes"] = grown
    return size, (
        f"RSS +{grown / 2**20:.0f} MiB ({grown / size:,.0f} B/principal); "
        f"{size:,} first calls took {fill_s:.1f}s"
    )


# -- processes on one Redis ---------------------------------------------------------------------


def _worker(index: int, kind: str, url: str, windows: int, seconds: float, barrier: Any,
            results: Any) -> None:  # fmt: skip
    """One process: build the client, then count calls in each synchronized window."""
    try:
        results.put(_count_calls(index, kind, url, windows, seconds, barrier))
    except Exception as exc:
        barrier.abort()
        results.put(f"{type(exc).__name__}: {exc}")


def _count_calls(index: int, kind: str, url: str, windows: int, seconds: float,
                 barrier: Any) -> list[int]:  # fmt: skip
    if kind == "ledger":
        built = F.build(ledger=url)
        assert built.guard is not None and built.sync is not None, built.error
        guard, fn = built.guard, built.sync
        me = Principal(subject=f"worker-{index}", org="acme", teams=("support-eu",),
                       roles=frozenset({"support"}))  # fmt: skip

        def one() -> Any:
            return fn("A-17", 40.0)

        context: Any = guard.acting_as(me)
    else:
        import contextlib

        import redis

        from benchmarks.alternatives import RESERVE_LUA

        client = redis.Redis.from_url(url)
        sha = client.script_load(RESERVE_LUA)
        keys = [f"p:user:worker-{index}", "p:team:support-eu", "p:org:acme"]

        def one() -> Any:
            return client.evalsha(sha, 3, *keys, 1, 1e15, 86400)

        context = contextlib.nullcontext()
    with context:
        for _ in range(50):
            one()
        counts = []
        for _ in range(windows):
            barrier.wait(timeout=120)
            done, end = 0, time.perf_counter() + seconds
            while time.perf_counter() < end:
                for _ in range(20):
                    one()
                done += 20
            counts.append(done)
    return counts


def processes(env: Env) -> None:
    """Aggregate calls/s with 1, 2 and 4 processes on one Redis (outside the harness)."""
    url = env.redis_url
    kinds = [("evalsha", "raw EVALSHA")]
    if F.HAS_REDIS_LEDGER:
        kinds.insert(0, ("ledger", "guarded call, Redis ledger"))
    else:
        env.na(PROCESSES, "guarded call, Redis ledger", F.NOT_LANDED + ": RedisLedger")
    if url is None:
        for _, label in kinds:
            env.na(PROCESSES, label, env.redis_error)
        return
    counts = (1, 2) if env.quick else (1, 2, 4)
    windows, seconds = (1, 0.2) if env.quick else (3, 1.0)
    spawn = multiprocessing.get_context("spawn")
    for kind, label in kinds:
        for n in counts:
            barrier = spawn.Barrier(n)
            results = spawn.Queue()
            args = (kind, url, windows, seconds, barrier, results)
            procs = [spawn.Process(target=_worker, args=(i, *args)) for i in range(n)]
            for proc in procs:
                proc.start()
            per_proc = _collect(procs, results)
            for proc in procs:
                proc.join(timeout=60)
            errors = [r for r in per_proc if isinstance(r, str)]
            if errors:
                env.na(PROCESSES, f"{label}, {n} processes", f"failed: {errors[0]}"[:200])
                continue
            rates = [sum(window) / seconds for window in zip(*per_proc, strict=True)]
            env.extra[f"procs.{kind}.{n}"] = statistics.median(rates)
            env.rows.append(
                _rate_row(f"{label}, {n} process{'es' if n > 1 else ''}", rates, windows, seconds)
            )


def _collect(procs: list[Any], results: Any) -> list[Any]:
    """One result per process; a process that died without one is reported, not waited on."""
    got: list[Any] = []
    deadline = time.monotonic() + 300
    while len(got) < len(procs) and time.monotonic() < deadline:
        try:
            got.append(results.get(timeout=1))
        except queue.Empty:
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead:
                for proc in procs:
                    proc.kill()
                return [*got, f"a worker exited with code {dead[0]}"]
    return got if len(got) == len(procs) else [*got, "workers timed out"]


def _rate_row(label: str, rates: list[float], windows: int, seconds: float) -> Any:
    from benchmarks._context import Row

    return Row(
        group=PROCESSES,
        label=label,
        value=f"{statistics.median(rates):>9,.0f} {min(rates):>9,.0f} {max(rates):>9,.0f} {'':>9}",
        note=f"median/min/max of {windows} x {seconds:g}s windows, 2-core machine",
    )
