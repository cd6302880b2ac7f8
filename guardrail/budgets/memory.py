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
from heapq import heappop, heappush
from itertools import islice
from typing import Any

from guardrail.budgets._memory_state import DAY, Counter, Window, bucket
from guardrail.budgets.ledger import (
    MICRO,
    Charge,
    Held,
    Ledger,
    Reading,
    Refusal,
    Reservation,
    from_micro,
    to_micro,
)

_floor = math.floor
_Found = list[tuple[Charge, str, Window | Counter, float | None]]


class MemoryLedger(Ledger):
    """Budgets in this process. ``clock`` (epoch seconds) is injectable for tests.

    ``maxsize`` bounds the number of live keys; past it the oldest keys are dropped
    (their use forgotten), so size it above your live key count.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, maxsize: int = 1_000_000):
        self.clock = clock
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._keys: dict[str, Window | Counter] = {}
        self._expiry: list[tuple[float, str]] = []
        """A heap of (expires, slot); stale rows (the key was extended or is gone) are
        skipped when popped."""
        self._slots: dict[tuple[str, str], tuple[int, str, float | None]] = {}
        """Calendar slots by (kind, key): (day they were computed for, slot, reset)."""

    def reserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        with self._lock:
            now = self.clock()
            expiry = self._expiry
            if expiry and expiry[0][0] <= now:
                self._purge(now)
            found = self._admit(charges, now)
            if isinstance(found, Refusal):
                return found
            held, handles = self._take(found, now)
            if len(self._keys) > self.maxsize:
                self._evict()
        return Reservation(rid, held, handles)

    def _admit(self, charges: Sequence[Charge], now: float) -> _Found | Refusal:
        """Every charge's slot and state, or the refusal of the first that does not fit."""
        keys, day = self._keys, _floor(now / DAY)
        found: _Found = []
        for index, charge in enumerate(charges):
            kind = charge.kind
            state: Window | Counter | None
            if kind == "window" or kind == "concurrent":
                slot, reset = charge.key, None
                state = keys.get(slot)
                if not isinstance(state, Window):
                    state = Window()
                elif state.expired_head(now - charge.span):
                    state.trim(now - charge.span)
                used = state.total
            else:
                if kind == "total":
                    slot, reset = charge.key, None
                else:
                    cached = self._slots.get((kind, charge.key))
                    if cached is not None and cached[0] == day:
                        slot, reset = cached[1], cached[2]
                    else:
                        slot, reset = self._slot(kind, charge.key, now)
                state = keys.get(slot)
                if not isinstance(state, Counter):
                    state = Counter()
                used = state.used
            if used + charge.units > charge.max_units:
                retry = self._retry(charge, state, now, reset)
                return Refusal(index, from_micro(used), retry, reset)
            found.append((charge, slot, state, reset))
        return found

    def _take(self, found: _Found, now: float) -> tuple[tuple[Held, ...], list[Any]]:
        """Charge every admitted charge; their ``Held`` and the handles to settle them."""
        keys, expiry = self._keys, self._expiry
        held = []
        handles: list[list[Any] | None] = []
        for charge, slot, state, reset in found:
            units = charge.units
            if isinstance(state, Window):
                entry = [now, units]
                state.order.append(entry)
                used = state.total = state.total + units
                # Re-register only when the expiry would not outlive this entry,
                # so a busy key touches the expiry heap once per span, not per call.
                if state.expires < now + charge.span:
                    state.expires = now + 2 * charge.span
                    keys[slot] = state
                    heappush(expiry, (state.expires, slot))
                handles.append(entry)
            else:
                used = state.used = state.used + units
                if not state.expires:  # new counter: lives until after its period
                    keys[slot] = state
                    state.expires = math.inf if reset is None else reset + DAY
                    if reset is not None:
                        heappush(expiry, (state.expires, slot))
                handles.append(None)
            held.append(Held(charge, slot, used / MICRO, reset))
        return tuple(held), handles

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
                if state.__class__ is Window:
                    entry = handles[i] if handles is not None else None
                    if entry is not None and entry[1] is not None:
                        if new > 0:
                            state.total += new - entry[1]
                            entry[1] = new
                        else:
                            state.release(entry)
                    out.append(state.total / MICRO)
                elif state.__class__ is Counter:
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
                        if not isinstance(state, Window)
                        else [(at, units) for at, units in state.entries if at > now - charge.span]
                    )
                    reset = live[0][0] + charge.span if live and charge.kind == "window" else None
                    readings.append(Reading(from_micro(sum(a for _, a in live)), reset))
                else:
                    slot, reset = bucket(charge.kind, charge.key, now)
                    counter = self._keys.get(slot)
                    used = counter.used if isinstance(counter, Counter) else 0
                    readings.append(Reading(from_micro(used), reset))
        return readings

    def _slot(self, kind: str, key: str, now: float) -> tuple[str, float | None]:
        """``bucket``, remembered per key for the rest of the (UTC) day."""
        slot, reset = bucket(kind, key, now)
        if len(self._slots) >= self.maxsize:
            self._slots.clear()
        self._slots[kind, key] = (_floor(now / DAY), slot, reset)
        return slot, reset

    def _purge(self, now: float) -> None:
        """Drop every key whose expiry has come (amortized O(log n) per stored key)."""
        expiry, keys = self._expiry, self._keys
        while expiry and expiry[0][0] <= now:
            _, slot = heappop(expiry)
            state = keys.get(slot)
            if state is not None and state.expires <= now:
                del keys[slot]
                if isinstance(state, Window):
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
            if isinstance(state, Window):
                state.kill()

    @staticmethod
    def _retry(
        charge: Charge, state: Window | Counter, now: float, reset: float | None
    ) -> float | None:
        if charge.units > charge.max_units:
            return None
        if charge.kind == "window" and isinstance(state, Window):
            return state.retry_after(now, charge.span, charge.units, charge.max_units)
        return None if reset is None else reset - now
