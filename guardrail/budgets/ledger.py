"""The ``Ledger`` contract every budget backend keeps, and the URI registry.

A ledger knows nothing about principals or policies: it holds *charges* against
keys. :meth:`Ledger.reserve` checks a whole set of charges atomically and either
charges all of them (a :class:`Reservation`) or none (a :class:`Refusal`).
:meth:`Ledger.settle` later changes what each held charge amounts to: the real
cost a tool reported, or zero to release it.

A charge is admitted iff ``used + amount <= maximum``; a charge larger than its
maximum can never be admitted. Amounts are kept as integer micro-units inside the
backends so that sums and the boundary are exact.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from guardrail.errors import ConfigurationError

Kind = Literal["window", "concurrent", "day", "month", "total"]
"""How a key resets: sliding ``window``, in-flight ``concurrent`` slots (released when
the call ends, reclaimed after a lease), calendar ``day``/``month`` in UTC, or never."""

MICRO = 1_000_000


def to_micro(amount: float) -> int:
    """Exact integer micro-units for an amount (``0.1`` -> ``100000``)."""
    return round(amount * MICRO)


def from_micro(units: int) -> float:
    return units / MICRO


@dataclass(frozen=True, slots=True)
class Charge:
    """What one call asks of one key."""

    key: str
    """The counter's name, e.g. ``team-spend:team:payments`` (the backend may add a bucket)."""
    kind: Kind
    amount: float
    maximum: float
    span: float = 0.0
    """Seconds: the window length, or the lease of a ``concurrent`` slot."""
    units: int = field(init=False, repr=False, compare=False)
    """``amount`` in exact micro-units (computed once, when the charge is built)."""
    max_units: int = field(init=False, repr=False, compare=False)
    """``maximum`` in exact micro-units."""

    def __post_init__(self) -> None:
        # Charges are planned once and reused call after call: convert once here.
        object.__setattr__(self, "units", to_micro(self.amount))
        object.__setattr__(self, "max_units", to_micro(self.maximum))


# Held and Reservation are made once per call on the hot path: plain slotted classes
# (a frozen dataclass pays object.__setattr__ per field). Treat them as read-only.


@dataclass(slots=True)
class Held:
    """One charge as it was reserved (read-only by convention)."""

    charge: Charge
    slot: str
    """Where it was charged (the key plus the calendar bucket, if any)."""
    used: float
    """The key's use including this charge."""
    reset: float | None
    """Epoch seconds when a calendar key resets; ``None`` for the other kinds."""

    @property
    def remaining(self) -> float:
        return max(self.charge.maximum - self.used, 0.0)


