"""A server's tool listing as the client sees it: every page, each tool against its pin."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from mcp import Client, ClientSession
from mcp_types import PaginatedRequestParams, Tool

from guardrail import ConfigurationError, Guard
from guardrail_mcp._pins import PinStatus, PinStore, changed_fields, tool_definition

_MAX_PAGES = 100


@dataclass(frozen=True, slots=True)
class ListedTool:
    """A tool as the server last listed it, with its pin status."""

    tool: Tool
    name: str
    """Server-qualified name (``crm/lookup_customer``)."""
    sha256: str
    pinned: str | None
    """The digest this tool is pinned to (``None``: never pinned)."""
    status: PinStatus

    def repinned(self) -> ListedTool:
        """This tool once its current definition is accepted."""
        return ListedTool(self.tool, self.name, self.sha256, self.sha256, "pinned")

    def why_refused(self) -> str:
        """Why a call of this (changed or new) tool is refused."""
        if self.status == "changed":
            return (
                f"MCP tool {self.name!r} changed since it was pinned "
                f"(pinned sha256 {self.pinned}, now {self.sha256}); refused until re-pinned"
            )
        return f"MCP tool {self.name!r} appeared after its server was pinned; refused until pinned"

    def notice_unpinned(self, guard: Guard, server: str, old: Any) -> None:
        """Record that this tool is refused until (re-)pinned, and what changed."""
        what = "changed since it was pinned" if self.status == "changed" else "is not pinned"
        guard.notice(
            self.name,
            "denied",
            f"MCP tool {self.name!r} {what}; refused until re-pinned",
            server=server,
            change=self.status,
            old_sha256=self.pinned,
            new_sha256=self.sha256,
            fields=changed_fields(old, tool_definition(self.tool)),
        )


def not_listed(server: str, name: str) -> str:
    return f"MCP server {server!r} did not list a tool named {name!r}"


async def list_all_tools(session: ClientSession | Client) -> list[Tool]:
    """Every tool the server lists now, all pages."""
    tools: list[Tool] = []
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        if isinstance(session, Client):
            page = await session.list_tools(cursor=cursor, cache_mode="refresh")
        else:
            params = PaginatedRequestParams(cursor=cursor) if cursor is not None else None
            page = await session.list_tools(params=params)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if cursor is None:
            return tools
    raise ConfigurationError(f"the MCP server lists more than {_MAX_PAGES} pages of tools")


_GUARD_PINS: weakref.WeakKeyDictionary[Guard, PinStore] = weakref.WeakKeyDictionary()


def store_for(guard: Guard, pins: PinStore | str | None) -> PinStore:
    """The given store, a pin file, or the guard's in-memory store.

    Sharing one store per guard means a second session that claims a server name
    already seen (a reconnect, another user, or an impostor) is held to the pins
    of the first, instead of being trusted on its own first listing.
    """
    if isinstance(pins, PinStore):
        return pins
    if pins is not None:
        return PinStore(pins)
    store = _GUARD_PINS.get(guard)
    if store is None:
        store = _GUARD_PINS[guard] = PinStore()
    return store
