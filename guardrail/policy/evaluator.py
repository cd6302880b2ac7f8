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
from typing import Any

from guardrail.identity import Principal
from guardrail.policy.compiled import Applicable, CompiledRule, ToolRules
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
        self._exact: dict[str, list[tuple[CompiledRule, bool]]] = {}
        self._globbed: dict[str, list[tuple[re.Pattern[str], CompiledRule, bool]]] = {}
        """Rules by literal name / glob prefix; ``True``: filed in lower case (ignores case)."""
        for order, rule in enumerate(rules):
            compiled = CompiledRule(
                order,
                rule,
                tuple(ArgCheck.compile(a, c) for a, c in rule.args.items()),
                rule.when.compile(),
                Decision(True, rule.id, f"allowed by rule {rule.id!r}"),
            )
            # Deny and approve globs ignore case: `crm.delete*` also stops `CRM.Delete`
            # (a look-alike name errs into the stricter rule); allow globs are exact.
            fold = not rule.allow
            for glob in rule.tools:
                pattern = glob.lower() if fold else glob
                wildcard = _GLOB_CHARS.search(pattern)
                if wildcard:
                    prefix = pattern[: wildcard.start()]
                    matcher = re.compile(fnmatch.translate(pattern))
                    self._globbed.setdefault(prefix, []).append((matcher, compiled, fold))
                else:
                    self._exact.setdefault(pattern, []).append((compiled, fold))
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
        lower = tool.lower()
        matched: dict[int, CompiledRule] = {}
        for key in {tool, lower}:
            for compiled, fold in self._exact.get(key, ()):
                if key == (lower if fold else tool):
                    matched[compiled.order] = compiled
        for end in range(len(tool) + 1):
            for key in {tool[:end], lower[:end]}:
                for pattern, compiled, fold in self._globbed.get(key, ()):
                    if pattern.fullmatch(lower if fold else tool):
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
        if found.deny:
            denied = _denial(found, principal, args)
            if denied is not None:
                return denied
        if found.approve:
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
