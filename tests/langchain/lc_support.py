"""Tools of every kind LangChain has, a policy over them, and users with different rights."""
# Imported by conftest.py and the tests (pytest puts this directory on sys.path).

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from langchain_core.tools import BaseTool, BaseToolkit, InjectedToolArg, StructuredTool, tool
from pydantic import BaseModel, Field

POLICY = {
    "rules": [
        {
            "id": "support-refunds",
            "allow": ["refund", "async_refund", "transfer"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}, "currency": {"in": ["EUR", "USD"]}},
        },
        {
            "id": "support-kit",
            "allow": ["kit_*"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 50}},
        },
        {
            "id": "support-lookup",
            "allow": ["lookup_order", "kit_lookup"],
            "when": {"roles": ["support"]},
        },
        {"id": "managers", "allow": ["*"], "when": {"roles": ["manager"]}},
    ]
}

ran: Counter[str] = Counter()
"""How often each tool body ran (reset per test)."""


def make_decorated() -> BaseTool:
    @tool
    def refund(order_id: str, amount: float, currency: str = "EUR") -> str:
        """Refund part of an order."""
        ran["refund"] += 1
        return f"refunded {amount:g} {currency} on {order_id}"

    return refund


def make_structured_async() -> BaseTool:
    def sync_refund(order_id: str, amount: float, currency: str = "EUR") -> str:
        ran["async_refund"] += 1
        return f"refunded {amount:g} {currency} on {order_id} (sync)"

    async def async_refund(order_id: str, amount: float, currency: str = "EUR") -> str:
        ran["async_refund"] += 1
        return f"refunded {amount:g} {currency} on {order_id} (async)"

    return StructuredTool.from_function(
        func=sync_refund,
        coroutine=async_refund,
        name="async_refund",
        description="Refund part of an order, asynchronously.",
    )


class TransferArgs(BaseModel):
    account: str = Field(description="target account")
    amount: float = Field(description="amount to move", ge=0)
    currency: str = "EUR"
    memo: Annotated[str, InjectedToolArg] = ""


class TransferTool(BaseTool):
    """A hand-written BaseTool subclass with an injected argument."""

    name: str = "transfer"
    description: str = "Move money between accounts."
    args_schema: type[BaseModel] = TransferArgs

    def _run(self, account: str, amount: float, currency: str = "EUR", memo: str = "") -> str:
        ran["transfer"] += 1
        return f"moved {amount:g} {currency} to {account}{' ' + memo if memo else ''}"


class ShopToolkit(BaseToolkit):
    def get_tools(self) -> list[BaseTool]:
        @tool
        def kit_lookup(order_id: str) -> str:
            """Look an order up."""
            ran["kit_lookup"] += 1
            return f"order {order_id}: 2 items"

        @tool
        def kit_refund(order_id: str, amount: float) -> str:
            """Refund from the toolkit."""
            ran["kit_refund"] += 1
            return f"kit refunded {amount:g} on {order_id}"

        return [kit_lookup, kit_refund]


def tool_call(name: str, args: dict[str, Any], call_id: str = "call-1") -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "args": args}
