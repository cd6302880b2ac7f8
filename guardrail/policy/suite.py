"""Policy test suites: expected decisions (and budget refusals) checked against a policy.

A suite is a YAML file::

    policy: policy.yaml              # relative to the suite; `--policy` overrides it
    principals:                      # named principals the cases refer to
      alice: {subject: alice, roles: [support], teams: [payments]}
    cases:
      - name: support refunds up to 100
        principal: alice             # a name, an inline mapping, or null (anonymous)
        tool: refund
        args: {order_id: A-1, amount: 40}
        expect: allow                # allow | deny | budget_exceeded
        rule: support-refunds        # optional; null means "the default deny decided"
      - name: the 61st lookup in a minute is refused
        principal: alice
        tool: lookup_order
        repeat: 61                   # calls made in a row; the last one is checked
        expect: budget_exceeded
        limit: user-rate

Decision cases ask the compiled policy, as every enforcement point does. Cases
with ``repeat``, ``cost``, ``limit`` or ``expect: budget_exceeded`` run real calls
through a fresh :class:`~guardrail.Guard` with an in-memory ledger, so the
policy's limits count them exactly as in production.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from guardrail.errors import BudgetExceeded, ConfigurationError, GuardrailDenied
from guardrail.identity import Principal
from guardrail.policy.loader import parse_yaml
from guardrail.policy.policy import Policy
from guardrail.policy.validate import PolicyWarning
from guardrail.tools import NamedArgBinder

EXPECTATIONS = ("allow", "deny", "budget_exceeded")
_CASE_KEYS = {"name", "principal", "tool", "args", "expect", "rule", "limit", "repeat", "cost"}
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class Case:
    """One expectation: this principal calling this tool gets this decision."""

    name: str
    line: int
    principal: Principal | None
    tool: str
    args: Mapping[str, Any]
    expect: str
    rule: str | None = _UNSET
    """The deciding rule id (``None``: default deny); unset when not checked."""
    limit: str | None = None
    repeat: int = 1
    cost: float | None = None

    @property
    def needs_guard(self) -> bool:
        return (
            self.repeat > 1
            or self.cost is not None
            or self.limit is not None
            or self.expect == "budget_exceeded"
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to a case's (last) call."""

    decision: str
    rule: str | None
    limit: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class Result:
    case: Case
    outcome: Outcome
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True, slots=True)
class Suite:
    source: str
    policy_path: Path | None
    cases: tuple[Case, ...]


