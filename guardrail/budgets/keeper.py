"""``BudgetKeeper``: the pipeline step that reserves budget before a tool runs and
settles it after.

For each call it works out every applicable limit and key (a principal in two
teams is charged on both team keys), asks the ledger to reserve them all in one
atomic operation, and on exit settles what the call really cost: the reported
cost, the declared cost, or nothing when the tool failed and the limit refunds.
Concurrent slots are always given back.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any, Literal

from guardrail.budgets.digest import args_digest
from guardrail.budgets.ledger import (
    MICRO,
    Charge,
    Held,
    Kind,
    Ledger,
    Refusal,
    make_charge,
)
from guardrail.budgets.limit import Limit
from guardrail.call import BudgetState, Call
from guardrail.errors import (
    BackendError,
    BudgetExceeded,
    ConfigurationError,
    LedgerUnavailable,
)
from guardrail.identity import Principal

OnError = Literal["deny", "allow"]
_TOOL_LEVELS = ("tool", "user+tool")
SHARED_KEYS = {"user": "anonymous", "team": "(no team)", "org": "(no org)"}
"""The one key a caller lacking a limit's key is charged on, shared by every such caller:
a limit never skips a call it covers (no principal: ``anonymous``; no teams; no or an
empty org)."""


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


class _Planned:
    """One charge of a plan: the limit, the key value it charges, the charge."""

    __slots__ = ("charge", "label", "limit", "value")

    def __init__(self, limit: Limit, value: str, charge: Charge) -> None:
        self.limit = limit
        self.value = value
        self.charge = charge
        self.label = f"{limit.id}:{value}"


_PLAN_CACHE = 16_384
"""Plans kept per keeper (tool x principal x session shapes); the oldest goes first."""
_SHARED_CACHE = 65_536
"""Planned charges kept per keeper, by (limit, key value, cost); cleared when full."""


class _Plan:
    """What one shape of call charges, worked out once and reused."""

    __slots__ = ("charges", "concurrent", "costed", "labels", "maxima", "planned")

    def __init__(self, planned: list[_Planned]) -> None:
        self.planned = tuple(planned)
        self.charges = tuple([p.charge for p in planned])
        self.labels = tuple([p.label for p in planned])
        self.maxima = tuple([p.limit.maximum for p in planned])
        self.costed = self.concurrent = False
        for p in planned:
            self.costed = self.costed or p.limit.cost is not None
            self.concurrent = self.concurrent or p.limit.concurrent is not None


def _applies(limit: Limit, principal: Principal | None) -> bool:
    when = limit.when
    if when.is_empty() and not when.anonymous:
        return True
    return when.matches(principal)


def _values(
    limit: Limit, principal: Principal | None, tool: str, sessions: Sequence[str]
) -> list[str]:
    """The keys ``limit`` charges for this caller: one, several (teams, nested sessions)
    or none (outside any session). A caller without a user, team or org is charged on
    that level's shared key (``SHARED_KEYS``)."""
    per = limit.per
    if per == "user":
        return [principal.subject if principal is not None else SHARED_KEYS["user"]]
    if per == "team":
        # dict.fromkeys: a team listed twice is still one key, charged once.
        teams = list(dict.fromkeys(principal.teams)) if principal is not None else []
        return teams or [SHARED_KEYS["team"]]
    if per == "org":
        return [principal.org if principal is not None and principal.org else SHARED_KEYS["org"]]
    if per == "session":
        return list(dict.fromkeys(sessions))
    if per == "tool":
        return [tool]
    if per == "global":
        return ["*"]
    subject = principal.subject if principal is not None else "anonymous"
    return [f"{subject}/{tool}"]  # user+tool


def _span_text(limit: Limit) -> str:
    if limit.concurrent is not None:
        return "in flight"
    if limit.window is not None:
        return f"in the last {limit.window:g}s"
    return {"day": "today (UTC)", "month": "this month (UTC)"}.get(limit.period or "", "in total")