class Reservation:
    """Charges held for one call, until settled (read-only by convention).

    ``handle`` is backend-private: what the ledger needs to settle it without a
    search. A backend may work ``held`` out only when it is first read (a subclass
    overriding the property): most calls never read it.
    """

    __slots__ = ("_held", "handle", "id")

    def __init__(self, id: str, held: tuple[Held, ...], handle: Any = None) -> None:
        self.id = id
        self._held = held
        self.handle = handle

    @property
    def held(self) -> tuple[Held, ...]:
        """Each charge as it was reserved, in the order of the charges."""
        return self._held

    def __repr__(self) -> str:
        return f"Reservation(id={self.id!r}, held={self.held!r})"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Nothing was charged because ``charges[index]`` would not fit."""

    index: int
    used: float
    retry_after: float | None
    """Seconds until the charge could fit, when that is known."""
    reset: float | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """The current use of a key, as :meth:`Ledger.usage` reports it."""

    used: float
    reset: float | None
    """Epoch seconds: the next calendar reset, or when the oldest window entry expires."""


def make_charge(key: str, kind: Kind, amount: float, maximum: float, span: float) -> Charge:
    return Charge(key, kind, amount, maximum, span)


def make_held(charge: Charge, slot: str, used: float, reset: float | None) -> Held:
    return Held(charge, slot, used, reset)


def make_reservation(rid: str, held: tuple[Held, ...], handle: Any = None) -> Reservation:
    return Reservation(rid, held, handle)


class Ledger(ABC):
    """Where budgets are counted. Implementations must be safe to share across threads.

    Errors of the store are raised as :class:`~guardrail.errors.BackendError`.
    """

    def prepare(self, charges: Sequence[Charge]) -> Sequence[Charge]:
        """``charges`` in the form this ledger reserves fastest, still a sequence of them.

        The budget step prepares each plan once and passes the result to every
        :meth:`reserve` of that plan; a ledger may precompute keys or encodings in it.
        ``reserve`` still takes any sequence of charges.
        """
        return tuple(charges)

    @abstractmethod
    def reserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        """Check every charge; charge them all, or none.

        ``rid`` names the reservation; it must be unique across every process that
        shares the ledger (the keeper uses the call's random id).
        """

    @abstractmethod
    def settle(self, reservation: Reservation, amounts: Sequence[float]) -> tuple[float, ...]:
        """Make each held charge amount to ``amounts[i]`` (0 releases it); returns use."""

    @abstractmethod
    def usage(self, charges: Sequence[Charge]) -> list[Reading]:
        """Current use of each charge's key, charging nothing."""

    def release(self, reservation: Reservation) -> None:
        """Give back everything ``reservation`` holds (a failed or cancelled call)."""
        self.settle(reservation, [0.0] * len(reservation.held))

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Free connections; the ledger is not used afterwards."""

    # The async twins: a ledger that does I/O overrides them so that no event loop
    # waits on it; one that does none (memory) answers right away.

    async def areserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        """:meth:`reserve` for a coroutine."""
        return self.reserve(charges, rid=rid)

    async def asettle(
        self, reservation: Reservation, amounts: Sequence[float]
    ) -> tuple[float, ...]:
        """:meth:`settle` for a coroutine."""
        return self.settle(reservation, amounts)

    async def ausage(self, charges: Sequence[Charge]) -> list[Reading]:
        """:meth:`usage` for a coroutine."""
        return self.usage(charges)

    async def arelease(self, reservation: Reservation) -> None:
        """:meth:`release` for a coroutine."""
        await self.asettle(reservation, [0.0] * len(reservation.held))

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to do by default
        """Free this event loop's connections."""


LedgerFactory = Callable[[str], Ledger]

_SCHEMES: dict[str, LedgerFactory] = {}


def register_scheme(scheme: str, factory: LedgerFactory) -> None:
    """Make ``ledger_from_uri("<scheme>://...")`` build a ledger with ``factory(uri)``."""
    _SCHEMES[scheme] = factory


def ledger_from_uri(uri: str) -> Ledger:
    """``memory://`` or ``redis://host:port/db`` (also ``rediss://``, ``unix://``);
    ``redis+cluster://host:port`` for any node of a Redis Cluster."""
    scheme, sep, _ = uri.partition("://")
    factory = _SCHEMES.get(scheme) if sep else None
    if factory is None:
        known = ", ".join(f"{name}://" for name in sorted(_SCHEMES))
        raise ConfigurationError(f"unknown ledger URI {uri!r}: use one of {known}")
    return factory(uri)


def _memory(uri: str) -> Ledger:
    from guardrail.budgets.memory import MemoryLedger

    return MemoryLedger()


def _redis(uri: str) -> Ledger:
    from guardrail.budgets.redis_ledger import RedisLedger

    return RedisLedger.from_url(uri)


def _redis_cluster(uri: str) -> Ledger:
    from guardrail.budgets.redis_ledger import RedisLedger

    return RedisLedger.from_url("redis://" + uri.partition("://")[2], cluster=True)


register_scheme("memory", _memory)
register_scheme("redis+cluster", _redis_cluster)
for _scheme in ("redis", "rediss", "unix"):
    register_scheme(_scheme, _redis)
