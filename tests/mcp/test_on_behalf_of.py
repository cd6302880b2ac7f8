"""End to end, on behalf of the user: agent -> guarded MCP client -> exchanged token ->
guardrail-protected MCP server, which runs the tool as the same user with ``act`` visible.

Everything is real and on 127.0.0.1: the IdP's JWKS, the token endpoint (RFC 8693),
the MCP server over streamable HTTP (uvicorn) and the SDK client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import guardrail_mcp
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from pydantic import AnyHttpUrl
from support.asgi import ServedApp
from support.jwks import JWKSServer, SigningKey, mint, rsa_key
from support.token_service import ISSUER as STS
from support.token_service import TokenService

from guardrail import (
    ClaimMap,
    ClientSecret,
    DelegationRefused,
    Guard,
    JWTAuthenticator,
    Policy,
    TokenExchange,
    current_principal,
)
from guardrail.audit.event import AuditEvent
from guardrail.testing import MemorySink

IDP = "https://idp.test.invalid/"
APP = "support-agent"
SERVER_POLICY = {"rules": [{"id": "crm-support", "allow": ["*"], "when": {"roles": ["support"]}}]}
CLIENT_POLICY = {"rules": [{"id": "agent-crm", "allow": ["crm/*"], "when": {"roles": ["support"]}}]}


@dataclass
class World:
    url: str
    idp_key: SigningKey
    sts: TokenService
    client: Guard
    client_audit: MemorySink
    server_audit: MemorySink

    def user(self, subject: str) -> str:
        return mint(self.idp_key, issuer=IDP, audience=APP, subject=subject, roles=["support"])


def crm_server(url: str, sts: TokenService, audit: MemorySink) -> MCPServer[Any]:
    """The downstream MCP server: trusts the token service, for its own resource URL only."""
    verifier = JWTAuthenticator(
        STS, url, jwks_url=sts.jwks_url, claims=ClaimMap(attributes=["act"])
    )
    guard = Guard(Policy.from_dict(SERVER_POLICY), authenticator=verifier, audit=[audit])
    server: MCPServer[Any] = MCPServer(
        "crm",
        log_level="WARNING",
        token_verifier=guardrail_mcp.token_verifier(guard, resource=url),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(STS),
            resource_server_url=AnyHttpUrl(url),
            validate_token_resource=True,
            required_scopes=["crm.read"],
        ),
    )

    @server.tool()
    def whoami() -> str:
        """Who the CRM sees, and who acts for them."""
        who = current_principal()
        assert who is not None
        return f"{who.subject} (acted for by {who.attributes['act']['sub']})"

    guardrail_mcp.protect(server, guard)
    return server


@pytest.fixture
def world() -> Iterator[World]:
    idp_key = rsa_key("idp-e2e")
    with JWKSServer([idp_key]) as idp, TokenService(idp.url, IDP, APP) as sts:
        served = ServedApp(lifespan="on")
        url = served.url("/mcp")
        server_audit, client_audit = MemorySink(), MemorySink()
        sts.add_client("agent", secret="s3cret")
        sts.add_audience(url, {"crm.read", "crm.write"})
        sts.consent("alice", url, {"crm.read"})
        served.start(crm_server(url, sts, server_audit).streamable_http_app())
        client = Guard(
            Policy.from_dict(CLIENT_POLICY),
            authenticator=JWTAuthenticator(IDP, APP, jwks_url=idp.url),
            token_exchange=TokenExchange(
                sts.token_url, client=ClientSecret(client_id="agent", secret="s3cret")
            ),
            audit=[client_audit],
        )
        try:
            yield World(url, idp_key, sts, client, client_audit, server_audit)
        finally:
            served.stop()


@asynccontextmanager
async def connect(world: World, scopes: list[str]) -> AsyncIterator[ClientSession]:
    auth = guardrail_mcp.on_behalf_of(world.client, scopes=scopes)
    async with (
        httpx2.AsyncClient(auth=auth, timeout=10) as http,
        streamable_http_client(world.url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        yield session


async def agent(session: Any, plan: list[tuple[str, dict[str, Any]]]) -> list[CallToolResult]:
    """A scripted agent: looks at the tools it is offered, then makes its planned calls."""
    offered = {tool.name for tool in (await session.list_tools()).tools}
    return [await session.call_tool(name, args) for name, args in plan if name in offered]


def text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


def records(sink: MemorySink, tool: str) -> list[AuditEvent]:
    return [e for e in sink.events if e.tool == tool]


async def test_the_server_runs_the_tool_as_the_user(world: World) -> None:
    """alice's call reaches the CRM as alice, acted for by the agent; both sides audited."""
    async with (
        world.client.acting_as(world.user("alice")),
        connect(world, ["crm.read"]) as session,
    ):
        await session.initialize()
        crm = world.client.wrap(session)
        results = await agent(crm, [("whoami", {}), ("whoami", {})])
    assert [text(r) for r in results] == ["alice (acted for by agent)"] * 2
    assert world.sts.exchanges == 1  # initialize, listing and both calls share one token
    client_side = records(world.client_audit, "crm/whoami")
    assert [(e.phase, e.decision, e.subject) for e in client_side] == [
        ("intent", "allowed", "alice"),
        ("outcome", "allowed", "alice"),
    ] * 2
    delegation = client_side[1].delegations
    assert delegation is not None and delegation[0]["audience"] == world.url
    assert delegation[0]["subject"] == "alice" and delegation[0]["actor"] == "agent"
    server_side = records(world.server_audit, "whoami")
    assert [(e.phase, e.subject) for e in server_side] == [
        ("intent", "alice"),
        ("outcome", "alice"),
    ] * 2
    assert server_side[0].attributes["act"] == {"sub": "agent"}


