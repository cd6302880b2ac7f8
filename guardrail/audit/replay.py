"""Shadow replay: decide every recorded call again under a candidate policy.

Each call's last record (its outcome, or its refusal) says what the policy that
ran decided: allowed (and by which rule), or denied (by which rule, or by the
default). The candidate decides the same principal (the roles, scopes and
attributes the record keeps), tool and arguments again, and each difference is
a change: newly denied, newly allowed, or the same effect by another rule.

Nothing is guessed. A call whose arguments (or principal attributes) that the
candidate's rules read were redacted or cut short in the log is *undecidable*;
a call refused before the policy was asked (arguments that did not bind, a
missing tool scope, a skill-only tool, a failed login) is *not a policy
decision* and is counted apart; so is a step inside a skill, which the policy
authorized as a whole.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from guardrail.audit.redact import REDACTED
from guardrail.identity import Principal
from guardrail.policy.model import PRINCIPAL_PREFIXES
from guardrail.policy.names import covers
from guardrail.policy.policy import Policy

CHANGES = ("newly_denied", "newly_allowed", "rule_changed")
_UNKNOWN = "?"
"""The rule of a recorded allow that the record does not name (a budget refusal)."""
_CUT = ("...[", "[...]")
"""What the redactor leaves where it shortened a string or stopped descending."""
_MAX_ITEMS = 50
"""The redactor keeps this many items of a list or mapping: a full one may be cut."""


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    rule: str | None

    def __str__(self) -> str:
        effect = "allow" if self.allowed else "deny"
        return f"{effect} ({self.rule or 'default deny'})" if self.rule != _UNKNOWN else effect


@dataclass(frozen=True, slots=True)
class Replayed:
    """One recorded call and what became of it under the candidate."""

    call_id: str
    seq: int | None
    time: str | None
    subject: str | None
    tool: str
    before: Verdict | None
    after: Verdict | None
    change: str | None
    """One of :data:`CHANGES`, ``None`` when unchanged (or not replayed)."""
    why_not: str | None = None
    """Why the call was not decided again (undecidable, or not a policy decision)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "seq": self.seq,
            "time": self.time,
            "subject": self.subject,
            "tool": self.tool,
            "before": _verdict_json(self.before),
            "after": _verdict_json(self.after),
            "change": self.change,
            "why_not": self.why_not,
        }


@dataclass
class ReplayReport:
    calls: int = 0
    decided: int = 0
    changed: list[Replayed] = field(default_factory=list)
    undecidable: list[Replayed] = field(default_factory=list)
    not_policy: list[Replayed] = field(default_factory=list)
    by_user: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_tool: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def counts(self) -> dict[str, int]:
        changes = Counter(r.change for r in self.changed)
        return {
            "calls": self.calls,
            "decided": self.decided,
            "unchanged": self.decided - len(self.changed),
            **{kind: changes[kind] for kind in CHANGES},
            "undecidable": len(self.undecidable),
            "not_policy": len(self.not_policy),
        }

    def add(self, item: Replayed) -> None:
        self.calls += 1
        if item.after is None:
            target = self.not_policy if item.before is None else self.undecidable
            target.append(item)
            return
        self.decided += 1
        if item.change is not None:
            self.changed.append(item)
            self.by_user[item.subject or "-"][item.change] += 1
            self.by_tool[item.tool][item.change] += 1


def replay(events: Iterable[Mapping[str, Any]], candidate: Policy) -> ReplayReport:
    """Decide each call of ``events`` (audit records, in log order) under ``candidate``."""
    last: dict[str, Mapping[str, Any]] = {}
    for event in events:
        if event.get("phase") in ("intent", "outcome", "refusal") and event.get("call_id"):
            last[str(event["call_id"])] = event  # dicts keep first-seen order
    report = ReplayReport()
    attributes_read = _attributes_read(candidate)
    for call_id, event in last.items():
        report.add(_replay_one(call_id, event, candidate, attributes_read))
    return report


