"""OpenTelemetry: one execute_tool span per call, nested right, ERROR on denial, no secrets."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from guardrail import AuthenticationError, Guard, PermissionDenied, Principal
from guardrail.audit import ChainLog
from guardrail.testing import capture_audit

GuardFactory = Callable[..., Guard]


def register(guard: Guard, provider: TracerProvider) -> dict[str, Callable[..., Any]]:
    inner = provider.get_tracer("app")

    @guard.tool(description="Refund an order.")
    def refund(order_id: str, amount: float, note: str = "", password: str = "") -> dict[str, str]:
        with inner.start_as_current_span("db.update"):
            pass
        return {"status": "ok", "receipt": "sk-live-ABCDEFGHIJKLMNOPQRSTUV"}

    @guard.tool
    def boom(order_id: str) -> None:
        raise ValueError(f"failed with token {order_id}")

    @guard.tool
    async def slow(order_id: str) -> str:
        with inner.start_as_current_span("http.get"):
            return order_id

    return {"refund": refund, "boom": boom, "slow": slow}


def only(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    spans = [s for s in exporter.get_finished_spans() if s.name == name]
    assert len(spans) == 1, [s.name for s in exporter.get_finished_spans()]
    return spans[0]


def test_allowed_call_span(
    make_guard: GuardFactory,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    alice: Principal,
) -> None:
    """Name, kind, GenAI and guardrail attributes, status unset."""
    guard = make_guard()
    fns = register(guard, provider)
    with capture_audit(guard) as events, guard.acting_as(alice):
        guard.call("refund", {"order_id": "A-1", "amount": 4}, tool_call_id="call_42")
    span = only(exporter, "execute_tool refund")
    assert span.kind is SpanKind.INTERNAL
    attrs = dict(span.attributes or {})
    assert attrs["gen_ai.operation.name"] == "execute_tool"
    assert attrs["gen_ai.tool.name"] == "refund"
    assert attrs["gen_ai.tool.call.id"] == "call_42"
    assert attrs["gen_ai.tool.type"] == "function"
    assert attrs["gen_ai.tool.description"] == "Refund an order."
    assert attrs["guardrail.decision"] == "allowed"
    assert attrs["guardrail.rule"] == "support-refunds"
    assert attrs["guardrail.principal.subject"] == "alice"
    assert attrs["guardrail.principal.org"] == "acme"
    assert attrs["guardrail.policy"] == guard.policy.digest
    assert attrs["guardrail.call.id"] == events[0].call_id
    assert "error.type" not in attrs and "gen_ai.tool.call.arguments" not in attrs
    assert span.status.status_code is StatusCode.UNSET
    ctx = span.get_span_context()
    assert ctx is not None
    assert {e.trace_id for e in events} == {format(ctx.trace_id, "032x")}
    assert {e.span_id for e in events} == {format(ctx.span_id, "016x")}
    assert fns


def test_span_nests_under_the_caller_and_parents_the_tools_spans(
    make_guard: GuardFactory,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    alice: Principal,
) -> None:
    """The tool span is a child of the caller's span and the parent of the tool's own spans."""
    guard = make_guard()
    fns = register(guard, provider)
    with provider.get_tracer("agent").start_as_current_span("agent.turn"), guard.acting_as(alice):
        fns["refund"]("A-1", 4.0)
    caller = only(exporter, "agent.turn")
    tool = only(exporter, "execute_tool refund")
    child = only(exporter, "db.update")
    assert tool.parent is not None and caller.context is not None and tool.context is not None
    assert tool.parent.span_id == caller.context.span_id
    assert child.parent is not None and child.parent.span_id == tool.context.span_id
    assert len({caller.context.trace_id, tool.context.trace_id}) == 1


async def test_async_tool_children_nest(
    make_guard: GuardFactory,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    alice: Principal,
) -> None:
    """Spans started in an async tool nest under its execute_tool span."""
    guard = make_guard()
    fns = register(guard, provider)
    async with guard.acting_as(alice):
        await fns["slow"]("A-1")
    tool = only(exporter, "execute_tool slow")
    child = only(exporter, "http.get")
    assert tool.context is not None and child.parent is not None
    assert child.parent.span_id == tool.context.span_id


def test_denial_sets_error_status(
    make_guard: GuardFactory,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    alice: Principal,
) -> None:
    """A policy denial: status ERROR, error.type, decision and rule."""
    guard = make_guard()
    fns = register(guard, provider)
    with guard.acting_as(alice), pytest.raises(PermissionDenied):
        fns["refund"]("A-1", 5000.0)
    span = only(exporter, "execute_tool refund")
    attrs = dict(span.attributes or {})
    assert span.status.status_code is StatusCode.ERROR
    assert attrs["error.type"] == "PermissionDenied"
    assert attrs["guardrail.decision"] == "denied"
    assert attrs["guardrail.rule"] == "support-refunds"


def test_no_principal_and_tool_error_spans(
    make_guard: GuardFactory,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    alice: Principal,
) -> None:
    """No principal and a tool error both end the span with ERROR."""
    guard = make_guard()
    fns = register(guard, provider)
    with pytest.raises(AuthenticationError):
        fns["refund"]("A-1", 1.0)
    with guard.acting_as(alice), pytest.raises(ValueError):
        fns["boom"]("A-1")
    refused = dict(only(exporter, "execute_tool refund").attributes or {})
    assert refused["guardrail.decision"] == "auth_failed"
    assert refused["error.type"] == "AuthenticationError"
    failed = only(exporter, "execute_tool boom")
    assert failed.status.status_code is StatusCode.ERROR
    assert dict(failed.attributes or {})["error.type"] == "ValueError"
    assert dict(failed.attributes or {})["guardrail.decision"] == "error"


def test_arguments_and_results_only_when_opted_in(
    make_guard: GuardFactory,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    alice: Principal,
) -> None:
    """Opted in, arguments and result are on the span, redacted."""
    guard = make_guard(span_arguments=True, span_results=True)
    fns = register(guard, provider)
    with guard.acting_as(alice):
        fns["refund"]("A-1", 4.0, note="card 4111 1111 1111 1111", password="hunter2-very-secret")
    attrs = dict(only(exporter, "execute_tool refund").attributes or {})
    args = json.loads(str(attrs["gen_ai.tool.call.arguments"]))
    assert args == {
        "order_id": "A-1",
        "amount": 4.0,
        "note": "card [REDACTED]",
        "password": "[REDACTED]",
    }
    assert json.loads(str(attrs["gen_ai.tool.call.result"])) == {
        "status": "ok",
        "receipt": "[REDACTED]",
    }


def test_no_secret_in_spans_logs_or_records(
    make_guard: GuardFactory,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    alice: Principal,
    log_path: Path,
    caplog: pytest.LogCaptureFixture,
    secrets: tuple[str, ...],
) -> None:
    """Secrets in arguments, results, errors and the principal's token appear nowhere."""
    caplog.set_level(logging.DEBUG)
    log = ChainLog(log_path, fsync="never")
    guard = make_guard(log, span_arguments=True, span_results=True)
    fns = register(guard, provider)
    jwt = secrets[0]
    secret_args = {"note": " ".join(secrets[2:]) + f" token={jwt}", "password": secrets[1]}
    with guard.acting_as(alice):
        fns["refund"]("A-1", 4.0, **secret_args)
        with pytest.raises(PermissionDenied):
            fns["refund"]("A-1", 999.0, **secret_args)
        with pytest.raises(ValueError):
            fns["boom"](jwt)
    log.close()
    dumped = []
    for span in exporter.get_finished_spans():
        dumped.append(span.to_json())
        dumped.append(str(span.status.description))
    blob = "\n".join(dumped) + caplog.text + log_path.read_text()
    assert "execute_tool boom" in blob
    for secret in secrets:
        assert secret not in blob, secret


