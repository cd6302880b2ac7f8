"""``BudgetKeeper``: the pipeline step that reserves budget before a tool runs and
settles it after.

For each call it takes the call's plan (:mod:`guardrail.budgets.plan`: every
applicable limit and key), asks the ledger to reserve them all in one atomic
operation, and on exit settles what the call really cost: the reported cost, the
declared cost, or nothing when the tool failed and the limit refunds. Concurrent
slots are always given back. The async driver awaits the ledger's async twins
(``areserve`` / ``asettle``), so a Redis round trip never blocks an event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from guardrail.budgets.ledger import Held, Ledger, Refusal, Reservation
from guardrail.budgets.limit import Limit
from guardrail.budgets.messages import refusal_message
from guardrail.budgets.plan import SHARED_KEYS, Plan, Planned, Planner, applies, key_values
from guardrail.call import BudgetState, Call
from guardrail.errors import (
    BackendError,
    BudgetExceeded,
    ConfigurationError,
    LedgerUnavailable,
)
from guardrail.identity import Principal

__all__ = ["SHARED_KEYS", "BudgetKeeper", "OnError", "Usage"]

OnError = Literal["deny", "allow"]
_TOOL_LEVELS = ("tool", "user+tool")


@dataclass(frozen=True, slots=True)
class Usage:
    """How much of one limit one key has used, as ``guard.usage()`` reports it."""

    limit: str
    level: str
    key: str
    measure: str
    used: float
    maximum: float
    remaining: float
    resets_at: datetime | None
    """Next calendar reset, or when the oldest entry of a sliding window expires."""


class BudgetKeeper:
    """Reserve -> settle for every applicable limit, atomically, through a :class:`Ledger`.

    ``on_error="deny"`` refuses calls while the ledger is down (:class:`LedgerUnavailable`);
    ``"allow"`` lets them through and marks the audit record as failed open.
    ``lease`` is how long a ``concurrent`` slot survives a process that died holding it.
    """

    def __init__(
        self,
        limits: Iterable[Limit],
        ledger: Ledger,
        *,
        on_error: OnError = "deny",
        lease: float = 3600.0,
    ) -> None:
        if on_error not in ("deny", "allow"):
            raise ConfigurationError(f"on_ledger_error must be 'deny' or 'allow', not {on_error!r}")
        self.planner = Planner(limits, lease, ledger.prepare)
        self.limits = self.planner.limits
        self.ledger = ledger
        self.on_error = on_error
        self.lease = lease
        # A ledger whose async twins are the defaults (they call the sync methods, e.g.
        # memory) gains nothing from them: the async driver then calls enter/exit.
        base = type(ledger)
        self.awaits = base.areserve is not Ledger.areserve or base.asettle is not Ledger.asettle

    def for_tool(self, tool: str) -> tuple[Limit, ...]:
        """The limits whose ``tools`` globs match ``tool``."""
        return self.planner.for_tool(tool)

    # -- the pipeline step -------------------------------------------------------

    def enter(self, call: Call) -> None:
        plan = self.planner.plan_for(call)
        if not plan.charges:
            return
        try:
            result = self.ledger.reserve(plan.charges, rid=call.call_id)
        except Exception as exc:  # a ledger that did not wrap its error is still a failure
            self._ledger_failed(call, _backend_error(exc))
            return
        self._reserved(call, plan, result)

    async def aenter(self, call: Call) -> None:
        """:meth:`enter` for the async driver: the ledger's round trip is awaited."""
        plan = self.planner.plan_for(call)
        if not plan.charges:
            return
        try:
            result = await self.ledger.areserve(plan.charges, rid=call.call_id)
        except Exception as exc:
            self._ledger_failed(call, _backend_error(exc))
            return
        self._reserved(call, plan, result)

    def exit(self, call: Call) -> None:
        settling = self._settling(call)
        if settling is None:
            return
        plan, reservation, amounts = settling
        try:
            used = self.ledger.settle(reservation, amounts)
        except Exception as exc:
            _settle_failed(call, exc)  # the tool ran: its result must not be lost
            return
        _settled(call, plan, used)

    async def aexit(self, call: Call) -> None:
        """:meth:`exit` for the async driver: the settle round trip is awaited."""
        settling = self._settling(call)
        if settling is None:
            return
        plan, reservation, amounts = settling
        try:
            used = await self.ledger.asettle(reservation, amounts)
        except Exception as exc:
            _settle_failed(call, exc)
            return
        _settled(call, plan, used)

    # -- around the ledger -------------------------------------------------------

    def _reserved(self, call: Call, plan: Plan, result: Reservation | Refusal) -> None:
        if isinstance(result, Refusal):
            raise self._refuse(call, plan.planned[result.index], result)
        call.budget = _Held(plan, result)

    def _settling(self, call: Call) -> tuple[Plan, Reservation, list[float]] | None:
        """The reservation and what its charges finally amount to; ``None`` when nothing
        changes (every charge stands as reserved: no round trip). Taken once: a second
        exit finds nothing to settle."""
        budget = call.budget
        if budget is None or budget.hold is None:
            return None
        hold: _Held = budget.hold
        budget.hold, budget.closed = None, True
        plan = hold.plan
        if call.error is None and not plan.concurrent and call.reported_cost is None and call.ran:
            return None
        reservation = hold.reservation
        planned, held = plan.planned, reservation.held
        amounts = [_final(p.limit, h, call) for p, h in zip(planned, held, strict=True)]
        costs = [a for p, a in zip(planned, amounts, strict=True) if p.limit.cost is not None]
        if costs:  # what the cost limits were finally charged (0 when refunded)
            budget.settled = max(costs)
        if all(a == h.charge.amount for a, h in zip(amounts, held, strict=True)):
            return None
        return plan, reservation, amounts

    def _ledger_failed(self, call: Call, exc: BackendError) -> None:
        if self.on_error == "allow":
            call.budget = BudgetState(ledger_note=f"unavailable, failed open: {exc}")
            return
        call.budget = BudgetState(ledger_note=f"unavailable: {exc}")
        raise LedgerUnavailable(
            f"budget ledger unavailable: {exc} (the call was refused: on_ledger_error='deny')",
            tool=call.tool.name,
            principal=call.principal,
        ) from exc

    def _refuse(self, call: Call, planned: Planned, refusal: Refusal) -> BudgetExceeded:
        limit = planned.limit
        call.budget = BudgetState(remaining={planned.label: max(limit.maximum - refusal.used, 0.0)})
        return BudgetExceeded(
            refusal_message(call.tool.name, planned, refusal),
            limit=limit.id,
            level=limit.per,
            key=planned.value,
            used=refusal.used,
            maximum=limit.maximum,
            retry_after=refusal.retry_after,
            tool=call.tool.name,
            principal=call.principal,
        )

    # -- reporting ----------------------------------------------------------------

    def usage(
        self,
        principal: Principal | None,
        *,
        tools: Sequence[str] = (),
        session: str | None = None,
    ) -> list[Usage]:
        """Use and remaining budget of every limit that applies to ``principal``.

        Limits keyed by tool are reported for each of ``tools`` their globs match;
        ``identical`` limits (keyed by arguments) are left out.
        """
        planned: list[Planned] = []
        for limit in self.limits:
            if limit.identical or not applies(limit, principal):
                continue
            names = [t for t in tools if limit in self.for_tool(t)]
            for tool in names if limit.per in _TOOL_LEVELS else ["*"]:
                for value in key_values(limit, principal, tool, (session,) if session else ()):
                    charge = self.planner.charge(limit, f"{limit.id}:{limit.per}:{value}", 0.0)
                    planned.append(Planned(limit, value, charge))
        if not planned:
            return []
        readings = self.ledger.usage([p.charge for p in planned])
        return [
            Usage(
                limit=p.limit.id,
                level=p.limit.per,
                key=p.value,
                measure=p.limit.measure,
                used=r.used,
                maximum=p.charge.maximum,
                remaining=max(p.charge.maximum - r.used, 0.0),
                resets_at=None if r.reset is None else datetime.fromtimestamp(r.reset, UTC),
            )
            for p, r in zip(planned, readings, strict=True)
        ]


