"""Two users, one OpenAI Agents SDK agent, two outcomes: function tools governed by guardrail.

Runs offline in a second or two: the model is a scripted ``agents.Model`` (no API
key, no network), and users sign in with bearer tokens checked by a
``StaticAuthenticator`` (swap in ``JWTAuthenticator`` for a real identity
provider). Each user's token travels in the run context, never in the model's
tool arguments.

    python examples/openai_agents_agent.py
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from agents import Agent, Model, ModelResponse, RunConfig, Runner, Usage, function_tool
from guardrail_openai_agents import run_config
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

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
    "token-alice": Principal(subject="alice", org="acme", roles=frozenset({"support"})),
    "token-maria": Principal(subject="maria", org="acme", roles=frozenset({"manager"})),
}


@dataclass
class AppContext:
    """The application's run context; guardrail reads ``guardrail_token`` from it."""

    guardrail_token: str


@function_tool
def lookup_order(order_id: str) -> str:
    """Look up an order by id."""
    return f"order {order_id}: 1 x espresso machine, 250.00 EUR, delivered damaged"


@function_tool
def refund(order_id: str, amount: float) -> str:
    """Refund (part of) an order to the customer's card."""
    return f"refunded {amount:.2f} EUR on order {order_id}"


@function_tool
def close_account(customer_id: str) -> str:
    """Close a customer's account."""
    return f"account {customer_id} closed"


CALLS = [
    ("lookup_order", {"order_id": "A-17"}),
    ("refund", {"order_id": "A-17", "amount": 250}),
    ("close_account", {"customer_id": "C-9"}),
]


class ScriptedModel(Model):
    """Calls the three tools, then repeats what each tool answered (a real model reads them)."""

    def __init__(self) -> None:
        self.offered: list[str] = []

    async def get_response(
        self, system_instructions: Any, input: Any, model_settings: Any, tools: Any, **_: Any
    ) -> ModelResponse:
        self.offered = self.offered or [t.name for t in tools]
        results = [i for i in input if i.get("type") == "function_call_output"]
        output: list[Any] = [
            ResponseFunctionToolCall(
                type="function_call", call_id=f"call_{n}", name=name, arguments=json.dumps(args)
            )
            for n, (name, args) in enumerate(CALLS, 1)
        ]
        if results:
            text = "\n".join(f"    {r['call_id']}: {r['output']}" for r in results)
            output = [_message(text)]
        return ModelResponse(output=output, usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("this example does not stream")


def _message(text: str) -> ResponseOutputMessage:
    content = [ResponseOutputText(type="output_text", text=text, annotations=[])]
    return ResponseOutputMessage(
        id="msg", type="message", role="assistant", status="completed", content=content
    )


async def main() -> None:
    guard = Guard(Policy.model_validate(POLICY), authenticator=StaticAuthenticator(TOKENS))
    tools = guard.wrap([lookup_order, refund, close_account])
    config = run_config(guard, RunConfig(tracing_disabled=True))
    with capture_audit(guard) as events:
        for user in ("alice", "maria"):
            model = ScriptedModel()
            agent = Agent(name="support", model=model, tools=tools)
            context = AppContext(guardrail_token=f"token-{user}")
            result = await Runner.run(
                agent, "Refund A-17 in full", context=context, run_config=config
            )
            print(f"\n=== {user} ===")
            print(f"  tools shown to the model: {model.offered}")
            print(f"  the model read:\n{result.final_output}")
    print("\nAudit trail (one refusal, or intent + outcome, per call):")
    for e in events:
        who, call = e.subject or "-", e.tool_call_id or "-"
        print(f"  {who:6} {e.tool:14} {call:7} {e.phase:8} {e.decision:9} {e.rule or '-'}")


if __name__ == "__main__":
    asyncio.run(main())
