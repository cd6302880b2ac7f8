"""Guarded MCP client sessions against real stdio server processes."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import guardrail_mcp
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp_auth import KeyPair, authenticator
from mcp_support import CRM_SERVER, RUG_SERVER, script_env
from mcp_types import CallToolResult, TextContent

from guardrail import Guard, PermissionDenied, Policy
from guardrail.testing import capture_audit

AUDIENCE = "support-agent"

CLIENT_POLICY = {
    "rules": [
        {
            "id": "support-crm",
            "allow": ["crm/lookup_customer", "crm/refund"],
            "when": {"roles": ["support"]},
            "args": {},
        },
        {
            "id": "support-refund-cap",
            "deny": ["crm/refund"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"min": 100.01}},
        },
        {
            "id": "customer-own",
            "allow": ["crm/lookup_customer"],
            "when": {"roles": ["customer"]},
            "args": {"customer_id": {"eq": "$principal.subject"}},
        },
        {"id": "files-echo", "allow": ["files/*"], "when": {"roles": ["support"]}},
    ]
}


@asynccontextmanager
async def stdio_session(script: Path, *args: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=[str(script), *args], env=script_env()
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


def effects(directory: Path, name: str) -> list[dict[str, object]]:
    path = directory / f"{name}.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def guard(keys: KeyPair) -> Guard:
    verifier = authenticator(AUDIENCE, key=keys.public_key)
    return Guard(Policy.model_validate(CLIENT_POLICY), authenticator=verifier)


async def test_per_user_listing_and_calls_over_stdio(
    guard: Guard, keys: KeyPair, tmp_path: Path
) -> None:
    """Two users with bearer JWTs see different tools; denials never reach the server."""
    alice = keys.sign("alice", audience=AUDIENCE, roles=["support"])
    bob = keys.sign("bob", audience=AUDIENCE, roles=["customer"])
    async with stdio_session(CRM_SERVER, "--name=crm", f"--effects={tmp_path}") as raw:
        session = guard.wrap(raw)
        assert isinstance(session, guardrail_mcp.GuardedSession)
        assert session.server == "crm"  # from the server's initialize result
        with guard.acting_as(alice):
            alice_tools = {t.name: t for t in (await session.list_tools()).tools}
            ok = await session.call_tool("refund", {"order_id": "A-1", "amount": 40})
            capped = await session.call_tool("refund", {"order_id": "A-2", "amount": 400})
        with guard.acting_as(bob):
            bob_tools = {t.name: t for t in (await session.list_tools()).tools}
            own = await session.call_tool("lookup_customer", {"customer_id": "bob"})
            other = await session.call_tool("lookup_customer", {"customer_id": "alice"})
            refund = await session.call_tool("refund", {"order_id": "A-3", "amount": 1})
        anonymous = await session.call_tool("lookup_customer", {"customer_id": "x"})
    assert set(alice_tools) == {"lookup_customer", "refund"}
    assert set(bob_tools) == {"lookup_customer"}
    assert bob_tools["lookup_customer"].input_schema["properties"]["customer_id"]["enum"] == ["bob"]
    assert not ok.is_error and not own.is_error
    assert capped.is_error and "support-refund-cap" in text(capped)
    assert other.is_error and "customer-own" in text(other)
    assert refund.is_error and anonymous.is_error
    ran = [(e["tool"], e["args"]) for e in effects(tmp_path, "crm")]
    assert ran == [
        ("refund", {"order_id": "A-1", "amount": 40.0}),
        ("lookup_customer", {"customer_id": "bob"}),
    ]


async def test_on_denied_raise(guard: Guard, keys: KeyPair, tmp_path: Path) -> None:
    """With on_denied="raise" a refusal raises PermissionDenied instead of returning a result."""
    bob = keys.sign("bob", audience=AUDIENCE, roles=["customer"])
    async with stdio_session(CRM_SERVER, "--name=crm", f"--effects={tmp_path}") as raw:
        session = guardrail_mcp.wrap_session(raw, guard, server="crm", on_denied="raise")
        with guard.acting_as(bob), pytest.raises(PermissionDenied, match="customer-own"):
            await session.call_tool("lookup_customer", {"customer_id": "alice"})
    assert effects(tmp_path, "crm") == []


async def test_same_tool_name_on_two_servers_cannot_shadow(
    guard: Guard, keys: KeyPair, tmp_path: Path
) -> None:
    """Two servers expose lookup_customer; each call reaches the server the policy names."""
    alice = keys.sign("alice", audience=AUDIENCE, roles=["support"])
    async with AsyncExitStack() as stack:
        crm_raw = await stack.enter_async_context(
            stdio_session(CRM_SERVER, "--name=crm", f"--effects={tmp_path}")
        )
        evil_raw = await stack.enter_async_context(
            stdio_session(CRM_SERVER, "--name=evil", f"--effects={tmp_path}")
        )
        crm, evil = guard.wrap([crm_raw, evil_raw])
        with guard.acting_as(alice):
            assert [t.name for t in (await evil.list_tools()).tools] == []
            assert "lookup_customer" in [t.name for t in (await crm.list_tools()).tools]
            denied = await evil.call_tool("lookup_customer", {"customer_id": "c-1"})
            allowed = await crm.call_tool("lookup_customer", {"customer_id": "c-1"})
    assert denied.is_error and "evil/lookup_customer" in text(denied)
    assert "crm: customer c-1" in text(allowed)
    assert effects(tmp_path, "evil") == []
    assert [e["server"] for e in effects(tmp_path, "crm")] == ["crm"]
    assert {"crm/lookup_customer", "evil/lookup_customer"} <= set(guard.tools)


@pytest.mark.parametrize(
    ("mode", "fields"), [("description", ["description"]), ("schema", ["inputSchema"])]
)
async def test_rug_pull_is_refused_until_repinned(
    guard: Guard, keys: KeyPair, tmp_path: Path, mode: str, fields: list[str]
) -> None:
    """A changed tool is hidden and refused until re-pinned, and the change is audited."""
    alice = keys.sign("alice", audience=AUDIENCE, roles=["support"])
    async with stdio_session(RUG_SERVER, f"--mode={mode}", f"--effects={tmp_path}") as raw:
        session = guardrail_mcp.wrap_session(raw, guard, server="files")
        with guard.acting_as(alice), capture_audit(guard) as events:
            first = (await session.list_tools()).tools
            pinned = guardrail_mcp.tool_digest(first[0])
            assert not (await session.call_tool("echo", {"text": "one"})).is_error
            assert (await session.list_tools()).tools == []  # the changed tool is not shown
            refused = await session.call_tool("echo", {"text": "two"})
            assert session.repin() == ["echo"]
            again = await session.call_tool("echo", {"text": "three"})
    assert refused.is_error and "changed since it was pinned" in text(refused)
    assert not again.is_error
    assert (tmp_path / "rug.log").read_text().splitlines()[0] == "echo one"
    assert "two" not in (tmp_path / "rug.log").read_text()
    notice = next(e for e in events if e.phase == "notice" and e.decision == "denied")
    new = session.listed()["echo"].sha256
    assert notice.tool == "files/echo" and notice.detail["fields"] == fields
    assert notice.detail["old_sha256"] == pinned and notice.detail["new_sha256"] == new != pinned
    refusal = next(e for e in events if e.phase == "refusal")
    assert refusal.rule == guardrail_mcp.PIN_RULE and refusal.subject == "alice"
    repinned = [e for e in events if e.phase == "notice" and e.decision == "allowed"]
    assert repinned[0].detail["new_sha256"] == new


async def test_tool_appearing_mid_session_is_refused(
    guard: Guard, keys: KeyPair, tmp_path: Path
) -> None:
    """A tool that was not in the first listing is refused until pinned."""
    alice = keys.sign("alice", audience=AUDIENCE, roles=["support"])
    async with stdio_session(RUG_SERVER, "--mode=new", f"--effects={tmp_path}") as raw:
        session = guardrail_mcp.wrap_session(raw, guard, server="files")
        with guard.acting_as(alice), capture_audit(guard) as events:
            assert [t.name for t in (await session.list_tools()).tools] == ["echo"]
            assert [t.name for t in (await session.list_tools()).tools] == ["echo"]
            refused = await session.call_tool("exfiltrate", {"path": "/etc/passwd"})
    assert refused.is_error and "appeared after" in text(refused)
    assert not (tmp_path / "rug.log").exists()
    notice = next(e for e in events if e.phase == "notice")
    assert notice.tool == "files/exfiltrate" and notice.detail["change"] == "new"
    assert notice.detail["old_sha256"] is None and len(notice.detail["new_sha256"]) == 64
