"""A guardrail-protected MCP server over streamable HTTP, called by two users with bearer JWTs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import guardrail_mcp
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_auth import KeyPair
from mcp_support import HttpServer
from mcp_types import CallToolResult, TextContent

from guardrail.cli import main as cli_main


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


def text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


async def test_tools_list_differs_per_user(http_server: HttpServer, keys: KeyPair) -> None:
    """Each user sees only the tools the policy lets them call, schemas narrowed."""
    alice = keys.sign("alice", audience=http_server.url, roles=["support"])
    bob = keys.sign("bob", audience=http_server.url, roles=["customer"])
    async with connect(http_server.url, alice) as session:
        alice_tools = {t.name: t for t in (await session.list_tools()).tools}
    async with connect(http_server.url, bob) as session:
        bob_tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(alice_tools) == {"lookup_customer", "refund", "whoami"}
    assert set(bob_tools) == {"lookup_customer", "whoami"}
    assert alice_tools["refund"].input_schema["properties"]["amount"]["maximum"] == 100
    assert bob_tools["lookup_customer"].input_schema["properties"]["customer_id"]["enum"] == ["bob"]
    assert "enum" not in alice_tools["lookup_customer"].input_schema["properties"]["customer_id"]


async def test_allowed_and_denied_calls(http_server: HttpServer, keys: KeyPair) -> None:
    """Allowed calls run; denied ones return is_error naming the rule and never run the tool."""
    alice = keys.sign("alice", audience=http_server.url, roles=["support"])
    bob = keys.sign("bob", audience=http_server.url, roles=["customer"])
    async with connect(http_server.url, alice) as session:
        ok = await session.call_tool("refund", {"order_id": "A-17", "amount": 40})
        too_much = await session.call_tool("refund", {"order_id": "A-18", "amount": 500})
    async with connect(http_server.url, bob) as session:
        own = await session.call_tool("lookup_customer", {"customer_id": "bob"})
        other = await session.call_tool("lookup_customer", {"customer_id": "carol"})
        refund = await session.call_tool("refund", {"order_id": "A-19", "amount": 1})
    assert not ok.is_error and "refunded 40.00 on A-17" in text(ok)
    assert not own.is_error
    assert too_much.is_error and "support-refunds" in text(too_much)
    assert other.is_error and "own-record" in text(other)
    assert refund.is_error and "default deny" in text(refund)
    assert too_much.meta and too_much.meta["guardrail"]["rule"] == "support-refunds"
    ran = [json.loads(line) for line in http_server.effect_lines()]
    ran_args = [(r["tool"], r["args"], r["as"]) for r in ran]
    assert ("refund", {"order_id": "A-17", "amount": 40.0}, "alice") in ran_args
    assert ("lookup_customer", {"customer_id": "bob"}, "bob") in ran_args
    assert not [r for r in ran if r["args"].get("order_id") in ("A-18", "A-19")]
    assert not [r for r in ran if r["args"].get("customer_id") == "carol"]


async def test_server_audit_records_each_call(http_server: HttpServer, keys: KeyPair) -> None:
    """The server's audit trail has intent and outcome for allowed calls, a refusal for denied."""
    carol = keys.sign("carol", audience=http_server.url, roles=["customer"])
    async with connect(http_server.url, carol) as session:
        await session.call_tool("lookup_customer", {"customer_id": "carol"})
        await session.call_tool("lookup_customer", {"customer_id": "alice"})
    events = [json.loads(line) for line in http_server.audit.read_text().splitlines()]
    mine = [(e["phase"], e["decision"], e["rule"]) for e in events if e["subject"] == "carol"]
    assert mine == [
        ("intent", "allowed", "own-record"),
        ("outcome", "allowed", "own-record"),
        ("refusal", "denied", "own-record"),
    ]
    assert all(carol not in line for line in http_server.audit.read_text().splitlines())


async def test_tool_runs_as_the_caller_with_token_held_not_forwarded(
    http_server: HttpServer, keys: KeyPair
) -> None:
    """The tool body sees the verified principal (with its token as a secret), not an argument."""
    alice = keys.sign("alice", audience=http_server.url, roles=["support"])
    async with connect(http_server.url, alice) as session:
        result = await session.call_tool("whoami", {})
    assert text(result) == "alice token=yes"


async def test_bad_tokens_get_401(http_server: HttpServer, keys: KeyPair) -> None:
    """Expired, wrong-audience, wrongly signed and missing tokens are refused with HTTP 401."""
    other_key = KeyPair(kid=keys.kid)
    tokens = {
        "expired": keys.sign("alice", audience=http_server.url, roles=["support"], ttl=-120),
        "audience": keys.sign("alice", audience="http://127.0.0.1:1/other", roles=["support"]),
        "signature": other_key.sign("alice", audience=http_server.url, roles=["support"]),
    }
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}},
    }
    headers = {"Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=10) as http:
        for why, token in [*tokens.items(), ("missing", None)]:
            auth = {"Authorization": f"Bearer {token}"} if token else {}
            response = await http.post(http_server.url, json=body, headers={**headers, **auth})
            assert response.status_code == 401, why
            assert "invalid_token" in response.headers["www-authenticate"], why


async def test_cli_pin_over_http_with_a_bearer_token(
    http_server: HttpServer,
    keys: KeyPair,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`guardrail mcp pin --url` authenticates with the token from the environment."""
    alice = keys.sign("alice", audience=http_server.url, roles=["support"])
    monkeypatch.setenv("PIN_TOKEN", alice)
    pins = tmp_path / "pins.json"
    argv = ["mcp", "pin", f"--pins={pins}", f"--url={http_server.url}", "--token-env=PIN_TOKEN"]
    assert await asyncio.to_thread(cli_main, argv) == 0
    # The server lists per caller: alice's pins are what alice may see.
    assert guardrail_mcp.PinStore(pins).names() == [
        "crm/lookup_customer",
        "crm/refund",
        "crm/whoami",
    ]
    monkeypatch.setenv("PIN_TOKEN", "not-a-token")
    assert await asyncio.to_thread(cli_main, argv) == 2
    assert "is the bearer token in $PIN_TOKEN valid?" in capsys.readouterr().err
