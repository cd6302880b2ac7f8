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
from collections.abc import Callable, Iterable, Sequence
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
_Slots = tuple[tuple[str, float | None], ...]
"""Where each charge of a plan goes (its key, or its calendar bucket) and when it resets."""


class _Prepared(tuple[Charge, ...]):
    """A plan's charges with what reserving them needs worked out once
    (:meth:`MemoryLedger.prepare`): which are windows, and today's calendar slots."""

    windowed: tuple[bool, ...]
    today: tuple[float, float, _Slots]
    """The day the slots are for, as [start, end) epoch seconds, and the slots."""

    def __new__(cls, charges: Iterable[Charge]) -> _Prepared:
        prepared = super().__new__(cls, charges)
        prepared.windowed = tuple(c.kind in ("window", "concurrent") for c in prepared)
        prepared.today = (0.0, -1.0, ())
        return prepared

    def slots_on(self, now: float) -> _Slots:
        """Each charge's slot and reset at ``now``; worked out again when the day changes."""
        start, end, slots = self.today
        if start <= now < end:
            return slots
        day = _floor(now / DAY)
        slots = tuple(
            (c.key, None) if window else bucket(c.kind, c.key, now)
            for c, window in zip(self, self.windowed, strict=True)
        )
        self.today = (float(day * DAY), float((day + 1) * DAY), slots)
        return slots


class _Reserved(Reservation):
    """A memory reservation: its ``held`` is made only when read (most calls never do).
    ``handle`` is the window entry of each charge (``None`` for a counter)."""

    __slots__ = ("_plan", "_slots", "_used")

    def __init__(
        self, rid: str, plan: _Prepared, slots: _Slots, used: list[int], entries: list[Any]
    ) -> None:
        # Set here, not through Reservation.__init__: one frame less per call.
        self.id, self._held, self.handle = rid, (), entries
        self._plan, self._slots, self._used = plan, slots, used

    @property
    def held(self) -> tuple[Held, ...]:
        if not self._held:
            self._held = tuple(
                Held(charge, slot, used / MICRO, reset)
                for charge, (slot, reset), used in zip(
                    self._plan, self._slots, self._used, strict=True
                )
            )
        return self._held


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

    def prepare(self, charges: Sequence[Charge]) -> Sequence[Charge]:
        return charges if type(charges) is _Prepared else _Prepared(charges)

    def reserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        plan = charges if type(charges) is _Prepared else _Prepared(charges)
        with self._lock:
            now = self.clock()
            expiry = self._expiry
            if expiry and expiry[0][0] <= now:
                self._purge(now)
            slots = plan.slots_on(now)
            used: list[int] = []
            entries: list[Any] = []
            known = len(self._keys)
            refused = self._take(plan, slots, now, used, entries)
            if refused is not None:
                self._give_back(plan, slots, entries, known)
                return refused
            if len(self._keys) > self.maxsize:
                self._evict()
        return _Reserved(rid, plan, slots, used, entries)

    def _take(
        self, plan: _Prepared, slots: _Slots, now: float, used: list[int], entries: list[Any]
    ) -> Refusal | None:
        """Charge the plan's charges in order, appending each one's use and window entry;
        the refusal of the first that does not fit (the caller gives back the rest)."""
        keys, windowed = self._keys, plan.windowed
        for index, charge in enumerate(plan):
            slot, reset = slots[index]
            state = keys.get(slot)
            units, span = charge.units, charge.span
            if windowed[index]:
                window = state if isinstance(state, Window) else Window()
                order, head = window.order, window.head  # is the oldest entry out?
                if head < len(order) and order[head][0] <= now - span:
                    window.trim(now - span)
                if window.total + units > charge.max_units:
                    return self._refusal(index, charge, window, window.total, now, None)
                entry = [now, units]
                window.order.append(entry)
                used.append(window.total + units)
                window.total += units
                entries.append(entry)
                # Re-register only when the expiry would not outlive this entry,
                # so a busy key touches the expiry heap once per span, not per call.
                if window.expires < now + span:
                    self._register(window, slot, now + 2 * span)
                continue
            counter = state if isinstance(state, Counter) else Counter()
            if counter.used + units > charge.max_units:
                return self._refusal(index, charge, counter, counter.used, now, reset)
            counter.used += units
            used.append(counter.used)
            entries.append(None)
            if not counter.expires:  # new counter: lives until after its period
                self._register(counter, slot, math.inf if reset is None else reset + DAY)
        return None

    def _register(self, state: Window | Counter, slot: str, expires: float) -> None:
        """Store ``state`` under ``slot`` until ``expires`` (never: ``inf``)."""
        state.expires = expires
        self._keys[slot] = state
        if expires != math.inf:
            heappush(self._expiry, (expires, slot))

    def _give_back(self, plan: _Prepared, slots: _Slots, entries: list[Any], known: int) -> None:
        """Undo what :meth:`_take` charged before a charge was refused (latest first), and
        drop the keys it created (the newest ``len(keys) - known``: dicts keep order)."""
        keys = self._keys
        for index in range(len(entries) - 1, -1, -1):
            state = keys[slots[index][0]]
            units = plan[index].units
            if isinstance(state, Window):
                state.order.pop()
                state.total -= units
            else:
                state.used -= units
        for slot in list(islice(reversed(keys), len(keys) - known)):
            del keys[slot]  # its expiry row is skipped when popped

    def _refusal(
        self,
        index: int,
        charge: Charge,
        state: Window | Counter,
        used: int,
        now: float,
        reset: float | None,
    ) -> Refusal:
        return Refusal(index, from_micro(used), self._retry(charge, state, now, reset), reset)

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
