"""The adapter seam: guard.run / arun / refuse, the step list, and the typed call context."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from guardrail import Guard, GuardrailDenied, PermissionDenied, Policy, current_principal
from guardrail.adapters import GuardedWrapper, OnDenied
from guardrail.call import Call
from guardrail.testing import capture_audit, make_principal, recording_tracer

ALICE = make_principal("alice", roles=["user"])
POLICY = {"rules": [{"id": "users", "allow": "echo", "when": {"roles": "user"}}]}


def _guard(**options: Any) -> Guard:
    guard = Guard(Policy.from_dict(POLICY), **options)

    def echo(text: str) -> str:
        return text

    guard.register(echo)
    return guard


def test_run_invokes_with_the_bound_arguments_as_the_principal() -> None:
    """invoke(bound) runs as the given principal; the call leaves intent and outcome."""
    guard = _guard()
    seen: list[Any] = []

    def invoke(args: dict[str, Any]) -> str:
        seen.append((args, current_principal()))
        return "done"

    with capture_audit(guard) as events:
        assert guard.run("echo", {"text": "hi"}, principal=ALICE, invoke=invoke) == "done"
    assert seen == [({"text": "hi"}, ALICE)]
    assert [(e.phase, e.decision) for e in events] == [
        ("intent", "allowed"),
        ("outcome", "allowed"),
    ]


def test_a_refusal_goes_to_denied_and_is_recorded() -> None:
    """denied(refusal) is returned for this call's refusal; the tool never runs."""
    guard = _guard()
    bob = make_principal("bob")
    with capture_audit(guard) as events:
        out = guard.run("echo", {"text": "x"}, principal=bob, denied=lambda exc: exc.reason)
    assert "may not call 'echo'" in out
    assert [(e.phase, e.subject) for e in events] == [("refusal", "bob")]


def test_a_denial_raised_by_the_tool_is_not_this_calls_refusal() -> None:
    """A GuardrailDenied from inside the tool body propagates: it is the tool's error."""
    guard = _guard()

    def invoke(args: dict[str, Any]) -> str:
        raise PermissionDenied("a nested call was refused")

    with capture_audit(guard) as events, pytest.raises(PermissionDenied, match="nested"):
        guard.run("echo", {"text": "x"}, principal=ALICE, invoke=invoke, denied=lambda e: "no")
    assert [(e.phase, e.outcome) for e in events][-1] == ("outcome", "PermissionDenied")


def test_refuse_opens_a_span_and_leaves_a_record_even_for_unknown_tools() -> None:
    """guard.refuse: the refusal gets an execute_tool span and one refusal record."""
    provider, exporter = recording_tracer()
    guard = _guard(tracer_provider=provider)
    refusal = PermissionDenied("not listed by the server", rule="adapter.unknown")
    with capture_audit(guard) as events:
        returned = guard.refuse("crm/ghost", refusal, {"id": 1}, principal=ALICE)
    assert returned is refusal and refusal.tool == "crm/ghost"
    (span,) = exporter.get_finished_spans()
    assert span.name == "execute_tool crm/ghost"
    assert dict(span.attributes or {})["guardrail.rule"] == "adapter.unknown"
    (event,) = events
    assert (event.phase, event.tool, event.rule, event.args) == (
        "refusal",
        "crm/ghost",
        "adapter.unknown",
        {"id": 1},
    )
    assert event.span_id == format(span.context.span_id, "016x")
    provider.shutdown()


async def test_arun_and_arefuse() -> None:
    """The async seam awaits invoke and denied; arefuse records like refuse."""
    guard = _guard()

    async def invoke(args: dict[str, Any]) -> str:
        return args["text"].upper()

    async def denied(exc: GuardrailDenied) -> str:
        return "refused"

    with capture_audit(guard) as events:
        assert await guard.arun("echo", {"text": "hi"}, principal=ALICE, invoke=invoke) == "HI"
        bob = make_principal("bob")
        assert await guard.arun("echo", {"text": "x"}, principal=bob, denied=denied) == "refused"
        await guard.arefuse("echo", PermissionDenied("no"), principal=ALICE)
    assert [e.phase for e in events] == ["intent", "outcome", "refusal", "refusal"]


