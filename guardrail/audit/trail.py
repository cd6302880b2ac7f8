"""``AuditTrail``: the last pipeline step; turns each call into redacted records for every sink.

It writes the intent when it is entered (every check passed, the tool is about to
run) and, when it exits, the outcome of a call that ran or the one refusal record
of a call that did not. It reads only the typed fields of the
:class:`~guardrail.call.Call`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from guardrail.audit.event import AuditEvent, DecisionKind, Phase, build_event, event_from
from guardrail.audit.redact import Redactor
from guardrail.call import Call, new_id
from guardrail.downstream import delegations
from guardrail.errors import AuditError, BudgetExceeded, GuardrailDenied
from guardrail.identity import Principal

if TYPE_CHECKING:
    from guardrail.policy.decision import Decision


class AuditSink(Protocol):
    """Somewhere audit events go. ``write`` must raise when the event is not kept.

    A sink may also have ``async def awrite(event)``, which async calls await instead.
    """

    def write(self, event: AuditEvent) -> None: ...


class AuditTrail:
    """The audit step. With no sinks it builds no events at all (the lean path)."""

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

    # -- the step -------------------------------------------------------------------

    def enter(self, call: Call) -> None:
        if self.sinks and _intent_needed(call):
            self._intent_written(call, self._emit(self.event(call, "intent")))

    def exit(self, call: Call) -> None:
        if self.sinks and not call.recorded:
            call.recorded = True
            self._final_written(call, self._emit(self.event(call, _final_phase(call))))

    async def aenter(self, call: Call) -> None:
        if self.sinks and _intent_needed(call):
            self._intent_written(call, await self._aemit(self.event(call, "intent")))

    async def aexit(self, call: Call) -> None:
        if self.sinks and not call.recorded:
            call.recorded = True
            self._final_written(call, await self._aemit(self.event(call, _final_phase(call))))

    def _intent_written(self, call: Call, failure: AuditError | None) -> None:
        if failure is None:
            return
        # Fail closed: no intent record, no tool run. Sinks that did keep the intent
        # are told, best effort, that the tool never ran.
        call.error = failure
        call.recorded = True
        self._emit(self.event(call, "outcome"))
        raise failure

    @staticmethod
    def _final_written(call: Call, failure: AuditError | None) -> None:
        if failure is None:
            return
        if call.ran:
            raise AuditError(
                f"{call.tool.name!r} ran, but its outcome could not be recorded: {failure}",
                tool_ran=True,
            ) from failure
        raise failure

    def notice(self, tool: str, decision: DecisionKind, reason: str, **detail: Any) -> None:
        """A record that is not a call: an MCP tool changed, a ledger failed open, ..."""
        if self.sinks:
            failure = self._emit(
                build_event(
                    {
                        "event_id": new_id(),
                        "time": datetime.now(UTC),
                        "phase": "notice",
                        "call_id": new_id(),
                        "tool": tool,
                        "decision": decision,
                        "reason": reason,
                        "detail": self.redactor.arguments(detail),
                        "policy": self.policy_digest,
                    }
                )
            )
            if failure is not None:
                raise failure

    def _emit(self, event: AuditEvent) -> AuditError | None:
        # Every sink gets the event even when one fails, so the sinks stay consistent
        # with each other; the first failure is returned (None: every sink kept it).
        failure: AuditError | None = None
        for sink in self.sinks:
            try:
                sink.write(event)
            except Exception as exc:
                failure = failure or _audit_error(sink, exc)
        return failure

    async def _aemit(self, event: AuditEvent) -> AuditError | None:
        failure: AuditError | None = None
        for sink in self.sinks:
            try:
                awrite = getattr(sink, "awrite", None)
                if awrite is not None:
                    await awrite(event)
                else:
                    sink.write(event)
            except Exception as exc:
                failure = failure or _audit_error(sink, exc)
        return failure

    # -- records ----------------------------------------------------------------------

    def event(self, call: Call, phase: Phase) -> AuditEvent:
        """The record of ``call`` at ``phase``: the fields all its records share (made once
        per call, arguments redacted then), and this phase's own."""
        fields = self._shared_fields(call).copy()
        fields["args"] = fields["args"].copy()  # each record its own (sinks may keep them)
        if "attributes" in fields:
            fields["attributes"] = fields["attributes"].copy()
        refusal = call.refusal
        if refusal is None and isinstance(call.error, GuardrailDenied):
            refusal = call.error  # refused inside the tool (e.g. no downstream token)
        fields["event_id"] = new_id()
        fields["time"] = datetime.now(UTC)
        fields["phase"] = phase
        fields["decision"] = _decision_kind(call, phase)
        if call.delegations:
            fields["delegations"] = delegations(call)
        self._verdict_fields(call.decision, refusal, fields)
        if phase == "outcome":
            fields["outcome"] = "ok" if call.error is None else type(call.error).__name__
            cost = call.cost
            if cost is not None:
                fields["cost_settled"] = float(cost)
        if phase != "intent":
            fields["duration_ms"] = call.duration_ms()
        _budget_fields(call, refusal, fields)
        return event_from(fields)  # every field above left out when unset (no None)

    def _shared_fields(self, call: Call) -> dict[str, Any]:
        """What every record of ``call`` says alike: which call, who made it, where."""
        shared = call.audit_fields
        if shared is not None:
            return shared
        parent, principal, span = call.parent, call.principal, call.span
        fields: dict[str, Any] = {
            "call_id": call.call_id,
            "tool": call.tool.name,
            "args": redacted_args(call, self.redactor),
        }
        _put(fields, "policy", self.policy_digest)
        _put(fields, "tool_call_id", call.tool_call_id)
        _put(fields, "session", call.session)
        if parent is not None:
            fields["parent_call_id"] = parent.call_id
            _put(fields, "skill", _skill_of(parent))
        if principal is not None:
            self._principal_fields(principal, fields)
        if span is not None and span.trace_id is not None:
            fields["trace_id"], fields["span_id"] = span.trace_id, span.span_id
        call.audit_fields = fields
        return fields

    def _verdict_fields(
        self, decision: Decision | None, refusal: GuardrailDenied | None, fields: dict[str, Any]
    ) -> None:
        """Which rule decided, and why (a refusal's reason is redacted)."""
        if refusal is not None:
            if refusal.reason:
                fields["reason"] = self.redactor.text(refusal.reason)
            _put(fields, "rule", refusal.rule)
        elif decision is not None:
            _put(fields, "reason", decision.reason)
            _put(fields, "rule", decision.rule)

    def _principal_fields(self, principal: Principal, fields: dict[str, Any]) -> None:
        """Who the call was made as, and what its policy read about them."""
        _put(fields, "subject", principal.subject)
        fields["teams"] = principal.teams
        _put(fields, "org", principal.org)
        _put(fields, "issuer", principal.issuer)
        _put(fields, "actor", principal.actor)
        fields["roles"] = tuple(sorted(principal.roles))
        fields["scopes"] = tuple(sorted(principal.scopes))
        if principal.attributes:
            fields["attributes"] = self.redactor.arguments(principal.attributes)


