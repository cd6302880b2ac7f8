"""MemoryLedger behaviour seen only through its public methods (reserve, settle, release,
usage): window edges, calendar slots remembered within a UTC day and not past it, which keys
eviction drops, and settling counters and windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from guardrail.budgets import Charge, MemoryLedger, Refusal, Reservation


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp()


def reserved(result: Reservation | Refusal) -> Reservation:
    assert isinstance(result, Reservation), result
    return result


def used(ledger: MemoryLedger, charge: Charge) -> float:
    return ledger.usage([charge])[0].used


def test_a_window_entry_counts_until_exactly_one_span_has_passed() -> None:
    """Reading and admission agree at the edge: an entry `span` old no longer counts."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    charge = Charge("w", "window", 1, 1, 60)
    reserved(ledger.reserve([charge], rid="a"))
    clock.now += 59.999
    assert used(ledger, charge) == 1
    assert isinstance(ledger.reserve([charge], rid="b"), Refusal)
    clock.now = at(2026, 1, 1) + 60
    assert used(ledger, charge) == 0
    assert reserved(ledger.reserve([charge], rid="c")).held[0].used == 1


def test_calendar_slots_hit_within_a_day_give_the_same_slot_and_reset() -> None:
    """Repeated charges on one day count in one slot with the same reset."""
    clock = Clock(at(2026, 5, 6, 1))
    ledger = MemoryLedger(clock=clock)
    for kind, reset in (("day", at(2026, 5, 7)), ("month", at(2026, 6, 1))):
        charge = Charge(kind, kind, 1, 3)  # type: ignore[arg-type]
        seen = []
        for hour in (1, 9, 23):
            clock.now = at(2026, 5, 6, hour)
            held = reserved(ledger.reserve([charge], rid=f"{kind}{hour}")).held[0]
            seen.append((held.used, held.reset))
        assert seen == [(1, reset), (2, reset), (3, reset)]
        refusal = ledger.reserve([charge], rid="x")
        assert isinstance(refusal, Refusal) and refusal.reset == reset


@pytest.mark.parametrize(
    ("first", "later", "reset"),
    [
        ((2026, 1, 31, 12), (2026, 2, 1, 0), (2026, 3, 1)),
        ((2026, 12, 31, 0), (2027, 1, 1, 0), (2027, 2, 1)),
    ],
)
def test_a_month_slot_remembered_on_the_last_day_is_not_reused_next_month(
    first: tuple[int, ...], later: tuple[int, ...], reset: tuple[int, ...]
) -> None:
    clock = Clock(at(*first))
    ledger = MemoryLedger(clock=clock)
    charge = Charge("m", "month", 2, 2)
    reserved(ledger.reserve([charge], rid="a"))
    clock.now = at(*first) + 3600  # the same day: the remembered slot, still full
    assert isinstance(ledger.reserve([charge], rid="b"), Refusal)
    clock.now = at(*later)
    held = reserved(ledger.reserve([charge], rid="c")).held[0]
    assert (held.used, held.reset) == (2, at(*reset))
    assert ledger.usage([charge])[0].reset == at(*reset)


def test_exactly_maxsize_keys_are_all_kept_and_one_more_evicts_the_oldest() -> None:
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock, maxsize=32)
    totals = [Charge(f"k{i}", "total", 1, 1) for i in range(33)]
    for i, charge in enumerate(totals[:32]):
        reserved(ledger.reserve([charge], rid=f"r{i}"))
    assert [used(ledger, c) for c in totals[:32]] == [1] * 32
    reserved(ledger.reserve([totals[32]], rid="r32"))
    # Down to 15/16 of maxsize at once: the three oldest go.
    assert [used(ledger, c) for c in totals] == [0] * 3 + [1] * 30


