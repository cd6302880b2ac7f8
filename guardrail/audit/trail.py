"""``AuditTrail``: turns pipeline calls into redacted ``AuditEvent``s for every sink."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from guardrail.audit.event import AuditEvent, DecisionKind, Phase, build_event
from guardrail.audit.redact import Redactor
from guardrail.downstream import delegations
from guardrail.errors import AuditError, BudgetExceeded, GuardrailDenied
from guardrail.identity import Principal
from guardrail.pipeline import Call, new_id

_ARGS = "audit_args"
"""``call.state`` key of the redacted arguments (with the redactor that made them)."""


class AuditSink(Protocol):
    """Somewhere audit events go. ``write`` must raise when the event is not kept."""

    def write(self, event: AuditEvent) -> None: ...


class AuditTrail:
    """The pipeline's recorder. With no sinks it builds no events at all (the lean path)."""

    def __init__(
        self,
        sinks: Iterable[AuditSink] = (),
        *,
        redactor: Redactor | None = None,
        policy_digest: str | None = None,
    ) -> None:
        self.sinks: list[AuditSink] = list(sinks)
        self.redactor = redactor or Redactor()
        self.policy_digest = policy_digest

    def add(self, sink: AuditSink) -> None:
        self.sinks.append(sink)

    def remove(self, sink: AuditSink) -> None:
        self.sinks.remove(sink)

    def intent(self, call: Call) -> None:
        if self.sinks:
            self._emit(self.event(call, "intent"))

    def outcome(self, call: Call) -> None:
        if self.sinks:
            self._emit(self.event(call, "outcome"))

    def refusal(self, call: Call) -> None:
        if self.sinks:
            self._emit(self.event(call, "refusal"))

    def notice(self, tool: str, decision: DecisionKind, reason: str, **detail: Any) -> None:
        """A record that is not a call: an MCP tool changed, a ledger failed open, ..."""
        if self.sinks:
            self._emit(
                AuditEvent(
                    event_id=new_id(),
                    time=datetime.now(UTC),
                    phase="notice",
                    call_id=new_id(),
                    tool=tool,
                    decision=decision,
                    reason=reason,
                    detail=self.redactor.arguments(detail),
                    policy=self.policy_digest,
                )
            )

    def _emit(self, event: AuditEvent) -> None:
        # Every sink gets the event even when one fails, so the sinks stay consistent
        # with each other; the first failure is raised afterwards.
        failure: AuditError | None = None
        for sink in self.sinks:
            try:
                sink.write(event)
            except AuditError as exc:
                failure = failure or exc
            except Exception as exc:
                error = AuditError(f"audit sink {type(sink).__name__} failed: {exc}")
                error.__cause__ = exc
                failure = failure or error
        if failure is not None:
            raise failure

    def event(self, call: Call, phase: Phase) -> AuditEvent:
        """The record of ``call`` at ``phase``, its arguments redacted.

        The arguments are redacted once per call (the outcome reuses the intent's
        copy), and the event is built from the values without validating them
        again (:func:`~guardrail.audit.event.build_event`), except when a budget
        refusal or a ledger note brings in values from elsewhere.
        """
        principal, refusal, decision = call.principal, call.refusal, call.decision
        state, parent = call.state, call.parent
        if refusal is None and isinstance(call.error, GuardrailDenied):
            refusal = call.error  # refused inside the tool (e.g. no downstream token)
        if refusal is not None:
            reason: str | None = refusal.reason
            if reason:
                reason = self.redactor.text(reason)
            rule = refusal.rule
        elif decision is not None:
            reason, rule = decision.reason, decision.rule
        else:
            reason = rule = None
        outcome = cost_settled = duration_ms = None
        if phase == "outcome":
            outcome = "ok" if call.error is None else type(call.error).__name__
            # What the ledger settled (0 when refunded), else what the call declared.
            cost = state.get("cost_settled", call.cost)
            cost_settled = None if cost is None else float(cost)
        if phase != "intent":
            duration_ms = call.duration_ms()
        reserved = call.reserved
        fields: dict[str, Any] = {
            "event_id": new_id(),
            "time": datetime.now(UTC),
            "phase": phase,
            "call_id": call.call_id,
            "tool": call.tool.name,
            "tool_call_id": call.tool_call_id,
            "session": call.session,
            "parent_call_id": parent.call_id if parent is not None else None,
            "skill": _skill_of(parent),
            "subject": principal.subject if principal else None,
            "org": principal.org if principal else None,
            "teams": principal.teams if principal else (),
            "issuer": principal.issuer if principal else None,
            "roles": tuple(sorted(principal.roles)) if principal else (),
            "scopes": tuple(sorted(principal.scopes)) if principal else (),
            "attributes": self._attributes(principal),
            "decision": _decision_kind(call, phase),
            "rule": rule,
            "reason": reason,
            "args": dict(redacted_args(call, self.redactor)),
            "outcome": outcome,
            "duration_ms": duration_ms,
            "cost_reserved": None if reserved is None else float(reserved),
            "cost_settled": cost_settled,
            "trace_id": state.get("trace_id"),
            "span_id": state.get("span_id"),
            "policy": self.policy_digest,
            "delegations": delegations(call),
        }
        budget: dict[str, Any] | None = state.get("budget_event")
        if isinstance(refusal, BudgetExceeded) or (budget and budget.keys() != {"remaining"}):
            return self._validated(fields, budget, refusal)
        if budget:
            fields["remaining"] = {str(k): float(v) for k, v in budget["remaining"].items()}
        return build_event(fields)

    def _attributes(self, principal: Principal | None) -> dict[str, Any]:
        if principal is None or not principal.attributes:
            return {}
        return self.redactor.arguments(principal.attributes)

    @staticmethod
    def _validated(
        fields: dict[str, Any], budget: dict[str, Any] | None, refusal: object
    ) -> AuditEvent:
        """The slow path: values from the ledger or a budget refusal are validated."""
        extra: dict[str, Any] = dict(budget or {})
        if isinstance(refusal, BudgetExceeded):
            extra.update(
                limit=refusal.limit,
                level=refusal.level,
                limit_key=refusal.key,
                retry_after=refusal.retry_after,
            )
        return AuditEvent(**fields, **extra)


def redacted_args(call: Call, redactor: Redactor) -> dict[str, Any]:
    """``call.args`` redacted by ``redactor``, once per call: the result is kept in
    ``call.state`` and shared by the intent, the outcome and the span. Do not modify it.
    """
    cached: tuple[Redactor, dict[str, Any]] | None = call.state.get(_ARGS)
    if cached is not None and cached[0] is redactor:
        return cached[1]
    args = redactor.arguments(call.args, call.tool.redact)
    call.state[_ARGS] = (redactor, args)
    return args


def _skill_of(call: Call | None) -> str | None:
    """The name of the nearest skill among ``call`` and the calls that made it."""
    while call is not None and not call.tool.skill:
        call = call.parent
    return call.tool.name if call is not None else None


def _decision_kind(call: Call, phase: Phase) -> DecisionKind:
    if call.refusal is not None:
        kind: DecisionKind = call.refusal.decision_kind  # type: ignore[assignment]
        return kind
    if call.error is not None and phase != "intent":
        if isinstance(call.error, GuardrailDenied):
            kind = call.error.decision_kind  # type: ignore[assignment]
            return kind
        return "error"
    return "allowed"
