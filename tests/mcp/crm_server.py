"""A small CRM MCP server for the integration tests (run as a subprocess).

    python crm_server.py --name crm --effects DIR [--transport stdio|http --port P
                         --policy FILE --audit FILE --jwks URL]

Every tool appends a line to DIR/<name>.log before returning, so a test can tell
whether a tool body ran. With ``--policy`` the server is protected by guardrail.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from pydantic import AnyHttpUrl

from guardrail import Guard, Policy, current_principal
from guardrail.audit.event import AuditEvent


class JsonlSink:
    """Audit events as JSON lines (stands in for ChainLog on this branch)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def write(self, event: AuditEvent) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(event.model_dump_json() + "\n")


def build(args: argparse.Namespace) -> MCPServer:
    effects = Path(args.effects) / f"{args.name}.log"
    guard = None
    options: dict[str, object] = {}
    resource = f"http://127.0.0.1:{args.port}/mcp"
    if args.policy:
        import guardrail_mcp
        from mcp_auth import authenticator

        verifier = authenticator(resource, jwks_url=args.jwks) if args.jwks else None
        sinks = [JsonlSink(args.audit)] if args.audit else []
        guard = Guard(Policy.from_file(args.policy), authenticator=verifier, audit=sinks)
        if verifier is not None:
            options = {
                "token_verifier": guardrail_mcp.token_verifier(guard, resource=resource),
                "auth": AuthSettings(
                    issuer_url=AnyHttpUrl("https://idp.test.invalid/"),
                    resource_server_url=AnyHttpUrl(resource),
                    validate_token_resource=True,
                ),
            }
    server: MCPServer = MCPServer(args.name, log_level="WARNING", **options)  # type: ignore[arg-type]

    def effect(tool: str, **values: object) -> None:
        who = current_principal()
        line = {"server": args.name, "tool": tool, "args": values, "as": who and who.subject}
        with effects.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    @server.tool()
    def lookup_customer(customer_id: str) -> str:
        """Look up a customer record by id."""
        effect("lookup_customer", customer_id=customer_id)
        return f"{args.name}: customer {customer_id} is in good standing"

    @server.tool()
    def refund(order_id: str, amount: float) -> str:
        """Refund an order."""
        effect("refund", order_id=order_id, amount=amount)
        return f"{args.name}: refunded {amount:.2f} on {order_id}"

    @server.tool()
    async def whoami() -> str:
        """Who the server thinks is calling, and whether it holds the caller's token."""
        who = current_principal()
        if who is None:
            return "nobody"
        return f"{who.subject} token={'yes' if who.token is not None else 'no'}"

    if guard is not None:
        import guardrail_mcp

        guardrail_mcp.protect(server, guard)
    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="crm")
    parser.add_argument("--effects", required=True)
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--policy")
    parser.add_argument("--audit")
    parser.add_argument("--jwks")
    args = parser.parse_args()
    server = build(args)
    if args.transport == "stdio":
        server.run()
    else:
        server.run(transport="streamable-http", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
