"""The Ledger contract, run against every backend (memory and a real Redis)."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from guardrail.budgets import Charge, Ledger, Refusal, Reservation


def race(ledger: Ledger, charges: list[Charge], n: int) -> list[Reservation | Refusal]:
    """``n`` threads released together, each reserving ``charges`` once."""
    barrier = threading.Barrier(n)

    def one(i: int) -> Reservation | Refusal:
        barrier.wait(timeout=30)
        return ledger.reserve(charges, rid=f"r{i}")

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_100_threads_racing_for_5_admit_exactly_5(ledger: Ledger) -> None:
    """100 threads racing for a limit of 5 get exactly 5 reservations."""
    results = race(ledger, [Charge("calls", "window", 1, 5, 60)], 100)
    assert sum(isinstance(r, Reservation) for r in results) == 5
    assert ledger.usage([Charge("calls", "window", 0, 5, 60)])[0].used == 5


async def test_1000_asyncio_tasks_racing_for_5_admit_exactly_5(ledger: Ledger) -> None:
    """1,000 asyncio tasks (each yielding first) racing for a limit of 5 get exactly 5."""

    async def one(i: int) -> bool:
        await asyncio.sleep(0)
        return isinstance(ledger.reserve([Charge("k", "day", 1, 5)], rid=f"a{i}"), Reservation)

    admitted = await asyncio.gather(*(one(i) for i in range(1000)))
    assert sum(admitted) == 5


def test_concurrent_spend_never_exceeds_a_cost_cap(ledger: Ledger) -> None:
    """Threads spending random amounts near a cap of 10 never hold more than 10 in total."""
    rng = random.Random(7)
    amounts = [rng.choice([0.3, 0.7, 1.1, 2.9]) for _ in range(60)]
    barrier = threading.Barrier(len(amounts))

    def spend(i: int) -> float:
        barrier.wait(timeout=30)
        got = ledger.reserve([Charge("spend", "month", amounts[i], 10)], rid=f"s{i}")
        return amounts[i] if isinstance(got, Reservation) else 0.0

    with ThreadPoolExecutor(max_workers=len(amounts)) as pool:
        spent = sum(pool.map(spend, range(len(amounts))))
    used = ledger.usage([Charge("spend", "month", 0, 10)])[0].used
    assert abs(used - spent) < 1e-9
    assert used <= 10
    assert used > 10 - 2.9  # nothing that would still fit was turned away


def test_a_released_reservation_gives_the_budget_back(ledger: Ledger) -> None:
    """A failed call's release returns its whole reservation on every key."""
    charges = [Charge("c", "day", 4, 5), Charge("w", "window", 1, 1, 60)]
    held = ledger.reserve(charges, rid="one")
    assert isinstance(held, Reservation)
    assert isinstance(ledger.reserve(charges, rid="two"), Refusal)
    ledger.release(held)
    assert [r.used for r in ledger.usage(charges)] == [0, 0]
    assert isinstance(ledger.reserve(charges, rid="three"), Reservation)


def test_a_cost_larger_than_the_cap_charges_nothing(ledger: Ledger) -> None:
    """A charge above its cap is refused, with no retry time, and no key is charged."""
    charges = [Charge("calls", "window", 1, 10, 60), Charge("cost", "day", 11, 10)]
    refusal = ledger.reserve(charges, rid="big")
    assert isinstance(refusal, Refusal)
    assert refusal.index == 1
    assert refusal.retry_after is None
    assert [r.used for r in ledger.usage(charges)] == [0, 0]


def test_exactly_at_the_cap_is_admitted_and_above_is_not(ledger: Ledger) -> None:
    """used + amount == limit is admitted (exact decimals); anything more is refused."""
    cap = [Charge("b", "total", 0.1, 0.3)]
    for i in range(3):
        assert isinstance(ledger.reserve(cap, rid=f"d{i}"), Reservation)
    assert isinstance(ledger.reserve(cap, rid="over"), Refusal)
    tiny = [Charge("b", "total", 0.000001, 0.3)]
    assert isinstance(ledger.reserve(tiny, rid="tiny"), Refusal)
    assert isinstance(ledger.reserve([Charge("b", "total", 0, 0.3)], rid="zero"), Reservation)


def test_all_keys_or_none(ledger: Ledger) -> None:
    """When one key is full, the other keys of the same reservation are not charged."""
    assert isinstance(ledger.reserve([Charge("full", "day", 2, 2)], rid="fill"), Reservation)
    charges = [Charge("room", "day", 1, 5), Charge("full", "day", 1, 2)]
    refusal = ledger.reserve(charges, rid="x")
    assert isinstance(refusal, Refusal)
    assert refusal.index == 1
    assert refusal.used == 2
    assert ledger.usage([charges[0]])[0].used == 0


def test_settle_refunds_or_charges_extra(ledger: Ledger) -> None:
    """Settling to the real cost refunds the difference, or charges more (even past the cap)."""
    charges = [Charge("s", "window", 5, 10, 60), Charge("t", "day", 5, 10)]
    first = ledger.reserve(charges, rid="one")
    assert isinstance(first, Reservation)
    assert ledger.settle(first, [2, 2]) == (2, 2)
    second = ledger.reserve(charges, rid="two")
    assert isinstance(second, Reservation)
    assert ledger.settle(second, [9, 9]) == (11, 11)
    refusal = ledger.reserve([Charge("t", "day", 0, 10)], rid="three")
    assert isinstance(refusal, Refusal)


def test_a_sliding_window_forgets_old_entries(ledger: Ledger) -> None:
    """Entries leave a 0.5 s window when it slides past them; retry_after says when."""
    charge = [Charge("slide", "window", 1, 2, 0.5)]
    assert isinstance(ledger.reserve(charge, rid="a"), Reservation)
    assert isinstance(ledger.reserve(charge, rid="b"), Reservation)
    refusal = ledger.reserve(charge, rid="c")
    assert isinstance(refusal, Refusal)
    assert refusal.retry_after is not None
    assert 0 < refusal.retry_after <= 0.5
    time.sleep(0.55)
    assert isinstance(ledger.reserve(charge, rid="d"), Reservation)
    assert ledger.usage(charge)[0].used == 1


def test_concurrent_slots_are_returned(ledger: Ledger) -> None:
    """A concurrent slot is held until released, then free again."""
    slot = [Charge("inflight", "concurrent", 1, 1, 3600)]
    held = ledger.reserve(slot, rid="a")
    assert isinstance(held, Reservation)
    refused = ledger.reserve(slot, rid="b")
    assert isinstance(refused, Refusal)
    assert refused.retry_after is None
    ledger.release(held)
    assert isinstance(ledger.reserve(slot, rid="c"), Reservation)


def test_calendar_periods_reset_at_utc_midnight_and_month_start(ledger: Ledger) -> None:
    """A full day or month budget says when it resets: the next UTC midnight / 1st."""
    day, month = Charge("d", "day", 1, 1), Charge("m", "month", 1, 1)
    assert isinstance(ledger.reserve([day, month], rid="a"), Reservation)
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    first = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    for charge, reset in ((day, midnight), (month, first)):
        refusal = ledger.reserve([charge], rid="b")
        assert isinstance(refusal, Refusal)
        assert refusal.reset == reset.timestamp()
        assert refusal.retry_after is not None
        assert abs(refusal.retry_after - (reset - now).total_seconds()) < 5
    assert [r.reset for r in ledger.usage([day, month])] == [
        midnight.timestamp(),
        first.timestamp(),
    ]