def load_suite(path: str | Path) -> Suite:
    """Parse a suite file; a malformed one is a :class:`ConfigurationError` saying where."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = parse_yaml(text)  # YAML 1.2 scalars, as policy files
        lines = _case_lines(text)
    except OSError as exc:
        raise ConfigurationError(f"cannot read suite {path}: {exc.strerror}") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigurationError(f"{where}: not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, Mapping) or not isinstance(data.get("cases"), list):
        raise ConfigurationError(f"{path}: a suite is a mapping with a 'cases' list")
    named = _principals(path, data.get("principals") or {})
    cases = tuple(
        _case(path, raw, lines[i] if i < len(lines) else 0, named)
        for i, raw in enumerate(data["cases"])
    )
    policy = data.get("policy")
    policy_path = (path.parent / str(policy)) if policy else None
    return Suite(str(path), policy_path, cases)


def _case_lines(text: str) -> list[int]:
    """1-based line of each item of the top-level ``cases`` list."""
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "cases" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _principals(path: Path, raw: Any) -> dict[str, Principal]:
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{path}: 'principals' must map names to principals")
    return {str(name): _principal(path, f"principal {name!r}", spec) for name, spec in raw.items()}


def _principal(path: Path, where: str, spec: Any) -> Principal:
    try:
        return Principal.model_validate(spec)
    except ValueError as exc:
        raise ConfigurationError(f"{path}: {where} is not a valid principal: {exc}") from None


def _case(path: Path, raw: Any, line: int, named: Mapping[str, Principal]) -> Case:
    where = f"{path}:{line}"
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where}: a case must be a mapping")
    unknown = set(raw) - _CASE_KEYS
    if unknown:
        raise ConfigurationError(f"{where}: unknown case field(s) {', '.join(sorted(unknown))}")
    if not isinstance(raw.get("tool"), str) or raw.get("expect") not in EXPECTATIONS:
        raise ConfigurationError(
            f"{where}: a case needs 'tool' and 'expect' (one of {', '.join(EXPECTATIONS)})"
        )
    who = raw.get("principal")
    if isinstance(who, str):
        if who not in named:
            raise ConfigurationError(f"{where}: no principal named {who!r} in 'principals'")
        principal: Principal | None = named[who]
    else:
        principal = None if who is None else _principal(path, f"line {line}: principal", who)
    args = raw.get("args") or {}
    repeat = raw.get("repeat", 1)
    if not isinstance(args, Mapping) or not isinstance(repeat, int) or repeat < 1:
        raise ConfigurationError(f"{where}: 'args' must be a mapping, 'repeat' a positive int")
    return Case(
        name=str(raw.get("name") or f"{raw['tool']} as {who or 'anonymous'}"),
        line=line,
        principal=principal,
        tool=raw["tool"],
        args=dict(args),
        expect=raw["expect"],
        rule=raw.get("rule", _UNSET),
        limit=raw.get("limit"),
        repeat=repeat,
        cost=raw.get("cost"),
    )


def run_suite(policy: Policy, cases: Sequence[Case]) -> list[Result]:
    return [run_case(policy, case) for case in cases]


def run_case(policy: Policy, case: Case) -> Result:
    outcome = _through_guard(policy, case) if case.needs_guard else _decided(policy, case)
    return Result(case, outcome, tuple(_failures(case, outcome)))


def _decided(policy: Policy, case: Case) -> Outcome:
    decision = policy.decide(case.tool, case.principal, case.args)
    return Outcome("allow" if decision.allowed else "deny", decision.rule, None, decision.reason)


class _AsGiven(NamedArgBinder):
    """The case's arguments exactly as written: the policy sees what the suite says."""

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return dict(kwargs)


def _through_guard(policy: Policy, case: Case) -> Outcome:
    from guardrail.guard import Guard  # the guard imports the policy package

    # A private copy: registering the stand-in declares its parameters on the policy it
    # is given, which must not change how later decision cases are decided.
    guard = Guard(Policy(version=policy.version, rules=policy.rules, limits=policy.limits))
    # The stand-in takes exactly the case's arguments. An argument a rule names but the
    # case leaves out is unknown, as when the case is decided: a deny rule on it applies
    # (in doubt), an allow rule that needs it does not.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PolicyWarning)  # the findings are not the question
        binder = _AsGiven(sorted(case.args))
        guard.register(_noop, name=case.tool, cost=case.cost, binder=binder)
    # The rule that allowed a call is also the one a budget refusal went past.
    decision = policy.decide(case.tool, case.principal, case.args)
    outcome = Outcome("allow", decision.rule, None, decision.reason)
    for _ in range(case.repeat):
        try:
            guard.call(case.tool, case.args, principal=case.principal)
        except BudgetExceeded as exc:
            outcome = Outcome("budget_exceeded", decision.rule, exc.limit, exc.reason)
        except GuardrailDenied as exc:
            outcome = Outcome("deny", exc.rule, None, exc.reason)
        else:
            outcome = Outcome("allow", decision.rule, None, decision.reason)
    return outcome


def _noop(**arguments: Any) -> None:
    return None


def _failures(case: Case, outcome: Outcome) -> list[str]:
    found: list[str] = []
    if outcome.decision != case.expect:
        found.append(f"expected {case.expect}, got {outcome.decision} ({outcome.reason})")
    if case.rule is not _UNSET and outcome.rule != case.rule:
        want = case.rule or "(default deny)"
        found.append(f"expected rule {want}, got {outcome.rule or '(default deny)'}")
    if case.limit is not None and outcome.limit != case.limit:
        found.append(f"expected limit {case.limit}, got {outcome.limit or '(none)'}")
    return found
