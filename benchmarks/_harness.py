"""A small timing harness: every case runs interleaved, round by round, in one process.

Absolute times on a shared machine are noisy; a variant and the raw call it is
compared with are timed back to back in the same round, so their *difference*
(the overhead) and the ratios between variants stay meaningful. Each figure is
the median over rounds, with the min and max next to it.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

SyncFn = Callable[[], Any]
AsyncFn = Callable[[], Awaitable[Any]]


@dataclass(kw_only=True)
class Case:
    """One thing to time: a no-argument sync function or coroutine function."""

    key: str
    """Unique id, used by targets and by ``baseline`` references."""
    group: str
    label: str
    sync: SyncFn | None = None
    async_: AsyncFn | None = None
    baseline: str | None = None
    """Key of a case to subtract, round by round: the figure becomes an overhead."""
    fixed_n: int | None = None
    """Calls per round when a call consumes something (fresh tokens); else calibrated."""
    around: Callable[[], AbstractContextManager[Any]] = nullcontext
    """Entered around each batch, outside the timer (e.g. ``guard.acting_as(...)``)."""
    note: str = ""
    waits: bool = False
    """The call waits on a socket: its wall time, not CPU time, is its cost."""
    error: str | None = None
    """Why the case could not be timed (it raised); it is then left out of the rounds."""
    n: int = 0
    samples: list[float] = field(default_factory=list)
    """Wall-clock nanoseconds per call, one per round."""
    cpu_samples: list[float] = field(default_factory=list)
    """This process's CPU nanoseconds per call (all its threads), one per round."""


@dataclass
class Stats:
    median: float
    low: float
    high: float
    cpu: float | None = None
    """Median CPU time of this process (a shared machine steals wall time, not CPU)."""

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        return cls(statistics.median(values), min(values), max(values))


class Harness:
    """Calibrates every case, then times them in shuffled order for ``rounds`` rounds."""

    def __init__(self, *, rounds: int, batch_ms: float, seed: int = 7) -> None:
        self.rounds = rounds
        self.batch_ns = batch_ms * 1e6
        self.cases: dict[str, Case] = {}
        self.loop = asyncio.new_event_loop()
        self._random = random.Random(seed)

    def add(self, case: Case) -> None:
        if case.key in self.cases:
            raise ValueError(f"duplicate case {case.key}")
        self.cases[case.key] = case

    def close(self) -> None:
        self.loop.close()

    # -- timing -----------------------------------------------------------------------

    def _time(self, case: Case, n: int) -> float:
        """Wall-clock nanoseconds per call over ``n`` back-to-back calls."""
        with case.around():
            return self._time_batch(case, n)

    def _sample(self, case: Case) -> None:
        cpu = time.process_time_ns()
        case.samples.append(self._time(case, case.n))
        case.cpu_samples.append((time.process_time_ns() - cpu) / case.n)

    def _time_batch(self, case: Case, n: int) -> float:
        if case.sync is not None:
            fn = case.sync
            start = time.perf_counter_ns()
            for _ in range(n):
                fn()
            return (time.perf_counter_ns() - start) / n
        assert case.async_ is not None
        afn = case.async_

        async def batch() -> int:
            start = time.perf_counter_ns()
            for _ in range(n):
                await afn()
            return time.perf_counter_ns() - start

        return self.loop.run_until_complete(batch()) / n

    def _calibrate(self, case: Case) -> None:
        if case.fixed_n is not None:
            case.n = case.fixed_n
            return
        n = 8
        self._time(case, n)  # warm up: caches, memos, first-call imports
        while True:
            per_call = self._time(case, n)
            if per_call * n >= self.batch_ns / 4 or n >= 1 << 22:
                break
            n *= 2
        case.n = max(8, int(self.batch_ns / max(per_call, 1.0)))

    def run(self, progress: Callable[[str], None] | None = None) -> None:
        order = []
        for case in self.cases.values():
            try:
                self._calibrate(case)
            except Exception as exc:  # a feature that landed with another shape: say so
                case.error = f"{type(exc).__name__}: {exc}"[:200]
                continue
            order.append(case)
        for case in self.cases.values():
            if case.baseline is not None and self.cases[case.baseline].error is not None:
                case.error = f"baseline {case.baseline} failed"
        order = [case for case in order if case.error is None]
        gc.collect()
        for round_no in range(self.rounds):
            self._random.shuffle(order)
            for case in order:
                self._sample(case)
            if progress is not None:
                progress(f"round {round_no + 1}/{self.rounds}")

    # -- results ----------------------------------------------------------------------

    def values(self, key: str, *, cpu: bool = False) -> list[float]:
        """Per-round figures for ``key`` in microseconds, the baseline subtracted."""
        case = self.cases[key]
        samples = case.cpu_samples if cpu else case.samples
        if case.baseline is None:
            return [s / 1000 for s in samples]
        baseline = self.cases[case.baseline]
        base = baseline.cpu_samples if cpu else baseline.samples
        return [(s - b) / 1000 for s, b in zip(samples, base, strict=True)]

    def stats(self, key: str) -> Stats | None:
        case = self.cases.get(key)
        if case is None or not case.samples or case.error is not None:
            return None
        stats = Stats.of(self.values(key))
        stats.cpu = statistics.median(self.values(key, cpu=True))
        return stats
