"""``guardrail mcp pin``: write the reviewed pin file from what a server lists now."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import anyio
import httpx2
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from guardrail import ConfigurationError, GuardrailError
from guardrail_mcp._listing import list_all_tools
from guardrail_mcp._pins import PinStore, qualify, tool_definition

Change = Literal["added", "changed", "unchanged", "removed"]


@dataclass(frozen=True, slots=True)
class PinChange:
    change: Change
    name: str
    sha256: str | None


async def pin_tools(
    session: ClientSession | Client, store: PinStore, *, server: str | None = None
) -> list[PinChange]:
    """Pin every tool ``session``'s server lists now; drop pins of tools it no longer has."""
    if server is None:
        info = session.server_info
        if info is None or not info.name:
            raise ConfigurationError("the server gave no name: pass --server NAME")
        server = info.name.replace("/", "_")
    changes: list[PinChange] = []
    listed: set[str] = set()
    for tool in await list_all_tools(session):
        name = qualify(server, tool.name)
        listed.add(name)
        old = store.get(name)
        digest = store.pin(name, tool_definition(tool), save=False)
        change: Change = (
            "added" if old is None else "unchanged" if old.sha256 == digest else "changed"
        )
        changes.append(PinChange(change, name, digest))
    removed = [name for name in store.names(server) if name not in listed]
    store.forget(removed, save=False)
    changes.extend(PinChange("removed", name, None) for name in removed)
    store.mark_seen(server)
    store.save()
    return changes


@asynccontextmanager
async def connect(
    *, url: str | None, command: Sequence[str], token: str | None, timeout: float
) -> AsyncIterator[ClientSession]:
    if url is not None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
            streamable_http_client(url, http_client=http) as (read, write),
            ClientSession(read, write, read_timeout_seconds=timeout) as session,
        ):
            await session.initialize()
            yield session
        return
    if not command:
        raise ConfigurationError("give --url URL or a server command after '--'")
    params = StdioServerParameters(command=command[0], args=list(command[1:]))
    async with (
        stdio_client(params) as (read, write),
        ClientSession(read, write, read_timeout_seconds=timeout) as session,
    ):
        await session.initialize()
        yield session


def run_pin(
    *,
    pins: str,
    server: str | None,
    url: str | None,
    command: Sequence[str],
    token_env: str,
    timeout: float,
    say: Callable[[str], None] = print,
) -> int:
    """Connect, pin, print one line per tool with ``say`` (the CLI's, which escapes
    what a terminal would interpret: tool names come from the server). Exit status 0."""
    token = os.environ.get(token_env) if url is not None else None
    store = PinStore(pins)

    async def main() -> list[PinChange]:
        with anyio.fail_after(timeout * 2):
            async with connect(url=url, command=command, token=token, timeout=timeout) as session:
                return await pin_tools(session, store, server=server)

    try:
        changes = anyio.run(main)
    except GuardrailError:
        raise
    except Exception as exc:  # transport errors arrive wrapped in exception groups
        hint = f" (is the bearer token in ${token_env} valid?)" if url is not None else ""
        raise GuardrailError(f"cannot list the MCP server's tools: {_leaf(exc)}{hint}") from exc
    for change in changes:
        digest = change.sha256[:16] if change.sha256 else "-"
        say(f"{change.change:9} {change.name}  sha256:{digest}")
    print(f"wrote {pins}", file=sys.stderr)
    return 0


def _leaf(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"
