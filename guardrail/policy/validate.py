"""The policy checked against the tools it governs (as Cedar checks against a schema).

When a tool registers, every rule and limit whose globs match it is checked
against the tool's parameters and their types, and every ``when`` against the
principal fields the authenticator can fill. Each mismatch is a located
:class:`Finding`: a :class:`PolicyWarning` by default, a :class:`PolicyError`
under ``Guard(strict=True)``. ``guardrail policy check FILE --tools module:guard``
prints the same findings.

Warnings are the default because a mismatch is not always a mistake (a glob
rule meant for some tools and harmless on others); every finding still fails
closed at call time: a deny rule that cannot be checked denies.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardrail.budgets.limit import Limit
from guardrail.conditions import Condition
from guardrail.errors import PolicyError
from guardrail.policy.fields import PrincipalFields, principal_fields
from guardrail.policy.model import Rule, is_principal_ref, never_met
from guardrail.policy.names import covers, normalize
from guardrail.policy.operators import json_types
from guardrail.policy.params import tool_params
from guardrail.policy.regions import ToolParams, judged_types

if TYPE_CHECKING:
    from guardrail.policy.policy import Policy
    from guardrail.tools import ToolSpec

__all__ = ["Finding", "PolicyValidator", "PolicyWarning", "findings_for", "policy_findings"]

_PACKAGE = str(Path(__file__).resolve().parent.parent)


class PolicyWarning(UserWarning):
    """A rule or limit that cannot work as written for a registered tool; ``finding`` says where."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(str(finding))
        self.finding = finding


@dataclass(frozen=True)
class Finding:
    """One mismatch between the policy and a tool, located by file, rule and field."""

    source: str | None
    kind: str
    """``"rule"`` or ``"limit"``."""
    id: str
    field: str
    tool: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.kind} {self.id!r}, {self.field}, tool {self.tool!r}: {self.message}"


def findings_for(
    policy: Policy, spec: ToolSpec, authenticator: Any, params: ToolParams | None = None
) -> list[Finding]:
    """What in ``policy`` cannot work as written for the tool ``spec``."""
    name = normalize(spec.name)
    params = params if params is not None else tool_params(spec)
    fields = principal_fields(authenticator)
    found: list[Finding] = []
    allow_findings: list[list[Finding]] = []
    for rule in policy.rules:
        if not _covers(rule.tools, name, ignore_case=not rule.allow):
            continue
        findings = list(_rule_findings(policy.source, rule, name, params, fields))
        if rule.deny:
            found.extend(findings)
        else:
            allow_findings.append(findings)
    # An allow rule that can never allow this tool matters when no other one can.
    if allow_findings and all(allow_findings):
        found.extend(f for findings in allow_findings for f in findings)
    for limit in policy.limits:
        if _covers(limit.tools, name, ignore_case=True):
            found.extend(_limit_findings(policy.source, limit, name, fields))
    return found


def policy_findings(policy: Policy) -> list[Finding]:
    """What in ``policy`` cannot work as written whatever the tools: constraints no
    value meets (``in: []``, ``min: 10, max: 5``), so their rule never applies.

    ``guardrail policy check`` prints them and ``Guard(strict=True)`` refuses them; by
    default they stay quiet (such a rule fails closed: an allow rule allows nothing,
    and a value a deny rule cannot judge is still denied).
    """
    return [
        Finding(
            policy.source,
            "rule",
            rule.id,
            f"args.{arg}",
            "*",
            f"no value meets all of {constraint.operators()}: the rule never applies",
        )
        for rule in policy.rules
        for arg, constraint in rule.args.items()
        if never_met(constraint)
    ]


def _covers(globs: Iterable[str], name: str, *, ignore_case: bool) -> bool:
    return any(covers(glob, name, ignore_case=ignore_case) for glob in globs)


def _rule_findings(
    source: str | None,
    rule: Rule,
    tool: str,
    params: ToolParams | None,
    fields: PrincipalFields | None,
) -> Iterator[Finding]:
    never = "the deny rule never applies" if rule.deny else "the rule never applies"
    effect = (
        f"the rule denies every call to {tool!r} it covers"
        if rule.deny
        else f"the rule never allows {tool!r}"
    )
    for arg, constraint in rule.args.items():
        for field, problem in _arg_problems(arg, constraint.operators(), params):
            yield Finding(source, "rule", rule.id, field, tool, f"{problem}: {effect}")
        for op, operand in constraint.operators().items():
            unfilled = _reference_problem(operand, fields)
            if unfilled is not None:
                field = f"args.{arg}.{op}"
                yield Finding(source, "rule", rule.id, field, tool, f"{unfilled}: {effect}")
    for field, problem in _when_problems(rule.when, fields):
        yield Finding(source, "rule", rule.id, field, tool, f"{problem}: {never}")
    if rule.approvers is not None:
        for field, problem in _when_problems(rule.approvers, fields):
            where = field.replace("when.", "approvers.", 1)
            yield Finding(source, "rule", rule.id, where, tool, f"{problem}: nobody can approve")


