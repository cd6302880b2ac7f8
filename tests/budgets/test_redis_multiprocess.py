"""Several OS processes with skewed clocks share one Redis ledger exactly."""

from __future__ import annotations

import multiprocessing

from support.redis_server import RedisServer

from .clock_worker import run

OFFSETS = (-30.0, -10.0, 10.0, 30.0)


def test_four_processes_with_skewed_clocks_hold_a_global_limit_exactly(
    redis_server: RedisServer,
) -> None:
    """4 processes (app clocks -30 s .. +30 s) make 100 attempts at a limit of 40: 40 pass."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(OFFSETS))
    results = ctx.Queue()
    procs = [
        ctx.Process(target=run, args=(redis_server.url, offset, 25, barrier, results))
        for offset in OFFSETS
    ]
    for proc in procs:
        proc.start()
    try:
        got = [results.get(timeout=120) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
    assert sorted(offset for offset, _, _ in got) == list(OFFSETS)
    assert all(skew == offset for offset, _, skew in got)  # the skew was really in effect
    assert sum(admitted for _, admitted, _ in got) == 40
    assert all(proc.exitcode == 0 for proc in procs)
