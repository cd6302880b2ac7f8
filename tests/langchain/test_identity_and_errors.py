"""Who a call runs as, how budgets and tool errors read, and what the audit records."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from guardrail_langchain import PRINCIPAL_KEY, TOKEN_KEY, denial_text
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import ToolMessage
from langchain_core.tools import InjectedToolCallId, ToolException, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from lc_support import make_decorated, ran, tool_call
from pydantic import SecretStr

from guardrail import (
    BudgetExceeded,
    ConfigurationError,
    Guard,
    Policy,
    Principal,
    StaticAuthenticator,
    current_principal,
)
from guardrail.call import Call
from guardrail.testing import capture_audit


def _configurable(**values: Any) -> dict[str, Any]:
    return {"configurable": values}


def test_principal_from_config(guard: Guard, support: Principal) -> None:
    """configurable["guardrail_principal"] names the caller; no context needed."""
    wrapped = guard.wrap(make_decorated())
    call = tool_call("refund", {"order_id": "A", "amount": 5})
    out = wrapped.invoke(call, config=_configurable(**{PRINCIPAL_KEY: support}))
    assert out.status == "success"


def test_config_principal_wins_over_context(
    guard: Guard, support: Principal, manager: Principal
) -> None:
    """An explicit run config beats the ambient guard.acting_as."""
    wrapped = guard.wrap(make_decorated())
    call = tool_call("refund", {"order_id": "A", "amount": 500})
    with guard.acting_as(manager):
        out = wrapped.invoke(call, config=_configurable(**{PRINCIPAL_KEY: support}))
    assert out.status == "error"


def test_tool_body_runs_as_the_config_principal(guard: Guard, support: Principal) -> None:
    """Inside the tool, current_principal() is the caller named in the config."""
    seen: list[Principal | None] = []

    @tool
    def whoami() -> str:
        """Who am I."""
        seen.append(current_principal())
        return "ok"

    guard = Guard(Policy.model_validate({"rules": [{"id": "all", "allow": ["*"]}]}))
    guard.wrap(whoami).invoke({}, config=_configurable(**{PRINCIPAL_KEY: support}))
    assert seen == [support]


def test_bearer_token_in_config(support: Principal) -> None:
    """configurable["guardrail_token"] is verified with the guard's authenticator."""
    guard = Guard(
        Policy.model_validate(
            {"rules": [{"id": "s", "allow": ["*"], "when": {"roles": ["support"]}}]}
        ),
        authenticator=StaticAuthenticator({"tok-alice": support}),
    )
    wrapped = guard.wrap(make_decorated())
    call = tool_call("refund", {"order_id": "A", "amount": 5}, "t1")
    for token in ("tok-alice", SecretStr("tok-alice")):
        assert wrapped.invoke(call, config=_configurable(**{TOKEN_KEY: token})).status == "success"
    with capture_audit(guard) as events:
        bad = wrapped.invoke(call, config=_configurable(**{TOKEN_KEY: "forged"}))
    assert bad.status == "error" and "not authenticated" in str(bad.content)
    assert [(e.phase, e.decision, e.tool_call_id) for e in events] == [
        ("refusal", "auth_failed", "t1")
    ]
    assert ran["refund"] == 2


def test_identity_never_comes_from_arguments(guard: Guard) -> None:
    """A model cannot name a principal in its arguments: no context, no call."""
    wrapped = guard.wrap(make_decorated())
    args = {"order_id": "A", "amount": 5, PRINCIPAL_KEY: "maria", "configurable": {}}
    out = wrapped.invoke(tool_call("refund", args))
    assert out.status == "error" and "not authenticated" in str(out.content)
    assert not ran


def test_a_non_principal_in_config_is_a_developer_error(guard: Guard) -> None:
    """A dict where a Principal belongs raises ConfigurationError, not a denial."""
    wrapped = guard.wrap(make_decorated())
    with pytest.raises(ConfigurationError):
        wrapped.invoke(
            tool_call("refund", {"order_id": "A", "amount": 5}),
            config=_configurable(**{PRINCIPAL_KEY: {"subject": "maria"}}),
        )


class _Exhausted:
    """A pipeline step standing in for a spent budget."""

    def enter(self, call: Call) -> None:
        raise BudgetExceeded(
            "user-rate exhausted",
            limit="user-rate",
            level="user",
            key="user:alice",
            used=60,
            maximum=60,
            retry_after=42.0,
            tool=call.tool.name,
            principal=call.principal,
        )

    def exit(self, call: Call) -> None:
        pass