def _for_step(limits: tuple[Limit, ...]) -> tuple[Limit, ...]:
    """The limits that charge a skill's step (an ``expose="skill"`` tool): only those that
    name it in ``tools``. The skill is budgeted as a whole, so limits over every tool
    count the skill once, not once per step."""
    return tuple(limit for limit in limits if limit.tools != ("*",))


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
        self.limits = tuple(limits)
        self.ledger = ledger
        self.on_error = on_error
        self.lease = lease
        self._by_tool: dict[str, tuple[Limit, ...]] = {}
        self._tool_shapes: dict[str, tuple[tuple[Limit, ...], bool]] = {}
        self._planned: dict[tuple[int, str, float | None], _Planned] = {}
        self._plans: OrderedDict[tuple[Any, ...], _Plan] = OrderedDict()
        self._shapes = {limit.id: self._shape(limit) for limit in self.limits}

    # -- planning (no I/O) --------------------------------------------------------

    def for_tool(self, tool: str) -> tuple[Limit, ...]:
        """The limits whose ``tools`` globs match ``tool`` (cached per tool name)."""
        found = self._by_tool.get(tool)
        if found is None:
            found = tuple(
                limit
                for limit in self.limits
                if any(fnmatchcase(tool, pattern) for pattern in limit.tools)
            )
            self._by_tool[tool] = found
        return found

    def plan(
        self,
        principal: Principal | None,
        tool: str,
        *,
        cost: float | None = None,
        args: dict[str, Any] | None = None,
        session: str | None = None,
        sessions: Sequence[str] = (),
        step: bool = False,
    ) -> list[_Planned]:
        planned = []
        shared = self._planned
        chain = sessions or ((session,) if session else ())
        for limit in _for_step(self.for_tool(tool)) if step else self.for_tool(tool):
            if not _applies(limit, principal):
                continue
            values = _values(limit, principal, tool, chain)
            if limit.identical:
                suffix = f":{tool}:{args_digest(args or {})}"
                for value in values:
                    key = f"{limit.id}:{limit.per}:{value}{suffix}"
                    planned.append(_Planned(limit, value, self._charge(limit, key, cost)))
                continue
            for value in values:
                # One charge per (limit, key, cost), shared by every plan that makes it
                # (a team's key is the same for all its members).
                found = shared.get((id(limit), value, cost))
                if found is None:
                    key = f"{limit.id}:{limit.per}:{value}"
                    found = _Planned(limit, value, self._charge(limit, key, cost))
                    if len(shared) >= _SHARED_CACHE:
                        shared.clear()
                    shared[id(limit), value, cost] = found
                planned.append(found)
        return planned

    def _charge(self, limit: Limit, key: str, cost: float | None) -> Charge:
        kind, span, maximum, is_cost = self._shapes[limit.id]
        if not is_cost:
            return make_charge(key, kind, 1.0, maximum, span)
        if cost is None:
            # An undeclared cost is unknown, not free (the tool may report one): it is
            # admitted only while the budget has something left, i.e. used < maximum,
            # which with an amount of 0 is used <= maximum - one micro-unit.
            return make_charge(key, kind, 0.0, maximum - 1 / MICRO, span)
        return make_charge(key, kind, cost, maximum, span)

    def _shape(self, limit: Limit) -> tuple[Kind, float, float, bool]:
        """How a limit's charges look: kind, span, maximum, counts cost (computed once)."""
        if limit.concurrent is not None:
            return "concurrent", self.lease, limit.maximum, False
        if limit.window is not None:
            return "window", limit.window, limit.maximum, limit.cost is not None
        kind: Kind = limit.period or "total"
        return kind, 0.0, limit.maximum, limit.cost is not None

    # -- the pipeline step -------------------------------------------------------

    def _plan_for(self, call: Call) -> _Plan:
        """The call's plan, from a bounded cache keyed by everything a plan depends on:
        tool, declared cost, session, the principal's subject / teams / org and which
        conditional limits match it. Limits keyed by arguments (``identical``) are not
        cached: their key changes with every call's arguments."""
        tool, principal = call.tool, call.principal
        name, cost, step = tool.name, tool.cost, tool.expose == "skill"
        shape = self._tool_shapes.get(name)
        if shape is None:
            shape = self._tool_shape(name, step)
        conditional, identical = shape
        sessions = call.sessions or ((call.session,) if call.session else ())
        if identical:
            args = call.args
            return _Plan(
                self.plan(principal, name, cost=cost, args=args, sessions=sessions, step=step)
            )
        mask = tuple([_applies(limit, principal) for limit in conditional]) if conditional else ()
        key: tuple[Any, ...] = (name, cost, sessions, mask)
        if principal is not None:
            key += (principal.subject, principal.teams, principal.org)
        plans = self._plans
        try:
            found = plans.get(key)  # an OrderedDict: the oldest plan goes first
        except TypeError:  # an unhashable field (e.g. teams given as a list): plan anew
            return _Plan(self.plan(principal, name, cost=cost, sessions=sessions, step=step))
        if found is None:
            found = _Plan(self.plan(principal, name, cost=cost, sessions=sessions, step=step))
            if len(plans) >= _PLAN_CACHE:
                with suppress(KeyError):  # emptied by another thread meanwhile
                    plans.popitem(last=False)
            plans[key] = found
        return found

    def _tool_shape(self, tool: str, step: bool = False) -> tuple[tuple[Limit, ...], bool]:
        limits = _for_step(self.for_tool(tool)) if step else self.for_tool(tool)
        conditional = tuple(
            limit for limit in limits if not (limit.when.is_empty() and not limit.when.anonymous)
        )
        shape = (conditional, any(limit.identical for limit in limits))
        self._tool_shapes[tool] = shape
        return shape

    def enter(self, call: Call) -> None:
        plan = self._plan_for(call)
        if not plan.charges:
            return
        try:
            result = self.ledger.reserve(plan.charges, rid=call.call_id)
        except BackendError as exc:
            self._ledger_failed(call, exc)
            return
        except Exception as exc:  # a ledger that did not wrap its error is still a failure
            self._ledger_failed(call, BackendError(f"{type(exc).__name__}: {exc}"))
            return
        if isinstance(result, Refusal):
            raise self._refuse(call, plan.planned[result.index], result)
        reserved = None
        if plan.costed and call.tool.cost is not None:
            reserved = float(call.tool.cost)
        call.budget = BudgetState(
            reserved=reserved,
            remaining={
                label: max(maximum - h.used, 0.0)
                for label, maximum, h in zip(plan.labels, plan.maxima, result.held, strict=True)
            },
            hold=(plan, result),
        )

    def exit(self, call: Call) -> None:
        budget = call.budget
        if budget is None or budget.hold is None:
            return
        plan, reservation = budget.hold
        budget.hold = None
        error = call.error
        if error is None and not plan.concurrent and call.reported_cost is None and call.ran:
            return  # every charge stands as reserved: nothing to settle, no round trip
        planned = plan.planned
        held = reservation.held
        amounts = [self._final(p.limit, h, call) for p, h in zip(planned, held, strict=True)]
        cost_amounts = [
            a for p, a in zip(planned, amounts, strict=True) if p.limit.cost is not None
        ]
        if cost_amounts:  # what the cost limits were finally charged (0 when refunded)
            budget.settled = max(cost_amounts)
        if all(a == h.charge.amount for a, h in zip(amounts, held, strict=True)):
            return  # nothing to change: no round trip
        try:
            used = self.ledger.settle(reservation, amounts)
        except Exception as exc:
            # The tool already ran; its result must not be lost to a settle failure.
            budget.ledger_note = f"settle failed: {exc}"
            return
        for p, now_used in zip(planned, used, strict=True):
            if p.limit.cost is not None:
                budget.remaining[p.label] = max(p.limit.maximum - now_used, 0.0)

    @staticmethod
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

    def _refuse(self, call: Call, planned: _Planned, refusal: Refusal) -> BudgetExceeded:
        limit = planned.limit
        retry = refusal.retry_after
        call.budget = BudgetState(remaining={planned.label: max(limit.maximum - refusal.used, 0.0)})
        return BudgetExceeded(
            _message(call.tool.name, planned, refusal),
            limit=limit.id,
            level=limit.per,
            key=planned.value,
            used=refusal.used,
            maximum=limit.maximum,
            retry_after=retry,
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
        planned: list[_Planned] = []
        for limit in self.limits:
            if limit.identical or not _applies(limit, principal):
                continue
            names = [t for t in tools if limit in self.for_tool(t)]
            for tool in names if limit.per in _TOOL_LEVELS else ["*"]:
                for value in _values(limit, principal, tool, (session,) if session else ()):
                    key = f"{limit.id}:{limit.per}:{value}"
                    planned.append(_Planned(limit, value, self._charge(limit, key, 0.0)))
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


def _message(tool: str, planned: _Planned, refusal: Refusal) -> str:
    limit, charge = planned.limit, planned.charge
    maximum = limit.maximum
    span = _span_text(limit)
    if refusal.retry_after is not None:
        when = f" Retry after {refusal.retry_after:.0f}s."
    elif charge.amount > maximum:
        when = f" This call needs {charge.amount:g}, more than the whole limit."
    else:
        when = ""
    if limit.identical:
        return (
            f"{tool!r} was already called {refusal.used:g} times with these exact arguments "
            f"{span} (limit {limit.id!r} allows {maximum:g}): the same call keeps "
            f"repeating. Change the arguments or stop calling it.{when}"
        )
    unit = {"calls": "calls", "cost": "cost", "concurrent": "concurrent calls"}[limit.measure]
    shared = ""
    if SHARED_KEYS.get(limit.per) == planned.value:
        shared = f" (every caller without a {limit.per} shares this key)"
    return (
        f"budget exceeded for {tool!r}: {limit.per} {planned.value!r}{shared} has used "
        f"{refusal.used:g} of {maximum:g} {unit} {span} (limit {limit.id!r}).{when}"
    )
