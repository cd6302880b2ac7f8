"""A LangChain v1 agent (``create_agent``) governed by one middleware, for two users.

Runs offline: the chat model is a scripted ``BaseChatModel`` (no API key, no
network). Each user's identity travels in LangGraph's run context
(``agent.invoke(..., context=Ctx(user))``), never in the model's arguments.
Alice (support) is shown two tools, refund capped at 100; her 250 refund and her
call to the hidden ``close_account`` are refused as error ToolMessages the model
reads, and the run goes on. Maria (manager) may do both.

    python examples/langchain_middleware.py
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from guardrail_langchain import GuardrailMiddleware
from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from guardrail import Guard, Policy, Principal, StaticAuthenticator
from guardrail.testing import capture_audit

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
TOKENS = {
    "token-alice": Principal(subject="alice", roles=frozenset({"support"})),
    "token-maria": Principal(subject="maria", roles=frozenset({"manager"})),
}


@tool
def lookup_order(order_id: str) -> str:
    """Look up an order by id."""
    return f"order {order_id}: espresso machine, 250.00 EUR, delivered damaged"


@tool
def refund(order_id: str, amount: float) -> str:
    """Refund (part of) an order."""
    return f"refunded {amount:.2f} EUR on order {order_id}"


@tool
def close_account(customer_id: str) -> str:
    """Close a customer's account."""
    return f"account {customer_id} closed"


class ScriptedModel(BaseChatModel):
    """Replies from a script; prints the tools it is shown (what a real model would see)."""

    replies: list[AIMessage]

    @property
    def _llm_type(self) -> str:
        return "scripted"

    printed: bool = False

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        if not self.printed:  # bound before every model call: print the first time
            self.printed = True
            shown = []
            for t in tools:
                fn = convert_to_openai_tool(t)["function"]
                limit = fn["parameters"]["properties"].get("amount", {}).get("maximum")
                shown.append(fn["name"] + (f" (amount <= {limit})" if limit else ""))
            print(f"  tools shown to the model: {', '.join(shown)}")
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        turn = sum(isinstance(m, AIMessage) for m in messages)
        return ChatResult(generations=[ChatGeneration(message=self.replies[turn])])


def script() -> ScriptedModel:
    def call(name: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        return {"name": name, "args": args, "id": call_id, "type": "tool_call"}

    return ScriptedModel(
        replies=[
            AIMessage("", tool_calls=[call("lookup_order", {"order_id": "A-17"}, "call_1")]),
            AIMessage(
                "", tool_calls=[call("refund", {"order_id": "A-17", "amount": 250}, "call_2")]
            ),
            AIMessage("", tool_calls=[call("close_account", {"customer_id": "C-9"}, "call_3")]),
            AIMessage("Done what I was allowed to do."),
        ]
    )


@dataclass
class Ctx:
    """The app's run context: the signed-in user's bearer token."""

    guardrail_token: str


def main() -> None:
    guard = Guard(Policy.model_validate(POLICY), authenticator=StaticAuthenticator(TOKENS))
    with capture_audit(guard) as events:
        for user in ("alice", "maria"):
            print(f"\n=== {user} ===")
            agent = create_agent(
                script(),
                tools=[lookup_order, refund, close_account],
                middleware=[GuardrailMiddleware(guard)],
                context_schema=Ctx,
            )
            out = agent.invoke(
                {"messages": [HumanMessage("Refund A-17 in full, close C-9.")]},
                context=Ctx(f"token-{user}"),
            )
            for m in out["messages"]:
                if isinstance(m, ToolMessage):
                    print(f"  [{m.status}] {m.name}: {m.content}")
            print(f"  model: {out['messages'][-1].content}")
    print("\nAudit trail:")
    for e in events:
        if e.phase != "intent":
            print(f"  {e.subject:6} {e.tool:14} {e.tool_call_id:7} {e.decision:8} {e.rule or '-'}")


if __name__ == "__main__":
    main()
