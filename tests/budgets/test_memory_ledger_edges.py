"""MemoryLedger behaviour no other test pins: UTC day and month boundaries, eviction past
``maxsize``, settling after a key is gone, window compaction, readings and retry times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guardrail.budgets import Charge, MemoryLedger, Refusal, Reservation


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def at(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def reserved(result: Reservation | Refusal) -> Reservation:
    assert isinstance(result, Reservation), result
    return result


def refused(result: Reservation | Refusal) -> Refusal:
    assert isinstance(result, Refusal), result
    return result


def test_a_day_limit_resets_exactly_at_utc_midnight() -> None:
    """Spent one second before midnight: refused until 00:00:00 UTC, admitted at it."""
    clock = Clock(at(2026, 3, 4, 23, 59, 59))
    ledger = MemoryLedger(clock=clock)
    charge = [Charge("d", "day", 2, 2)]
    held = reserved(ledger.reserve(charge, rid="a"))
    assert held.held[0].reset == at(2026, 3, 5)
    refusal = refused(ledger.reserve(charge, rid="b"))
    assert refusal.retry_after == 1 and refusal.reset == at(2026, 3, 5) and refusal.used == 2
    clock.now = at(2026, 3, 5) - 0.001
    refused(ledger.reserve(charge, rid="c"))
    clock.now = at(2026, 3, 5)
    assert reserved(ledger.reserve(charge, rid="d")).held[0].used == 2
    reading = ledger.usage(charge)[0]
    assert (reading.used, reading.reset) == (2, at(2026, 3, 6))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ((2026, 12, 31, 23, 59, 59), (2027, 1, 1)),  # the year rolls over too
        ((2028, 2, 29, 12, 0, 0), (2028, 3, 1)),  # a leap February
        ((2026, 4, 30, 23, 0, 0), (2026, 5, 1)),
    ],
)
def test_a_month_limit_resets_at_the_first_of_the_next_utc_month(
    before: tuple[int, ...], after: tuple[int, ...]
) -> None:
    """The month's counter holds until the first second of the next month, UTC."""
    clock = Clock(at(*before))
    ledger = MemoryLedger(clock=clock)
    charge = [Charge("m", "month", 5, 5)]
    assert reserved(ledger.reserve(charge, rid="a")).held[0].reset == at(*after)
    refusal = refused(ledger.reserve(charge, rid="b"))
    assert refusal.retry_after == at(*after) - clock.now
    clock.now = at(*after)
    assert reserved(ledger.reserve(charge, rid="c")).held[0].reset > at(*after)
    assert ledger.usage(charge)[0].used == 5


def test_settling_across_midnight_changes_the_day_it_was_charged_on() -> None:
    """A reservation made before midnight and settled after corrects its own day."""
    clock = Clock(at(2026, 3, 4, 23, 59, 59))
    ledger = MemoryLedger(clock=clock)
    held = reserved(ledger.reserve([Charge("d", "day", 3, 10)], rid="a"))
    clock.now = at(2026, 3, 5, 0, 0, 1)
    assert ledger.settle(held, [1]) == (1,)
    assert ledger.usage([Charge("d", "day", 0, 10)])[0].used == 0  # the new day is clean


def test_past_maxsize_the_oldest_keys_are_evicted_first() -> None:
    """More live keys than ``maxsize``: the oldest are dropped, down to 15/16 of it."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock, maxsize=32)
    for i in range(33):
        reserved(ledger.reserve([Charge(f"k{i}", "total", 1, 1)], rid=f"r{i}"))
    assert len(ledger._keys) == 30  # 33 - (33 - 32 + 32 // 16)
    assert ledger.usage([Charge("k0", "total", 0, 1)])[0].used == 0  # forgotten
    assert ledger.usage([Charge("k2", "total", 0, 1)])[0].used == 0
    assert ledger.usage([Charge("k3", "total", 0, 1)])[0].used == 1  # kept
    assert ledger.usage([Charge("k32", "total", 0, 1)])[0].used == 1


def test_eviction_drops_expired_keys_before_live_ones() -> None:
    """Past ``maxsize``, keys whose window is over go first; live ones stay."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock, maxsize=4)
    for i in range(3):
        reserved(ledger.reserve([Charge(f"old{i}", "window", 1, 5, 10)], rid=f"o{i}"))
    clock.now += 15  # old windows are over; their expiry (2 spans) not yet due
    reserved(ledger.reserve([Charge("live", "total", 1, 5)], rid="l"))
    clock.now += 10  # now due
    reserved(ledger.reserve([Charge("new", "total", 1, 5)], rid="n"))
    assert sorted(ledger._keys) == ["live", "new"]


