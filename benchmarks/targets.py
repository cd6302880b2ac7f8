"""Group 6: figures measured outside the timing harness, each against an issue-15 target.

- ``import guardrail`` in a fresh interpreter (median of several), and what an app's
  first line costs: ``from guardrail import Guard, Policy, Principal`` (which loads
  pydantic, OpenTelemetry and the pipeline; the top level itself is lazy).
- Group commit: 16 threads making guarded calls through a ``ChainLog(fsync="always")``:
  how many records share one fdatasync.
- The event loop under 1,000 concurrent async guarded calls (ChainLog + Redis ledger):
  the longest stretch one guarded call holds the loop without yielding (a "stall"),
  timed around every step of every call's coroutine, and a 1 ms ticker's lag.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Coroutine, Generator
from typing import Any, TypeVar

from benchmarks import _features as F
from benchmarks._context import Env, Row
from guardrail import Guard
from guardrail.audit import ChainLog
from guardrail.budgets.redis_ledger import RedisLedger

GROUP = "6 targets measured outside the harness"
T = TypeVar("T")

IMPORT = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
APP_IMPORT = "from guardrail import Guard, Policy, Principal"


def add(env: Env) -> None:
    """Measure every figure of this group now (bounded in count and time)."""
    env.extra["import_ms"] = import_ms(env, "import guardrail")
    _row(env, "import guardrail (fresh interpreter, median)", f"{env.extra['import_ms']:.1f} ms")
    label = f"{APP_IMPORT} (same)"
    _row(env, label, f"{import_ms(env, APP_IMPORT):.1f} ms", "no target; pydantic alone ~100 ms")
    env.extra["records_per_fsync"] = group_commit(env, guarded=False)
    label = "fsync=always, 16 threads appending: records/fdatasync"
    _row(env, label, f"{env.extra['records_per_fsync']:.1f}", "ChainLog.append in a loop")
    label = "fsync=always, 16 threads of guarded calls: same"
    _row(env, label, f"{group_commit(env, guarded=True):.1f}", "intent + outcome per call")
    if env.redis_url is None:
        env.na(GROUP, "loop stall, 1,000 async calls", env.redis_error)
        return
    stall = asyncio.run(loop_stall(env, env.redis_url))
    _row(env, "1,000 async calls: longest loop stall by a call", f"{stall['max']:.0f} us",
         f"p99 {stall['p99']:.0f} us; ticker lag p50 {stall['lag50']:.0f} us, "
         f"p99 {stall['lag99']:.0f} us (a busy loop, not a stall)")  # fmt: skip


def _row(env: Env, label: str, value: str, note: str = "") -> None:
    env.rows.append(Row(group=GROUP, label=label, value=value, note=note))


def import_ms(env: Env, statement: str) -> float:
    """Median ms of ``statement`` as the first thing a fresh interpreter does."""
    runs = 3 if env.quick else 7
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", IMPORT.format(statement)],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        times.append(float(out.stdout) * 1000)
    return statistics.median(times)


def group_commit(env: Env, *, guarded: bool) -> float:
    """Records per fdatasync: 16 threads on one ChainLog(fsync="always"), each either
    appending in a loop or making guarded calls (an intent and an outcome each)."""
    per_thread = 20 if env.quick else 150
    log = ChainLog(env.workdir / f"group-commit-{guarded}.jsonl", fsync="always")
    guard = Guard(F.policy(limits=False), audit=[log])
    refund = guard.tool(F.refund)
    start = threading.Barrier(16)

    def work(thread: int) -> None:
        start.wait()
        with guard.acting_as(F.SUPPORT):
            for i in range(per_thread):
                if guarded:
                    refund("A-17", 40.0)
                else:
                    log.append("event", {"thread": thread, "i": i})

    before = log.commits
    threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    syncs = log.commits - before
    log.close()
    records = 16 * per_thread * (2 if guarded else 1)
    return records / max(syncs, 1)


async def loop_stall(env: Env, redis_url: str) -> dict[str, float]:
    """1,000 concurrent guarded async calls (ChainLog batch + Redis, 3 limits)."""
    ledger = RedisLedger.from_url(redis_url, prefix=f"stall-{time.time_ns()}:")
    log = ChainLog(env.workdir / "stall.jsonl", fsync="batch")
    guard = Guard(F.policy(limits=True), ledger=ledger, audit=[log])
    arefund = guard.tool(F.arefund)
    steps: list[float] = []
    lags: list[float] = []
    done = asyncio.Event()
    ticker = asyncio.get_running_loop().create_task(_tick(lags, done))
    with guard.acting_as(F.SUPPORT):
        await _stepped(arefund("warm", 1.0), [])  # connections and caches, not timed
        calls = 100 if env.quick else 1_000
        await asyncio.gather(*(_stepped(arefund(f"A-{i}", 1.0), steps) for i in range(calls)))
    done.set()
    await ticker
    await ledger.aclose()
    ledger.close()
    log.close()
    steps.sort()
    lags.sort()
    stall = {
        "max": steps[-1] * 1e6,
        "p99": steps[int(len(steps) * 0.99)] * 1e6,
        "lag50": statistics.median(lags) * 1e6 if lags else 0.0,
        "lag99": lags[int(len(lags) * 0.99)] * 1e6 if lags else 0.0,
    }
    env.extra["loop_stall_us"] = stall["max"]
    return stall


async def _tick(lags: list[float], done: asyncio.Event) -> None:
    while not done.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(0.001)
        lags.append(time.perf_counter() - asked - 0.001)


def _stepped(coro: Coroutine[Any, Any, T], steps: list[float]) -> Awaitable[T]:
    """``coro``, with the time of each of its steps (from one suspension to the next,
    i.e. how long it held the loop at once) appended to ``steps``."""
    return _Stepped(coro, steps)


class _Stepped(Awaitable[T]):
    def __init__(self, coro: Coroutine[Any, Any, T], steps: list[float]) -> None:
        self.coro = coro
        self.steps = steps

    def __await__(self) -> Generator[Any, Any, T]:
        clock, send, throw = time.perf_counter, self.coro.send, self.coro.throw
        value: Any = None
        error: BaseException | None = None
        while True:
            began = clock()
            try:
                yielded = send(value) if error is None else throw(error)
            except StopIteration as stop:
                self.steps.append(clock() - began)
                result: T = stop.value
                return result
            self.steps.append(clock() - began)
            try:
                value, error = (yield yielded), None
            except BaseException as exc:
                value, error = None, exc
