"""The async twins of the Ledger contract (areserve, asettle, ausage, arelease) on
every backend; Redis ones run on redis.asyncio and leave the event loop free."""

from __future__ import annotations

import asyncio
import threading
import warnings

import pytest
from support.redis_server import RedisServer

from guardrail.budgets import Charge, Ledger, MemoryLedger, Refusal, Reservation
from guardrail.budgets.redis_ledger import RedisLedger
from guardrail.errors import BackendError


async def test_1000_tasks_racing_for_5_admit_exactly_5(ledger: Ledger) -> None:
    """1,000 tasks awaiting areserve together for a limit of 5 get exactly 5."""
    charges = [Charge("k", "window", 1, 5, 60), Charge("d", "day", 1, 1000)]

    async def one(i: int) -> bool:
        return isinstance(await ledger.areserve(charges, rid=f"a{i}"), Reservation)

    admitted = await asyncio.gather(*(one(i) for i in range(1000)))
    assert sum(admitted) == 5
    assert [r.used for r in await ledger.ausage(charges)] == [5, 5]
    await ledger.aclose()


async def test_settle_release_and_usage_agree_with_the_sync_calls(ledger: Ledger) -> None:
    """asettle changes what is held, arelease gives it back; sync usage sees the same."""
    charges = [Charge("cost", "month", 3, 10), Charge("c", "concurrent", 1, 1, 30)]
    held = await ledger.areserve(charges, rid="one")
    assert isinstance(held, Reservation)
    assert isinstance(await ledger.areserve(charges, rid="two"), Refusal)
    assert await ledger.asettle(held, [7, 0]) == (7, 0)
    assert [r.used for r in ledger.usage(charges)] == [7, 0]
    again = await ledger.areserve([Charge("cost", "month", 3, 10)], rid="three")
    assert isinstance(again, Reservation)
    await ledger.arelease(again)
    assert [r.used for r in await ledger.ausage(charges)] == [7, 0]
    await ledger.aclose()


async def test_a_redis_round_trip_leaves_the_loop_free(ledger: Ledger) -> None:
    """While areserve waits for Redis, other tasks run (no blocking call on the loop)."""
    if isinstance(ledger, MemoryLedger):
        assert ledger.areserve.__func__ is Ledger.areserve  # type: ignore[attr-defined]
        return  # no I/O: answers at once
    ran_meanwhile: list[bool] = []

    async def other() -> None:
        ran_meanwhile.append(True)

    task = asyncio.get_running_loop().create_task(other())
    held = await ledger.areserve([Charge("free", "day", 1, 5)], rid="x")
    assert ran_meanwhile == [True]  # it ran before the reply came back
    assert isinstance(held, Reservation)
    await task
    await ledger.aclose()


def test_the_asyncio_client_closes_with_its_loop(ledger: Ledger) -> None:
    """asyncio.run in several threads, never calling aclose: one client per loop,
    each closed when its loop shuts down (no unclosed-connection warning)."""
    if not isinstance(ledger, RedisLedger):
        return
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                got = asyncio.run(ledger.areserve([Charge("t", "day", 1, 10)], rid=f"t{i}"))
            assert isinstance(got, Reservation)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert ledger.usage([Charge("t", "day", 0, 10)])[0].used == 4


async def test_redis_down_is_a_backend_error_then_it_recovers(own_redis: RedisServer) -> None:
    """areserve against a stopped Redis raises BackendError (never hangs), and the
    same ledger works again once Redis is back."""
    ledger = RedisLedger.from_url(own_redis.url)
    charges = [Charge("k", "day", 1, 5)]
    assert isinstance(await ledger.areserve(charges, rid="before"), Reservation)
    own_redis.stop()
    with pytest.raises(BackendError, match=r"redis ledger at 127\.0\.0\.1"):
        await ledger.areserve(charges, rid="down")
    own_redis.start()
    assert isinstance(await ledger.areserve(charges, rid="after"), Reservation)
    await ledger.aclose()
    ledger.close()