def test_a_key_used_again_after_its_expiry_is_as_new_as_that_use() -> None:
    """A window dropped at its expiry and charged again is no longer among the oldest keys."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock, maxsize=2)
    window = Charge("w", "window", 1, 5, 10)
    reserved(ledger.reserve([window], rid="a"))
    clock.now += 1
    reserved(ledger.reserve([Charge("t", "total", 1, 5)], rid="b"))
    clock.now = at(2026, 1, 1) + 20  # exactly two spans: the window's key is dropped
    reserved(ledger.reserve([window], rid="c"))
    reserved(ledger.reserve([Charge("u", "total", 1, 5)], rid="d"))
    assert used(ledger, window) == 1
    assert used(ledger, Charge("t", "total", 0, 5)) == 0  # the oldest key now
    assert used(ledger, Charge("u", "total", 0, 5)) == 1


def test_settling_a_calendar_counter_replaces_the_held_amount() -> None:
    clock = Clock(at(2026, 1, 1, 12))
    ledger = MemoryLedger(clock=clock)
    day = Charge("d", "day", 3, 10)
    reserved(ledger.reserve([day], rid="other"))
    held = reserved(ledger.reserve([day], rid="a"))
    assert ledger.settle(held, [1.25]) == (4.25,)
    assert used(ledger, day) == 4.25
    assert ledger.settle(reserved(ledger.reserve([day], rid="b")), [0]) == (4.25,)
    total = Charge("t", "total", 2, 10)
    assert ledger.settle(reserved(ledger.reserve([total], rid="c")), [7]) == (7,)
    assert used(ledger, total) == 7


def test_settling_several_keys_at_once_settles_each_its_own_amount() -> None:
    clock = Clock(at(2026, 1, 1, 12))
    ledger = MemoryLedger(clock=clock)
    charges = [
        Charge("w", "window", 1, 10, 60),
        Charge("d", "day", 1, 10),
        Charge("c", "concurrent", 1, 10, 60),
    ]
    held = reserved(ledger.reserve(charges, rid="a"))
    assert held.id == "a" and [h.slot for h in held.held][::2] == ["w", "c"]
    assert ledger.settle(held, [2, 3, 0]) == (2, 3, 0)
    assert [r.used for r in ledger.usage(charges)] == [2, 3, 0]


def test_a_released_window_entry_frees_room_and_later_entries_still_settle() -> None:
    """Release many entries of one key (the list is compacted), then settle the survivors."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    charge = Charge("w", "window", 1, 100, 3600)
    kept = []
    for i in range(60):
        clock.now += 1
        got = reserved(ledger.reserve([charge], rid=f"r{i}"))
        if i % 10 == 0:
            kept.append(got)
        else:
            ledger.release(got)
    assert used(ledger, charge) == 6
    for got in kept:
        ledger.settle(got, [2])
    assert used(ledger, charge) == 12
    ledger.release(kept[0])
    assert used(ledger, charge) == 10
    clock.now = at(2026, 1, 1) + 3600 + 11  # the first two kept entries are out
    assert used(ledger, charge) == 8
    assert (
        reserved(ledger.reserve([Charge("w", "window", 92, 100, 3600)], rid="z")).held[0].used
        == 100
    )
    assert isinstance(ledger.reserve([charge], rid="full"), Refusal)


@pytest.mark.parametrize("amount", [5, 0])
def test_a_reservation_on_a_dropped_window_settles_to_nothing_after_the_key_is_reused(
    amount: float,
) -> None:
    """The key was dropped (its window over) and charged afresh: settling or releasing the
    old reservation neither fails nor touches the new window."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    charge = Charge("w", "window", 1, 5, 10)
    old = reserved(ledger.reserve([charge], rid="old"))
    clock.now += 25  # past the key's expiry (two spans): it is dropped on the next call
    reserved(ledger.reserve([charge], rid="new"))
    assert ledger.settle(old, [amount]) == (1,)
    assert used(ledger, charge) == 1


@pytest.mark.parametrize("maxsize", [2, 16])
def test_evicted_then_reused_window_ignores_the_old_reservation(maxsize: int) -> None:
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock, maxsize=maxsize)
    charge = Charge("w", "window", 1, 5, 3600)
    old = reserved(ledger.reserve([charge], rid="old"))
    for i in range(maxsize):
        reserved(ledger.reserve([Charge(f"k{i}", "total", 1, 1)], rid=f"k{i}"))
    assert used(ledger, charge) == 0  # evicted
    reserved(ledger.reserve([charge], rid="new"))
    assert ledger.settle(old, [3]) == (1,)
    ledger.release(old)
    assert used(ledger, charge) == 1


def test_window_retry_after_is_exact_to_the_micro_unit() -> None:
    """Freeing the first entry leaves the charge one micro-unit over: wait for the second."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    for offset in (0, 5):
        clock.now = at(2026, 1, 1) + offset
        reserved(ledger.reserve([Charge("w", "window", 1, 2, 60)], rid=f"r{offset}"))
    clock.now = at(2026, 1, 1) + 20
    refusal = ledger.reserve([Charge("w", "window", 1.000001, 2, 60)], rid="x")
    assert isinstance(refusal, Refusal) and refusal.retry_after == 45
    refusal = ledger.reserve([Charge("w", "window", 1, 2, 60)], rid="y")
    assert isinstance(refusal, Refusal) and refusal.retry_after == 40


