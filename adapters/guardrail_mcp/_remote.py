"""Talking to the MCP server for a guarded session: listing its tools, calling one.

A transport that could not get a downstream token for the user fails with an
HTTP error; the refusal it noted is raised instead, so the record and the model
say why ("no token for crm"), not "HTTP 401".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp import Client, ClientSession
from mcp_types import CallToolResult, Tool

from guardrail_mcp._common import RemoteToolError
from guardrail_mcp._downstream import watching_refusals
from guardrail_mcp._listing import list_all_tools


async def fetch_tools(session: ClientSession | Client) -> list[Tool]:
    """Every tool the server lists now."""
    with watching_refusals() as refused:
        try:
            return await list_all_tools(session)
        except Exception as failed:
            if refused:  # listing as a user with no token for this server
                raise refused[-1].again() from failed
            raise


def calling(
    session: ClientSession | Client,
    name: str,
    qualified: str,
    read_timeout_seconds: float | None,
    progress_callback: Any,
    options: dict[str, Any],
) -> Callable[[dict[str, Any]], Awaitable[CallToolResult]]:
    """The guarded call's body: call ``name`` with the bound arguments.

    An ``is_error`` result raises :class:`RemoteToolError` (recorded as the outcome).
    """

    async def remote(args: dict[str, Any]) -> CallToolResult:
        with watching_refusals() as refused:
            try:
                result = await session.call_tool(
                    name,
                    args,
                    read_timeout_seconds=read_timeout_seconds,
                    progress_callback=progress_callback,
                    **options,
                )
            except Exception as failed:
                if refused:  # no token for the user: say why, not "HTTP 401"
                    raise refused[-1].again(tool=qualified) from failed
                raise
        if result.is_error:
            raise RemoteToolError(result)
        return result

    return remote
