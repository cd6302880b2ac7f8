"""The MCP server the load benchmark starts: ``python -m benchmarks._mcp_server VARIANT ...``.

VARIANT ``plain`` is an ``MCPServer`` with one async tool and nothing else;
``protected`` is the same server behind ``guardrail_mcp.protect()``: bearer JWTs
verified, 20 rules, three Redis limits (user, team, global), a ChainLog
(fsync="batch"). Both serve streamable HTTP on 127.0.0.1 and run a 1 ms ticker
that records the event loop's lag. On SIGUSR1 the server writes
``{"cpu": process CPU seconds, "lags": [lag seconds since the last dump]}`` to the
stats file (written aside, then renamed), so the driver can read both per batch.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

POLICY: dict[str, Any] = {
    "rules": [
        {"id": "support-refunds", "allow": ["refund"], "when": {"roles": ["support"]},
         "args": {"amount": {"max": 100}}},
        *({"id": f"filler-{i}", "allow": [f"tool_{i}"], "when": {"roles": [f"role-{i}"]}}
          for i in range(19)),
    ],
    "limits": [
        {"id": "user-rate", "per": "user", "calls": 10**12, "window": "1m"},
        {"id": "team-day", "per": "team", "calls": 10**12, "period": "day"},
        {"id": "in-flight", "per": "global", "concurrent": 100_000},
    ],
}  # fmt: skip
ISSUER = "https://idp.bench.local/"


def build(variant: str, url: str, redis_url: str, workdir: Path, public_pem: str) -> Any:
    from mcp.server.mcpserver import MCPServer

    guard = None
    if variant == "plain":
        server: Any = MCPServer("bench", log_level="WARNING")
    else:
        server, guard = _protected(url, redis_url, workdir, public_pem)

    @server.tool()  # type: ignore[untyped-decorator]
    async def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        return f"refunded {amount:.2f} on {order_id}"

    if guard is not None:
        import guardrail_mcp

        guardrail_mcp.protect(server, guard)
    return server


def _protected(url: str, redis_url: str, workdir: Path, public_pem: str) -> tuple[Any, Any]:
    import guardrail_mcp
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer
    from pydantic import AnyHttpUrl

    from guardrail import Guard, JWTAuthenticator, Policy
    from guardrail.audit import ChainLog
    from guardrail.budgets.redis_ledger import RedisLedger

    guard = Guard(
        Policy.from_dict(POLICY),
        authenticator=JWTAuthenticator(ISSUER, url, key=public_pem),
        ledger=RedisLedger.from_url(redis_url, prefix=f"mcp-{os.getpid()}:"),
        audit=[ChainLog(workdir / f"mcp-{os.getpid()}.jsonl", fsync="batch")],
    )
    server = MCPServer(
        "bench",
        log_level="WARNING",
        token_verifier=guardrail_mcp.token_verifier(guard, resource=url),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(ISSUER),
            resource_server_url=AnyHttpUrl(url),
            validate_token_resource=True,
        ),
    )
    return server, guard


class Stats:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lags: list[float] = []

    async def tick(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(0.001)
            self.lags.append(time.perf_counter() - asked - 0.001)

    def dump(self) -> None:
        lags, self.lags = self.lags, []
        aside = self.path.with_suffix(".tmp")
        aside.write_text(json.dumps({"cpu": time.process_time(), "lags": lags}))
        aside.rename(self.path)


async def serve(variant: str, port: int, redis_url: str, workdir: Path, stats: Stats) -> None:
    import uvicorn

    url = f"http://127.0.0.1:{port}/mcp"
    public_pem = (workdir / "mcp-key.pub.pem").read_text()
    server = build(variant, url, redis_url, workdir, public_pem)
    app = server.streamable_http_app(host="127.0.0.1")
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, stats.dump)
    ticker = loop.create_task(stats.tick())
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    try:
        await uvicorn.Server(config).serve()
    finally:
        ticker.cancel()


def main() -> None:
    variant, port, redis_url, workdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    stats = Stats(Path(workdir) / f"stats-{variant}.json")
    asyncio.run(serve(variant, port, redis_url, Path(workdir), stats))


if __name__ == "__main__":
    main()