def test_a_charge_that_expires_at_once_does_not_push_out_live_keys() -> None:
    """A zero-span window is gone as soon as it is charged, so it never counts toward
    ``maxsize``: the live keys all stay."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock, maxsize=16)
    totals = [Charge(f"k{i}", "total", 1, 1) for i in range(16)]
    for i, charge in enumerate(totals):
        reserved(ledger.reserve([charge], rid=f"r{i}"))
    reserved(ledger.reserve([Charge("now", "window", 1, 1, 0)], rid="z"))
    assert [used(ledger, c) for c in totals] == [1] * 16


def test_readings_after_keys_expired_are_zero_and_the_keys_can_be_charged_again() -> None:
    clock = Clock(at(2026, 1, 1, 12))
    ledger = MemoryLedger(clock=clock)
    charges = [Charge("w", "window", 1, 1, 10), Charge("d", "day", 1, 1)]
    reserved(ledger.reserve(charges, rid="a"))
    clock.now = at(2026, 1, 3, 12)  # both keys are past their expiry
    assert [(r.used, r.reset) for r in ledger.usage(charges)] == [(0, None), (0, at(2026, 1, 4))]
    assert [h.used for h in reserved(ledger.reserve(charges, rid="b")).held] == [1, 1]


def test_a_settlement_gives_exactly_one_amount_per_charge() -> None:
    ledger = MemoryLedger(clock=Clock(at(2026, 1, 1)))
    charges = [Charge("a", "total", 1, 5), Charge("b", "total", 1, 5)]
    held = reserved(ledger.reserve(charges, rid="a"))
    with pytest.raises(ValueError):
        ledger.settle(held, [1])
    with pytest.raises(ValueError):
        ledger.settle(held, [1, 1, 1])
    assert ledger.settle(held, [2, 3]) == (2, 3)  # totals only: nothing ever expires


def test_a_window_entry_settled_to_one_micro_unit_still_counts() -> None:
    ledger = MemoryLedger(clock=Clock(at(2026, 1, 1)))
    charge = Charge("w", "window", 1, 5, 60)
    held = reserved(ledger.reserve([charge], rid="a"))
    assert ledger.settle(held, [0.000001]) == (0.000001,)
    assert used(ledger, charge) == 0.000001


def test_a_day_counter_is_dropped_one_day_after_its_reset() -> None:
    """Documented expiry: a calendar key lives until one day past its reset; a settlement
    arriving at that instant finds nothing to change."""
    clock = Clock(at(2026, 1, 1, 12))
    ledger = MemoryLedger(clock=clock)
    held = reserved(ledger.reserve([Charge("d", "day", 2, 9)], rid="a"))
    clock.now = at(2026, 1, 3) - 1
    assert ledger.settle(held, [3]) == (3,)  # still there: the settlement lands on Jan 1st
    clock.now = at(2026, 1, 3)
    assert ledger.settle(held, [4]) == (0.0,)


def test_a_busy_window_outlives_its_first_expiry() -> None:
    """A key charged again late in its life keeps counting that charge for a full span."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    charge = Charge("w", "window", 1, 1, 10)
    for offset in (0, 15, 21, 24.9):
        clock.now = at(2026, 1, 1) + offset
        if offset in (0, 15):
            reserved(ledger.reserve([charge], rid=f"r{offset}"))
        else:
            assert used(ledger, charge) == 1
            assert isinstance(ledger.reserve([charge], rid=f"x{offset}"), Refusal)
    clock.now = at(2026, 1, 1) + 25
    assert used(ledger, charge) == 0


def test_a_window_emptied_by_time_keeps_working() -> None:
    """Every entry left the window (while a refusal on another key charged nothing): the
    key takes new charges, and again after those leave."""
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    window = Charge("w", "window", 1, 2, 10)
    full = Charge("full", "total", 1, 0)
    reserved(ledger.reserve([window], rid="a"))
    clock.now += 15
    assert isinstance(ledger.reserve([window, full], rid="b"), Refusal)
    clock.now += 1
    for i in range(3):
        held = reserved(ledger.reserve([window], rid=f"c{i}")).held[0]
        assert held.used == 1
        clock.now += 11


