"""A FastMCP server over streamable HTTP on 127.0.0.1, protected by guardrail, real JWTs + JWKS."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import guardrail_fastmcp
import httpx2
import pytest
from fastmcp import Client
from fastmcp_support import ISSUER, POLICY, crm_server
from mcp_types import TextContent
from support.asgi import ServedApp
from support.jwks import JWKSServer, SigningKey, mint, rsa_key

from guardrail import Guard, JWTAuthenticator
from guardrail.audit.event import AuditEvent
from guardrail.testing import capture_audit


@dataclass
class Served:
    url: str
    guard: Guard
    key: SigningKey
    ran: list[str]

    def token(self, subject: str, *roles: str, audience: str | None = None) -> str:
        return mint(
            self.key,
            issuer=ISSUER,
            audience=audience or self.url,
            subject=subject,
            roles=list(roles),
        )


@pytest.fixture(scope="module")
def crm() -> Iterator[Served]:
    key = rsa_key("fastmcp-1")
    with JWKSServer([key]) as jwks:
        app = ServedApp(lifespan="on")
        url = app.url("/mcp")
        guard = Guard(POLICY, authenticator=JWTAuthenticator(ISSUER, url, jwks_url=jwks.url))
        ran: list[str] = []
        verifier = guardrail_fastmcp.GuardrailVerifier(guard, base_url=app.url())
        server = crm_server(ran, auth=verifier)
        try:
            guard.wrap(server)  # = guardrail_fastmcp.protect(server, guard)
            app.start(server.http_app(path="/mcp"))
            yield Served(url, guard, key, ran)
        finally:
            app.stop()


@pytest.fixture(autouse=True)
def _clear(crm: Served) -> None:
    crm.ran.clear()


def text(result: Any) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_tools_list_differs_per_user(crm: Served) -> None:
    async with Client(crm.url, auth=crm.token("alice", "support")) as client:
        alice = {t.name: t for t in await client.list_tools()}
    async with Client(crm.url, auth=crm.token("bob", "customer")) as client:
        bob = {t.name: t for t in await client.list_tools()}
    assert set(alice) == {"lookup_customer", "refund", "whoami"}
    assert set(bob) == {"lookup_customer", "whoami"}
    assert alice["refund"].input_schema["properties"]["amount"]["maximum"] == 100
    assert bob["lookup_customer"].input_schema["properties"]["customer_id"]["enum"] == ["bob"]


async def test_allowed_and_refused_calls(crm: Served) -> None:
    async with Client(crm.url, auth=crm.token("alice", "support")) as client:
        ok = await client.call_tool("refund", {"order_id": "A-1", "amount": 40})
        big = await client.call_tool(
            "refund", {"order_id": "A-2", "amount": 500}, raise_on_error=False
        )
    async with Client(crm.url, auth=crm.token("bob", "customer")) as client:
        own = await client.call_tool("lookup_customer", {"customer_id": "bob"})
        other = await client.call_tool(
            "lookup_customer", {"customer_id": "carol"}, raise_on_error=False
        )
        refund = await client.call_tool(
            "refund", {"order_id": "A-3", "amount": 1}, raise_on_error=False
        )
    assert not ok.is_error and "refunded 40.00" in text(ok)
    assert not own.is_error
    assert big.is_error and "support-refunds" in text(big)
    assert big.meta is not None and big.meta["guardrail"]["rule"] == "support-refunds"
    assert other.is_error and "own-record" in text(other)
    assert refund.is_error and "default deny" in text(refund)
    assert crm.ran == ["refund A-1 40 as alice", "lookup bob as bob"]


async def test_tool_runs_as_the_token_user(crm: Served) -> None:
    async with Client(crm.url, auth=crm.token("carol", "support")) as client:
        me = await client.call_tool("whoami", {})
    assert text(me) == "carol"


async def test_bad_tokens_get_401(crm: Served) -> None:
    wrong_audience = crm.token("alice", "support", audience="http://elsewhere/mcp")
    forged = rsa_key("fastmcp-1")  # same kid, another key
    stolen = mint(forged, issuer=ISSUER, audience=crm.url, subject="alice", roles=["support"])
    async with httpx2.AsyncClient(timeout=10) as http:
        for token in ("nope", wrong_audience, stolen):
            response = await http.post(
                crm.url, headers={"Authorization": f"Bearer {token}"}, json={}
            )
            assert response.status_code == 401, token[:20]
    assert crm.ran == []


def _final(events: list[AuditEvent]) -> list[tuple[str | None, str, str, str | None]]:
    return [(e.subject, e.tool, e.decision, e.rule) for e in events if e.phase != "intent"]


async def test_audit_records_each_call(crm: Served) -> None:
    """Allowed, refused and failed calls: one record each, as for a local function."""
    with capture_audit(crm.guard) as events:
        async with Client(crm.url, auth=crm.token("alice", "support")) as client:
            await client.call_tool("lookup_customer", {"customer_id": "c-1"})
            await client.call_tool("refund", {"order_id": "A", "amount": 900}, raise_on_error=False)
            failed = await client.call_tool(
                "lookup_customer", {"customer_id": "missing"}, raise_on_error=False
            )
    assert failed.is_error and "no such customer" in text(failed)
    assert _final(events) == [
        ("alice", "lookup_customer", "allowed", "support-lookup"),
        ("alice", "refund", "denied", "support-refunds"),
        ("alice", "lookup_customer", "error", "support-lookup"),
    ]
