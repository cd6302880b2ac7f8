"""MCP: a held call is an ``is_error`` result the model can relay (with the request id),
and the identical call after the grant runs once. Real MCPServer and mcp.Client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import guardrail_mcp
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import TextContent
from support.approvals import POLICY

from guardrail import Guard, Policy, Principal

ALICE = Principal(subject="alice", roles=frozenset({"agent"}))
BOB = Principal(subject="bob", roles=frozenset({"finance-lead"}))


def texts(content: list[Any]) -> str:
    return " ".join(c.text for c in content if isinstance(c, TextContent))


async def test_held_mcp_call_is_relayed_then_runs_once_after_approval(tmp_path: Path) -> None:
    ran: list[float] = []
    server: MCPServer = MCPServer("shop", log_level="WARNING")

    @server.tool()
    def refund(order: str, amount: float) -> str:
        """Refund an order."""
        ran.append(amount)
        return "refunded"

    guard = Guard(Policy.from_dict(POLICY), approvals=tmp_path / "approvals.db")
    guardrail_mcp.protect(server, guard, default_principal=ALICE)
    async with Client(server) as client:
        held = await client.call_tool("refund", {"order": "A-1", "amount": 500.0})
        assert held.is_error
        meta = (held.meta or {})["guardrail"]
        assert meta["decision"] == "approval_required" and meta["rule"] == "refund-large"
        request_id = meta["approval_request"]
        assert f"approval request {request_id} is pending" in texts(held.content)
        guard.approvals.approve(request_id, approver=BOB)
        done = await client.call_tool("refund", {"order": "A-1", "amount": 500.0})
        assert not done.is_error and texts(done.content) == "refunded"
        again = await client.call_tool("refund", {"order": "A-1", "amount": 500.0})
        assert again.is_error and (again.meta or {})["guardrail"]["approval_request"] != request_id
    assert ran == [500.0]


def shop(description: str, ran: list[float]) -> MCPServer:
    server: MCPServer = MCPServer("shop", log_level="WARNING")

    @server.tool(description=description)
    def refund(order: str, amount: float) -> str:
        ran.append(amount)
        return "refunded"

    return server


async def test_grant_is_bound_to_the_mcp_tool_definition(tmp_path: Path) -> None:
    """A server whose refund tool is described differently does not get the grant."""
    ran: list[float] = []
    store = tmp_path / "approvals.db"
    guards = [Guard(Policy.from_dict(POLICY), approvals=store) for _ in range(2)]
    servers = [shop("Refund an order.", ran), shop("Refund an order, twice over.", ran)]
    for server, guard in zip(servers, guards, strict=True):
        guardrail_mcp.protect(server, guard, default_principal=ALICE)
    args = {"order": "A-1", "amount": 500.0}
    async with Client(servers[0]) as first, Client(servers[1]) as changed:
        held = await first.call_tool("refund", args)
        request_id = (held.meta or {})["guardrail"]["approval_request"]
        guards[0].approvals.approve(request_id, approver=BOB)
        other = await changed.call_tool("refund", args)
        assert other.is_error and (other.meta or {})["guardrail"]["approval_request"] != request_id
        assert guards[1].approvals.get(request_id).status == "granted"
        assert not (await first.call_tool("refund", args)).is_error
    assert ran == [500.0]
