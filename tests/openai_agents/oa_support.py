"""A scripted model written against the OpenAI Agents ``Model`` interface, tools and a policy."""
# Imported by conftest.py and the tests (pytest puts this directory on sys.path).

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents import FunctionTool, Model, ModelResponse, Usage, function_tool
from agents.items import TResponseStreamEvent
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

POLICY = {
    "rules": [
        {
            "id": "support-refunds",
            "allow": ["refund", "crm/refund"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}},
        },
        {
            "id": "support-lookup",
            "allow": ["lookup_order", "crm/lookup_customer"],
            "when": {"roles": ["support"]},
        },
        {"id": "managers", "allow": ["*"], "when": {"roles": ["manager"]}},
    ]
}

ran: Counter[str] = Counter()
"""How often each tool body ran (reset per test)."""


def make_tools() -> list[FunctionTool]:
    @function_tool
    def lookup_order(order_id: str) -> str:
        """Look an order up."""
        ran["lookup_order"] += 1
        return f"order {order_id}: shipped"

    @function_tool
    async def refund(order_id: str, amount: float) -> str:
        """Refund part of an order."""
        ran["refund"] += 1
        return f"refunded {amount:g} on {order_id}"

    @function_tool
    def close_account(account_id: str) -> str:
        """Close a customer account."""
        ran["close_account"] += 1
        return f"closed {account_id}"

    return [lookup_order, refund, close_account]


Call = tuple[str, dict[str, Any]]


@dataclass
class ScriptedModel(Model):
    """Turn 1 calls ``calls``; once tool outputs arrive it answers with all of them.

    ``seen_tools`` keeps the tool names (and schemas) each request offered the model.
    """

    calls: Sequence[Call]
    seen_tools: list[dict[str, dict[str, Any]]] = field(default_factory=list)

    def _turn(self, input: str | list[Any], tools: list[Any]) -> list[Any]:
        self.seen_tools.append({t.name: getattr(t, "params_json_schema", {}) for t in tools})
        outputs = [i for i in input if _get(i, "type") == "function_call_output"]
        if not outputs:
            return [
                ResponseFunctionToolCall(
                    type="function_call",
                    call_id=f"call_{n}",
                    name=name,
                    arguments=json.dumps(args),
                    status="completed",
                )
                for n, (name, args) in enumerate(self.calls, 1)
            ]
        text = "\n".join(f"{_get(o, 'call_id')}: {_text(_get(o, 'output'))}" for o in outputs)
        return [_message(text)]

    async def get_response(
        self,
        system_instructions: Any,
        input: Any,
        model_settings: Any,
        tools: Any,
        *rest: Any,
        **kwargs: Any,
    ) -> ModelResponse:
        return ModelResponse(output=self._turn(input, tools), usage=Usage(), response_id=None)

    async def stream_response(  # type: ignore[override]
        self,
        system_instructions: Any,
        input: Any,
        model_settings: Any,
        tools: Any,
        *rest: Any,
        **kwargs: Any,
    ) -> AsyncIterator[TResponseStreamEvent]:
        response = Response(
            id="resp_1",
            created_at=0,
            model="scripted",
            object="response",
            output=self._turn(input, tools),
            parallel_tool_calls=True,
            tool_choice="auto",
            tools=[],
        )
        yield ResponseCompletedEvent(
            type="response.completed", response=response, sequence_number=0
        )


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def _text(output: Any) -> str:
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return " ".join(str(_get(part, "text")) for part in output)
    return str(output)


def _message(text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id="msg_1",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[])],
    )


def answers(final_output: str) -> dict[str, str]:
    """The final message, split back into what the model read per call id."""
    return dict(line.split(": ", 1) for line in final_output.splitlines())


Runner = Callable[..., Any]