def _replay_one(
    call_id: str, event: Mapping[str, Any], candidate: Policy, attributes_read: set[str]
) -> Replayed:
    tool = str(event.get("tool"))
    subject = event.get("subject")
    seq = event.get("_seq")
    where = (call_id, seq if isinstance(seq, int) else None, event.get("time"), subject, tool)
    before, why_not = _recorded(event)
    if before is None:
        return Replayed(*where, None, None, None, why_not)
    principal, why_not = _principal(event, candidate, attributes_read)
    if why_not is None:
        why_not = _redacted_arguments(event, tool, principal, candidate)
    if why_not is not None:
        return Replayed(*where, before, None, None, why_not)
    args = event.get("args") if isinstance(event.get("args"), dict) else {}
    decision = candidate.decide(tool, principal, args)
    after = Verdict(decision.allowed, decision.rule)
    return Replayed(*where, before, after, _change(before, after))


def _recorded(event: Mapping[str, Any]) -> tuple[Verdict | None, str | None]:
    """What the policy decided when the call was made, or why that is not known."""
    rule = event.get("rule")
    if event.get("phase") != "refusal":
        if str(event.get("reason") or "").startswith("step of skill"):
            return None, "a step inside a skill (the skill was authorized as a whole)"
        return Verdict(True, rule), None
    decision, reason = event.get("decision"), str(event.get("reason") or "")
    if decision == "budget_exceeded":
        return Verdict(True, _UNKNOWN), None
    if decision == "approval_required" and rule:
        return Verdict(False, rule), None
    if decision == "denied" and (rule or reason.endswith("(default deny)")):
        return Verdict(False, rule), None
    if decision == "auth_failed" and event.get("subject") is None and "anonymous" in reason:
        return Verdict(False, _UNKNOWN), None  # which rule came closest is not recorded
    return None, f"refused before the policy decided ({decision}: {reason})"


def _principal(
    event: Mapping[str, Any], candidate: Policy, attributes_read: set[str]
) -> tuple[Principal | None, str | None]:
    subject = event.get("subject")
    if subject is None:
        return None, None
    if "roles" not in event:
        return None, "the record does not keep the principal's roles, scopes and attributes"
    attributes = event.get("attributes") or {}
    hidden = sorted(k for k, v in attributes.items() if k in attributes_read and _cut(v))
    if hidden:
        return None, f"principal attribute(s) {', '.join(hidden)} were redacted"
    principal = Principal(
        subject=str(subject),
        org=event.get("org"),
        teams=tuple(event.get("teams") or ()),
        roles=frozenset(event.get("roles") or ()),
        scopes=frozenset(event.get("scopes") or ()),
        attributes=attributes,
        issuer=event.get("issuer"),
    )
    return principal, None


def _redacted_arguments(
    event: Mapping[str, Any], tool: str, principal: Principal | None, candidate: Policy
) -> str | None:
    """Why the call cannot be decided: an argument a candidate rule reads was redacted."""
    args = event.get("args")
    if not isinstance(args, dict):
        return "the record keeps no arguments"
    read: set[str] = set()
    for rule in candidate.rules:
        if any(covers(glob, tool, ignore_case=True) for glob in rule.tools) and rule.when.matches(
            principal
        ):
            read.update(rule.args)
    hidden = sorted(name for name in read if name in args and _cut(args[name]))
    if hidden:
        return f"argument(s) {', '.join(hidden)} were redacted in the log"
    return None


def _cut(value: Any) -> bool:
    """Whether the redactor replaced, shortened or truncated (part of) ``value``."""
    if isinstance(value, str):
        return REDACTED in value or any(mark in value for mark in _CUT)
    if isinstance(value, dict):
        return len(value) >= _MAX_ITEMS or any(_cut(v) for v in value.values())
    if isinstance(value, list):
        return len(value) >= _MAX_ITEMS or any(_cut(v) for v in value)
    return False


def _attributes_read(policy: Policy) -> set[str]:
    """Principal attributes the policy reads (in ``when`` or as ``$principal`` operands)."""
    names: set[str] = set()
    for rule in policy.rules:
        names.update(rule.when.attributes)
        for constraint in rule.args.values():
            for operand in constraint.operators().values():
                if isinstance(operand, str) and operand.startswith(PRINCIPAL_PREFIXES):
                    path = operand.split(".")
                    if len(path) >= 3 and path[1] == "attributes":
                        names.add(path[2])
    return names


def _change(before: Verdict, after: Verdict) -> str | None:
    if before.allowed != after.allowed:
        return "newly_allowed" if after.allowed else "newly_denied"
    if before.rule != _UNKNOWN and before.rule != after.rule:
        return "rule_changed"
    return None


def _verdict_json(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    rule = None if verdict.rule == _UNKNOWN else verdict.rule
    return {"allowed": verdict.allowed, "rule": rule}
