"""``MemoryLedger``: the in-process default, exact under threads and asyncio.

One lock makes each reservation atomic across all its keys. Windows keep their
entries (reservation id -> time, amount) in insertion order and are trimmed on
each reservation, exactly like the Redis script. Every key lives in a
``cachetools.TLRUCache`` whose per-item expiry is when the key would be empty
anyway (window end, calendar reset), so memory stays bounded by live keys.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from cachetools import TLRUCache

from guardrail.budgets.ledger import (
    Charge,
    Held,
    Ledger,
    Reading,
    Refusal,
    Reservation,
    from_micro,
    to_micro,
)

_DAY = 86400


@dataclass(slots=True)
class _Window:
    """Entries inside a sliding window (or in-flight slots): id -> (time, micro-amount).

    ``order`` lists (time, id) oldest first so trimming pops from the left; ids that
    were released stay there until trimmed, and it is compacted when mostly stale.
    """

    entries: dict[str, tuple[float, int]] = field(default_factory=dict)
    order: deque[tuple[float, str]] = field(default_factory=deque)
    total: int = 0
    expires: float = 0.0
    """When the cache drops it: kept at least one span past the newest entry."""

    def add(self, rid: str, at: float, amount: int) -> None:
        self.entries[rid] = (at, amount)
        self.order.append((at, rid))
        self.total += amount

    def discard(self, rid: str) -> None:
        entry = self.entries.pop(rid, None)
        if entry is not None:
            self.total -= entry[1]
        if len(self.order) > 2 * len(self.entries) + 16:
            self.order = deque((at, r) for r, (at, _) in self.entries.items())

    def trim(self, cut: float) -> None:
        order, entries = self.order, self.entries
        while order and order[0][0] <= cut:
            _, rid = order.popleft()
            entry = entries.pop(rid, None)
            if entry is not None:
                self.total -= entry[1]

    def retry_after(self, now: float, span: float, amount: int, maximum: int) -> float | None:
        freed = 0
        for at, held in sorted(self.entries.values()):
            freed += held
            if self.total - freed + amount <= maximum:
                return at + span - now
        return None


@dataclass(slots=True)
class _Counter:
    used: int = 0
    expires: float = 0.0
    """When the cache drops it; 0 until it is first stored."""


def _bucket(kind: str, key: str, now: float) -> tuple[str, float | None]:
    """The counter slot for a calendar or never-resetting key, and its reset time."""
    if kind == "total":
        return key, None
    day = math.floor(now / _DAY)
    if kind == "day":
        return f"{key}:{day}", float((day + 1) * _DAY)
    month, reset = _month_of(day)
    return f"{key}:{month}", reset


@lru_cache(maxsize=64)
def _month_of(day: int) -> tuple[int, float]:
    """``yyyymm`` of a day since the epoch, and when the next month starts (UTC)."""
    at = datetime.fromtimestamp(day * _DAY, UTC)
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    return at.year * 100 + at.month, datetime(year, month, 1, tzinfo=UTC).timestamp()


def _ttu(_key: str, value: _Window | _Counter, _now: float) -> float:
    return value.expires


class MemoryLedger(Ledger):
    """Budgets in this process. ``clock`` (epoch seconds) is injectable for tests.

    ``maxsize`` bounds the number of live keys; past it the least recently used
    key is dropped (its use forgotten), so size it above your live key count.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, maxsize: int = 1_000_000):
        self.clock = clock
        self._lock = threading.Lock()
        self._keys: TLRUCache[str, _Window | _Counter] = TLRUCache(maxsize, _ttu, timer=clock)

    def reserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        with self._lock:
            now = self.clock()
            found = []
            for index, charge in enumerate(charges):
                slot, state, reset = self._load(charge, now)
                amount, maximum = to_micro(charge.amount), to_micro(charge.maximum)
                used = self._used(state)
                if used + amount > maximum:
                    retry = self._retry(charge, state, now, reset, amount, maximum)
                    return Refusal(index, from_micro(used), retry, reset)
                found.append((charge, slot, state, reset, amount))
            held = []
            for charge, slot, state, reset, amount in found:
                if isinstance(state, _Window):
                    state.add(rid, now, amount)
                    # (Re)insert only when the cached expiry would not outlive this entry,
                    # so a busy key is not pushed onto the cache's expiry heap per call.
                    if state.expires < now + charge.span:
                        state.expires = now + 2 * charge.span
                        self._keys[slot] = state
                else:
                    state.used += amount
                    if not state.expires:  # new counter: lives until after its period
                        state.expires = math.inf if reset is None else reset + _DAY
                        self._keys[slot] = state
                held.append(Held(charge, slot, from_micro(self._used(state)), reset))
            return Reservation(rid, tuple(held))

    def settle(self, reservation: Reservation, amounts: Sequence[float]) -> tuple[float, ...]:
        out = []
        with self._lock:
            for held, amount in zip(reservation.held, amounts, strict=True):
                state = self._get(held.slot)
                old, new = to_micro(held.charge.amount), to_micro(amount)
                if isinstance(state, _Window):
                    entry = state.entries.get(reservation.id)
                    if entry is not None:
                        if new > 0:
                            state.entries[reservation.id] = (entry[0], new)
                            state.total += new - entry[1]
                        else:
                            state.discard(reservation.id)
                elif isinstance(state, _Counter):
                    state.used += new - old
                out.append(from_micro(self._used(state)) if state is not None else 0.0)
        return tuple(out)

    def usage(self, charges: Sequence[Charge]) -> list[Reading]:
        readings = []
        with self._lock:
            now = self.clock()
            for charge in charges:
                if charge.kind in ("window", "concurrent"):
                    state = self._get(charge.key)
                    live = (
                        []
                        if not isinstance(state, _Window)
                        else [
                            (at, amount)
                            for at, amount in state.entries.values()
                            if at > now - charge.span
                        ]
                    )
                    reset = live[0][0] + charge.span if live and charge.kind == "window" else None
                    readings.append(Reading(from_micro(sum(a for _, a in live)), reset))
                else:
                    slot, reset = _bucket(charge.kind, charge.key, now)
                    counter = self._get(slot)
                    readings.append(Reading(from_micro(self._used(counter)), reset))
        return readings

    def _get(self, slot: str) -> _Window | _Counter | None:
        try:
            return self._keys[slot]
        except KeyError:  # absent or expired
            return None

    def _load(self, charge: Charge, now: float) -> tuple[str, _Window | _Counter, float | None]:
        if charge.kind in ("window", "concurrent"):
            window = self._get(charge.key)
            if not isinstance(window, _Window):
                window = _Window()
            window.trim(now - charge.span)
            return charge.key, window, None
        slot, reset = _bucket(charge.kind, charge.key, now)
        counter = self._get(slot)
        return slot, counter if isinstance(counter, _Counter) else _Counter(), reset

    @staticmethod
    def _used(state: _Window | _Counter | None) -> int:
        if state is None:
            return 0
        return state.total if isinstance(state, _Window) else state.used

    @staticmethod
    def _retry(
        charge: Charge,
        state: _Window | _Counter,
        now: float,
        reset: float | None,
        amount: int,
        maximum: int,
    ) -> float | None:
        if amount > maximum:
            return None
        if charge.kind == "window" and isinstance(state, _Window):
            return state.retry_after(now, charge.span, amount, maximum)
        return None if reset is None else reset - now
