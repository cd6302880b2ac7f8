"""Shared by the GuardrailMiddleware tests: tools, policy, two users, a scripted run."""
# Imported by the tests (pytest puts this directory on sys.path).

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from guardrail_langchain import GuardrailMiddleware
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from scripted_model import ScriptedChatModel, call

from guardrail import Guard, Policy, Principal, StaticAuthenticator
from guardrail.audit.event import AuditEvent
from guardrail.testing import make_principal

POLICY = {
    "rules": [
        {"id": "support-read", "allow": ["lookup_order"], "when": {"roles": ["support"]}},
        {
            "id": "support-refunds",
            "allow": ["refund"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}},
        },
        {"id": "managers", "allow": ["*"], "when": {"roles": ["manager"]}},
    ]
}
ALICE = make_principal("alice", roles=["support"])
MARIA = make_principal("maria", roles=["manager"])
ran: list[str] = []


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order."""
    ran.append("lookup_order")
    return f"order {order_id}: 250 EUR"


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund part of an order."""
    ran.append("refund")
    return f"refunded {amount:g} on {order_id}"


@tool
def close_account(customer_id: str) -> str:
    """Close a customer's account."""
    ran.append("close_account")
    return f"closed {customer_id}"


TOOLS: list[BaseTool] = [lookup_order, refund, close_account]


@dataclass
class AppContext:
    guardrail_principal: Principal | None = None


def make_guard() -> Guard:
    tokens = {"tok-alice": ALICE, "tok-maria": MARIA}
    return Guard(Policy.model_validate(POLICY), authenticator=StaticAuthenticator(tokens))


def script() -> ScriptedChatModel:
    return ScriptedChatModel(
        replies=[
            AIMessage("", tool_calls=[call("lookup_order", {"order_id": "A-17"}, "c1")]),
            AIMessage(
                "",
                tool_calls=[
                    call("refund", {"order_id": "A-17", "amount": 250}, "c2"),
                    call("close_account", {"customer_id": "C-9"}, "c3"),
                ],
            ),
            AIMessage("done"),
        ]
    )


def agent(guard: Guard, model: ScriptedChatModel, tools: list[Any] | None = None) -> Any:
    return create_agent(
        model,
        tools=TOOLS if tools is None else tools,
        middleware=[GuardrailMiddleware(guard)],
        context_schema=AppContext,
    )


def tool_results(messages: list[BaseMessage]) -> dict[str, ToolMessage]:
    return {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}


def decisions(events: list[AuditEvent]) -> list[tuple[str | None, str, str, str | None]]:
    final = [e for e in events if e.phase in ("outcome", "refusal")]
    # Parallel tool calls finish in any order: sort by call id.
    return sorted(
        ((e.subject, e.tool, e.decision, e.tool_call_id) for e in final),
        key=lambda d: d[3] or "",
    )


def check_alice(messages: list[BaseMessage], events: list[AuditEvent]) -> None:
    results = tool_results(messages)
    assert results["c1"].status == "success"
    assert results["c2"].status == "error"
    assert "refused by guardrail" in str(results["c2"].content)
    assert results["c3"].status == "error"
    assert results["c3"].artifact["guardrail"]["decision"] == "denied"
    assert messages[-1].content == "done"  # the run went on after the refusals
    assert ran == ["lookup_order"]
    assert decisions(events) == [
        ("alice", "lookup_order", "allowed", "c1"),
        ("alice", "refund", "denied", "c2"),
        ("alice", "close_account", "denied", "c3"),
    ]


def check_maria(messages: list[BaseMessage], events: list[AuditEvent]) -> None:
    assert all(m.status == "success" for m in tool_results(messages).values())
    assert sorted(ran) == ["close_account", "lookup_order", "refund"]
    assert [d[2] for d in decisions(events)] == ["allowed"] * 3
