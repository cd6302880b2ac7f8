"""Two users, one CrewAI crew, two outcomes: CrewAI tool calls governed by guardrail.

Runs offline: the model is a scripted CrewAI ``BaseLLM`` (no API key, no network),
and CrewAI's telemetry and tracing are turned off before it is imported. Each
user's crew gets the tools that user may call (``guard.visible``), bound to the
user; CrewAI's hooks (``GuardrailHooks``) see every tool call. A refused call is
the tool's observation, which the model reads; the crew goes on.

    python examples/crewai_agent.py
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any

for _name in ("CREWAI_DISABLE_TELEMETRY", "CREWAI_DISABLE_TRACKING", "CREWAI_TESTING"):
    os.environ.setdefault(_name, "true")  # before crewai is imported: nothing phones home

with warnings.catch_warnings():
    warnings.simplefilter("ignore", ImportWarning)  # raised by crewai 1.6.1's own import
    from crewai import Agent, Crew, Task
    from crewai.llms.base_llm import BaseLLM
    from crewai.tools import tool
from guardrail_crewai import GuardrailHooks  # noqa: E402

from guardrail import Guard, Policy, Principal  # noqa: E402
from guardrail.testing import capture_audit  # noqa: E402

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


@tool("lookup_order")
def lookup_order(order_id: str) -> str:
    """Look up an order by id."""
    return f"order {order_id}: 1 x espresso machine, 250.00 EUR, delivered damaged"


@tool("refund")
def refund(order_id: str, amount: float) -> str:
    """Refund (part of) an order to the customer's card."""
    return f"refunded {amount:.2f} EUR on order {order_id}"


def _step(name: str, **args: Any) -> str:
    return f"Thought: I should use {name}\nAction: {name}\nAction Input: {json.dumps(args)}"


SCRIPT = [
    _step("lookup_order", order_id="A-17"),
    _step("refund", order_id="A-17", amount=250),
    "Thought: I am done\nFinal Answer: I did what I was allowed to do.",
]


class ScriptedLLM(BaseLLM):
    """Answers the executor's n-th request with ``SCRIPT[n]``."""

    def __init__(self) -> None:
        super().__init__(model="scripted")
        self.turns = 0
        self.messages: list[dict[str, str]] = []

    def call(self, messages: Any, *args: Any, **kwargs: Any) -> str:
        self.turns += 1
        self.messages = messages
        return SCRIPT[min(self.turns, len(SCRIPT)) - 1]

    def supports_function_calling(self) -> bool:
        return False


def converse(guard: Guard, user: str) -> None:
    tools = guard.visible([lookup_order, refund], USERS[user])
    print(f"  tools the crew gets: {[t.name for t in tools]}")
    llm = ScriptedLLM()
    agent = Agent(role="support", goal="help customers", backstory="-", llm=llm, tools=tools)
    task = Task(description="Refund order A-17 in full.", expected_output="one line", agent=agent)
    result = Crew(agents=[agent], tasks=[task], name=f"crew-{user}").kickoff()
    for message in llm.messages:
        if message["role"] == "assistant" and "\nObservation:" in message["content"]:
            step, seen = message["content"].split("\nObservation:", 1)
            print(f"  model: {step.splitlines()[1]} {step.splitlines()[2]}")
            print(f"  tool : {seen.strip().splitlines()[0]}")
    print(f"  crew : {result.raw}")


def main() -> None:
    guard = Guard(Policy.model_validate(POLICY))
    with GuardrailHooks(guard), capture_audit(guard) as events:
        for user in ("alice", "maria"):
            print(f"\n=== {user} ===")
            converse(guard, user)
    print("\nAudit trail (one refusal, or intent + outcome, per call):")
    for e in events:
        print(f"  {e.subject or '-':6} {e.tool:14} {e.phase:8} {e.decision}")


if __name__ == "__main__":
    main()
