"""Framework tools (MCP, LangChain, any NamedArgBinder): the framework validates the
values, and NaN still reaches the policy as a float it cannot compare. The guard
refuses non-finite numbers and makes values plain on every binder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import guardrail_mcp
import pydantic_core
import pytest
from guardrail_mcp._common import ensure_registered
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from mcp import Client
from mcp.server.mcpserver import MCPServer

from guardrail import ArgumentError, Guard, PermissionDenied, Policy
from guardrail.testing import capture_audit, make_principal
from guardrail.tools import NamedArgBinder

ALICE = make_principal("alice")
POLICY = Policy.from_dict(
    {
        "rules": [
            {"id": "everyone", "allow": "*"},
            {"id": "big", "deny": ["pay", "bank/pay", "deploy"], "args": {"amount": {"min": 1000}}},
            {"id": "prod", "deny": "deploy", "args": {"env": {"eq": "prod"}}},
        ]
    }
)
NON_FINITE = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "[1, NaN]", '{"x": NaN}'])
@pytest.mark.parametrize("decode", [json.loads, pydantic_core.from_json])
def test_json_nan_through_the_mcp_binder_is_refused(text: str, decode: Any) -> None:
    """JSON ``NaN`` (which Python's json and pydantic-core both decode to a float) in the
    arguments of an MCP tool is refused with an audited ArgumentError."""
    guard = Guard(POLICY)
    ensure_registered(guard, "bank/pay", "Pay.", None)
    arguments = decode('{"amount": ' + text + "}")
    with guard.acting_as(ALICE), capture_audit(guard) as events:
        with pytest.raises(ArgumentError, match="finite"):
            guard.run("bank/pay", arguments, invoke=lambda bound: None)
        guard.run("bank/pay", decode('{"amount": 5}'), invoke=lambda bound: None)
    assert [(e.phase, e.decision) for e in events][:2] == [
        ("refusal", "denied"),
        ("intent", "allowed"),
    ]


@pytest.mark.parametrize("value", NON_FINITE)
async def test_mcp_client_session_refuses_non_finite_arguments(value: float) -> None:
    """A guarded client session: the call is refused before it reaches the server."""
    ran: list[float] = []
    server: MCPServer = MCPServer("pay", log_level="WARNING")

    @server.tool()
    def pay(amount: float) -> str:
        ran.append(amount)
        return "paid"

    guard = Guard(POLICY)
    async with Client(server) as raw:
        session = guardrail_mcp.wrap_session(raw, guard, server="bank")
        with guard.acting_as(ALICE), capture_audit(guard) as events:
            result = await session.call_tool("pay", {"amount": value})
    assert result.is_error and ran == []
    assert [(e.phase, e.decision) for e in events] == [("refusal", "denied")]
    assert "finite" in (events[0].reason or "")


@pytest.mark.parametrize("value", NON_FINITE)
def test_langchain_tool_refuses_non_finite_arguments(value: float) -> None:
    """A LangChain tool's schema accepts NaN (pydantic's default); the guard does not."""
    ran: list[float] = []

    @tool
    def pay(amount: float) -> str:
        """Pay an amount."""
        ran.append(amount)
        return "paid"

    guard = Guard(POLICY)
    guarded = guard.wrap(pay)
    call = {"name": "pay", "args": {"amount": value}, "id": "c1", "type": "tool_call"}
    with guard.acting_as(ALICE), capture_audit(guard) as events:
        message = guarded.invoke(call)
    assert isinstance(message, ToolMessage) and message.status == "error"
    assert "finite" in str(message.content)
    assert ran == []
    assert [(e.phase, e.decision) for e in events] == [("refusal", "denied")]


class Liar(str):
    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 1


class ThirdPartyBinder(NamedArgBinder):
    """A binder written outside guardrail that forgets to normalise anything."""

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return dict(kwargs)


def test_any_named_binder_gets_plain_values() -> None:
    """A NamedArgBinder subclass's output is made plain and NaN refused by the guard itself."""
    got: list[Any] = []

    def deploy(**kwargs: Any) -> None:
        got.append(kwargs)

    guard = Guard(POLICY)
    guard.register(deploy, binder=ThirdPartyBinder(["env", "amount"]))
    with guard.acting_as(ALICE):
        guard.call("deploy", {"env": "dev", "amount": 1})
        with pytest.raises(PermissionDenied):
            guard.call("deploy", {"env": Liar("prod")})
        with pytest.raises(ArgumentError, match="finite"):
            guard.call("deploy", {"amount": [float("nan")]})
        with pytest.raises(PermissionDenied):
            guard.call("deploy", {Liar("env"): "prod"})
    assert got == [{"env": "dev", "amount": 1}]


def test_a_named_binder_may_opt_in_to_non_finite_values() -> None:
    """``allow_inf_nan`` names the arguments a framework binder lets be NaN or infinite."""

    class Measures(ThirdPartyBinder):
        allow_inf_nan = frozenset({"reading"})

    got: list[Any] = []

    def measure(**kwargs: Any) -> None:
        got.append(kwargs["reading"])

    guard = Guard(POLICY)
    guard.register(measure, binder=Measures(["reading"]))
    with guard.acting_as(ALICE):
        guard.call("measure", {"reading": float("inf")})
        with pytest.raises(ArgumentError):
            guard.call("measure", {"reading": 1.0, "amount": float("nan")})
    assert got == [float("inf")]
