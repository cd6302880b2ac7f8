"""Per-call overhead of guarded MCP calls vs raw ones (a benchmark, not a test).

    .venv/bin/python tests/mcp/bench_overhead.py [N]

Each row pairs a raw and a guarded path, measured in alternating batches; the
figure is the best batch (least disturbed by other load on the machine).
``stub`` sessions answer instantly, isolating guardrail's own cost;
``in-process`` uses ``mcp.Client(MCPServer)``; ``stdio`` a real server process.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import guardrail_mcp
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult, ListToolsResult, TextContent, Tool

from guardrail import Guard, Policy, Principal
from guardrail.testing import MemorySink

POLICY = Policy.model_validate(
    {
        "rules": [
            {"id": "r", "allow": ["echo", "bench/echo"], "args": {"n": {"max": 10**9}}},
            {"id": "f", "allow": ["files/*"]},
        ]
    }
)
WHO = Principal(subject="alice")
Call = Callable[[int], Awaitable[Any]]


class StubSession(ClientSession):
    """Answers instantly: what is left is guardrail's cost."""

    def __init__(self) -> None:  # no transport
        pass

    async def list_tools(self, *, params: Any = None) -> ListToolsResult:
        schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
        return ListToolsResult(tools=[Tool(name="echo", input_schema=schema)])

    async def call_tool(self, name: str, arguments: Any = None, *a: Any, **k: Any) -> Any:
        return CallToolResult(content=[TextContent(type="text", text="ok")])


def make_server() -> MCPServer:
    server: MCPServer = MCPServer("bench", log_level="WARNING")

    @server.tool()
    async def echo(n: int) -> int:
        return n

    return server


async def compare(raw: Call, guarded: Call, n: int, rounds: int = 7) -> tuple[float, float]:
    for i in range(50):
        await raw(i)
        await guarded(i)
    best = [float("inf"), float("inf")]
    for _ in range(rounds):
        for slot, call in enumerate((raw, guarded)):
            start = time.perf_counter()
            for i in range(n):
                await call(i)
            best[slot] = min(best[slot], (time.perf_counter() - start) / n * 1e6)
    return best[0], best[1]


def guard(audit: bool) -> Guard:
    return Guard(POLICY, audit=[MemorySink()] if audit else [])


async def client_rows(raw: Any, server: str, tool: str, arg: Callable[[int], Any], n: int) -> Any:
    rows = {}
    for audit in (False, True):
        g = guard(audit)
        session = guardrail_mcp.wrap_session(raw, g, server=server)
        await session.list_tools()
        with g.acting_as(WHO):
            rows[audit] = await compare(
                lambda i: raw.call_tool(tool, arg(i)),
                lambda i, s=session: s.call_tool(tool, arg(i)),  # type: ignore[misc]
                n,
            )
    return rows


async def server_rows(n: int) -> Any:
    rows = {}
    async with Client(make_server()) as raw:
        for audit in (False, True):
            server = make_server()
            guardrail_mcp.protect(server, guard(audit), default_principal=WHO)
            async with Client(server) as protected:
                rows[audit] = await compare(
                    lambda i: raw.call_tool("echo", {"n": i}),
                    lambda i, c=protected: c.call_tool("echo", {"n": i}),  # type: ignore[misc]
                    n,
                )
    return rows


async def stdio_rows(n: int) -> Any:
    script = Path(__file__).with_name("rug_server.py")
    params = StdioServerParameters(
        command=sys.executable, args=[str(script), "--mode=new", "--effects=/tmp"]
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as raw:
        await raw.initialize()
        return await client_rows(raw, "files", "echo", lambda i: {"text": str(i)}, n)


async def run(n: int) -> dict[str, Any]:
    results = {
        "client side, stub session": await client_rows(
            StubSession(), "bench", "echo", lambda i: {"n": i}, n * 5
        )
    }
    async with Client(make_server()) as raw:
        results["client side, in-process server"] = await client_rows(
            raw, "bench", "echo", lambda i: {"n": i}, n
        )
    results["server side (protect), in-process"] = await server_rows(n)
    results["client side, stdio server process"] = await stdio_rows(max(n // 5, 50))
    return results


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    print(f"{'path':36} {'audit':6} {'raw us':>8} {'guarded us':>11} {'overhead us':>12}")
    for label, rows in asyncio.run(run(n)).items():
        for audit, (raw, guarded) in rows.items():
            sink = "memory" if audit else "none"
            print(f"{label:36} {sink:6} {raw:8.1f} {guarded:11.1f} {guarded - raw:12.1f}")


if __name__ == "__main__":
    main()
