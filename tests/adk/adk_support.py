"""A scripted ADK model (a real ``BaseLlm``), tools and a runner helper for the ADK tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

from google.adk.agents import LlmAgent
from google.adk.agents.run_config import RunConfig
from google.adk.apps import App
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.plugins.base_plugin import BasePlugin
from google.adk.runners import InMemoryRunner
from google.genai import types
from pydantic import Field

from guardrail import current_principal

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
    ],
    "limits": [{"id": "refund-calls", "per": "user", "tools": "refund", "calls": 3}],
}

ran: list[tuple[str, str | None]] = []
"""(tool, principal subject) for every tool body that ran."""


def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order by id."""
    ran.append(("lookup_order", _who()))
    return {"order": order_id, "total": 250.0}


async def refund(order_id: str, amount: float) -> dict[str, Any]:
    """Refund (part of) an order (an async tool)."""
    ran.append(("refund", _who()))
    return {"refunded": amount, "order": order_id}


def close_account(customer_id: str) -> dict[str, Any]:
    """Close a customer's account."""
    ran.append(("close_account", _who()))
    return {"closed": customer_id}


def _who() -> str | None:
    principal = current_principal()
    return principal.subject if principal else None


def call(name: str, call_id: str, **args: Any) -> types.Part:
    return types.Part(function_call=types.FunctionCall(id=call_id, name=name, args=args))


def text(words: str) -> types.Part:
    return types.Part(text=words)


SCRIPT_ALLOWED_AND_REFUSED = [
    [call("lookup_order", "c1", order_id="A-17")],
    [
        call("refund", "c2", order_id="A-17", amount=250),
        call("close_account", "c3", customer_id="C-9"),
    ],
    [text("done")],
]
"""For alice: one allowed call, one refused by an argument rule, one to a hidden tool."""

_NO_USAGE = types.GenerateContentResponseUsageMetadata(
    prompt_token_count=0, candidates_token_count=0, total_token_count=0
)


class ScriptedModel(BaseLlm):
    """Answers turn ``n`` (model turns so far) with ``script[n]``; records every request.

    With ``stream=True`` it yields each part as a partial chunk first, then the whole
    turn, as a streaming model does.
    """

    model: str = "scripted"
    script: list[list[types.Part]] = Field(default_factory=list)
    requests: list[LlmRequest] = Field(default_factory=list)

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.requests.append(llm_request)
        turn = sum(1 for content in llm_request.contents if content.role == "model")
        parts = self.script[min(turn, len(self.script) - 1)]
        if stream:
            for part in parts:
                chunk = types.Content(role="model", parts=[part])
                yield LlmResponse(content=chunk, partial=True)
        content = types.Content(role="model", parts=parts)
        yield LlmResponse(content=content, usage_metadata=_NO_USAGE)

    def shown(self, turn: int = 0) -> dict[str, dict[str, Any]]:
        """The function declarations (name -> JSON schema) the request of ``turn`` showed."""
        tools = self.requests[turn].config.tools or []
        return {
            d.name or "": dict(d.parameters_json_schema or {})
            for t in tools
            for d in getattr(t, "function_declarations", None) or []
        }

    def responses(self) -> dict[str, dict[str, Any]]:
        """Every function response the model was sent, by call id."""
        return {
            part.function_response.id or "": dict(part.function_response.response or {})
            for content in self.requests[-1].contents
            for part in content.parts or []
            if part.function_response
        }


@dataclass
class Run:
    model: ScriptedModel
    events: list[Any]


async def run_agent(
    plugins: Sequence[BasePlugin],
    script: list[list[types.Part]],
    *,
    user: str = "alice",
    tools: Sequence[Any] = (lookup_order, refund, close_account),
    run_config: RunConfig | None = None,
    agent_options: dict[str, Any] | None = None,
) -> Run:
    """One conversation through a real ``InMemoryRunner`` with ``plugins``."""
    model = ScriptedModel(script=script)
    agent = LlmAgent(name="support", model=model, tools=list(tools), **(agent_options or {}))
    runner = InMemoryRunner(app=App(name="shop", root_agent=agent, plugins=list(plugins)))
    session = await runner.session_service.create_session(app_name="shop", user_id=user)
    message = types.Content(role="user", parts=[text("Refund A-17 and close C-9.")])
    events = [
        event
        async for event in runner.run_async(
            user_id=user, session_id=session.id, new_message=message, run_config=run_config
        )
    ]
    await runner.close()
    return Run(model=model, events=events)
