"""``MemoryLedger``: the in-process default, exact under threads and asyncio.

One lock makes each reservation atomic across all its keys. Windows keep their
entries (``[time, micro-amount]``, oldest first) in a list with a running sum and
are trimmed from the left on each reservation, exactly like the Redis script; a
reservation holds its entries directly, so settling one needs no search. Keys
live in a plain dict; an expiry heap drops each key once it would be empty anyway
(window end, one day past a calendar reset), so memory stays bounded by live keys.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from heapq import heappop, heappush
from itertools import islice
from typing import Any

from guardrail.budgets.ledger import (
    MICRO,
    Charge,
    Ledger,
    Reading,
    Refusal,
    Reservation,
    from_micro,
    make_held,
    make_reservation,
    to_micro,
)

_DAY = 86400
_floor = math.floor


class _Window:
    """Entries inside a sliding window (or in-flight slots), oldest first.

    ``order[head:]`` are ``[time, micro-amount]`` lists; an entry given back (or
    trimmed) has its amount set to ``None`` so a late settlement of it changes
    nothing. The consumed prefix ``order[:head]`` is cut off once it is at least
    half the list, and released entries are compacted away when they outnumber
    the live ones, so a busy key holds about what is inside its window.
    """

    __slots__ = ("dead", "expires", "head", "order", "total")

    def __init__(self) -> None:
        self.order: list[list[Any]] = []
        self.head = 0
        self.total = 0
        self.dead = 0
        """Released entries still in ``order``."""
        self.expires = 0.0
        """When the ledger drops it: kept at least one span past the newest entry."""

    @property
    def entries(self) -> list[tuple[float, int]]:
        """The live entries: (time, micro-amount), oldest first."""
        return [(e[0], e[1]) for e in islice(self.order, self.head, None) if e[1] is not None]

    def trim(self, cut: float) -> None:
        order, head = self.order, self.head
        size = len(order)
        while head < size:
            entry = order[head]
            if entry[0] > cut:
                break
            units = entry[1]
            if units is None:
                self.dead -= 1
            else:
                self.total -= units
                entry[1] = None
            head += 1
        if head == size:
            order.clear()
            head = 0
        elif head >= 16 and 2 * head >= size:
            del order[:head]
            head = 0
        self.head = head

    def release(self, entry: list[Any]) -> None:
        self.total -= entry[1]
        entry[1] = None
        self.dead += 1
        live = len(self.order) - self.head - self.dead
        if self.dead > live + 16:
            self.order = [e for e in islice(self.order, self.head, None) if e[1] is not None]
            self.head = self.dead = 0

    def kill(self) -> None:
        """The window is dropped: its entries can no longer be settled."""
        for entry in self.order:
            entry[1] = None

    def retry_after(self, now: float, span: float, amount: int, maximum: int) -> float | None:
        freed = 0
        for at, held in sorted(self.entries):
            freed += held
            if self.total - freed + amount <= maximum:
                return at + span - now
        return None


class _Counter:
    __slots__ = ("expires", "used")

    def __init__(self) -> None:
        self.used = 0
        self.expires = 0.0
        """When the ledger drops it; 0 until it is first stored."""


def _bucket(kind: str, key: str, now: float) -> tuple[str, float | None]:
    """The counter slot for a calendar or never-resetting key, and its reset time."""
    if kind == "total":
        return key, None
    day = _floor(now / _DAY)
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


class MemoryLedger(Ledger):
    """Budgets in this process. ``clock`` (epoch seconds) is injectable for tests.

    ``maxsize`` bounds the number of live keys; past it the oldest keys are dropped
    (their use forgotten), so size it above your live key count.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, maxsize: int = 1_000_000):
        self.clock = clock
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._keys: dict[str, _Window | _Counter] = {}
        self._expiry: list[tuple[float, str]] = []
        """A heap of (expires, slot); stale rows (the key was extended or is gone) are
        skipped when popped."""
        self._slots: dict[tuple[str, str], tuple[int, str, float | None]] = {}
        """Calendar slots by (kind, key): (day they were computed for, slot, reset)."""

    def reserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        with self._lock:
            now = self.clock()
            expiry, keys = self._expiry, self._keys
            if expiry and expiry[0][0] <= now:
                self._purge(now)
            found = []
            day = -1
            for index, charge in enumerate(charges):
                kind = charge.kind
                state: _Window | _Counter | None
                if kind == "window" or kind == "concurrent":
                    slot, reset = charge.key, None
                    state = keys.get(slot)
                    if state.__class__ is not _Window:
                        state = _Window()
                    else:
                        order, head = state.order, state.head
                        if head < len(order) and order[head][0] <= now - charge.span:
                            state.trim(now - charge.span)
                    used = state.total
                else:
                    if kind == "total":
                        slot, reset = charge.key, None
                    else:
                        if day < 0:
                            day = _floor(now / _DAY)
                        cached = self._slots.get((kind, charge.key))
                        if cached is not None and cached[0] == day:
                            slot, reset = cached[1], cached[2]
                        else:
                            slot, reset = self._slot(kind, charge.key, now)
                    state = keys.get(slot)
                    if state.__class__ is not _Counter:
                        state = _Counter()
                    used = state.used
                if used + charge.units > charge.max_units:
                    retry = self._retry(charge, state, now, reset)
                    return Refusal(index, from_micro(used), retry, reset)
                found.append((charge, slot, state, reset))
            held = []
            handles: list[list[Any] | None] = []
            for charge, slot, state, reset in found:
                units = charge.units
                if isinstance(state, _Window):
                    entry = [now, units]
                    state.order.append(entry)
                    state.total += units
                    # Re-register only when the expiry would not outlive this entry,
                    # so a busy key touches the expiry heap once per span, not per call.
                    if state.expires < now + charge.span:
                        state.expires = now + 2 * charge.span
                        keys[slot] = state
                        heappush(expiry, (state.expires, slot))
                    handles.append(entry)
                    used = state.total
                else:
                    state.used += units
                    if not state.expires:  # new counter: lives until after its period
                        keys[slot] = state
                        if reset is None:
                            state.expires = math.inf
                        else:
                            state.expires = reset + _DAY
                            heappush(expiry, (state.expires, slot))
                    handles.append(None)
                    used = state.used
                held.append(make_held(charge, slot, used / MICRO, reset))
            if len(keys) > self.maxsize:
                self._evict()
            return make_reservation(rid, tuple(held), handles)

    def settle(self, reservation: Reservation, amounts: Sequence[float]) -> tuple[float, ...]:
        out = []
        handles = reservation.handle
        with self._lock:
            now = self.clock()
            if self._expiry and self._expiry[0][0] <= now:
                self._purge(now)
            keys = self._keys
            for i, (held, amount) in enumerate(zip(reservation.held, amounts, strict=True)):
                state = keys.get(held.slot)
                new = to_micro(amount)
                if state.__class__ is _Window:
                    entry = handles[i] if handles is not None else None
                    if entry is not None and entry[1] is not None:
                        if new > 0:
                            state.total += new - entry[1]
                            entry[1] = new
                        else:
                            state.release(entry)
                    out.append(state.total / MICRO)
                elif state.__class__ is _Counter:
                    state.used += new - held.charge.units
                    out.append(state.used / MICRO)
                else:
                    out.append(0.0)
        return tuple(out)

    def usage(self, charges: Sequence[Charge]) -> list[Reading]:
        readings = []
        with self._lock:
            now = self.clock()
            if self._expiry and self._expiry[0][0] <= now:
                self._purge(now)
            for charge in charges:
                if charge.kind in ("window", "concurrent"):
                    state = self._keys.get(charge.key)
                    live = (
                        []
                        if not isinstance(state, _Window)
                        else [(at, units) for at, units in state.entries if at > now - charge.span]
                    )
                    reset = live[0][0] + charge.span if live and charge.kind == "window" else None
                    readings.append(Reading(from_micro(sum(a for _, a in live)), reset))
                else:
                    slot, reset = _bucket(charge.kind, charge.key, now)
                    counter = self._keys.get(slot)
                    used = counter.used if isinstance(counter, _Counter) else 0
                    readings.append(Reading(from_micro(used), reset))
        return readings

    def _slot(self, kind: str, key: str, now: float) -> tuple[str, float | None]:
        """``_bucket``, remembered per key for the rest of the (UTC) day."""
        if kind == "total":
            return key, None
        day = _floor(now / _DAY)
        cached = self._slots.get((kind, key))
        if cached is not None and cached[0] == day:
            return cached[1], cached[2]
        slot, reset = _bucket(kind, key, now)
        if len(self._slots) >= self.maxsize:
            self._slots.clear()
        self._slots[kind, key] = (day, slot, reset)
        return slot, reset

    def _purge(self, now: float) -> None:
        """Drop every key whose expiry has come (amortized O(log n) per stored key)."""
        expiry, keys = self._expiry, self._keys
        while expiry and expiry[0][0] <= now:
            _, slot = heappop(expiry)
            state = keys.get(slot)
            if state is not None and state.expires <= now:
                del keys[slot]
                if isinstance(state, _Window):
                    state.kill()

    def _evict(self) -> None:
        """Past ``maxsize``: drop the oldest keys (expired ones first), down to 15/16 of
        ``maxsize`` at once so that eviction stays O(1) amortized per key."""
        self._purge(self.clock())
        keys = self._keys
        if len(keys) <= self.maxsize:
            return
        for slot in list(islice(keys, len(keys) - self.maxsize + self.maxsize // 16)):
            state = keys.pop(slot)
            if isinstance(state, _Window):
                state.kill()

    @staticmethod
    def _retry(
        charge: Charge, state: _Window | _Counter, now: float, reset: float | None
    ) -> float | None:
        if charge.units > charge.max_units:
            return None
        if charge.kind == "window" and isinstance(state, _Window):
            return state.retry_after(now, charge.span, charge.units, charge.max_units)
        return None if reset is None else reset - now
