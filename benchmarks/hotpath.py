"""Group 4: where the lean path spends its time (cProfile, printed after the table)."""

from __future__ import annotations

import cProfile
import io
import pstats

from benchmarks import _features as F


def profile(calls: int) -> str:
    """Profile ``calls`` lean sync calls; the top functions by own time, as text."""
    built = F.build(ledger="memory://")
    guard, fn = built.guard, built.sync
    if guard is None or fn is None:
        return f"profile: lean guard failed to build: {built.error}"
    with guard.acting_as(F.SUPPORT):
        for _ in range(1000):
            fn("A-17", 40.0)
        profiler = cProfile.Profile()
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
        f"cProfile, {calls:,} lean sync calls: {total / calls * 1e6:.2f} us/call under the "
        "profiler (profiling inflates small functions); top functions by own time:"
    )
    return "\n".join([header, *lines[start:]])