def _arg_problems(
    arg: str, operators: dict[str, Any], params: ToolParams | None
) -> Iterator[tuple[str, str]]:
    if params is None:
        return
    declared = params.types_of(arg)
    if declared is False:
        yield f"args.{arg}", f"constrains argument {arg!r}, which the tool does not take"
        return
    if declared is None:
        return
    shown = "/".join(declared)
    for op, operand in operators.items():
        judged = json_types(op, None if is_principal_ref(operand) else operand)
        if is_principal_ref(operand) and op in ("eq", "ne", "in", "not_in"):
            continue  # the type is the principal's, known only at call time
        if judged is not None and judged_types([_Op(op, operand)], declared) == ():
            yield (
                f"args.{arg}.{op}",
                f"{op} needs {'/'.join(judged)} but argument {arg!r} is {shown}",
            )


@dataclass(frozen=True)
class _Op:
    op: str
    value: Any


def _reference_problem(operand: Any, fields: PrincipalFields | None) -> str | None:
    """Why ``$principal.<field>`` resolves to nothing for every principal, if it does."""
    if fields is None or not is_principal_ref(operand):
        return None
    head, _, rest = operand.split(".", 1)[1].partition(".")
    if head == "attributes" and fields.attributes is not None:
        name = rest.split(".")[0]
        if name not in fields.attributes:
            return (
                f"{operand} is never filled: the authenticator's claim map fills "
                f"{_listed(fields.attributes)}"
            )
    if head in ("teams", "org", "roles", "scopes") and head not in fields.filled:
        return f"{operand} is never filled: the authenticator never fills {head}"
    return None


def _when_problems(when: Condition, fields: PrincipalFields | None) -> Iterator[tuple[str, str]]:
    if fields is None:
        return
    for key in when.attributes:
        if fields.attributes is not None and key not in fields.attributes:
            yield (
                f"when.attributes.{key}",
                (
                    f"the authenticator never fills attribute {key!r} "
                    f"(its claim map fills {_listed(fields.attributes)})"
                ),
            )
    for name in ("teams", "org", "roles", "scopes"):
        if getattr(when, name) and name not in fields.filled:
            yield f"when.{name}", f"the authenticator never fills {name}"


def _limit_findings(
    source: str | None, limit: Limit, tool: str, fields: PrincipalFields | None
) -> Iterator[Finding]:
    for field, problem in _when_problems(limit.when, fields):
        yield Finding(source, "limit", limit.id, field, tool, f"{problem}: the limit never applies")
    key = {"team": "teams", "org": "org"}.get(limit.per)
    if fields is not None and key is not None and key not in fields.filled:
        yield Finding(
            source,
            "limit",
            limit.id,
            "per",
            tool,
            f"counts per {limit.per} but the authenticator never fills {key}",
        )


def _listed(names: frozenset[str]) -> str:
    return ", ".join(sorted(map(repr, names))) if names else "no attributes"


class PolicyValidator:
    """What ``Guard`` runs when a tool registers: declare its parameters, report findings."""

    def __init__(self, policy: Policy, authenticator: Any, *, strict: bool = False) -> None:
        self.policy = policy
        self.authenticator = authenticator
        self.strict = strict
        found = policy_findings(policy) if strict else []
        if found:
            raise PolicyError("; ".join(str(f) for f in found))

    def registered(self, spec: ToolSpec) -> None:
        params = tool_params(spec)
        found = findings_for(self.policy, spec, self.authenticator, params)
        if found and self.strict:
            raise PolicyError("; ".join(str(f) for f in found))
        self.policy.evaluator.declare(spec.name, params)
        for finding in found:
            warnings.warn(PolicyWarning(finding), stacklevel=_caller_level())


def _caller_level() -> int:
    """The stack level of the first frame outside guardrail (the user's registration)."""
    for level, frame in enumerate(inspect.stack(context=0)[1:], start=1):
        if not frame.filename.startswith(_PACKAGE):
            return level
    return 1
