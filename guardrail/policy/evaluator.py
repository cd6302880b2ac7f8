"""The compiled policy: one evaluator behind every enforcement point.

Listing tools, narrowing their schemas and checking a call all ask this object,
so what a user is shown and what they may call cannot disagree.

Constraints are three-valued (:mod:`guardrail.policy.operators`): an allow rule
applies only when every constraint holds; a deny rule applies unless one
definitely fails, so a value the policy cannot judge is denied, never let through.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrail.conditions import PrincipalTest
from guardrail.identity import Principal
from guardrail.policy.constraints import ArgCheck, ResolvedOp
from guardrail.policy.decision import Decision
from guardrail.policy.model import Rule
from guardrail.policy.names import is_valid, normalize
from guardrail.policy.regions import ToolParams, can_fail, region_satisfiable, satisfiable

__all__ = ["Evaluator", "Region", "ToolParams", "satisfiable"]

_GLOB_CHARS = re.compile(r"[*?\[]")
_MAX_MEMO = 4096

Region = Mapping[str, tuple[ResolvedOp, ...]]
"""Argument name -> operators that one allow rule puts on it, resolved for a principal."""


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


def _memo_slot(tool: str, principal_id: int) -> list[Applicable | None]:
    return [None]


class Evaluator:
    """Rules indexed by exact tool name; globs by their literal prefix, memoized per name.

    A glob like ``crm/lookup_*`` is filed under ``crm/lookup_``, so the first
    decision for a tool name tries only the globs whose prefix the name starts
    with (one dict lookup per prefix length), not every glob in the policy.
    Names are NFKC-normalised before matching (:mod:`guardrail.policy.names`).
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._exact: dict[str, list[CompiledRule]] = {}
        self._globbed: dict[str, list[tuple[re.Pattern[str], CompiledRule]]] = {}
        for order, rule in enumerate(rules):
            compiled = CompiledRule(
                order,
                rule,
                tuple(ArgCheck.compile(a, c) for a, c in rule.args.items()),
                rule.when.compile(),
                Decision(True, rule.id, f"allowed by rule {rule.id!r}"),
            )
            for pattern in rule.tools:
                wildcard = _GLOB_CHARS.search(pattern)
                if wildcard:
                    prefix = pattern[: wildcard.start()]
                    matcher = re.compile(fnmatch.translate(pattern))
                    self._globbed.setdefault(prefix, []).append((matcher, compiled))
                else:
                    self._exact.setdefault(pattern, []).append(compiled)
        self._params: dict[str, ToolParams] = {}
        # Bounded memos (oldest out first). Both live on this evaluator, i.e. on one
        # policy object: a new policy (a reload) starts with empty ones.
        self._rules = functools.lru_cache(maxsize=_MAX_MEMO)(self._match)
        self._slots = functools.lru_cache(maxsize=_MAX_MEMO)(_memo_slot)

    def declare(self, tool: str, params: ToolParams | None) -> None:
        """Record a registered tool's parameters: absent arguments and listings use them."""
        name = normalize(tool)
        if params is None:
            self._params.pop(name, None)
        else:
            self._params[name] = params
        self._rules.cache_clear()
        self._slots.cache_clear()

    def rules_for(self, tool: str) -> ToolRules:
        return self._rules(tool)

    def applicable(self, tool: str, principal: Principal | None) -> Applicable:
        """The rules of ``tool`` that apply to ``principal``, memoized per principal object
        (by identity: a principal whose values merely compare equal never shares it)."""
        slot = self._slots(tool, id(principal))
        found = slot[0]
        if found is None or found.principal is not principal:
            found = slot[0] = Applicable(self._rules(tool), principal, tool)
        return found

    def _match(self, name: str) -> ToolRules:
        tool = normalize(name)
        matched = {c.order: c for c in self._exact.get(tool, ())}
        for end in range(len(tool) + 1):
            for pattern, compiled in self._globbed.get(tool[:end], ()):
                if pattern.fullmatch(tool):
                    matched[compiled.order] = compiled
        ordered = [matched[k] for k in sorted(matched)]
        params = self._params.get(tool)
        deny = tuple(c for c in ordered if c.rule.deny)
        return ToolRules(
            name=tool,
            deny=deny,
            allow=tuple(c for c in ordered if c.rule.allow),
            approve=tuple(c for c in ordered if c.rule.approve),
            denials=tuple(Decision(False, c.id, f"rule {c.id!r} denies {tool!r}") for c in deny),
            params=params,
            declared=params.names if params is not None else frozenset(),
            valid=is_valid(tool),
        )

    def denial(
        self, tool: str, principal: Principal | None, args: Mapping[str, Any]
    ) -> Decision | None:
        """The decision of the first deny rule that matches this call, if any."""
        found = self.applicable(tool, principal)
        if not found.rules.valid:
            return found.fixed
        return _denial(found, principal, args)

    def decide(self, tool: str, principal: Principal | None, args: Mapping[str, Any]) -> Decision:
        """Deny beats approve beats allow; nothing matching means deny."""
        found = self.applicable(tool, principal)
        if found.fixed is not None:
            return found.fixed
        denied = _denial(found, principal, args)
        if denied is not None:
            return denied
        held = _approval(found, tool, principal, args)
        if held is not None:
            return held
        declared = found.rules.declared
        first_failure: tuple[str, str] | None = None
        for compiled in found.allow:
            outcome, requirement = compiled.verdict(args, principal, declared)
            if outcome is True:
                return compiled.allowed
            if first_failure is None:
                first_failure = (compiled.id, requirement)
        if first_failure is not None:
            rule_id, requirement = first_failure
            return Decision(
                False, rule_id, f"rule {rule_id!r} allows {tool!r} only when {requirement}"
            )
        who = principal.describe() if principal else "an anonymous caller"
        return Decision(False, None, f"no rule allows {who} to call {tool!r} (default deny)")

    def regions(self, tool: str, principal: Principal | None) -> list[Region]:
        """The argument regions this principal may call ``tool`` with, one per allow rule.

        Empty when the tool is hidden: no allow rule applies, an applicable deny
        rule refuses every call (no constraints, or constraints that can never
        fail for this tool), or every applicable allow rule is unsatisfiable.
        A region with no entries means "any arguments".
        """
        rules = self.rules_for(tool)
        if not rules.valid:
            return []
        for compiled in rules.deny:
            if compiled.applies(principal) and not can_fail(
                compiled.region(principal), rules.params
            ):
                return []
        regions: list[Region] = []
        # An approve rule's calls can run (once approved): they are shown too.
        for compiled in (*rules.allow, *rules.approve):
            if not compiled.applies(principal):
                continue
            region = compiled.region(principal)
            if region_satisfiable(region, rules.params):
                regions.append(region)
        return regions

    def exclusions(self, tool: str, principal: Principal | None) -> list[Region]:
        """The argument regions applicable deny rules refuse, one per rule with constraints.

        A call inside one of them is denied whatever the allow rules say; schema
        narrowing shows them as ``not``. Deny rules that refuse every call hide
        the tool altogether (:meth:`regions` is empty).
        """
        return [
            compiled.region(principal)
            for compiled in self.rules_for(tool).deny
            if compiled.checks and compiled.applies(principal)
        ]

    def visible(self, principal: Principal | None, names: Iterable[str]) -> list[str]:
        return [name for name in names if self.regions(name, principal)]


def _denial(
    found: Applicable, principal: Principal | None, args: Mapping[str, Any]
) -> Decision | None:
    """The first applicable deny rule whose constraints hold, or cannot be judged."""
    declared = found.rules.declared
    for compiled, denied in found.deny:
        outcome, requirement = compiled.verdict(args, principal, declared)
        if outcome is True:
            return denied
        if outcome is None:
            return Decision(
                False,
                compiled.id,
                f"{denied.reason}: it cannot tell whether {requirement}, "
                "and a deny rule applies when in doubt",
            )
    return None


def _approval(
    found: Applicable, tool: str, principal: Principal | None, args: Mapping[str, Any]
) -> Decision | None:
    """The first approve rule that matches, or may match, the call: approval first.

    Like a deny rule, an approve rule applies when in doubt: a value it cannot
    judge goes to a human rather than around them.
    """
    for compiled in found.approve:
        outcome, _ = compiled.verdict(args, principal, found.rules.declared)
        if outcome is not False:
            reason = f"rule {compiled.id!r} requires a human approval for this call of {tool!r}"
            return Decision(False, compiled.id, reason, approval=True)
    return None
