"""The memory ledger's per-key state: sliding windows (and in-flight slots) and counters."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import Any

DAY = 86400
_floor = math.floor


class Window:
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


class Counter:
    __slots__ = ("expires", "used")

    def __init__(self) -> None:
        self.used = 0
        self.expires = 0.0
        """When the ledger drops it; 0 until it is first stored."""


def bucket(kind: str, key: str, now: float) -> tuple[str, float | None]:
    """The counter slot for a calendar or never-resetting key, and its reset time."""
    if kind == "total":
        return key, None
    day = _floor(now / DAY)
    if kind == "day":
        return f"{key}:{day}", float((day + 1) * DAY)
    month, reset = _month_of(day)
    return f"{key}:{month}", reset


@lru_cache(maxsize=64)
def _month_of(day: int) -> tuple[int, float]:
    """``yyyymm`` of a day since the epoch, and when the next month starts (UTC)."""
    at = datetime.fromtimestamp(day * DAY, UTC)
    year, month = (at.year + 1, 1) if at.month == 12 else (at.year, at.month + 1)
    return at.year * 100 + at.month, datetime(year, month, 1, tzinfo=UTC).timestamp()
