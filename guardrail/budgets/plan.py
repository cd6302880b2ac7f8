"""Which charges a call makes: the budget step's planning, with no I/O.

For a tool and a caller, every limit whose ``tools`` globs match and whose ``when``
holds charges one key per value of its ``per`` level (a principal in two teams is
charged on both team keys). :class:`Planner` works a call's :class:`Plan` out once per
(tool, declared cost, sessions, principal object) and reuses it; only limits keyed
by arguments (``identical``) are planned per call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from guardrail.budgets.digest import args_digest
from guardrail.budgets.ledger import MICRO, Charge, Kind, make_charge
from guardrail.budgets.limit import Limit
from guardrail.call import Call
from guardrail.identity import Principal
from guardrail.policy.names import covers

SHARED_KEYS = {"user": "anonymous", "team": "(no team)", "org": "(no org)"}
"""The one key a caller lacking a limit's key is charged on, shared by every such caller:
a limit never skips a call it covers (no principal: ``anonymous``; no teams; no or an
empty org)."""

_MEMO = 16_384
"""Plans kept per planner (tool x cost x sessions x principal); the oldest goes first."""
_SHARED = 65_536
"""Planned charges kept per planner, by (limit, key value, cost)."""


class Planned:
    """One charge of a plan: the limit, the key value it charges, the charge."""

    __slots__ = ("charge", "label", "limit", "value")

    def __init__(self, limit: Limit, value: str, charge: Charge) -> None:
        self.limit = limit
        self.value = value
        self.charge = charge
        self.label = f"{limit.id}:{value}"


class Plan:
    """What one shape of call charges, worked out once and reused.

    ``charges`` are in the form the ledger reserves fastest (:meth:`Ledger.prepare`);
    ``reserved`` is the declared cost the plan's cost limits reserve, if any.
    """

    __slots__ = ("charges", "concurrent", "costed", "labels", "maxima", "planned", "reserved")

    def __init__(
        self,
        planned: list[Planned],
        cost: float | None = None,
        prepare: Callable[[Sequence[Charge]], Sequence[Charge]] = tuple,
    ) -> None:
        self.planned = tuple(planned)
        self.charges = prepare(tuple([p.charge for p in planned]))
        self.labels = tuple([p.label for p in planned])
        self.maxima = tuple([p.limit.maximum for p in planned])
        self.costed = any(p.limit.cost is not None for p in planned)
        self.concurrent = any(p.limit.concurrent is not None for p in planned)
        self.reserved = float(cost) if self.costed and cost is not None else None


def applies(limit: Limit, principal: Principal | None) -> bool:
    when = limit.when
    if when.is_empty() and not when.anonymous:
        return True
    return when.matches(principal)


def key_values(
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


def _plan_slot(*key: Any) -> list[tuple[Principal | None, Plan | None] | None]:
    return [None]


class Planner:
    """Plans for one set of limits (one policy): bounded memos, no I/O.

    ``lease`` is the span of a ``concurrent`` slot (how long it survives a process
    that died holding it).
    """

    def __init__(
        self,
        limits: Iterable[Limit],
        lease: float,
        prepare: Callable[[Sequence[Charge]], Sequence[Charge]] = tuple,
    ) -> None:
        self.limits = tuple(limits)
        self.lease = lease
        self.prepare = prepare
        """The ledger's :meth:`~guardrail.budgets.ledger.Ledger.prepare`, applied once per plan."""
        self._shapes = {id(limit): self._shape(limit) for limit in self.limits}
        self._by_id = {id(limit): limit for limit in self.limits}
        self.for_tool = functools.lru_cache(maxsize=_MEMO)(self._for_tool)
        self._shared = functools.lru_cache(maxsize=_SHARED)(self._shared_charge)
        self._slots = functools.lru_cache(maxsize=_MEMO)(_plan_slot)

    def _for_tool(self, tool: str, step: bool = False) -> tuple[Limit, ...]:
        """The limits whose ``tools`` globs match ``tool``. A skill's step (``step``, an
        ``expose="skill"`` tool) is charged only by limits naming it: the skill is
        budgeted as a whole, so limits over every tool count it once, not per step."""
        return tuple(
            limit
            for limit in self.limits
            if any(covers(pattern, tool, ignore_case=True) for pattern in limit.tools)
            and not (step and limit.tools == ("*",))
        )

    def plan_for(self, call: Call) -> Plan:
        """The call's plan. Memoized per principal object (by identity: a principal whose
        values merely compare equal never shares a plan), tool, declared cost and
        sessions; a plan with ``identical`` limits is keyed by arguments: made per call."""
        tool, principal = call.tool, call.principal
        step = tool.expose == "skill"
        sessions = call.sessions or ((call.session,) if call.session else ())
        slot = self._slots(tool.name, tool.cost, step, sessions, id(principal))
        found = slot[0]
        if found is None or found[0] is not principal:
            limits = self.for_tool(tool.name, step)
            plan = None
            if not any(limit.identical for limit in limits):
                planned = self.plan(principal, tool.name, tool.cost, sessions, step)
                plan = Plan(planned, tool.cost, self.prepare)
            # The slot holds the principal: its id stays its own while memoized.
            found = slot[0] = (principal, plan)
        if found[1] is not None:
            return found[1]
        planned = self.plan(principal, tool.name, tool.cost, sessions, step, call.args)
        return Plan(planned, tool.cost)

    def plan(
        self,
        principal: Principal | None,
        tool: str,
        cost: float | None,
        sessions: Sequence[str],
        step: bool = False,
        args: dict[str, Any] | None = None,
    ) -> list[Planned]:
        planned = []
        for limit in self.for_tool(tool, step):
            if not applies(limit, principal):
                continue
            values = key_values(limit, principal, tool, sessions)
            if limit.identical:
                suffix = f":{tool}:{args_digest(args or {})}"
                for value in values:
                    key = f"{limit.id}:{limit.per}:{value}{suffix}"
                    planned.append(Planned(limit, value, self.charge(limit, key, cost)))
                continue
            # One charge per (limit, key, cost), shared by every plan that makes it
            # (a team's key is the same for all its members).
            planned.extend(self._shared(id(limit), value, cost) for value in values)
        return planned

    def _shared_charge(self, limit_id: int, value: str, cost: float | None) -> Planned:
        limit = self._by_id[limit_id]
        return Planned(limit, value, self.charge(limit, f"{limit.id}:{limit.per}:{value}", cost))

    def charge(self, limit: Limit, key: str, cost: float | None) -> Charge:
        kind, span, maximum, is_cost = self._shapes[id(limit)]
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