def test_budget_denial_names_the_limit_and_reset(guard: Guard, support: Principal) -> None:
    """BudgetExceeded reads: which budget, how much, when it resets."""
    guard.add_step(_Exhausted())
    wrapped = guard.wrap(make_decorated())
    with guard.acting_as(support):
        out = wrapped.invoke(tool_call("refund", {"order_id": "A", "amount": 5}))
    assert out.status == "error"
    assert "budget 'user-rate' (user user:alice)" in str(out.content)
    assert "60 of 60" in str(out.content) and "resets in 42 s" in str(out.content)
    assert out.artifact["guardrail"]["retry_after"] == 42.0
    assert not ran


def test_denial_text_for_a_budget_that_never_resets() -> None:
    """A limit without window says it does not reset by itself."""
    exc = BudgetExceeded(
        "x", limit="l", level="org", key="org:acme", used=1, maximum=1, retry_after=None
    )
    assert "does not reset by itself" in denial_text(exc)


def test_handled_tool_errors_keep_langchain_semantics(guard: Guard, support: Principal) -> None:
    """handle_tool_error output reaches the model unchanged and is audited as an error."""

    @tool
    def flaky(order_id: str) -> str:
        """Fails."""
        raise ToolException(f"order {order_id} is locked")

    flaky.handle_tool_error = True
    guard = Guard(Policy.model_validate({"rules": [{"id": "all", "allow": ["*"]}]}))
    wrapped = guard.wrap(flaky)
    with capture_audit(guard) as events, guard.acting_as(support):
        out = wrapped.invoke(tool_call("flaky", {"order_id": "Z"}, "f1"))
    assert isinstance(out, ToolMessage)
    assert (out.content, out.status) == ("order Z is locked", "error")
    assert [(e.phase, e.outcome) for e in events] == [
        ("intent", None),
        ("outcome", "HandledToolError"),
    ]


def test_unhandled_tool_errors_propagate(guard: Guard, support: Principal) -> None:
    """With handle_tool_error=False the ToolException is raised, as LangChain does."""

    @tool
    def broken() -> str:
        """Fails."""
        raise ToolException("boom")

    guard = Guard(Policy.model_validate({"rules": [{"id": "all", "allow": ["*"]}]}))
    with capture_audit(guard) as events, guard.acting_as(support), pytest.raises(ToolException):
        guard.wrap(broken).invoke(tool_call("broken", {}))
    assert events[-1].outcome == "ToolException"


def test_invalid_arguments_are_refused_and_audited(guard: Guard, support: Principal) -> None:
    """Arguments the tool's schema rejects never reach the policy or the tool."""
    wrapped = guard.wrap(make_decorated())
    with capture_audit(guard) as events, guard.acting_as(support):
        out = wrapped.invoke(tool_call("refund", {"order_id": "A", "amount": "lots"}))
    assert out.status == "error" and "invalid arguments: amount" in str(out.content)
    assert events[0].decision == "denied"
    assert not ran


def test_injected_tool_call_id_and_audit(support: Principal) -> None:
    """InjectedToolCallId still reaches the tool; the audit record carries the id."""

    @tool
    def note(text: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Take a note."""
        return f"{text} ({tool_call_id})"

    guard = Guard(Policy.model_validate({"rules": [{"id": "all", "allow": ["*"]}]}))
    wrapped = guard.wrap(note)
    assert convert_to_openai_tool(wrapped) == convert_to_openai_tool(note)
    with capture_audit(guard) as events, guard.acting_as(support):
        out = wrapped.invoke(tool_call("note", {"text": "hi"}, "n-7"))
    assert out.content == "hi (n-7)"
    assert {e.tool_call_id for e in events} == {"n-7"}
    assert events[0].args == {"text": "hi"}


class _Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def on_tool_start(self, serialized: Any, input_str: str, **kwargs: Any) -> None:
        self.seen.append(("start", kwargs.get("inputs")))

    def on_tool_end(self, output: Any, **kwargs: Any) -> None:
        self.seen.append(("end", getattr(output, "status", output)))

    def on_tool_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen.append(("error", type(error).__name__))


async def test_refusals_reach_langchain_callbacks(guard: Guard, support: Principal) -> None:
    """A tracer sees a refused call as a tool run that ended in an error."""
    recorder = _Recorder()
    wrapped = guard.wrap(make_decorated())
    args = {"order_id": "A", "amount": 500}
    config: Any = {"callbacks": [recorder], "configurable": {PRINCIPAL_KEY: support}}
    wrapped.invoke(tool_call("refund", args), config=config)
    await wrapped.ainvoke(tool_call("refund", args), config=config)
    with pytest.raises(ToolException):
        wrapped.invoke(args, config=config)
    wrapped.invoke(tool_call("refund", {"order_id": "A", "amount": 5}), config=config)
    assert recorder.seen == [
        ("start", args),
        ("end", "error"),
        ("start", args),
        ("end", "error"),
        ("start", args),
        ("error", "ToolException"),
        ("start", {"order_id": "A", "amount": 5}),
        ("end", "success"),
    ]
