"""A policy's rules compiled for one tool, and for one principal calling it.

:class:`~guardrail.policy.evaluator.Evaluator` builds these once per tool name and
once per (tool, principal object); each call then checks only the constraints of
the rules that can apply to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guardrail.conditions import PrincipalTest
from guardrail.identity import Principal
from guardrail.policy.constraints import ArgCheck, ResolvedOp
from guardrail.policy.decision import Decision
from guardrail.policy.model import Rule
from guardrail.policy.regions import ToolParams

__all__ = ["Applicable", "CompiledRule", "ToolRules"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    order: int
    rule: Rule
    checks: tuple[ArgCheck, ...]
    applies: PrincipalTest
    """The rule's ``when`` condition, compiled (:meth:`Condition.compile`)."""
    allowed: Decision
    """The decision when this allow rule matches: built once, not per call."""

    @property
    def id(self) -> str:
        return self.rule.id

    def verdict(
        self, args: Mapping[str, Any], principal: Principal | None, declared: frozenset[str]
    ) -> tuple[bool | None, str]:
        """All constraints together (Kleene and): ``False`` wins, then ``None``."""
        result: bool | None = True
        requirement = ""
        for check in self.checks:
            outcome, text = check.verdict(args, principal, declared)
            if outcome is False:
                return False, text
            if outcome is None and result is True:
                result, requirement = None, text
        return result, requirement

    def region(self, principal: Principal | None) -> dict[str, tuple[ResolvedOp, ...]]:
        return {check.arg: check.resolve(principal) for check in self.checks}


@dataclass(frozen=True, slots=True)
class ToolRules:
    """The rules whose globs match one (normalised) tool name, in policy order."""

    name: str
    deny: tuple[CompiledRule, ...]
    allow: tuple[CompiledRule, ...]
    approve: tuple[CompiledRule, ...]
    """``approve`` rules: a match holds the call until a human grants it."""
    denials: tuple[Decision, ...]
    """The decision of each ``deny`` rule for this tool, in the same order."""
    params: ToolParams | None
    """The tool's parameters when it registered (``None``: not known)."""
    declared: frozenset[str]
    """The parameter names (empty when not known)."""
    valid: bool
    """Whether the name is a valid tool name (an invalid one is always denied)."""


class Applicable:
    """The rules of one tool that apply to one principal, worked out once.

    ``fixed`` is the decision when the arguments cannot change it: the first applicable
    deny rule has no constraints, no deny rule applies and the first applicable allow
    rule has none, or nothing applies (default deny). Otherwise :meth:`Evaluator.decide`
    checks only these rules' constraints, in policy order.
    """

    __slots__ = ("allow", "approve", "deny", "fixed", "principal", "rules")

    def __init__(self, rules: ToolRules, principal: Principal | None, tool: str) -> None:
        self.rules = rules
        self.principal = principal
        """Held so that the principal's id, the memo key, stays its own while memoized."""
        pairs = zip(rules.deny, rules.denials, strict=True)
        self.deny = tuple((c, d) for c, d in pairs if c.applies(principal))
        self.allow = tuple(c for c in rules.allow if c.applies(principal))
        self.approve = tuple(c for c in rules.approve if c.applies(principal))
        self.fixed: Decision | None = None
        if not rules.valid:
            self.fixed = Decision(False, None, f"{tool!r} is not a valid tool name")
        elif self.deny:
            self.fixed = None if self.deny[0][0].checks else self.deny[0][1]
        elif self.approve:
            self.fixed = None  # a human decides: the approval gate looks at every call
        elif self.allow:
            self.fixed = None if self.allow[0].checks else self.allow[0].allowed
        else:
            who = principal.describe() if principal else "an anonymous caller"
            reason = f"no rule allows {who} to call {tool!r} (default deny)"
            self.fixed = Decision(False, None, reason)
