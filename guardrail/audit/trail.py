"""``AuditTrail``: turns pipeline calls into redacted ``AuditEvent``s for every sink."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Protocol

from guardrail.audit.event import AuditEvent, DecisionKind, Phase
from guardrail.audit.redact import Redactor
from guardrail.errors import AuditError, BudgetExceeded
from guardrail.pipeline import Call


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
                    event_id=uuid.uuid4().hex,
                    time=datetime.now(UTC),
                    phase="notice",
                    call_id=uuid.uuid4().hex,
                    tool=tool,
                    decision=decision,
                    reason=reason,
                    detail=self.redactor.arguments(detail),
                    policy=self.policy_digest,
                )
            )

    def _emit(self, event: AuditEvent) -> None:
        for sink in self.sinks:
            try:
                sink.write(event)
            except AuditError:
                raise
            except Exception as exc:
                raise AuditError(f"audit sink {type(sink).__name__} failed: {exc}") from exc

    def event(self, call: Call, phase: Phase) -> AuditEvent:
        principal, refusal, decision = call.principal, call.refusal, call.decision
        budget: dict[str, Any] = dict(call.state.get("budget_event", {}))
        if isinstance(refusal, BudgetExceeded):
            budget.update(
                limit=refusal.limit,
                level=refusal.level,
                limit_key=refusal.key,
                retry_after=refusal.retry_after,
            )
        reason = refusal.reason if refusal else (decision.reason if decision else None)
        if refusal is not None and reason:
            reason = self.redactor.text(reason)
        outcome = None
        if phase == "outcome":
            outcome = "ok" if call.error is None else type(call.error).__name__
        return AuditEvent(
            event_id=uuid.uuid4().hex,
            time=datetime.now(UTC),
            phase=phase,
            call_id=call.call_id,
            tool=call.tool.name,
            tool_call_id=call.tool_call_id,
            session=call.session,
            subject=principal.subject if principal else None,
            org=principal.org if principal else None,
            teams=principal.teams if principal else (),
            issuer=principal.issuer if principal else None,
            decision=_decision_kind(call, phase),
            rule=refusal.rule if refusal else (decision.rule if decision else None),
            reason=reason,
            args=self.redactor.arguments(call.args, call.tool.redact),
            outcome=outcome,
            duration_ms=call.duration_ms() if phase != "intent" else None,
            cost_reserved=call.reserved,
            cost_settled=call.cost if phase == "outcome" else None,
            trace_id=call.state.get("trace_id"),
            span_id=call.state.get("span_id"),
            policy=self.policy_digest,
            **budget,
        )


def _decision_kind(call: Call, phase: Phase) -> DecisionKind:
    if call.refusal is not None:
        kind: DecisionKind = call.refusal.decision_kind  # type: ignore[assignment]
        return kind
    if phase == "outcome" and call.error is not None:
        return "error"
    return "allowed"