def test_without_an_sdk_nothing_is_recorded(policy: Any, alice: Principal) -> None:
    """No provider configured: calls work, records carry no trace ids, nothing is attached."""
    from opentelemetry import trace

    guard = Guard(policy)
    calls: list[Any] = []

    @guard.tool
    def lookup(order_id: str) -> str:
        calls.append(trace.get_current_span().get_span_context().is_valid)
        return order_id

    with capture_audit(guard) as events, guard.acting_as(alice):
        lookup("A-1")
    assert calls == [False]
    assert events[0].trace_id is None


def test_budget_refusal_and_cost_attributes(policy: Any, alice: Principal) -> None:
    """guardrail.limit on a budget refusal; reserved and settled cost on a run."""
    from guardrail import BudgetExceeded
    from guardrail.call import BudgetState, Call
    from guardrail.testing import recording_tracer

    provider, exporter = recording_tracer()

    class Budget:
        def enter(self, call: Call) -> None:
            if call.args["order_id"] == "over":
                raise BudgetExceeded(
                    "over",
                    limit="team-spend",
                    level="team",
                    key="team:x",
                    used=5,
                    maximum=5,
                    retry_after=None,
                    tool=call.tool.name,
                )
            call.budget = BudgetState(reserved=3.0)

        def exit(self, call: Call) -> None:
            pass

    guard = Guard(policy, tracer_provider=provider)
    guard.add_step(Budget())

    @guard.tool
    def lookup(order_id: str) -> str:
        return order_id

    with guard.acting_as(alice):
        lookup("A-1")
        with pytest.raises(BudgetExceeded):
            lookup("over")
    ran, refused = exporter.get_finished_spans()
    assert dict(ran.attributes or {})["guardrail.cost.reserved"] == 3.0
    assert dict(ran.attributes or {})["guardrail.cost"] == 3.0
    attrs = dict(refused.attributes or {})
    assert attrs["guardrail.decision"] == "budget_exceeded"
    assert attrs["guardrail.limit"] == "team-spend" and attrs["guardrail.limit.level"] == "team"
    assert refused.status.status_code is StatusCode.ERROR
    provider.shutdown()


