"""The compiled policy: one evaluator behind every enforcement point.

Listing tools, narrowing their schemas and checking a call all ask this object,
so what a user is shown and what they may call cannot disagree.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrail.conditions import Condition, _attribute_matches
from guardrail.identity import Principal
from guardrail.policy.constraints import MISSING, ArgCheck, ResolvedOp, passes
from guardrail.policy.decision import Decision
from guardrail.policy.model import Rule

_GLOB_CHARS = re.compile(r"[*?\[]")
_MAX_MEMO = 4096


PrincipalTest = Callable[[Principal | None], bool]


def principal_test(when: Condition) -> PrincipalTest:
    """``when.matches`` specialised to the fields the condition sets: same answers.

    Most rules name one or two fields; testing only those, with the operands bound
    once, is what keeps a decision a few dict and set operations.
    """
    if when.anonymous:
        return _no_principal
    # Each part is false without a principal, so a lone part is the whole test.
    parts: list[PrincipalTest] = []
    if when.roles:
        roles = when.roles
        parts.append(lambda p: p is not None and not roles.isdisjoint(p.roles))
    if when.scopes:
        scopes = when.scopes
        parts.append(lambda p: p is not None and scopes <= p.scopes)
    if when.teams:
        teams = when.teams
        parts.append(lambda p: p is not None and not teams.isdisjoint(p.teams))
    if when.subjects:
        subjects = when.subjects
        parts.append(lambda p: p is not None and p.subject in subjects)
    if when.org:
        orgs = when.org
        parts.append(lambda p: p is not None and p.org in orgs)
    parts.extend(_attribute_test(key, want) for key, want in when.attributes.items())
    if not parts:
        return _some_principal
    if len(parts) == 1:
        return parts[0]
    every = tuple(parts)
    return lambda p: all(test(p) for test in every)


def _no_principal(principal: Principal | None) -> bool:
    return principal is None


def _some_principal(principal: Principal | None) -> bool:
    return principal is not None


_COLLECTIONS = (list, tuple, set, frozenset)


def _attribute_test(key: str, want: Any) -> PrincipalTest:
    if isinstance(want, _COLLECTIONS):
        return lambda p: p is not None and _attribute_matches(p.attributes.get(key), want)

    wanted = (want,)

    # One wanted value (the common case): the test ``_attribute_matches`` makes, inlined.
    def test(p: Principal | None) -> bool:
        if p is None:
            return False
        have = p.attributes.get(key)
        if have is None:
            return False
        if isinstance(have, _COLLECTIONS):
            return any(item in wanted for item in have)
        return have in wanted

    return test


@dataclass(frozen=True, slots=True)
class CompiledRule:
    order: int
    rule: Rule
    checks: tuple[ArgCheck, ...]
    applies: PrincipalTest
    """The rule's ``when`` condition, compiled (:func:`principal_test`)."""
    allowed: Decision
    """The decision when this allow rule matches: built once, not per call."""

    @property
    def id(self) -> str:
        return self.rule.id

    def failure(self, args: Mapping[str, Any], principal: Principal | None) -> str | None:
        for check in self.checks:
            reason = check.failure(args, principal)
            if reason is not None:
                return reason
        return None


@dataclass(frozen=True, slots=True)
class ToolRules:
    """The rules whose globs match one tool name, in policy order."""

    deny: tuple[CompiledRule, ...]
    allow: tuple[CompiledRule, ...]
    denials: tuple[Decision, ...]
    """The decision of each ``deny`` rule for this tool, in the same order."""


Region = Mapping[str, tuple[ResolvedOp, ...]]
"""Argument name -> operators that one allow rule puts on it, resolved for a principal."""