async def test_acall_runs_a_sync_tool_off_the_event_loop_as_the_principal() -> None:
    """A sync tool called with acall runs in a worker thread, still as the caller."""
    guard = Guard(Policy.from_dict({"rules": [{"id": "all", "allow": "*"}]}))
    loop_thread = threading.get_ident()

    @guard.tool
    def where() -> tuple[bool, str | None]:
        who = current_principal()
        return threading.get_ident() != loop_thread, who.subject if who else None

    assert await guard.acall("where", principal=ALICE) == (True, "alice")
    assert asyncio.get_running_loop() is not None


def test_steps_are_a_public_list_with_audit_last() -> None:
    """default_steps lists the pipeline; add_step puts a check before the audit step."""
    guard = _guard()
    assert list(guard.steps) == guard.default_steps()
    assert guard.steps[-1] is guard.audit
    order: list[str] = []

    class Probe:
        def enter(self, call: Call) -> None:
            order.append(f"enter {call.tool.name}")

        def exit(self, call: Call) -> None:
            order.append(f"exit ran={call.ran}")

    guard.add_step(Probe())
    assert guard.steps[-2:] == (guard.steps[-2], guard.audit)
    with capture_audit(guard) as events:
        guard.run("echo", {"text": "x"}, principal=ALICE)
    assert order == ["enter echo", "exit ran=True"]
    assert [e.phase for e in events] == ["intent", "outcome"]


def test_guard_steps_replaces_the_pipeline() -> None:
    """Guard(steps=...) takes a function of the guard: here, no span step."""
    provider, exporter = recording_tracer()
    guard = _guard(tracer_provider=provider, steps=lambda g: g.default_steps()[1:])
    assert guard.run("echo", {"text": "x"}, principal=ALICE) == "x"
    assert exporter.get_finished_spans() == ()
    provider.shutdown()


class _Wrapped:
    name = "echo"
    extra = "kept"


class _Wrapper(GuardedWrapper[_Wrapped]):
    def __init__(self, guard: Guard, on_denied: OnDenied) -> None:
        self.wrapped, self.guard, self.on_denied = _Wrapped(), guard, on_denied

    def denial(self, refusal: GuardrailDenied) -> str:
        return f"error: {refusal.reason}"


def test_a_wrapper_delegates_and_answers_refusals_by_on_denied() -> None:
    """GuardedWrapper: unknown attributes are the wrapped object's; on_denied decides."""
    guard = _guard()
    wrapper = _Wrapper(guard, "result")
    assert wrapper.extra == "kept"
    with pytest.raises(AttributeError):
        _ = wrapper._private
    bob = make_principal("bob")
    assert wrapper.run_guarded("echo", {"text": "x"}, principal=bob).startswith("error: ")
    assert wrapper.run_guarded("echo", {"text": "x"}, principal=ALICE) == "x"
    with pytest.raises(PermissionDenied):
        _Wrapper(guard, "raise").run_guarded("echo", {"text": "x"}, principal=bob)
    assert wrapper.refuse_guarded("echo", PermissionDenied("adapter said no")) == (
        "error: adapter said no"
    )


def test_check_gives_exactly_the_calls_decision() -> None:
    """Scopes, expose="skill" and token expiry count in guard.check as in the call."""
    guard = Guard(Policy.from_dict({"rules": [{"id": "all", "allow": "*"}]}))

    @guard.tool(scopes=["crm:write"])
    def write() -> None:
        return None

    @guard.tool(expose="skill")
    def step() -> None:
        return None

    @guard.tool
    def read() -> None:
        return None

    expired = make_principal("old")
    expired = expired.model_copy(update={"expires_at": 1.0})
    assert not guard.check("write", principal=ALICE).allowed
    assert not guard.check("step", principal=ALICE).allowed
    assert not guard.check("read", principal=expired).allowed
    assert guard.check("read", principal=ALICE).allowed
    for name in ("write", "step", "read"):
        with guard.acting_as(expired if name == "read" else ALICE), pytest.raises(GuardrailDenied):
            guard.call(name)