def _budget_fields(call: Call, refusal: GuardrailDenied | None, fields: dict[str, Any]) -> None:
    budget = call.budget
    if budget is not None:
        if budget.reserved is not None:
            fields["cost_reserved"] = float(budget.reserved)
        if budget.remaining:
            fields["remaining"] = {str(k): float(v) for k, v in budget.remaining.items()}
        if budget.ledger_note is not None:
            fields["detail"] = {"budget_ledger": budget.ledger_note}
    if isinstance(refusal, BudgetExceeded):
        fields["limit"] = str(refusal.limit)
        fields["level"] = str(refusal.level)
        fields["limit_key"] = str(refusal.key)
        retry = refusal.retry_after
        if retry is not None:
            fields["retry_after"] = float(retry)


def redacted_args(call: Call, redactor: Redactor) -> dict[str, Any]:
    """``call.args`` redacted by ``redactor``, once per call (shared by records and span)."""
    args = call.redacted_args
    if args is None:
        args = call.redacted_args = redactor.arguments(call.args, call.tool.redact)
    return args


def _put(fields: dict[str, Any], name: str, value: object) -> None:
    """``fields[name] = value`` unless it is ``None``: a record leaves unset fields out."""
    if value is not None:
        fields[name] = value


def _skill_of(call: Call | None) -> str | None:
    """The name of the nearest skill among ``call`` and the calls that made it."""
    while call is not None and not call.tool.skill:
        call = call.parent
    return call.tool.name if call is not None else None


def _intent_needed(call: Call) -> bool:
    """Whether ``call`` needs an intent record before its tool runs: always, unless the
    tool changes nothing (``read_only``) and hands its result over only after the
    outcome record is kept (not a generator). Then, should the process die while the
    tool runs, nothing happened that a record could stand for."""
    tool = call.tool
    return not tool.read_only or tool.generator


def _final_phase(call: Call) -> Phase:
    return "outcome" if call.ran else "refusal"


def _audit_error(sink: object, exc: Exception) -> AuditError:
    if isinstance(exc, AuditError):
        return exc
    error = AuditError(f"audit sink {type(sink).__name__} failed: {exc}")
    error.__cause__ = exc
    return error


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
