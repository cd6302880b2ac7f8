"""Two users, one agent conversation, two outcomes: LangChain tools governed by guardrail.

Runs offline in a second or two: the chat model is LangChain's scripted
``GenericFakeChatModel`` (no API key, no network), and users sign in with bearer
tokens checked by a ``StaticAuthenticator`` (swap in ``JWTAuthenticator`` for a
real identity provider). Each user's token travels in the run config, never in
the model's tool arguments.

    python examples/langchain_agent.py
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import SecretStr

from guardrail import Guard, Policy, Principal, StaticAuthenticator
from guardrail.audit.event import AuditEvent
from guardrail.testing import capture_audit

POLICY = {
    "rules": [
        {"id": "support-read", "allow": ["lookup_order"], "when": {"roles": ["support"]}},
        {
            "id": "support-refunds",
            "allow": ["refund"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}, "currency": {"in": ["EUR", "USD"]}},
        },
        {"id": "managers", "allow": ["*"], "when": {"roles": ["manager"]}},
    ]
}

TOKENS = {
    "token-alice": Principal(subject="alice", org="acme", roles=frozenset({"support"})),
    "token-maria": Principal(subject="maria", org="acme", roles=frozenset({"manager"})),
}


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order by id."""
    return f"order {order_id}: 1 x espresso machine, 250.00 EUR, delivered damaged"


@tool
def refund(order_id: str, amount: float, currency: str = "EUR") -> str:
    """Refund (part of) an order to the customer's card."""
    return f"refunded {amount:.2f} {currency} on order {order_id}"


@tool
def close_account(customer_id: str) -> str:
    """Close a customer's account."""
    return f"account {customer_id} closed"


def scripted_model() -> GenericFakeChatModel:
    """The same scripted replies for every user (a real model would be bound to the tools)."""

    def call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        return {"name": name, "args": args, "id": call_id}

    replies = [
        AIMessage("", tool_calls=[call("lookup_order", {"order_id": "A-17"}, "call_1")]),
        AIMessage(
            "",
            tool_calls=[
                call("refund", {"order_id": "A-17", "amount": 250, "currency": "EUR"}, "call_2"),
                call("close_account", {"customer_id": "C-9"}, "call_3"),
            ],
        ),
        AIMessage("I have done what I was allowed to do; see the tool results."),
    ]
    return GenericFakeChatModel(messages=iter(replies))


def run_conversation(
    model: GenericFakeChatModel, tools: Sequence[BaseTool], config: RunnableConfig
) -> list[BaseMessage]:
    """The usual agent loop: model, then each tool call, until the model stops calling tools."""
    by_name = {t.name: t for t in tools}
    messages: list[BaseMessage] = [
        HumanMessage("Order A-17 arrived broken: refund it in full and close my account C-9.")
    ]
    for _ in range(10):
        reply = model.invoke(messages, config=config)
        messages.append(reply)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            break
        for tool_call in reply.tool_calls:
            # Every call is checked, including calls to tools this user was not shown.
            messages.append(by_name[tool_call["name"]].invoke(tool_call, config=config))
    return messages


def show_tools(guard: Guard, tools: Sequence[BaseTool], user: str) -> None:
    principal = guard.authenticate(f"token-{user}")
    shown = guard.visible(list(tools), principal)
    print(f"  tools shown to the model: {[t.name for t in shown]}")
    for t in shown:
        props = convert_to_openai_tool(t)["function"]["parameters"]["properties"]
        narrowed = {
            arg: {k: v for k, v in spec.items() if k in ("enum", "maximum", "minimum", "pattern")}
            for arg, spec in props.items()
        }
        narrowed = {arg: c for arg, c in narrowed.items() if c}
        if narrowed:
            print(f"  {t.name} narrowed for {user}: {narrowed}")


def print_transcript(messages: Sequence[BaseMessage]) -> None:
    for message in messages:
        if isinstance(message, HumanMessage):
            print(f"  user : {message.content}")
        elif isinstance(message, AIMessage) and message.tool_calls:
            for call in message.tool_calls:
                print(f"  model: calls {call['name']}({call['args']})  [{call['id']}]")
        elif isinstance(message, AIMessage):
            print(f"  model: {message.content}")
        elif isinstance(message, ToolMessage):
            print(f"  tool : [{message.status}] {message.name}: {message.content}")


def print_audit(events: Sequence[AuditEvent]) -> None:
    print("\nAudit trail (one refusal, or intent + outcome, per call):")
    print(f"  {'user':6} {'tool':14} {'tool_call_id':12} {'phase':8} {'decision':9} rule")
    for e in events:
        print(
            f"  {e.subject or '-':6} {e.tool:14} {e.tool_call_id or '-':12} "
            f"{e.phase:8} {e.decision:9} {e.rule or '-'}"
        )


def main() -> None:
    guard = Guard(Policy.model_validate(POLICY), authenticator=StaticAuthenticator(TOKENS))
    tools = guard.wrap([lookup_order, refund, close_account])
    with capture_audit(guard) as events:
        for user in ("alice", "maria"):
            print(f"\n=== {user} ===")
            show_tools(guard, tools, user)
            config: RunnableConfig = {
                "configurable": {"guardrail_token": SecretStr(f"token-{user}")}
            }
            print_transcript(run_conversation(scripted_model(), tools, config))
    print_audit(events)


if __name__ == "__main__":
    main()
