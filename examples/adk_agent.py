"""Two users, one Google ADK agent, two outcomes: ADK tool calls governed by guardrail.

Runs offline: the model is a scripted ``BaseLlm`` (no API key, no network). The
plugin takes each user from the ADK session's ``user_id`` (mapped to a verified
principal by the application), shows each user only the tools they may call and
answers a refused call with ADK's ``{"error": ...}`` response, which the model
reads; the run goes on.

    python examples/adk_agent.py
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.apps import App
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import InMemoryRunner
from google.genai import types
from guardrail_adk import GuardrailPlugin

from guardrail import Guard, Policy, Principal
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

USERS = {
    "alice": Principal(subject="alice", org="acme", roles=frozenset({"support"})),
    "maria": Principal(subject="maria", org="acme", roles=frozenset({"manager"})),
}


def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order by id."""
    return {"order": order_id, "total": 250.0, "state": "delivered damaged"}


def refund(order_id: str, amount: float) -> dict[str, Any]:
    """Refund (part of) an order to the customer's card."""
    return {"refunded": amount, "order": order_id}


def close_account(customer_id: str) -> dict[str, Any]:
    """Close a customer's account."""
    return {"closed": customer_id}


def _call(name: str, call_id: str, **args: Any) -> types.Part:
    return types.Part(function_call=types.FunctionCall(id=call_id, name=name, args=args))


SCRIPT = [
    [_call("lookup_order", "call_1", order_id="A-17")],
    [
        _call("refund", "call_2", order_id="A-17", amount=250),
        _call("close_account", "call_3", customer_id="C-9"),
    ],
    [types.Part(text="I have done what I was allowed to do; see the tool results.")],
]


class ScriptedModel(BaseLlm):
    """Answers each turn from ``SCRIPT`` and records the tools each request showed."""

    model: str = "scripted"
    shown: list[list[str]] = []

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        tools = llm_request.config.tools or []
        names = [
            d.name or "" for t in tools for d in getattr(t, "function_declarations", None) or []
        ]
        self.shown.append(names)
        turn = sum(1 for content in llm_request.contents if content.role == "model")
        parts = SCRIPT[min(turn, len(SCRIPT) - 1)]
        usage = types.GenerateContentResponseUsageMetadata(
            prompt_token_count=0, candidates_token_count=0, total_token_count=0
        )
        yield LlmResponse(content=types.Content(role="model", parts=parts), usage_metadata=usage)


async def converse(guard: Guard, user: str) -> list[str]:
    """One conversation as ``user``; returns the transcript lines."""
    model = ScriptedModel()
    agent = LlmAgent(name="support", model=model, tools=[lookup_order, refund, close_account])
    plugin = GuardrailPlugin(guard, users=USERS.get)
    runner = InMemoryRunner(app=App(name="shop", root_agent=agent, plugins=[plugin]))
    session = await runner.session_service.create_session(app_name="shop", user_id=user)
    message = types.Content(role="user", parts=[types.Part(text="Refund A-17 and close C-9.")])
    lines = [""]  # the tools the first request showed, filled in below
    async for event in runner.run_async(user_id=user, session_id=session.id, new_message=message):
        for part in event.content.parts if event.content and event.content.parts else []:
            if part.function_call:
                lines.append(f"  model: calls {part.function_call.name}({part.function_call.args})")
            elif part.function_response:
                response = part.function_response.response or {}
                shown = response.get("error") or response
                lines.append(f"  tool : {part.function_response.name}: {shown}")
            elif part.text:
                lines.append(f"  model: {part.text}")
    lines[0] = f"  tools shown to the model: {model.shown[0]}"
    await runner.close()
    return lines


async def main() -> None:
    guard = Guard(Policy.model_validate(POLICY))
    with capture_audit(guard) as events:
        for user in ("alice", "maria"):
            print(f"\n=== {user} ===")
            print("\n".join(await converse(guard, user)))
    print("\nAudit trail (one refusal, or intent + outcome, per call):")
    for e in events:
        print(
            f"  {e.subject or '-':6} {e.tool:14} {e.tool_call_id or '-':8} {e.phase:8} {e.decision}"
        )


if __name__ == "__main__":
    asyncio.run(main())
