"""MCP elicitation for a held call: a real ``MCPServer`` protected by guardrail, served over
streamable HTTP on 127.0.0.1 with JWT auth, and a real ``ClientSession`` with an elicitation
callback. The server asks the user to have the request approved and to confirm; confirming
is not approving: the server re-checks, and the call runs only on an approver's grant."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import guardrail_mcp
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, ElicitResult, TextContent
from support.approvals import ISSUER, Records, make_guard
from support.asgi import ServedApp
from support.jwks import JWKSServer, SigningKey, mint

from guardrail import ApprovalError, Guard, JWTAuthenticator

Elicit = Callable[[str], Awaitable[ElicitResult]]


class Shop:
    """A protected refund server on 127.0.0.1, its guard, and what really ran."""

    def __init__(self, tmp_path: Path, signer: SigningKey, jwks: JWKSServer) -> None:
        self.served = ServedApp(lifespan="on")
        self.url = self.served.url("/mcp")
        self.signer = signer
        authenticator = JWTAuthenticator(ISSUER, self.url, jwks_url=jwks.url)
        chain = tmp_path / "audit.jsonl"
        self.guard: Guard = make_guard(str(tmp_path / "approvals.db"), authenticator, chain)
        self.records = Records(chain)
        self.ran: list[tuple[str, float]] = []
        server: MCPServer = MCPServer("shop", log_level="WARNING")

        @server.tool()
        def refund(order: str, amount: float) -> str:
            """Refund an order."""
            self.ran.append((order, amount))
            return f"refunded {amount:g} on {order}"

        guardrail_mcp.install_auth(server, self.guard, resource=self.url, issuer_url=ISSUER)
        guardrail_mcp.protect(server, self.guard)
        self.served.start(server.streamable_http_app())

    def token(self, subject: str, *roles: str) -> str:
        return mint(
            self.signer, issuer=ISSUER, audience=self.url, subject=subject, roles=list(roles)
        )

    async def approve(self, message: str, subject: str, *roles: str) -> str:
        """What an approver does, given the elicitation's text: grant the request it names."""
        request_id = request_of(message)
        await asyncio.to_thread(
            self.guard.approvals.approve, request_id, token=self.token(subject, *roles)
        )
        return request_id

    @asynccontextmanager
    async def session(self, elicit: Elicit | None) -> AsyncIterator[ClientSession]:
        async def callback(context: Any, params: Any) -> ElicitResult:
            assert elicit is not None
            return await elicit(params.message)

        headers = {"Authorization": f"Bearer {self.token('alice', 'agent')}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(self.url, http_client=http) as (read, write),
            ClientSession(
                read, write, elicitation_callback=callback if elicit is not None else None
            ) as session,
        ):
            await session.initialize()
            yield session


@pytest.fixture
def shop(tmp_path: Path, signer: SigningKey, jwks: JWKSServer) -> Any:
    shop = Shop(tmp_path, signer, jwks)
    yield shop
    shop.served.stop()


def request_of(message: str) -> str:
    found = re.search(r"approval request (\S+)", message)
    assert found, message
    return found.group(1)


def text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


ARGS = {"order": "A-1", "amount": 500.0}


async def test_elicitation_then_an_approver_grant_runs_the_call_once(shop: Shop) -> None:
    asked: list[str] = []

    async def user(message: str) -> ElicitResult:
        asked.append(await shop.approve(message, "bob", "finance-lead"))
        return ElicitResult(action="accept", content={"approved": True})

    async with shop.session(user) as session:
        done = await session.call_tool("refund", ARGS)
        assert shop.ran == [("A-1", 500.0)]  # exactly once, with the arguments asked for
        again = await session.call_tool("refund", ARGS)  # the grant is used: asked anew
    assert not done.is_error and text(done) == "refunded 500 on A-1"
    assert len(asked) == 2 and asked[0] != asked[1]
    assert not again.is_error  # bob granted the second request too
    assert shop.ran == [("A-1", 500.0), ("A-1", 500.0)]
    digest = shop.guard.approvals.get(asked[0]).digest
    assert shop.records.approvals()[:3] == [
        ("approval.requested", None, digest),
        ("approval.granted", "bob", digest),
        ("approval.consumed", "bob", digest),
    ]
    assert shop.records.calls()[:3] == [
        ("refusal", "approval_required"),
        ("intent", "allowed"),
        ("outcome", "allowed"),
    ]


async def test_confirming_is_not_approving(shop: Shop) -> None:
    """The requester cannot approve their own request; accepting anyway does not run it."""
    refused: list[str] = []

    async def user(message: str) -> ElicitResult:
        try:
            await shop.approve(message, "alice", "finance-lead")
        except ApprovalError as exc:
            refused.append(str(exc))
        return ElicitResult(action="accept", content={"approved": True})

    async with shop.session(user) as session:
        held = await session.call_tool("refund", ARGS)
    assert held.is_error and shop.ran == []
    request_id = (held.meta or {})["guardrail"]["approval_request"]
    assert "no self-approval" in refused[0]
    assert shop.guard.approvals.get(request_id).status == "pending"


async def test_declined_or_edited_calls_do_not_run(shop: Shop) -> None:
    """Granted for 500 but the user declines; then 900 is asked: a new request, not granted."""
    asked: list[str] = []

    async def grant_then_decline(message: str) -> ElicitResult:
        asked.append(await shop.approve(message, "bob", "finance-lead"))
        return ElicitResult(action="decline")

    async def accept(message: str) -> ElicitResult:
        asked.append(request_of(message))
        return ElicitResult(action="accept", content={"approved": True})

    async with shop.session(grant_then_decline) as session:
        declined = await session.call_tool("refund", ARGS)
    async with shop.session(accept) as session:
        edited = await session.call_tool("refund", {"order": "A-1", "amount": 900.0})
    assert declined.is_error and edited.is_error and shop.ran == []
    assert asked[0] != asked[1]
    assert shop.guard.approvals.get(asked[0]).status == "granted"  # unused
    assert shop.guard.approvals.get(asked[1]).status == "pending"


async def test_a_client_without_elicitation_gets_the_is_error_result(shop: Shop) -> None:
    async with shop.session(None) as session:
        held = await session.call_tool("refund", ARGS)
    assert held.is_error and shop.ran == []
    request_id = (held.meta or {})["guardrail"]["approval_request"]
    assert f"approval request {request_id} is pending" in text(held)