def test_settling_an_entry_that_left_the_window_changes_nothing() -> None:
    clock = Clock(at(2026, 1, 1))
    ledger = MemoryLedger(clock=clock)
    charge = Charge("w", "window", 1, 5, 60)
    first = reserved(ledger.reserve([charge], rid="a"))
    clock.now += 61
    reserved(ledger.reserve([charge], rid="b"))
    assert ledger.settle(first, [4]) == (1,)
    ledger.release(first)
    assert used(ledger, charge) == 1


def test_a_prepared_plan_moves_to_the_new_day_exactly_at_utc_midnight() -> None:
    """A plan prepared once and reserved call after call (as the guard does) charges the new
    day's slot from 00:00:00 UTC on, and the new month's from the first of the month."""
    clock = Clock(at(2026, 1, 31, 23))
    ledger = MemoryLedger(clock=clock)
    plan = ledger.prepare([Charge("d", "day", 2, 2), Charge("m", "month", 1, 9)])
    reserved(ledger.reserve(plan, rid="a"))
    clock.now = at(2026, 2, 1) - 0.001
    assert isinstance(ledger.reserve(plan, rid="b"), Refusal)
    clock.now = at(2026, 2, 1)
    held = reserved(ledger.reserve(plan, rid="c")).held
    assert [(h.used, h.reset) for h in held] == [(2, at(2026, 2, 2)), (1, at(2026, 3, 1))]


def test_a_refusal_gives_back_every_earlier_counter() -> None:
    """Counters charged before a later charge is refused are all restored, and a key the
    refused reservation created is not left behind."""
    ledger = MemoryLedger(clock=Clock(at(2026, 1, 1, 12)))
    full = Charge("full", "total", 1, 1)
    reserved(ledger.reserve([full], rid="x"))
    earlier = [
        Charge("d", "day", 1, 5),
        Charge("t", "total", 2, 5),
        Charge("m", "month", 3, 5),
        Charge("w", "window", 1, 5, 60),
    ]
    refusal = ledger.reserve([*earlier, full], rid="y")
    assert isinstance(refusal, Refusal) and refusal.index == 4
    assert [r.used for r in ledger.usage(earlier)] == [0, 0, 0, 0]
    assert [h.used for h in reserved(ledger.reserve(earlier, rid="z")).held] == [1, 2, 3, 1]


def test_a_refusal_gives_back_exactly_what_it_charged_on_keys_already_in_use() -> None:
    """A multi-key reservation refused part way, on keys that already hold use: each key
    keeps exactly its earlier use (windows lose the entry, not only the units), the key the
    refused reservation created is dropped, and the keys in use are not."""
    clock = Clock(at(2026, 1, 1, 12))
    ledger = MemoryLedger(clock=clock)
    window = Charge("w", "window", 2, 10, 60)
    counter = Charge("t", "total", 3, 10)
    day = Charge("d", "day", 1, 10)
    full = Charge("full", "total", 1, 1)
    reserved(ledger.reserve([window, counter, day, full], rid="a"))
    clock.now += 0.5
    reserved(ledger.reserve([window, counter], rid="a2"))
    clock.now += 0.5
    new = Charge("n", "total", 4, 5)
    refusal = ledger.reserve([window, counter, new, day, full], rid="b")
    assert isinstance(refusal, Refusal) and refusal.index == 4
    assert [r.used for r in ledger.usage([window, counter, new, day, full])] == [4, 6, 0, 1, 1]
    assert [h.used for h in reserved(ledger.reserve([counter, new], rid="c")).held] == [9, 4]
    clock.now += 60  # the earlier window entries have left; a given-back one must not leave
    assert used(ledger, window) == 0
    assert reserved(ledger.reserve([window], rid="d")).held[0].used == 2
    for rid in "efgh":
        reserved(ledger.reserve([window], rid=rid))
    assert isinstance(ledger.reserve([window], rid="i"), Refusal)  # 10 of 10, not more


def test_a_prepared_plan_follows_a_clock_set_back_to_the_day_before() -> None:
    """A clock stepped back (NTP) past midnight charges the earlier day's slot, not the
    slot the plan last worked out for the later day."""
    clock = Clock(at(2026, 1, 2, 10))
    ledger = MemoryLedger(clock=clock)
    plan = ledger.prepare([Charge("d", "day", 1, 5)])
    assert reserved(ledger.reserve(plan, rid="a")).held[0].reset == at(2026, 1, 3)
    clock.now = at(2026, 1, 1, 23)
    held = reserved(ledger.reserve(plan, rid="b")).held[0]
    assert (held.used, held.reset) == (1, at(2026, 1, 2))
