"""MemoryLedger specifics: an injected clock, and bounded memory (expired keys evicted)."""

from __future__ import annotations

from guardrail.budgets import Charge, MemoryLedger, Refusal, Reservation


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_sliding_window_is_exact_with_a_fake_clock() -> None:
    """An entry counts for exactly ``window`` seconds; retry_after is when the oldest leaves."""
    clock = Clock()
    ledger = MemoryLedger(clock=clock)
    charge = [Charge("w", "window", 1, 2, 60)]
    assert isinstance(ledger.reserve(charge, rid="a"), Reservation)
    clock.now += 10
    assert isinstance(ledger.reserve(charge, rid="b"), Reservation)
    clock.now += 20
    refusal = ledger.reserve(charge, rid="c")
    assert isinstance(refusal, Refusal)
    assert refusal.retry_after == 30
    clock.now += 29.999
    assert isinstance(ledger.reserve(charge, rid="d"), Refusal)
    clock.now += 0.001  # the first entry is now exactly `window` old: out
    assert isinstance(ledger.reserve(charge, rid="e"), Reservation)


def test_expired_keys_are_evicted() -> None:
    """Window and calendar keys disappear once nothing in them can count any more."""
    clock = Clock()
    ledger = MemoryLedger(clock=clock)
    for i in range(1000):
        ledger.reserve(
            [Charge(f"user{i}", "window", 1, 5, 60), Charge(f"team{i}", "day", 1, 5)], rid=f"r{i}"
        )
    assert len(ledger._keys) == 2000
    clock.now += 3 * 86400
    ledger.reserve([Charge("late", "window", 1, 5, 60)], rid="late")
    assert len(ledger._keys) == 1


def test_a_busy_key_does_not_grow_memory() -> None:
    """Thousands of calls on one key keep one key and only the entries inside the window."""
    clock = Clock()
    ledger = MemoryLedger(clock=clock)
    for i in range(5000):
        clock.now += 0.1
        got = ledger.reserve([Charge("busy", "window", 1, 1000, 10)], rid=f"r{i}")
        assert isinstance(got, Reservation)
        if i % 2:
            ledger.release(got)
    assert len(ledger._keys) == 1
    window = ledger._keys["busy"]
    assert len(window.entries) <= 100  # type: ignore[union-attr]
    assert len(window.order) <= 2 * 100 + 16  # type: ignore[union-attr]