class _Held(BudgetState):
    """The budget state of a call whose charges are held: it is also the budget step's
    handle on the reservation (``hold``, taken when settling), and where the remaining
    budget is read from, only when a record or span asks."""

    __slots__ = ("plan", "reservation")

    def __init__(self, plan: Plan, reservation: Reservation) -> None:
        # The fields set here, not through BudgetState.__init__: one frame less per call.
        self.reserved, self.settled, self._remaining = plan.reserved, None, None
        self.ledger_note, self.hold = None, self
        self.plan, self.reservation = plan, reservation

    def _remaining_now(self) -> dict[str, float]:
        plan = self.plan
        return {
            label: max(maximum - h.used, 0.0)
            for label, maximum, h in zip(
                plan.labels, plan.maxima, self.reservation.held, strict=True
            )
        }


def _final(limit: Limit, held: Held, call: Call) -> float:
    """What a held charge amounts to once the call is over."""
    if limit.concurrent is not None or not call.ran:
        return 0.0
    if limit.cost is None:
        return held.charge.amount  # a failed call is still a call (runaway loops)
    if call.reported_cost is not None:
        return call.reported_cost
    if call.error is not None and limit.refund_on_error:
        return 0.0
    return held.charge.amount


def _settle_failed(call: Call, exc: Exception) -> None:
    assert call.budget is not None
    call.budget.ledger_note = f"settle failed: {exc}"


def _settled(call: Call, plan: Plan, used: tuple[float, ...]) -> None:
    budget = call.budget
    assert budget is not None
    for p, now_used in zip(plan.planned, used, strict=True):
        if p.limit.cost is not None:
            budget.remaining[p.label] = max(p.limit.maximum - now_used, 0.0)


def _backend_error(exc: Exception) -> BackendError:
    if isinstance(exc, BackendError):
        return exc
    return BackendError(f"{type(exc).__name__}: {exc}")
