"""FastMCP in memory (``Client(server)``) and over stdio: no bearer token, a local user."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import guardrail_fastmcp
import pytest
from fastmcp import Client
from fastmcp.client.transports import PythonStdioTransport
from fastmcp.server.middleware import Middleware
from fastmcp_support import POLICY, crm_server
from mcp_types import TextContent

from guardrail import ConfigurationError, Guard, Principal
from guardrail.testing import capture_audit

ALICE = Principal(subject="alice", roles=frozenset({"support"}))
BOB = Principal(subject="bob", roles=frozenset({"customer"}))
HERE = Path(__file__).parent


def text(result: Any) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_in_memory_two_users() -> None:
    """Each user bound with ``guard.acting_as`` around their client; sync and async tools."""
    ran: list[str] = []
    guard = Guard(POLICY)
    server = crm_server(ran)
    guardrail_fastmcp.protect(server, guard)
    outcomes: dict[str, tuple[list[str], bool, bool]] = {}
    with capture_audit(guard) as events:
        for who in (ALICE, BOB):
            with guard.acting_as(who):
                async with Client(server) as client:
                    names = sorted(t.name for t in await client.list_tools())
                    look = await client.call_tool(
                        "lookup_customer", {"customer_id": "carol"}, raise_on_error=False
                    )
                    pay = await client.call_tool(
                        "refund", {"order_id": "A", "amount": 10}, raise_on_error=False
                    )
            outcomes[who.subject] = (names, look.is_error, pay.is_error)
    assert outcomes["alice"] == (["lookup_customer", "refund", "whoami"], False, False)
    assert outcomes["bob"] == (["lookup_customer", "whoami"], True, True)
    assert ran == ["lookup carol as alice", "refund A 10 as alice"]
    decided = [(e.subject, e.decision) for e in events if e.phase != "intent"]
    assert decided == [("alice", "allowed")] * 2 + [("bob", "denied")] * 2


async def test_default_principal_and_no_principal() -> None:
    """``default_principal`` is the local user; with none bound at all, every call is refused."""
    ran: list[str] = []
    guard = Guard(POLICY)
    server = crm_server(ran)
    guardrail_fastmcp.protect(server, guard, default_principal=ALICE)
    async with Client(server) as client:
        ok = await client.call_tool("refund", {"order_id": "A", "amount": 10})
    nobody = crm_server(ran)
    guardrail_fastmcp.protect(nobody, Guard(POLICY))
    async with Client(nobody) as client:
        assert [t.name for t in await client.list_tools()] == []
        refused = await client.call_tool("whoami", {}, raise_on_error=False)
    assert not ok.is_error and refused.is_error
    assert ran == ["refund A 10 as alice"]


async def test_over_stdio() -> None:
    """A protected FastMCP server in a subprocess over stdio, its user from the environment."""
    transport = PythonStdioTransport(HERE / "stdio_server.py", env={"CRM_USER": "alice"})
    async with Client(transport) as client:
        names = sorted(t.name for t in await client.list_tools())
        ok = await client.call_tool("whoami", {})
        big = await client.call_tool(
            "refund", {"order_id": "A", "amount": 500}, raise_on_error=False
        )
    assert names == ["lookup_customer", "refund", "whoami"]
    assert text(ok) == "alice"
    assert big.is_error and "support-refunds" in text(big)


async def test_middleware_after_protect_fails_closed() -> None:
    ran: list[str] = []
    guard = Guard(POLICY)
    server = crm_server(ran)
    guardrail_fastmcp.protect(server, guard, default_principal=ALICE)
    server.add_middleware(Middleware())
    async with Client(server) as client:
        result = await client.call_tool(
            "refund", {"order_id": "A", "amount": 1}, raise_on_error=False
        )
    assert result.is_error and "last middleware" in text(result) and ran == []


def test_wrap_twice_and_wrong_object() -> None:
    guard = Guard(POLICY)
    server = crm_server([])
    assert guard.wrap(server) is server
    with pytest.raises(ConfigurationError, match="already protected"):
        guard.wrap(server)
    assert sys.modules["guardrail_fastmcp"].FastMCPAdapter().supports(server)


def test_visible_filters_tool_objects() -> None:
    guard = Guard(POLICY)
    server = crm_server([])
    import asyncio

    tools = asyncio.run(server.list_tools())
    shown = guard.visible(list(tools), BOB)
    assert [t.name for t in shown] == ["lookup_customer", "whoami"]
    assert shown[0].parameters["properties"]["customer_id"]["enum"] == ["bob"]
