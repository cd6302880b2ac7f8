"""GuardrailMiddleware on a real ``create_agent`` (LangChain v1 / LangGraph), scripted model.

Two users run the same script: a lookup, a 250 refund, an account closure, then
a final answer. Alice (support: refunds up to 100, no closures) is refused two
calls and the run goes on; Maria (manager) is not. Every call is audited once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from guardrail_langchain import GuardrailMiddleware
from langchain.agents import create_agent
from langchain_core.messages import BaseMessage, HumanMessage
from mw_support import (
    ALICE,
    MARIA,
    TOOLS,
    AppContext,
    agent,
    check_alice,
    check_maria,
    decisions,
    make_guard,
    ran,
    script,
    tool_results,
)
from pydantic import SecretStr

from guardrail import Guard, GuardrailDenied
from guardrail.testing import capture_audit


@pytest.fixture(autouse=True)
def _clear() -> None:
    ran.clear()


@pytest.fixture
def guard() -> Guard:
    return make_guard()


def test_two_users_sync_context(guard: Guard) -> None:
    """Identity from Runtime.context; alice is shown two tools, refund narrowed to <= 100."""
    model = script()
    with capture_audit(guard) as events:
        out = agent(guard, model).invoke(
            {"messages": [HumanMessage("refund A-17")]}, context=AppContext(ALICE)
        )
    check_alice(out["messages"], events)
    shown = model.bound[0]
    assert sorted(shown) == ["lookup_order", "refund"]
    assert shown["refund"]["properties"]["amount"]["maximum"] == 100
    model, ran[:] = script(), []
    with capture_audit(guard) as events:
        out = agent(guard, model).invoke(
            {"messages": [HumanMessage("refund A-17")]}, context=AppContext(MARIA)
        )
    check_maria(out["messages"], events)
    assert sorted(model.bound[0]) == ["close_account", "lookup_order", "refund"]


async def test_two_users_async_configurable_token(guard: Guard) -> None:
    """Identity from a bearer token in ``configurable``; the async paths govern too."""
    for token, check in (("tok-alice", check_alice), ("tok-maria", check_maria)):
        ran.clear()
        config: Any = {"configurable": {"guardrail_token": SecretStr(token)}}
        with capture_audit(guard) as events:
            out = await agent(guard, script()).ainvoke(
                {"messages": [HumanMessage("refund A-17")]}, config=config
            )
        check(out["messages"], events)


def _streamed(chunks: list[Any]) -> list[BaseMessage]:
    messages: list[BaseMessage] = []
    for chunk in chunks:
        for update in chunk.values():
            messages.extend((update or {}).get("messages", []))
    return messages


def test_stream_acting_as(guard: Guard) -> None:
    """``agent.stream`` with the principal bound by ``guard.acting_as``."""
    with guard.acting_as(ALICE), capture_audit(guard) as events:
        chunks = list(
            agent(guard, script()).stream(
                {"messages": [HumanMessage("refund A-17")]}, stream_mode="updates"
            )
        )
    check_alice(_streamed(chunks), events)


async def test_astream_two_users(guard: Guard) -> None:
    for who, check in ((ALICE, check_alice), (MARIA, check_maria)):
        ran.clear()
        with capture_audit(guard) as events:
            chunks = [
                chunk
                async for chunk in agent(guard, script()).astream(
                    {"messages": [HumanMessage("refund A-17")]},
                    context=AppContext(who),
                    stream_mode="updates",
                )
            ]
        check(_streamed(chunks), events)


def test_wrapped_tools_are_checked_once(guard: Guard) -> None:
    """Tools already wrapped by this guard are governed by the middleware alone."""
    with capture_audit(guard) as events:
        out = agent(guard, script(), tools=guard.wrap(TOOLS)).invoke(
            {"messages": [HumanMessage("refund A-17")]}, context=AppContext(ALICE)
        )
    check_alice(out["messages"], events)


def test_tool_missing_from_agent_is_refused_and_audited(guard: Guard) -> None:
    """``create_agent(tools=guard.visible(...))``: alice's agent lacks close_account."""
    tools = guard.visible(TOOLS, ALICE)
    with capture_audit(guard) as events:
        out = agent(guard, script(), tools=tools).invoke(
            {"messages": [HumanMessage("refund A-17")]}, context=AppContext(ALICE)
        )
    check_alice(out["messages"], events)
    assert "not a tool of this agent" in str(tool_results(out["messages"])["c3"].content)


def test_bad_token_shows_nothing_and_refuses(guard: Guard) -> None:
    model = script()
    config: Any = {"configurable": {"guardrail_token": SecretStr("forged")}}
    with capture_audit(guard) as events:
        agent(guard, model).invoke({"messages": [HumanMessage("hi")]}, config=config)
    assert model.bound == []  # shown no tool at all
    assert {d[2] for d in decisions(events)} == {"auth_failed"}
    assert len(decisions(events)) == 3
    assert ran == []


def test_no_identity_is_refused(guard: Guard) -> None:
    model = script()
    with capture_audit(guard) as events:
        out = agent(guard, model).invoke({"messages": [HumanMessage("hi")]})
    assert all(m.status == "error" for m in tool_results(out["messages"]).values())
    assert len(decisions(events)) == 3 and ran == []
    assert model.bound == []


def test_custom_identify_and_raise(guard: Guard) -> None:
    """``identify`` reads your own context; ``on_denied="raise"`` ends the run with the error."""

    @dataclass
    class Ctx:
        user: str

    middleware = GuardrailMiddleware(
        guard, identify=lambda ctx: f"tok-{ctx.user}", on_denied="raise"
    )
    built = create_agent(script(), tools=TOOLS, middleware=[middleware], context_schema=Ctx)
    # refund and close_account are called in parallel: whichever is refused first ends the run.
    with pytest.raises(GuardrailDenied, match=r"refund|close_account"):
        built.invoke({"messages": [HumanMessage("x")]}, context=Ctx("alice"))
    assert ran == ["lookup_order"]
