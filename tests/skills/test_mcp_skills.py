"""The clinic's skill served over MCP by ``guardrail_mcp.serve``: a real server process,
a real client, over stdio and over streamable HTTP on 127.0.0.1 with bearer JWTs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_auth import ISSUER, KeyPair
from mcp_support import free_port, stop, wait_for_port
from mcp_types import CallToolResult, TextContent

ROOT = Path(__file__).resolve().parents[2]
SERVER = [sys.executable, "-m", "examples.scheduling.mcp_server"]
ANA = {"patient": "Ana Silva", "reason": "knee pain", "window": "2026-12-07"}
STEP = ("hold_slot", {"slot_id": "D-03-1500", "patient_id": "P-1001"})


def text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@asynccontextmanager
async def over_stdio(user: str, audit: Path) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=SERVER[0], args=[*SERVER[1:], "--as", user, f"--audit={audit}"], cwd=str(ROOT)
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def over_http(url: str, token: str) -> AsyncIterator[ClientSession]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=20) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@pytest.fixture(scope="module")
def http_server(
    tmp_path_factory: pytest.TempPathFactory, jwks_url: str
) -> Iterator[tuple[str, Path]]:
    """The clinic skill server over streamable HTTP, verifying JWTs against the JWKS."""
    audit = tmp_path_factory.mktemp("clinic-http") / "audit.jsonl"
    port = free_port()
    cmd = [
        *SERVER,
        "--transport=http",
        f"--port={port}",
        f"--jwks={jwks_url}",
        f"--issuer={ISSUER}",
        f"--audit={audit}",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}/mcp", audit
    finally:
        stop(proc)


async def exercise(session: ClientSession) -> tuple[list[str], CallToolResult, CallToolResult]:
    """List the tools, book through the skill, and try a step by name."""
    listed = [t.name for t in (await session.list_tools()).tools]
    booked = await session.call_tool("schedule_appointment", ANA)
    step = await session.call_tool(*STEP)
    return listed, booked, step


def assert_allowed(listed: list[str], booked: CallToolResult, step: CallToolResult) -> None:
    assert listed == ["schedule_appointment"]
    assert not booked.is_error and booked.structured_content is not None
    assert booked.structured_content["status"] == "booked"
    assert booked.structured_content["provider"] == "Dr. Chavez"
    assert step.is_error and "only be called from inside a skill" in text(step)


def assert_refused(listed: list[str], booked: CallToolResult, step: CallToolResult) -> None:
    assert listed == []
    assert booked.is_error and "default deny" in text(booked)
    assert booked.meta and booked.meta["guardrail"]["decision"] == "denied"
    assert step.is_error and "only be called from inside a skill" in text(step)


def assert_trail(events: list[dict[str, Any]], user: str, allowed: bool) -> None:
    mine = [e for e in events if e["subject"] == user]
    top = [e for e in mine if e["parent_call_id"] is None]
    assert [(e["tool"], e["phase"]) for e in top] == (
        [("schedule_appointment", "intent"), ("schedule_appointment", "outcome")]
        if allowed
        else [("schedule_appointment", "refusal")]
    ) + [("hold_slot", "refusal")]
    steps = [e for e in mine if e["parent_call_id"] is not None]
    assert bool(steps) is allowed
    assert {(e["skill"], e["parent_call_id"]) for e in steps} <= {
        ("schedule_appointment", top[0]["call_id"])
    }


async def test_stdio_allowed_user_books_and_sees_only_the_skill(tmp_path: Path) -> None:
    """Over stdio, the local scheduler books through the skill; the steps stay hidden."""
    audit = tmp_path / "audit.jsonl"
    async with over_stdio("sam:scheduler", audit) as session:
        assert_allowed(*await exercise(session))
    assert_trail(records(audit), "sam", allowed=True)


async def test_stdio_other_user_is_refused(tmp_path: Path) -> None:
    """Over stdio, a user without the booking rule sees nothing and is refused."""
    audit = tmp_path / "audit.jsonl"
    async with over_stdio("bill:billing", audit) as session:
        assert_refused(*await exercise(session))
    assert_trail(records(audit), "bill", allowed=False)


async def test_http_per_user_skill(http_server: tuple[str, Path], keys: KeyPair) -> None:
    """Over streamable HTTP, each bearer JWT's user gets their own answer from one server."""
    url, audit = http_server
    sam = keys.sign("sam", audience=url, roles=["scheduler"])
    bill = keys.sign("bill", audience=url, roles=["billing"])
    async with over_http(url, sam) as session:
        assert_allowed(*await exercise(session))
    async with over_http(url, bill) as session:
        assert_refused(*await exercise(session))
    events = records(audit)
    assert_trail(events, "sam", allowed=True)
    assert_trail(events, "bill", allowed=False)
