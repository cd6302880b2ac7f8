"""Group 4: where the lean path spends its time (cProfile, printed after the table)."""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import _features as F


def profile(calls: int, variant: str = "lean", workdir: Path | None = None) -> str:
    """Profile ``calls`` sync calls of ``variant`` (``lean``, or ``audited``: with a
    ChainLog, fsync batched, in ``workdir``); the top functions by own time, as text.
    CPU time (``time.process_time``), so waiting on another thread is not counted."""
    chain = workdir / f"profile-{variant}.jsonl" if variant == "audited" and workdir else None
    built = F.build(ledger="memory://", chain_path=chain)
    guard, fn = built.guard, built.sync
    if guard is None or fn is None:
        return f"profile: {variant} guard failed to build: {built.error}"
    with guard.acting_as(F.SUPPORT):
        for _ in range(1000):
            fn("A-17", 40.0)
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(calls):
            fn("A-17", 40.0)
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(18)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    header = (
        f"cProfile, {calls:,} {variant} sync calls: {total / calls * 1e6:.2f} us/call under "
        "the profiler (profiling inflates small functions); top functions by own time:"
    )
    return "\n".join([header, *lines[start:]])


def stages(calls: int) -> str:
    """The lean sync call taken apart: each stage timed alone (CPU time, no profiler)."""
    from guardrail.call import Call
    from guardrail.pipeline import Engine

    built = F.build(ledger="memory://")
    guard, fn = built.guard, built.sync
    if guard is None or fn is None:
        return f"stages: lean guard failed to build: {built.error}"
    spec = guard.tools["refund"]
    binder = spec.binder
    assert binder is not None
    evaluator = guard.policy.evaluator
    args = ("A-17", 40.0)
    bound = binder.bind(args, {})
    engine = Engine(guard.steps)

    def engine_run() -> object:
        call = Call(tool=spec, args=bound, principal=F.SUPPORT)
        return engine.run(call, F.refund, (), bound)

    parts = [
        ("raw function", lambda: F.refund(*args)),
        ("ArgBinder.bind (plain types: no pydantic)", lambda: binder.bind(args, {})),
        ("ArgBinder.bind + pydantic (a str amount)", lambda: binder.bind(("A-17", "40"), {})),
        ("Call(...) (id, clocks)", lambda: Call(tool=spec, args=bound, principal=None)),
        ("Evaluator.decide (20 rules)", lambda: evaluator.decide("refund", F.SUPPORT, bound)),
        ("Call + Engine.run (steps, context)", engine_run),
        ("guarded call, all of it", lambda: fn(*args)),
    ]
    lines = [f"lean sync call by stage ({calls:,} calls each, CPU time of this process):"]
    with guard.acting_as(F.SUPPORT):
        for label, part in parts:
            per_call = _cpu_per_call(part, calls)
            lines.append(f"  {label:<52} {per_call:7.2f} us")
    return "\n".join(lines)


def _cpu_per_call(part: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time_ns()
        for _ in range(calls):
            part()
        best = min(best, (time.process_time_ns() - start) / calls / 1000)
    return best
