"""Group 7: a real MCP server under load, plain vs ``guardrail_mcp.protect()``.

Two server processes (:mod:`benchmarks._mcp_server`) serve streamable HTTP on
127.0.0.1: ``plain`` and ``protected`` (JWTs, 20 rules, three Redis limits, a
ChainLog). 1, 10 and 50 concurrent clients, each a different user with its own
bearer token and MCP session, call ``refund``; the variants alternate batch by
batch, in a shuffled order each round. Per batch the server reports its process
CPU time and the lags of a 1 ms ticker on its event loop: the table shows server
CPU per call and loop-lag p99 per variant, and the protected server's extra.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from benchmarks._context import Env, Row
from benchmarks._services import free_port

GROUP = "7 MCP server under load (streamable HTTP, per call, server process)"
VARIANTS = ("plain", "protected")
ISSUER = "https://idp.bench.local/"


@dataclass
class Server:
    variant: str
    port: int
    stats: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def snapshot(self) -> dict[str, Any]:
        """The server's CPU seconds and the loop lags since the last snapshot."""
        self.stats.unlink(missing_ok=True)
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not self.stats.exists():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.variant} MCP server did not report its stats")
            time.sleep(0.005)
        data: dict[str, Any] = json.loads(self.stats.read_text())
        return data


@dataclass
class Tally:
    cpu: list[float] = field(default_factory=list)
    """Server CPU us per call, one figure per batch."""
    lags: list[float] = field(default_factory=list)
    """Every ticker lag (us) seen during the batches."""


def add(env: Env) -> None:
    if env.redis_url is None:
        env.na(GROUP, "MCP server under load", env.redis_error)
        return
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (env.workdir / "mcp-key.pub.pem").write_bytes(pem)
    servers = {v: _start(env, v, env.redis_url) for v in VARIANTS}
    try:
        tallies = asyncio.run(_load(env, servers, key))
    finally:
        for server in servers.values():
            server.proc.terminate()
            server.proc.wait(timeout=30)
    _report(env, tallies)


def _start(env: Env, variant: str, redis_url: str) -> Server:
    port = free_port()
    args = [sys.executable, "-m", "benchmarks._mcp_server", variant, str(port), redis_url]
    proc = subprocess.Popen([*args, str(env.workdir)], stdout=subprocess.DEVNULL)
    server = Server(variant, port, env.workdir / f"stats-{variant}.json", proc)
    _wait_for_port(server)
    return server


def _wait_for_port(server: Server) -> None:
    import socket

    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=0.2).close()
            return
        except OSError:
            if server.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{server.variant} MCP server did not start") from None
            time.sleep(0.05)


async def _load(env: Env, servers: dict[str, Server], key: Any) -> dict[tuple[str, int], Tally]:
    rounds = 1 if env.quick else 3
    calls_per_batch = 20 if env.quick else 150
    tallies: dict[tuple[str, int], Tally] = {}
    rng = random.Random(15)
    for _ in range(rounds):
        for clients in (1, 10, 50):
            order = list(VARIANTS)
            rng.shuffle(order)
            for variant in order:
                tally = tallies.setdefault((variant, clients), Tally())
                per_client = max(calls_per_batch // clients, 2)
                await _batch(servers[variant], key, clients, per_client, tally)
    return tallies


async def _batch(server: Server, key: Any, clients: int, calls: int, tally: Tally) -> None:
    async with AsyncExitStack() as stack:
        # Entered one by one in this task: anyio's scopes must be left where entered.
        sessions = [
            await stack.enter_async_context(_session(server.url, key, f"user-{i}"))
            for i in range(clients)
        ]
        await _calls(sessions[:1], 1)  # warm: not measured
        before = server.snapshot()
        await _calls(sessions, calls)
        after = server.snapshot()
    total = clients * calls
    tally.cpu.append((after["cpu"] - before["cpu"]) / total * 1e6)
    tally.lags += [lag * 1e6 for lag in after["lags"]]


async def _calls(sessions: list[Any], calls: int) -> None:
    async def one(session: Any) -> None:
        for i in range(calls):
            result = await session.call_tool("refund", {"order_id": f"A-{i}", "amount": 5})
            if result.is_error:
                raise RuntimeError(f"MCP call failed: {result.content}")

    await asyncio.gather(*(one(s) for s in sessions))


@asynccontextmanager
async def _session(url: str, key: Any, user: str) -> AsyncIterator[Any]:
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    now = int(time.time())
    claims = {"iss": ISSUER, "aud": url, "sub": user, "iat": now, "exp": now + 3600,
              "roles": ["support"], "teams": ["support-eu"]}  # fmt: skip
    token = jwt.encode(claims, key, algorithm="RS256")
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)] if ordered else 0.0


def _report(env: Env, tallies: dict[tuple[str, int], Tally]) -> None:
    worst_cpu, worst_lag = -1e9, 0.0
    for clients in (1, 10, 50):
        plain, guarded = tallies[("plain", clients)], tallies[("protected", clients)]
        cpu_plain, cpu_guarded = statistics.median(plain.cpu), statistics.median(guarded.cpu)
        lag_plain, lag_guarded = _p99(plain.lags), _p99(guarded.lags)
        extra = (cpu_guarded / cpu_plain - 1) * 100
        worst_cpu = max(worst_cpu, extra)
        worst_lag = max(worst_lag, lag_guarded / max(lag_plain, 1.0))
        env.rows.append(Row(group=GROUP, label=f"{clients} clients: server CPU us/call",
                            value=f"{cpu_plain:.0f} -> {cpu_guarded:.0f}",
                            note=f"plain -> protected: {extra:+.1f}%"))  # fmt: skip
        env.rows.append(Row(group=GROUP, label=f"{clients} clients: loop-lag p99 us",
                            value=f"{lag_plain:.0f} -> {lag_guarded:.0f}",
                            note=f"ratio {lag_guarded / max(lag_plain, 1.0):.2f}"))  # fmt: skip
    env.extra["mcp_cpu_over_pct"] = worst_cpu
    env.extra["mcp_lag_ratio"] = worst_lag
