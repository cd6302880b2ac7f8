"""Call a guardrail-protected MCP server as two different users.

    python examples/mcp_client.py

Generates an RSA key, starts ``examples/mcp_server.py`` on a free 127.0.0.1 port,
signs a bearer JWT for alice (support) and bob (customer), and prints what each
may see and do. Offline; finishes in a few seconds.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx2
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import TextContent

ISSUER = "https://idp.example.test/"
SERVER = Path(__file__).with_name("mcp_server.py")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit("the server did not start")


def sign(key: Any, subject: str, roles: list[str], audience: str, ttl: int = 300) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "aud": audience, "roles": roles}
    return jwt.encode({**claims, "iat": now, "exp": now + ttl}, key, algorithm="RS256")


async def as_user(url: str, name: str, token: str, calls: list[tuple[str, dict[str, Any]]]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=10) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = (await session.list_tools()).tools
        print(f"\n{name} sees: {', '.join(t.name for t in tools)}", flush=True)
        for tool in tools:
            props = tool.input_schema.get("properties", {})
            narrowed = {k: v for k, v in props.items() if {"enum", "maximum"} & set(v)}
            if narrowed:
                print(f"  {tool.name} narrowed for {name}: {narrowed}", flush=True)
        for tool_name, args in calls:
            result = await session.call_tool(tool_name, args)
            text = " ".join(c.text for c in result.content if isinstance(c, TextContent))
            mark = "DENIED " if result.is_error else "ok     "
            print(f"  {mark} {tool_name}({args}) -> {text}", flush=True)


async def bad_token(url: str, token: str) -> int:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(timeout=10) as http:
        return (await http.post(url, json=body, headers=headers)).status_code


async def run(url: str, key: Any) -> None:
    alice = sign(key, "alice", ["support"], url)
    bob = sign(key, "bob", ["customer"], url)
    await as_user(
        url,
        "alice (support)",
        alice,
        [
            ("lookup_customer", {"customer_id": "carol"}),
            ("refund", {"order_id": "A-17", "amount": 40}),
            ("refund", {"order_id": "A-18", "amount": 400}),
        ],
    )
    await as_user(
        url,
        "bob (customer)",
        bob,
        [
            ("lookup_customer", {"customer_id": "bob"}),
            ("lookup_customer", {"customer_id": "carol"}),
            ("refund", {"order_id": "A-19", "amount": 5}),
        ],
    )
    expired = sign(key, "alice", ["support"], url, ttl=-60)
    wrong_audience = sign(key, "alice", ["support"], "http://127.0.0.1:1/other")
    print(f"\nexpired token        -> HTTP {await bad_token(url, expired)}")
    print(f"wrong-audience token -> HTTP {await bad_token(url, wrong_audience)}")


def main() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    port = free_port()
    env = {**os.environ, "GUARDRAIL_EXAMPLE_PUBLIC_KEY": public_pem.decode()}
    server = subprocess.Popen([sys.executable, str(SERVER), str(port)], env=env)
    try:
        wait_for(port, server)
        asyncio.run(run(f"http://127.0.0.1:{port}/mcp", key))
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
