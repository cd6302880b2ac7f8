"""``SpanEmitter``: one OpenTelemetry span per guarded call (GenAI ``execute_tool``).

Needs only ``opentelemetry-api``; without an SDK the spans are non-recording and
the step costs about one ``start_span``. Attribute names follow the OpenTelemetry
GenAI semantic conventions; they are spelled out here because the semconv
package marks its ``gen_ai.*`` constants deprecated.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import (
    NoOpTracerProvider,
    ProxyTracerProvider,
    Span,
    SpanKind,
    Status,
    StatusCode,
    TracerProvider,
)

from guardrail.audit.redact import Redactor
from guardrail.audit.trail import redacted_args
from guardrail.call import Call, SpanState

GEN_AI_OPERATION_NAME = "gen_ai.operation.name"
GEN_AI_TOOL_NAME = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE = "gen_ai.tool.type"
GEN_AI_TOOL_DESCRIPTION = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ARGUMENTS = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT = "gen_ai.tool.call.result"
ERROR_TYPE = "error.type"
EXECUTE_TOOL = "execute_tool"

GUARDRAIL_DECISION = "guardrail.decision"
GUARDRAIL_RULE = "guardrail.rule"
GUARDRAIL_CALL_ID = "guardrail.call.id"
GUARDRAIL_PRINCIPAL_SUBJECT = "guardrail.principal.subject"
GUARDRAIL_PRINCIPAL_ORG = "guardrail.principal.org"
GUARDRAIL_PRINCIPAL_ACTOR = "guardrail.principal.actor"
GUARDRAIL_PRINCIPAL_TEAMS = "guardrail.principal.teams"
GUARDRAIL_LIMIT = "guardrail.limit"
GUARDRAIL_LIMIT_LEVEL = "guardrail.limit.level"
GUARDRAIL_COST_RESERVED = "guardrail.cost.reserved"
GUARDRAIL_COST = "guardrail.cost"
GUARDRAIL_POLICY = "guardrail.policy"

_TRACER_NAME = "guardrail"
_LOOK_EVERY = 1.0
"""Seconds between looks for a global SDK provider while there is none."""


class SpanEmitter:
    """A pipeline step that opens the ``execute_tool {tool}`` span (kind INTERNAL).

    Put it first in the steps: the span then covers the checks, the audit intent
    and the tool, its ids are in ``call.span`` (``trace_id``, ``span_id``)
    before any audit record is written, and it is the current span while the
    tool runs, so spans the tool starts are its children. It nests under the
    caller's current span. A denial or a tool error sets status ERROR and
    ``error.type``; ``guardrail.*`` attributes carry the decision, rule, caller,
    limit and cost. Arguments and results are recorded only when ``arguments``
    / ``results`` is true, and then redacted. Exception messages are never
    recorded (they may carry secrets); only their type.

    ``gen_ai.tool.call.id`` is the model's tool call id when the adapter passes
    one, else guardrail's call id (also in ``guardrail.call.id``, as in the audit
    records). Without an SDK (or with a sampler that drops the span) nothing is
    set on the span and the context is left alone.
    """

    def __init__(
        self,
        tracer_provider: TracerProvider | None = None,
        *,
        arguments: bool = False,
        results: bool = False,
        redactor: Redactor | None = None,
        policy_digest: str | None = None,
    ) -> None:
        self.tracer = trace.get_tracer(_TRACER_NAME, tracer_provider=tracer_provider)
        self._provider = tracer_provider
        self.arguments = arguments
        self.results = results
        self.redactor = redactor or Redactor()
        self.policy_digest = policy_digest
        self._sdk = tracer_provider is not None and _is_sdk(tracer_provider)
        self._next_look = 0.0

    def _tool(self, call: Call) -> tuple[str, dict[str, Any]]:
        spec = call.tool
        return _tool_span(spec.name, spec.description, self.redactor)

    def recording(self) -> bool:
        """Whether spans can be recorded: an SDK (any real provider) is installed. With
        opentelemetry-api alone the provider is the API's proxy or no-op one, and the
        step does no span work at all. Asking the API for the global provider reads the
        environment (about 1 us), so while there is none it looks again at most once a
        second: a provider set later is picked up then, and kept (it is set only once)."""
        if self._sdk or self._provider is not None:
            return self._sdk
        now = time.monotonic()
        if now >= self._next_look:
            self._next_look = now + _LOOK_EVERY
            self._sdk = _is_sdk(trace.get_tracer_provider())
        return self._sdk

    def enter(self, call: Call) -> None:
        if not self.recording():
            return
        name, _ = self._tool(call)
        span = self.tracer.start_span(name, kind=SpanKind.INTERNAL)
        state = call.span = SpanState(span=span)
        if span.is_recording():
            # The attributes are set once, when the span ends (:meth:`_finish`): one
            # pass through the SDK's checks instead of two.
            ids = span.get_span_context()
            state.trace_id = format(ids.trace_id, "032x")
            state.span_id = format(ids.span_id, "016x")
            # Made current by hand: cheaper than start_as_current_span, same nesting.
            state.token = otel_context.attach(trace.set_span_in_context(span))

    def exit(self, call: Call) -> None:
        if call.span is None and not call.ran:  # refused before this step: a span for it
            self.enter(call)
        state = call.span
        if state is None:  # no SDK: no span
            return
        if state.token is not None:
            otel_context.detach(state.token)
            state.token = None
        span = state.span
        if span.is_recording():
            self._finish(span, call)
        span.end()

    def _call_attributes(self, call: Call) -> dict[str, Any]:
        attrs = self._tool(call)[1].copy()
        attrs[GEN_AI_TOOL_CALL_ID] = call.tool_call_id or call.call_id
        attrs[GUARDRAIL_CALL_ID] = call.call_id
        principal = call.principal
        if principal is not None:
            attrs[GUARDRAIL_PRINCIPAL_SUBJECT] = principal.subject
            if principal.org:
                attrs[GUARDRAIL_PRINCIPAL_ORG] = principal.org
            if principal.actor:
                attrs[GUARDRAIL_PRINCIPAL_ACTOR] = principal.actor
            if principal.teams:
                attrs[GUARDRAIL_PRINCIPAL_TEAMS] = list(principal.teams)
        if self.policy_digest:
            attrs[GUARDRAIL_POLICY] = self.policy_digest
        if self.arguments:
            redacted = redacted_args(call, self.redactor)
            attrs[GEN_AI_TOOL_CALL_ARGUMENTS] = _json(redacted)
        return attrs

    def _finish(self, span: Span, call: Call) -> None:
        error = call.error
        attrs = self._call_attributes(call)
        refusal = call.refusal
        decision = call.decision
        if refusal is not None:
            attrs[GUARDRAIL_DECISION] = refusal.decision_kind
            rule = refusal.rule or (decision.rule if decision else None)
            limit = getattr(refusal, "limit", None)
            if isinstance(limit, str):
                attrs[GUARDRAIL_LIMIT] = limit
                attrs[GUARDRAIL_LIMIT_LEVEL] = str(getattr(refusal, "level", ""))
        else:
            attrs[GUARDRAIL_DECISION] = "allowed" if error is None else "error"
            rule = decision.rule if decision else None
        if rule:
            attrs[GUARDRAIL_RULE] = rule
        if call.reserved is not None:
            attrs[GUARDRAIL_COST_RESERVED] = call.reserved
        cost = call.cost
        if cost is not None and refusal is None:
            attrs[GUARDRAIL_COST] = cost
        failure = refusal if refusal is not None else error
        if failure is not None:
            kind = type(failure).__name__
            attrs[ERROR_TYPE] = kind
            reason = self.redactor.text(refusal.reason) if refusal is not None else kind
            span.set_status(Status(StatusCode.ERROR, reason))
        elif self.results:
            attrs[GEN_AI_TOOL_CALL_RESULT] = _json(self.redactor.value(call.result))
        span.set_attributes(attrs)


@functools.lru_cache(maxsize=4096)
def _tool_span(name: str, description: str, redactor: Redactor) -> tuple[str, dict[str, Any]]:
    """The span name and the attributes every call of a tool shares (callers copy them)."""
    attrs: dict[str, Any] = {
        GEN_AI_OPERATION_NAME: EXECUTE_TOOL,
        GEN_AI_TOOL_NAME: name,
        GEN_AI_TOOL_TYPE: "function",
    }
    if description:
        attrs[GEN_AI_TOOL_DESCRIPTION] = redactor.text(description)
    return f"{EXECUTE_TOOL} {name}", attrs


def _json(value: Any) -> str:
    return json.dumps(value, default=repr, ensure_ascii=False, separators=(",", ":"))


def _is_sdk(provider: TracerProvider) -> bool:
    return not isinstance(provider, ProxyTracerProvider | NoOpTracerProvider)
