"""Two users, one pydantic-ai agent, two outcomes: a toolset governed by guardrail.

Runs offline in a second or two: the model is pydantic-ai's ``FunctionModel``
driven by a script (no API key, no network), and users sign in with bearer
tokens checked by a ``StaticAuthenticator`` (swap in ``JWTAuthenticator`` for a
real identity provider). Each user's token travels in the run's ``deps``, never
in the model's tool arguments.

    python examples/pydantic_ai_agent.py
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_ai import Agent, FunctionToolset
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

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
class Deps:
    """The application's deps; guardrail reads ``guardrail_token`` from them."""

    guardrail_token: str


toolset: FunctionToolset[Deps] = FunctionToolset()


@toolset.tool_plain
def lookup_order(order_id: str) -> str:
    """Look up an order by id."""
    return f"order {order_id}: 1 x espresso machine, 250.00 EUR, delivered damaged"


@toolset.tool_plain
def refund(order_id: str, amount: float) -> str:
    """Refund (part of) an order to the customer's card."""
    return f"refunded {amount:.2f} EUR on order {order_id}"


@toolset.tool_plain
def close_account(customer_id: str) -> str:
    """Close a customer's account."""
    return f"account {customer_id} closed"


class Script:
    """Calls lookup and refund, then repeats what each tool answered (a real model reads them)."""

    def __init__(self) -> None:
        self.offered: list[str] = []

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        self.offered = self.offered or [t.name for t in info.function_tools]
        last = messages[-1]
        assert isinstance(last, ModelRequest)
        results = [p for p in last.parts if p.part_kind in ("tool-return", "retry-prompt")]
        if results:
            lines = [f"    {p.tool_call_id}: {p.model_response_str()}" for p in results]  # type: ignore[union-attr]
            return ModelResponse(parts=[TextPart("\n".join(lines))])
        return ModelResponse(
            parts=[
                ToolCallPart("lookup_order", {"order_id": "A-17"}, tool_call_id="call_1"),
                ToolCallPart("refund", {"order_id": "A-17", "amount": 250}, tool_call_id="call_2"),
            ]
        )


def main() -> None:
    guard = Guard(Policy.model_validate(POLICY), authenticator=StaticAuthenticator(TOKENS))
    guarded = guard.wrap(toolset)
    with capture_audit(guard) as events:
        for user in ("alice", "maria"):
            script = Script()
            agent = Agent(FunctionModel(script), deps_type=Deps, toolsets=[guarded])
            result = agent.run_sync("Refund A-17 in full", deps=Deps(f"token-{user}"))
            print(f"\n=== {user} ===")
            print(f"  tools shown to the model: {script.offered}")
            print(f"  the model read:\n{result.output}")
    print("\nAudit trail (one refusal, or intent + outcome, per call):")
    for e in events:
        who, call = e.subject or "-", e.tool_call_id or "-"
        print(f"  {who:6} {e.tool:14} {call:7} {e.phase:8} {e.decision:9} {e.rule or '-'}")


if __name__ == "__main__":
    main()