class Evaluator:
    """Rules indexed by exact tool name; globs by their literal prefix, memoized per name.

    A glob like ``crm/lookup_*`` is filed under ``crm/lookup_``, so the first
    decision for a tool name tries only the globs whose prefix the name starts
    with (one dict lookup per prefix length), not every glob in the policy.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self._exact: dict[str, list[CompiledRule]] = {}
        self._globbed: dict[str, list[tuple[re.Pattern[str], CompiledRule]]] = {}
        for order, rule in enumerate(rules):
            compiled = CompiledRule(
                order,
                rule,
                tuple(ArgCheck.compile(a, c) for a, c in rule.args.items()),
                principal_test(rule.when),
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
        self._memo: dict[str, ToolRules] = {}

    def rules_for(self, tool: str) -> ToolRules:
        found = self._memo.get(tool)
        if found is None:
            found = self._match(tool)
            if len(self._memo) >= _MAX_MEMO:
                self._memo.clear()
            self._memo[tool] = found
        return found

    def _match(self, tool: str) -> ToolRules:
        matched = {c.order: c for c in self._exact.get(tool, ())}
        for end in range(len(tool) + 1):
            for pattern, compiled in self._globbed.get(tool[:end], ()):
                if pattern.fullmatch(tool):
                    matched[compiled.order] = compiled
        ordered = [matched[k] for k in sorted(matched)]
        deny = tuple(c for c in ordered if c.rule.deny)
        return ToolRules(
            deny=deny,
            allow=tuple(c for c in ordered if c.rule.allow),
            denials=tuple(Decision(False, c.id, f"rule {c.id!r} denies {tool!r}") for c in deny),
        )

    def denial(
        self, tool: str, principal: Principal | None, args: Mapping[str, Any]
    ) -> Decision | None:
        """The decision of the first deny rule that matches this call, if any."""
        rules = self.rules_for(tool)
        for compiled, denied in zip(rules.deny, rules.denials, strict=True):
            if compiled.applies(principal) and compiled.failure(args, principal) is None:
                return denied
        return None

    def decide(self, tool: str, principal: Principal | None, args: Mapping[str, Any]) -> Decision:
        """Deny beats allow; nothing matching means deny."""
        denied = self.denial(tool, principal, args)
        if denied is not None:
            return denied
        rules = self.rules_for(tool)
        first_failure: tuple[str, str] | None = None
        for compiled in rules.allow:
            if not compiled.applies(principal):
                continue
            failure = compiled.failure(args, principal)
            if failure is None:
                return compiled.allowed
            if first_failure is None:
                first_failure = (compiled.id, failure)
        if first_failure is not None:
            rule_id, failure = first_failure
            return Decision(False, rule_id, f"rule {rule_id!r} allows {tool!r} only when {failure}")
        who = principal.describe() if principal else "an anonymous caller"
        return Decision(False, None, f"no rule allows {who} to call {tool!r} (default deny)")

    def regions(self, tool: str, principal: Principal | None) -> list[Region]:
        """The argument regions this principal may call ``tool`` with, one per allow rule.

        Empty when the tool is hidden: no allow rule applies, a deny rule without
        argument constraints applies, or every applicable rule is unsatisfiable.
        A region with no entries means "any arguments".
        """
        rules = self.rules_for(tool)
        if any(c.applies(principal) and not c.checks for c in rules.deny):
            return []
        regions: list[Region] = []
        for compiled in rules.allow:
            if not compiled.applies(principal):
                continue
            region = {check.arg: check.resolve(principal) for check in compiled.checks}
            if all(satisfiable(ops) for ops in region.values()):
                regions.append(region)
        return regions

    def exclusions(self, tool: str, principal: Principal | None) -> list[Region]:
        """The argument regions applicable deny rules refuse, one per rule with constraints.

        A call inside one of them is denied whatever the allow rules say; schema
        narrowing shows them as ``not``. Deny rules without constraints hide the
        tool altogether (:meth:`regions` is empty).
        """
        return [
            {check.arg: check.resolve(principal) for check in compiled.checks}
            for compiled in self.rules_for(tool).deny
            if compiled.checks and compiled.rule.when.matches(principal)
        ]

    def visible(self, principal: Principal | None, names: Iterable[str]) -> list[str]:
        return [name for name in names if self.regions(name, principal)]


def satisfiable(ops: Sequence[ResolvedOp]) -> bool:
    """Whether some value passes every operator (exact for eq/in/min/max; regex assumed)."""
    by_op: dict[str, list[Any]] = {}
    for op in ops:
        if op.value is MISSING:
            return False
        by_op.setdefault(op.op, []).append(op.value)
    candidates: list[Any] | None = None
    if "eq" in by_op:
        candidates = by_op["eq"][:1] if all(v == by_op["eq"][0] for v in by_op["eq"]) else []
    for allowed in by_op.get("in", []):
        pool = list(allowed) if isinstance(allowed, list | tuple | set | frozenset) else []
        candidates = pool if candidates is None else [c for c in candidates if c in pool]
    if candidates is not None:
        return any(_value_passes(c, by_op) for c in candidates)
    bounded = "min" in by_op or "max" in by_op
    if bounded and ("regex" in by_op or "max_length" in by_op):
        return False  # min/max need a number; regex a string, max_length a length
    lows = [v for v in by_op.get("min", []) if _is_bound(v)]
    highs = [v for v in by_op.get("max", []) if _is_bound(v)]
    if len(lows) != len(by_op.get("min", [])) or len(highs) != len(by_op.get("max", [])):
        return False
    if lows and highs and max(lows) > min(highs):
        return False
    return all(_is_bound(n) and n >= 0 for n in by_op.get("max_length", []))


def _is_bound(value: Any) -> bool:
    # What passes() accepts as a min/max/max_length operand: a number, not a bool, not NaN.
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _value_passes(value: Any, by_op: Mapping[str, list[Any]]) -> bool:
    return all(passes(op, value, operand) for op, operands in by_op.items() for operand in operands)
