"""A FastMCP server protected by guardrail, called over HTTP on 127.0.0.1 by two users.

Runs offline in a few seconds. Users sign in with bearer tokens checked by a
``StaticAuthenticator`` (swap in ``JWTAuthenticator`` for a real identity
provider; any other token gets HTTP 401). Alice (support) is shown the refund
tool capped at 100 and refused a 250 refund; Bob (customer) may only look up his
own record. Each refusal is an ``is_error`` result the client's model reads.

    python examples/fastmcp_server.py
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import guardrail_fastmcp
import uvicorn
from fastmcp import Client, FastMCP

from guardrail import Guard, Policy, Principal, StaticAuthenticator, current_principal
from guardrail.testing import capture_audit

POLICY = {
    "rules": [
        {"id": "support-lookup", "allow": ["lookup_customer"], "when": {"roles": ["support"]}},
        {
            "id": "support-refunds",
            "allow": ["refund"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}},
        },
        {
            "id": "own-record",
            "allow": ["lookup_customer"],
            "when": {"roles": ["customer"]},
            "args": {"customer_id": {"eq": "$principal.subject"}},
        },
    ]
}
TOKENS = {
    "token-alice": Principal(subject="alice", roles=frozenset({"support"})),
    "token-bob": Principal(subject="bob", roles=frozenset({"customer"})),
}


def build_server(guard: Guard, base_url: str) -> FastMCP:
    server: FastMCP = FastMCP(
        "crm", auth=guardrail_fastmcp.GuardrailVerifier(guard, base_url=base_url)
    )

    @server.tool
    def lookup_customer(customer_id: str) -> str:
        """Look up a customer record."""
        who = current_principal()
        return f"customer {customer_id}: gold tier (looked up by {who.subject if who else '-'})"

    @server.tool
    def refund(order_id: str, amount: float) -> str:
        """Refund (part of) an order."""
        return f"refunded {amount:.2f} on {order_id}"

    guard.wrap(server)  # every tools/list and tools/call now goes through the guard
    return server


def serve(server: FastMCP, sock: socket.socket) -> uvicorn.Server:
    config = uvicorn.Config(server.http_app(path="/mcp"), log_level="warning", lifespan="on")
    running = uvicorn.Server(config)
    threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not running.started:
        time.sleep(0.01)
    return running


async def session(url: str, user: str, calls: list[tuple[str, dict[str, object]]]) -> None:
    print(f"\n=== {user} ===")
    async with Client(url, auth=f"token-{user}") as client:
        for tool in await client.list_tools():
            limit = tool.input_schema["properties"].get("amount", {}).get("maximum")
            only = tool.input_schema["properties"].get("customer_id", {}).get("enum")
            extra = f" amount <= {limit}" if limit else f" customer_id in {only}" if only else ""
            print(f"  shown: {tool.name}{extra}")
        for name, args in calls:
            result = await client.call_tool(name, args, raise_on_error=False)
            status = "error" if result.is_error else "ok"
            print(f"  [{status}] {name}: {result.content[0].text}")  # type: ignore[union-attr]


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    guard = Guard(Policy.model_validate(POLICY), authenticator=StaticAuthenticator(TOKENS))
    running = serve(build_server(guard, base), sock)
    url = f"{base}/mcp"
    try:
        with capture_audit(guard) as events:
            asyncio.run(
                session(
                    url,
                    "alice",
                    [
                        ("refund", {"order_id": "A-1", "amount": 40}),
                        ("refund", {"order_id": "A-2", "amount": 250}),
                    ],
                )
            )
            asyncio.run(
                session(
                    url,
                    "bob",
                    [
                        ("lookup_customer", {"customer_id": "bob"}),
                        ("lookup_customer", {"customer_id": "carol"}),
                    ],
                )
            )
    finally:
        running.should_exit = True
    print("\nAudit trail:")
    for e in events:
        if e.phase != "intent":
            print(f"  {e.subject:6} {e.tool:16} {e.decision:8} {e.rule or '-'}")


if __name__ == "__main__":
    main()
