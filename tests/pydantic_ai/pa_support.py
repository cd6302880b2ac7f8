"""Tools, a policy and a scripted model written against pydantic-ai's ``FunctionModel``."""
# Imported by conftest.py and the tests (pytest puts this directory on sys.path).

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import FunctionToolset, RunContext
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

POLICY = {
    "rules": [
        {
            "id": "support-refunds",
            "allow": ["refund"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}},
        },
        {"id": "support-lookup", "allow": ["lookup_order"], "when": {"roles": ["support"]}},
        {"id": "managers", "allow": ["*"], "when": {"roles": ["manager"]}},
    ]
}

ran: Counter[str] = Counter()
"""How often each tool body ran (reset per test)."""


def make_toolset() -> FunctionToolset[Any]:
    toolset: FunctionToolset[Any] = FunctionToolset()

    @toolset.tool_plain
    def lookup_order(order_id: str) -> str:
        """Look an order up."""
        ran["lookup_order"] += 1
        return f"order {order_id}: shipped"

    @toolset.tool
    async def refund(ctx: RunContext[Any], order_id: str, amount: float) -> str:
        """Refund part of an order."""
        ran["refund"] += 1
        return f"refunded {amount:g} on {order_id}"

    @toolset.tool_plain
    def close_account(account_id: str) -> str:
        """Close a customer account."""
        ran["close_account"] += 1
        return f"closed {account_id}"

    return toolset


Call = tuple[str, dict[str, Any]]


@dataclass
class Script:
    """Turn 1 calls ``calls``; then answers with what each call returned (one line per call id).

    ``offered`` keeps, per model request, the tools (name -> schema) the model was shown.
    """

    calls: Sequence[Call]
    offered: list[dict[str, dict[str, Any]]] = field(default_factory=list)

    def model(self) -> FunctionModel:
        return FunctionModel(self.respond, stream_function=self.stream)

    def _results(self, messages: list[ModelMessage], info: AgentInfo) -> list[str] | None:
        self.offered.append({t.name: t.parameters_json_schema for t in info.function_tools})
        last = messages[-1]
        assert isinstance(last, ModelRequest)
        parts = [p for p in last.parts if p.part_kind in ("tool-return", "retry-prompt")]
        if not parts:
            return None
        return [f"{p.tool_call_id}: {p.model_response_str()}" for p in parts]  # type: ignore[union-attr]

    def respond(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        results = self._results(messages, info)
        if results is None:
            return ModelResponse(
                parts=[
                    ToolCallPart(name, args, tool_call_id=f"call_{n}")
                    for n, (name, args) in enumerate(self.calls, 1)
                ]
            )
        return ModelResponse(parts=[TextPart("\n".join(results))])

    async def stream(
        self, messages: list[ModelMessage], info: AgentInfo
    ) -> AsyncIterator[str | DeltaToolCalls]:
        results = self._results(messages, info)
        if results is None:
            for n, (name, args) in enumerate(self.calls, 1):
                yield {n: DeltaToolCall(name, json.dumps(args), tool_call_id=f"call_{n}")}
            return
        for line in results:
            yield line + "\n"


def answers(output: str) -> dict[str, str]:
    """The final text, split back into what the model read per call id."""
    return dict(line.split(": ", 1) for line in output.strip().splitlines())
