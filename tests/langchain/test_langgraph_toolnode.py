"""A hand-built LangGraph graph: ``ToolNode(wrap_tool_call=middleware.wrap_tool_call)``.

Identity comes from the graph's ``Runtime.context``; a refusal is an error
``ToolMessage`` in the graph state and the graph goes on.
"""

from __future__ import annotations

from typing import Any

import pytest
from guardrail_langchain import GuardrailMiddleware
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from mw_support import ALICE, MARIA, TOOLS, AppContext, decisions, make_guard, ran
from scripted_model import ScriptedChatModel, call

from guardrail import Guard
from guardrail.testing import capture_audit


@pytest.fixture(autouse=True)
def _clear() -> None:
    ran.clear()


@pytest.fixture
def guard() -> Guard:
    return make_guard()


def graph(guard: Guard) -> Any:
    model = ScriptedChatModel(
        replies=[
            AIMessage(
                "",
                tool_calls=[
                    call("refund", {"order_id": "A-17", "amount": 250}, "g1"),
                    call("close_account", {"customer_id": "C-9"}, "g2"),
                ],
            ),
            AIMessage("done"),
        ]
    )
    middleware = GuardrailMiddleware(guard)
    tools = ToolNode(
        TOOLS,
        wrap_tool_call=middleware.wrap_tool_call,
        awrap_tool_call=middleware.awrap_tool_call,
    )

    def route(state: MessagesState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    built = StateGraph(MessagesState, context_schema=AppContext)
    built.add_node("model", lambda state: {"messages": [model.invoke(state["messages"])]})
    built.add_node("tools", tools)
    built.add_edge(START, "model")
    built.add_conditional_edges("model", route)
    built.add_edge("tools", "model")
    return built.compile()


def _statuses(out: dict[str, Any]) -> dict[str, str]:
    return {m.tool_call_id: m.status for m in out["messages"] if isinstance(m, ToolMessage)}


def test_toolnode_two_users(guard: Guard) -> None:
    with capture_audit(guard) as events:
        out = graph(guard).invoke({"messages": [HumanMessage("x")]}, context=AppContext(ALICE))
    assert _statuses(out) == {"g1": "error", "g2": "error"}
    assert out["messages"][-1].content == "done" and ran == []
    assert [d[2] for d in decisions(events)] == ["denied", "denied"]
    with capture_audit(guard) as events:
        out = graph(guard).invoke({"messages": [HumanMessage("x")]}, context=AppContext(MARIA))
    assert _statuses(out) == {"g1": "success", "g2": "success"}
    assert sorted(ran) == ["close_account", "refund"]
    assert [d[:3] for d in decisions(events)] == [
        ("maria", "refund", "allowed"),
        ("maria", "close_account", "allowed"),
    ]


async def test_toolnode_async_stream(guard: Guard) -> None:
    with capture_audit(guard) as events:
        chunks = [
            chunk
            async for chunk in graph(guard).astream(
                {"messages": [HumanMessage("x")]}, context=AppContext(ALICE)
            )
        ]
    assert len(chunks) == 3  # model, tools, model
    assert [d[2] for d in decisions(events)] == ["denied", "denied"] and ran == []