async def test_concurrent_async_calls_keep_their_own_context(
    make_guard: GuardFactory,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    alice: Principal,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ten calls in parallel tasks: each child under its own tool span; nothing leaks after."""
    import asyncio

    from opentelemetry import trace

    guard = make_guard(span_arguments=True)
    inner = provider.get_tracer("app")

    @guard.tool(name="slow")
    async def fetch(order_id: str) -> str:
        await asyncio.sleep(0.001 * (int(order_id) % 3))
        with inner.start_as_current_span(f"child {order_id}"):
            await asyncio.sleep(0)
        return order_id

    with provider.get_tracer("agent").start_as_current_span("turn") as turn:
        async with guard.acting_as(alice):
            await asyncio.gather(*(fetch(str(i)) for i in range(10)))
        async with guard.acting_as(Principal(subject="x")):
            with pytest.raises(PermissionDenied):
                await fetch("1")
        assert trace.get_current_span() is turn
    spans = exporter.get_finished_spans()
    tools = {s.context.span_id: s for s in spans if s.name == "execute_tool slow"}  # type: ignore[union-attr]
    assert len(tools) == 11
    children = [s for s in spans if s.name.startswith("child ")]
    assert len(children) == 10
    for child in children:
        assert child.parent is not None
        args = dict(tools[child.parent.span_id].attributes or {})["gen_ai.tool.call.arguments"]
        assert json.loads(str(args)) == {"order_id": child.name.split()[1]}
    assert "Failed to detach context" not in caplog.text


def test_argument_errors_get_a_span_too() -> None:
    """A call refused for bad arguments still leaves an ERROR span."""
    from guardrail import ArgumentError, Guard, Policy
    from guardrail.testing import make_principal, recording_tracer

    provider, exporter = recording_tracer()
    guard = Guard(
        Policy.from_dict({"rules": [{"id": "r", "allow": "add"}]}), tracer_provider=provider
    )

    @guard.tool
    def add(n: int) -> int:
        return n

    with guard.acting_as(make_principal("u")), pytest.raises(ArgumentError):
        add("many")  # type: ignore[arg-type]
    [span] = exporter.get_finished_spans()
    assert span.name == "execute_tool add"
    assert span.status.status_code.name == "ERROR"


def test_a_delegated_principal_names_its_actor_on_the_span(
    make_guard: GuardFactory,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    alice: Principal,
) -> None:
    """A call made with a token exchanged for an agent says which agent acted."""
    guard = make_guard()
    register(guard, provider)
    with guard.acting_as(alice.model_copy(update={"actor": "agent-7"})):
        guard.call("refund", {"order_id": "A-1", "amount": 4})
    with guard.acting_as(alice):
        guard.call("refund", {"order_id": "A-2", "amount": 4})
    spans = [s for s in exporter.get_finished_spans() if s.name == "execute_tool refund"]
    actors = [dict(s.attributes or {}).get("guardrail.principal.actor") for s in spans]
    assert actors == ["agent-7", None]
