"""A whole agent loop with a scripted chat model: two users, one conversation, two outcomes."""

from __future__ import annotations

from typing import Any

from guardrail_langchain import PRINCIPAL_KEY
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from lc_support import make_decorated, ran

from guardrail import Guard, Principal
from guardrail.testing import capture_audit


def _script() -> list[AIMessage]:
    def call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        return {"name": name, "args": args, "id": call_id}

    return [
        AIMessage("", tool_calls=[call("refund", {"order_id": "A-17", "amount": 250}, "c1")]),
        AIMessage("", tool_calls=[call("refund", {"order_id": "A-17", "amount": 80}, "c2")]),
        AIMessage("Refund handled."),
    ]


def _run(model: Any, tools: list[BaseTool], config: RunnableConfig) -> list[BaseMessage]:
    by_name = {t.name: t for t in tools}
    messages: list[BaseMessage] = [HumanMessage("Please refund order A-17.")]
    for _ in range(10):
        ai = model.invoke(messages, config=config)
        messages.append(ai)
        if not ai.tool_calls:
            return messages
        messages.extend(by_name[c["name"]].invoke(c, config=config) for c in ai.tool_calls)
    raise AssertionError("the loop did not finish")


async def _arun(model: Any, tools: list[BaseTool], config: RunnableConfig) -> list[BaseMessage]:
    by_name = {t.name: t for t in tools}
    messages: list[BaseMessage] = [HumanMessage("Please refund order A-17.")]
    for _ in range(10):
        ai = await model.ainvoke(messages, config=config)
        messages.append(ai)
        if not ai.tool_calls:
            return messages
        for c in ai.tool_calls:
            messages.append(await by_name[c["name"]].ainvoke(c, config=config))
    raise AssertionError("the loop did not finish")


def _statuses(messages: list[BaseMessage]) -> list[tuple[str | None, str]]:
    return [(m.tool_call_id, m.status) for m in messages if isinstance(m, ToolMessage)]


def test_sync_loop_two_users(guard: Guard, support: Principal, manager: Principal) -> None:
    """Support is refused the 250 refund and gets the 80 one; the manager gets both."""
    tools = guard.wrap([make_decorated()])
    outcomes = {}
    with capture_audit(guard) as events:
        for user in (support, manager):
            model = GenericFakeChatModel(messages=iter(_script()))
            config: RunnableConfig = {"configurable": {PRINCIPAL_KEY: user}}
            transcript = _run(model, tools, config)
            assert transcript[-1].content == "Refund handled."
            outcomes[user.subject] = _statuses(transcript)
    assert outcomes == {
        "alice": [("c1", "error"), ("c2", "success")],
        "maria": [("c1", "success"), ("c2", "success")],
    }
    assert ran["refund"] == 3
    refused = [(e.subject, e.tool_call_id, e.rule) for e in events if e.phase == "refusal"]
    assert refused == [("alice", "c1", "support-refunds")]


async def test_async_loop_two_users(guard: Guard, support: Principal, stranger: Principal) -> None:
    """Async model and tools; identity from guard.acting_as; a user with no rights still ends."""
    tools = guard.wrap([make_decorated()])
    outcomes = {}
    for user in (support, stranger):
        responses: list[BaseMessage] = [*_script()]
        model = FakeMessagesListChatModel(responses=responses)
        async with guard.acting_as(user):
            transcript = await _arun(model, tools, {})
        assert transcript[-1].content == "Refund handled."
        outcomes[user.subject] = _statuses(transcript)
    assert outcomes == {
        "alice": [("c1", "error"), ("c2", "success")],
        "sam": [("c1", "error"), ("c2", "error")],
    }
    assert ran["refund"] == 1


async def test_concurrent_users_do_not_mix(
    guard: Guard, support: Principal, manager: Principal
) -> None:
    """Interleaved async calls for two users each run as their own principal."""
    import asyncio

    tool = guard.wrap(make_decorated())

    async def one(i: int) -> tuple[str, str]:
        user = (support, manager)[i % 2]
        args = {"order_id": f"O{i}", "amount": 150}
        call = {"type": "tool_call", "id": f"k{i}", "name": "refund", "args": args}
        out = await tool.ainvoke(call, config={"configurable": {PRINCIPAL_KEY: user}})
        return user.subject, out.status

    results = await asyncio.gather(*(one(i) for i in range(40)))
    assert {r for r in results} == {("alice", "error"), ("maria", "success")}
    assert ran["refund"] == 20