def test_a_reservation_whose_window_was_evicted_settles_to_nothing() -> None:
    """An in-flight slot whose key was dropped settles without error and changes nothing."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock, maxsize=1)
    slot = reserved(ledger.reserve([Charge("slot", "concurrent", 1, 1, 3600)], rid="s"))
    reserved(ledger.reserve([Charge("other", "total", 1, 1)], rid="o"))
    reserved(ledger.reserve([Charge("third", "total", 1, 1)], rid="t"))
    assert "slot" not in ledger._keys
    assert ledger.settle(slot, [0]) == (0.0,)
    reserved(ledger.reserve([Charge("slot", "concurrent", 1, 1, 3600)], rid="s2"))


def test_a_prepared_plan_moves_to_the_next_calendar_slot_at_midnight() -> None:
    """A plan prepared once keeps charging today's day and month slots, and the next
    day's (and month's) from the first reservation after midnight UTC."""
    clock = Clock(at(2026, 1, 31, 23, 59))
    ledger = MemoryLedger(clock=clock)
    plan = ledger.prepare([Charge("d", "day", 1, 2), Charge("m", "month", 1, 3)])
    for rid in ("a", "b"):
        reserved(ledger.reserve(plan, rid=rid))
    assert isinstance(ledger.reserve(plan, rid="c"), Refusal)  # the day's 2 are used
    clock.now = at(2026, 2, 1, 0, 1)
    held = reserved(ledger.reserve(plan, rid="d"))
    assert [h.used for h in held.held] == [1.0, 1.0]  # a new day and a new month
    assert [r.used for r in ledger.usage(list(plan))] == [1.0, 1.0]


def test_settle_after_a_key_expired_reports_zero() -> None:
    """A counter dropped by its expiry (a day past its reset) settles to 0.0 use."""
    clock = Clock(at(2026, 1, 1, 12))
    ledger = MemoryLedger(clock=clock)
    held = reserved(ledger.reserve([Charge("d", "day", 2, 9)], rid="a"))
    clock.now = at(2026, 1, 3, 0, 0, 1)
    assert ledger.settle(held, [5]) == (0.0,)


def test_settle_changes_a_window_entry_and_releases_it_once() -> None:
    """Settling a window entry to more, then to 0 (released), then again: no double refund."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    other = reserved(ledger.reserve([Charge("w", "window", 2, 10, 60)], rid="o"))
    held = reserved(ledger.reserve([Charge("w", "window", 2, 10, 60)], rid="a"))
    assert ledger.settle(held, [3.5]) == (5.5,)
    assert ledger.settle(held, [0]) == (2,)
    assert ledger.settle(held, [0]) == (2,)
    assert ledger.settle(held, [4]) == (2,)  # released entries stay released
    assert ledger.settle(other, [1]) == (1,)


def test_window_retry_after_counts_the_entries_that_must_leave() -> None:
    """Two entries must expire for a charge of 2 to fit: retry when the second leaves."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    for offset in (0, 5, 10):
        clock.now = at(2026, 1, 1) + offset
        reserved(ledger.reserve([Charge("w", "window", 1, 3, 60)], rid=f"r{offset}"))
    clock.now = at(2026, 1, 1) + 20
    refusal = refused(ledger.reserve([Charge("w", "window", 2, 3, 60)], rid="x"))
    assert refusal.retry_after == 45 and refusal.used == 3
    assert refused(ledger.reserve([Charge("w", "window", 9, 3, 60)], rid="y")).retry_after is None
    reading = ledger.usage([Charge("w", "window", 0, 3, 60)])[0]
    assert (reading.used, reading.reset) == (3, at(2026, 1, 1) + 60)


def test_concurrent_and_total_readings_have_no_reset() -> None:
    """In-flight slots and never-resetting totals report no reset time; totals never refuse
    with a retry time."""
    ledger = MemoryLedger(clock=Clock(at(2026, 1, 1)))
    reserved(ledger.reserve([Charge("c", "concurrent", 1, 1, 3600)], rid="a"))
    reserved(ledger.reserve([Charge("t", "total", 1, 1)], rid="b"))
    readings = ledger.usage([Charge("c", "concurrent", 0, 1, 3600), Charge("t", "total", 0, 1)])
    assert [(r.used, r.reset) for r in readings] == [(1, None), (1, None)]
    assert refused(ledger.reserve([Charge("t", "total", 1, 1)], rid="c")).retry_after is None
    assert refused(ledger.reserve([Charge("c", "concurrent", 1, 1, 3600)], rid="d")).index == 0


def test_a_concurrent_slot_is_reclaimed_after_its_lease() -> None:
    """A slot never released (its process died) frees once the lease has passed."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    reserved(ledger.reserve([Charge("c", "concurrent", 1, 1, 100)], rid="a"))
    clock.now += 99
    refused(ledger.reserve([Charge("c", "concurrent", 1, 1, 100)], rid="b"))
    clock.now += 1
    reserved(ledger.reserve([Charge("c", "concurrent", 1, 1, 100)], rid="c"))


def test_a_refusal_on_a_later_key_charges_none_of_the_earlier_ones() -> None:
    """All or nothing: the index names the key that did not fit; the first is untouched."""
    ledger = MemoryLedger(clock=Clock(at(2026, 1, 1)))
    reserved(ledger.reserve([Charge("b", "day", 1, 1)], rid="x"))
    refusal = refused(
        ledger.reserve([Charge("a", "window", 1, 5, 60), Charge("b", "day", 1, 1)], rid="y")
    )
    assert refusal.index == 1
    assert ledger.usage([Charge("a", "window", 0, 5, 60)])[0].used == 0
    assert "a" not in ledger._keys


def test_busy_windows_compact_their_consumed_prefix_and_released_entries() -> None:
    """A window trimmed past half its list, or with more released than live entries, is
    compacted: the entry list stays near what is inside the window."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    for i in range(200):
        clock.now += 1
        reserved(ledger.reserve([Charge("w", "window", 1, 100, 10)], rid=f"r{i}"))
    window = ledger._keys["w"]
    assert len(window.order) <= 2 * 16 + 10  # type: ignore[union-attr]
    assert window.total == 10_000_000  # type: ignore[union-attr]
    for i in range(200):
        got = reserved(ledger.reserve([Charge("w", "window", 1, 100, 10)], rid=f"s{i}"))
        ledger.release(got)
    assert len(window.order) - window.head <= 10 + 16 + 2  # type: ignore[union-attr]
    assert window.dead <= 10 + 16 + 1  # type: ignore[union-attr]
    assert window.total == 10_000_000  # type: ignore[union-attr]
    assert len(window.entries) == 10  # type: ignore[union-attr]
