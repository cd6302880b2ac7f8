"""MCP ergonomics: ``guard.wrap(session, server=...)`` and ``install_auth`` on a built server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import guardrail_mcp
import httpx2
import pytest
from mcp import Client, ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp_auth import ISSUER, KeyPair, authenticator
from mcp_types import TextContent
from support.asgi import ServedApp

from guardrail import ConfigurationError, Guard, Policy, Principal, current_principal
from guardrail.testing import capture_audit

POLICY = Policy.model_validate(
    {
        "rules": [
            {"id": "read", "allow": ["billing/lookup", "lookup"]},
            {
                "id": "support-refunds",
                "allow": ["billing/refund", "refund"],
                "when": {"roles": ["support"]},
                "args": {"amount": {"max": 100}},
            },
        ]
    }
)
ALICE = Principal(subject="alice", roles=frozenset({"support"}))
BOB = Principal(subject="bob")


def make_server(ran: list[str]) -> MCPServer:
    server: MCPServer = MCPServer("crm", log_level="WARNING")

    @server.tool()
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        who = current_principal()
        ran.append(f"refund {amount:g} as {who.subject if who else None}")
        return "ok"

    @server.tool()
    def lookup(customer_id: str) -> str:
        """Look up a customer."""
        ran.append("lookup")
        return "found"

    return server


async def test_wrap_session_with_server_name() -> None:
    """``server="billing"`` names the server in policies and audit records."""
    ran: list[str] = []
    guard = Guard(POLICY)
    async with Client(make_server(ran)) as raw:
        billing = guard.wrap(raw, server="billing")
        assert billing.server == "billing"
        with capture_audit(guard) as events, guard.acting_as(BOB):
            names = sorted(t.name for t in (await billing.list_tools()).tools)
            refused = await billing.call_tool("refund", {"order_id": "A", "amount": 5})
        with guard.acting_as(ALICE):
            names_alice = sorted(t.name for t in (await billing.list_tools()).tools)
            ok = await billing.call_tool("refund", {"order_id": "A", "amount": 5})
    assert names == ["lookup"] and names_alice == ["lookup", "refund"]
    assert refused.is_error and not ok.is_error
    assert [(e.tool, e.decision) for e in events if e.phase != "intent"] == [
        ("billing/refund", "denied")
    ]
    assert [r.split(" as ")[0] for r in ran] == ["refund 5"]  # only the allowed call ran


async def test_wrap_options_are_checked() -> None:
    guard = Guard(POLICY)
    async with Client(make_server([])) as raw:
        with pytest.raises(ConfigurationError, match="bad MCP server name"):
            guard.wrap(raw, server="a/b")
        wrapped = guard.wrap(raw, server="billing")
        with pytest.raises(ConfigurationError, match="already wrapped"):
            guard.wrap(wrapped, server="other")


@asynccontextmanager
async def connect(url: str, token: str) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=10) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def _text(result: Any) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_install_auth_on_a_built_server(keys: KeyPair, jwks_url: str) -> None:
    """A server built without auth: install_auth + protect -> JWT users, 401 for bad tokens."""
    ran: list[str] = []
    served = ServedApp(lifespan="on")
    url = served.url("/mcp")
    guard = Guard(POLICY, authenticator=authenticator(url, jwks_url=jwks_url))
    server = make_server(ran)
    verifier = guardrail_mcp.install_auth(server, guard, resource=url, issuer_url=ISSUER)
    assert isinstance(verifier, guardrail_mcp.GuardrailTokenVerifier)
    guardrail_mcp.protect(server, guard)
    served.start(server.streamable_http_app())
    try:
        alice = keys.sign("alice", audience=url, roles=["support"])
        bob = keys.sign("bob", audience=url)
        with capture_audit(guard) as events:
            async with connect(url, alice) as session:
                alice_names = sorted(t.name for t in (await session.list_tools()).tools)
                ok = await session.call_tool("refund", {"order_id": "A", "amount": 40})
                big = await session.call_tool("refund", {"order_id": "A", "amount": 400})
            async with connect(url, bob) as session:
                bob_names = sorted(t.name for t in (await session.list_tools()).tools)
        async with httpx2.AsyncClient(timeout=10) as http:
            forged = await http.post(url, headers={"Authorization": "Bearer nope"}, json={})
            wrong_audience = keys.sign("alice", audience="http://elsewhere/mcp")
            other = await http.post(
                url, headers={"Authorization": f"Bearer {wrong_audience}"}, json={}
            )
    finally:
        served.stop()
    assert alice_names == ["lookup", "refund"] and bob_names == ["lookup"]
    assert not ok.is_error and big.is_error and "support-refunds" in _text(big)
    assert ran == ["refund 40 as alice"]
    assert forged.status_code == 401 and other.status_code == 401
    final = [(e.subject, e.decision) for e in events if e.phase != "intent"]
    assert final == [("alice", "allowed"), ("alice", "denied")]


def test_install_auth_refuses_to_replace_silently(keys: KeyPair) -> None:
    url = "http://127.0.0.1:1/mcp"
    guard = Guard(POLICY, authenticator=authenticator(url, key=keys.public_key))
    server = make_server([])
    guardrail_mcp.install_auth(server, guard, resource=url, issuer_url=ISSUER)
    with pytest.raises(ConfigurationError, match="already has authentication"):
        guardrail_mcp.install_auth(server, guard, resource=url, issuer_url=ISSUER)
    replaced = guardrail_mcp.install_auth(
        server, guard, resource=url, issuer_url=ISSUER, replace=True, required_scopes=["crm"]
    )
    assert replaced.resource == url
    assert server.settings.auth is not None and server.settings.auth.required_scopes == ["crm"]


def test_audit_layout_documented() -> None:
    """Every field the MCP README documents is a real audit field, and every real one is there."""
    import re
    from pathlib import Path

    from guardrail.audit.event import NAMES

    readme = Path(guardrail_mcp.__file__).parent / "README.md"
    section = readme.read_text().split("## Audit records of MCP calls", 1)[1].split("\n## ", 1)[0]
    documented = {
        name
        for line in section.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`(\w+)`", line.split(" | ")[0])
    }
    assert documented == set(NAMES)