async def test_the_server_names_the_acting_client_in_its_records_and_spans(world: World) -> None:
    """The exchanged token's ``act`` claim becomes the server-side principal's actor."""
    async with (
        world.client.acting_as(world.user("alice")),
        connect(world, ["crm.read"]) as session,
    ):
        await session.initialize()
        await world.client.wrap(session).call_tool("whoami", {})
    server_side = records(world.server_audit, "whoami")
    assert [(e.subject, e.actor) for e in server_side] == [("alice", "agent")] * 2
    client_side = records(world.client_audit, "crm/whoami")
    assert [(e.subject, e.actor) for e in client_side] == [("alice", None)] * 2


async def test_a_user_without_consent_is_refused_with_the_reason(world: World) -> None:
    """bob never consented: his call is refused saying so; no other credential is sent."""
    async with (
        world.client.acting_as(world.user("alice")),
        connect(world, ["crm.read"]) as session,
    ):
        await session.initialize()
        crm = world.client.wrap(session)
        await crm.list_tools()
        async with world.client.acting_as(world.user("bob")):
            refused = await crm.call_tool("whoami", {})
    assert refused.is_error
    assert text(refused).startswith("consent needed: bob has not granted scope(s) crm.read")
    bob = [e for e in world.client_audit.events if e.subject == "bob"]
    assert [(e.phase, e.decision) for e in bob] == [("intent", "allowed"), ("outcome", "denied")]
    assert not [e for e in world.server_audit.events if e.subject == "bob"]


async def test_a_scope_the_token_service_refuses(world: World) -> None:
    """alice asks for crm.write, which she never granted: refused before anything runs."""
    async with (
        world.client.acting_as(world.user("alice")),
        connect(world, ["crm.read", "crm.write"]) as session,
    ):
        with pytest.raises(MCPError, match="error response"):  # the server's 401
            await session.initialize()
    assert world.sts.exchanges == 0
    assert not world.server_audit.events


async def test_listing_as_a_user_without_consent_says_why(world: World) -> None:
    """Listing a server's tools as bob, who has no token for it, raises the refusal's reason."""
    async with (
        world.client.acting_as(world.user("alice")),
        connect(world, ["crm.read"]) as session,
    ):
        await session.initialize()
        crm = world.client.wrap(session)
        async with world.client.acting_as(world.user("bob")):
            with pytest.raises(DelegationRefused, match="consent needed: bob"):
                await crm.list_tools()
        assert [t.name for t in (await crm.list_tools()).tools] == ["whoami"]
