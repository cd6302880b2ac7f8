"""A scripted CrewAI model (a real ``BaseLLM``), tools and a crew runner for the CrewAI tests.

The environment turns CrewAI's telemetry and tracing off before crewai is imported
(conftest), so nothing leaves the machine and CrewAI never sets the global
OpenTelemetry provider.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from crewai import Agent, Crew, Task
from crewai.llms.base_llm import BaseLLM
from crewai.tools import BaseTool, tool

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


def _who() -> str | None:
    principal = current_principal()
    return principal.subject if principal else None


@tool("lookup_order")
def lookup_order(order_id: str) -> str:
    """Look up an order by id."""
    ran.append(("lookup_order", _who()))
    return f"order {order_id}: 250.00 EUR"


@tool("refund")
def refund(order_id: str, amount: float) -> str:
    """Refund (part of) an order."""
    ran.append(("refund", _who()))
    return f"refunded {amount:.2f} on {order_id}"


@tool("close_account")
def close_account(customer_id: str) -> str:
    """Close a customer's account."""
    ran.append(("close_account", _who()))
    return f"account {customer_id} closed"


def action(name: str, **args: Any) -> str:
    """One ReAct step the way CrewAI's executor parses it."""
    return f"Thought: I should use {name}\nAction: {name}\nAction Input: {json.dumps(args)}"


def final(answer: str = "done") -> str:
    return f"Thought: I am done\nFinal Answer: {answer}"


class ScriptedLLM(BaseLLM):
    """Answers call ``n`` with ``script[n]``; keeps the messages of every call."""

    def __init__(self, script: Sequence[str]) -> None:
        super().__init__(model="scripted")
        self.script = list(script)
        self.calls: list[Any] = []

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        self.calls.append(messages)
        return self.script[min(len(self.calls) - 1, len(self.script) - 1)]

    def supports_function_calling(self) -> bool:
        return False

    def observations(self) -> list[str]:
        """The tool results the model was given, in order (CrewAI appends them to the
        conversation as ``Observation:`` lines of the assistant's messages)."""
        messages = self.calls[-1] if self.calls else []
        return [
            message["content"].split("\nObservation:", 1)[1].strip()
            for message in messages
            if message["role"] == "assistant" and "\nObservation:" in message["content"]
        ]


def crew_of(llm: ScriptedLLM, tools: Sequence[BaseTool], name: str = "support") -> Crew:
    agent = Agent(role="support", goal="help customers", backstory="-", llm=llm, tools=list(tools))
    task = Task(description="Handle order A-17.", expected_output="one sentence", agent=agent)
    return Crew(agents=[agent], tasks=[task], name=name)
