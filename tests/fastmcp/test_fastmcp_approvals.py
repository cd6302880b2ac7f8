"""FastMCP: a held call asks a client that declared elicitation to have the request approved
(a real FastMCP server over streamable HTTP on 127.0.0.1 with JWT auth, and a real fastmcp
``Client`` with an elicitation handler). Confirming is not approving: the server re-checks and
runs the call once only on an approver's grant made through ``guard.approvals``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import guardrail_fastmcp
import pytest
from fastmcp import Client, FastMCP
from mcp_types import ElicitResult, TextContent
from support.approvals import ISSUER, Records, make_guard
from support.asgi import ServedApp
from support.jwks import JWKSServer, SigningKey, mint, rsa_key

from guardrail import ApprovalError, Guard, JWTAuthenticator

Handler = Callable[[str], Awaitable[ElicitResult]]
ARGS = {"order": "A-1", "amount": 500.0}


class Shop:
    def __init__(self, tmp_path: Path, key: SigningKey, jwks: JWKSServer) -> None:
        self.app = ServedApp(lifespan="on")
        self.url = self.app.url("/mcp")
        self.key = key
        authenticator = JWTAuthenticator(ISSUER, self.url, jwks_url=jwks.url)
        chain = tmp_path / "audit.jsonl"
        self.guard: Guard = make_guard(str(tmp_path / "approvals.db"), authenticator, chain)
        self.records = Records(chain)
        self.ran: list[tuple[str, float]] = []
        verifier = guardrail_fastmcp.GuardrailVerifier(self.guard, base_url=self.app.url())
        server: FastMCP[Any] = FastMCP("shop", auth=verifier)

        @server.tool
        def refund(order: str, amount: float) -> str:
            """Refund an order."""
            self.ran.append((order, amount))
            return f"refunded {amount:g} on {order}"

        guardrail_fastmcp.protect(server, self.guard)
        self.app.start(server.http_app(path="/mcp"))

    def token(self, subject: str, *roles: str) -> str:
        return mint(self.key, issuer=ISSUER, audience=self.url, subject=subject, roles=list(roles))

    async def approve(self, message: str, subject: str, *roles: str) -> str:
        request_id = request_of(message)
        await asyncio.to_thread(
            self.guard.approvals.approve, request_id, token=self.token(subject, *roles)
        )
        return request_id

    def client(self, user: Handler | None) -> Client[Any]:
        async def handler(message: str, response_type: Any, params: Any, context: Any) -> Any:
            assert user is not None
            return await user(message)

        return Client(
            self.url,
            auth=self.token("alice", "agent"),
            elicitation_handler=handler if user is not None else None,
        )


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    key = rsa_key("fastmcp-approvals")
    with JWKSServer([key]) as jwks:
        shop = Shop(tmp_path, key, jwks)
        try:
            yield shop
        finally:
            shop.app.stop()


def request_of(message: str) -> str:
    found = re.search(r"approval request (\S+)", message)
    assert found, message
    return found.group(1)


def text(result: Any) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_elicitation_then_a_grant_runs_the_call_once(shop: Shop) -> None:
    asked: list[str] = []

    async def user(message: str) -> ElicitResult:
        asked.append(await shop.approve(message, "bob", "finance-lead"))
        return ElicitResult(action="accept", content={"approved": True})

    async with shop.client(user) as client:
        done = await client.call_tool("refund", ARGS)
    assert not done.is_error and text(done) == "refunded 500 on A-1"
    assert shop.ran == [("A-1", 500.0)]
    digest = shop.guard.approvals.get(asked[0]).digest
    assert shop.records.approvals() == [
        ("approval.requested", None, digest),
        ("approval.granted", "bob", digest),
        ("approval.consumed", "bob", digest),
    ]
    assert shop.records.calls() == [
        ("refusal", "approval_required"),
        ("intent", "allowed"),
        ("outcome", "allowed"),
    ]


async def test_confirming_is_not_approving_and_edits_are_new_requests(shop: Shop) -> None:
    refused: list[str] = []
    asked: list[str] = []

    async def self_approver(message: str) -> ElicitResult:
        asked.append(request_of(message))
        try:
            await shop.approve(message, "alice", "finance-lead")
        except ApprovalError as exc:
            refused.append(str(exc))
        return ElicitResult(action="accept", content={"approved": True})

    async def bob_then_decline(message: str) -> ElicitResult:
        asked.append(await shop.approve(message, "bob", "finance-lead"))
        return ElicitResult(action="decline")

    async with shop.client(self_approver) as client:
        held = await client.call_tool("refund", ARGS, raise_on_error=False)
    async with shop.client(bob_then_decline) as client:
        declined = await client.call_tool(
            "refund", {"order": "A-1", "amount": 900.0}, raise_on_error=False
        )
    async with shop.client(None) as client:
        plain = await client.call_tool(
            "refund", {"order": "A-1", "amount": 700.0}, raise_on_error=False
        )
    assert held.is_error and declined.is_error and plain.is_error and shop.ran == []
    assert "no self-approval" in refused[0]
    assert shop.guard.approvals.get(asked[0]).status == "pending"
    assert shop.guard.approvals.get(asked[1]).status == "granted"  # 900 granted, then declined
    assert (plain.meta or {})["guardrail"]["approval_request"] in text(plain)
    assert len(asked) == 2  # the client without elicitation was not asked
