"""A reservation charges each key as it checks it and gives back what it took when a
later key does not fit: afterwards every ledger is exactly as if it had never been
asked, whatever kind of key refused and wherever it stood (every backend)."""

from __future__ import annotations

import uuid

import pytest
import redis
from support.redis_server import RedisServer

from guardrail.budgets import Charge, Ledger, MemoryLedger, RedisLedger, Refusal, Reservation

KINDS = {
    "window": Charge("w", "window", 1, 3, 60),
    "concurrent": Charge("c", "concurrent", 1, 3, 60),
    "day": Charge("d", "day", 1, 3),
    "month": Charge("m", "month", 1, 3),
    "total": Charge("t", "total", 1, 3),
}


def _full(charge: Charge) -> Charge:
    """A charge on its own key whose budget a first reservation fills."""
    return Charge(f"full-{charge.key}", charge.kind, 1, 1, charge.span)


def _use(ledger: Ledger) -> list[float]:
    return [reading.used for reading in ledger.usage(list(KINDS.values()))]


@pytest.mark.parametrize("refusing", sorted(KINDS))
def test_a_refused_reservation_leaves_every_earlier_key_as_it_was(
    ledger: Ledger, refusing: str
) -> None:
    """Keys charged before the refusing one (some already in use, some new) are given
    back: same use as before, and later reservations count exactly."""
    blocker = _full(KINDS[refusing])
    assert isinstance(ledger.reserve([blocker], rid="fill"), Reservation)
    assert isinstance(ledger.reserve([KINDS["window"], KINDS["day"]], rid="seen"), Reservation)
    before = _use(ledger)
    charges = [*KINDS.values(), blocker]
    refusal = ledger.reserve(ledger.prepare(charges), rid="refused")
    assert isinstance(refusal, Refusal)
    assert (refusal.index, refusal.used) == (len(KINDS), 1.0)
    assert _use(ledger) == before
    again = ledger.reserve(list(KINDS.values()), rid="after")
    assert isinstance(again, Reservation)
    assert [h.used for h in again.held] == [u + 1 for u in before]


@pytest.mark.parametrize("position", range(3))
def test_the_refusal_names_the_key_wherever_it_stands(ledger: Ledger, position: int) -> None:
    """The refusing key first, in the middle or last: its index and use are reported and
    nothing else is charged."""
    blocker = Charge("blocked", "window", 1, 1, 60)
    assert isinstance(ledger.reserve([blocker], rid="fill"), Reservation)
    others = [Charge("a", "day", 1, 9), Charge("b", "window", 1, 9, 60)]
    charges = [*others[:position], blocker, *others[position:]]
    refusal = ledger.reserve(charges, rid="x")
    assert isinstance(refusal, Refusal)
    assert refusal.index == position and refusal.used == 1.0
    assert [r.used for r in ledger.usage(others)] == [0.0, 0.0]


def test_a_plan_prepared_once_is_reserved_many_times(ledger: Ledger) -> None:
    """``prepare`` returns the same charges (a sequence of them) that reserve counts on
    every use, exactly like the plain list."""
    plain = [Charge("p-w", "window", 1, 10, 60), Charge("p-d", "day", 0.5, 10)]
    prepared = ledger.prepare(plain)
    assert list(prepared) == plain
    used = []
    for i in range(4):
        reservation = ledger.reserve(prepared if i % 2 else plain, rid=f"r{i}")
        assert isinstance(reservation, Reservation)
        used.append([h.used for h in reservation.held])
    assert used == [[1.0, 0.5], [2.0, 1.0], [3.0, 1.5], [4.0, 2.0]]


def test_a_refused_redis_reservation_creates_no_keys(redis_server: RedisServer) -> None:
    """Nothing a refused reservation touched is left in Redis (no key without a TTL)."""
    url = redis_server.url
    prefix = f"gb-{uuid.uuid4().hex[:8]}:"
    ledger = RedisLedger.from_url(url, prefix=prefix)
    client = redis.Redis.from_url(url)
    try:
        assert isinstance(ledger.reserve([Charge("full", "total", 1, 1)], rid="a"), Reservation)
        keys_before = set(client.keys(prefix + "*"))
        charges = [*KINDS.values(), Charge("full", "total", 1, 1)]
        assert isinstance(ledger.reserve(charges, rid="b"), Refusal)
        assert set(client.keys(prefix + "*")) == keys_before
    finally:
        client.close()
        ledger.close()


def test_the_memory_ledger_drops_the_keys_a_refusal_created() -> None:
    """The memory ledger's store holds no key that only a refused reservation made."""
    ledger = MemoryLedger()
    assert isinstance(ledger.reserve([Charge("full", "total", 1, 1)], rid="a"), Reservation)
    assert isinstance(
        ledger.reserve([*KINDS.values(), Charge("full", "total", 1, 1)], rid="b"), Refusal
    )
    assert list(ledger._keys) == ["full"]
