"""A small CRM MCP server protected by guardrail, over streamable HTTP on 127.0.0.1.

    GUARDRAIL_EXAMPLE_PUBLIC_KEY="$(cat key.pub.pem)" python examples/mcp_server.py [PORT]

Callers present bearer JWTs (RS256, issuer ``https://idp.example.test/``, audience
this server's URL). The SDK answers 401 to a bad token; guardrail decides each
``tools/call`` with the policy below, filters ``tools/list`` per caller, and
prints one audit line per event. ``examples/mcp_client.py`` starts this
server and calls it as two users.
"""

from __future__ import annotations

import os
import sys

import guardrail_mcp
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from pydantic import AnyHttpUrl

from guardrail import Guard, JWTAuthenticator, Policy, current_principal
from guardrail.audit.event import AuditEvent

ISSUER = "https://idp.example.test/"

POLICY = Policy.from_dict(
    {
        "rules": [
            {"id": "support-lookup", "allow": ["lookup_customer"], "when": {"roles": ["support"]}},
            {
                "id": "support-refunds",
                "allow": ["refund"],
                "when": {"roles": ["support"]},
                "args": {"amount": {"max": 100}},
            },
            {
                "id": "own-record-only",
                "allow": ["lookup_customer"],
                "when": {"roles": ["customer"]},
                "args": {"customer_id": {"eq": "$principal.subject"}},
            },
        ]
    }
)

CUSTOMERS = {"alice": "gold", "bob": "silver", "carol": "bronze"}


class PrintAudit:
    """One line per audit event (use ChainLog for a tamper-evident file)."""

    def write(self, event: AuditEvent) -> None:
        rule = f" rule={event.rule}" if event.rule else ""
        print(
            f"    [server audit] {event.phase:8} {event.subject} {event.tool} "
            f"{event.decision}{rule}",
            flush=True,
        )


def build(port: int, public_key_pem: str) -> MCPServer:
    url = f"http://127.0.0.1:{port}/mcp"
    # The audience a token must name is this server's URL (its OAuth resource).
    authenticator = JWTAuthenticator(ISSUER, url, key=public_key_pem)
    guard = Guard(POLICY, authenticator=authenticator, audit=[PrintAudit()])
    server: MCPServer = MCPServer(
        "crm",
        log_level="WARNING",
        token_verifier=guardrail_mcp.token_verifier(guard, resource=url),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(ISSUER),
            resource_server_url=AnyHttpUrl(url),
            validate_token_resource=True,
        ),
    )

    @server.tool()
    def lookup_customer(customer_id: str) -> str:
        """Look up a customer's loyalty tier."""
        return f"{customer_id}: {CUSTOMERS.get(customer_id, 'unknown')} tier"

    @server.tool()
    def refund(order_id: str, amount: float) -> str:
        """Refund an order (runs as the calling user)."""
        who = current_principal()
        return f"refunded {amount:.2f} on {order_id} for {who.subject if who else '?'}"

    guardrail_mcp.protect(server, guard)
    return server


def main() -> None:
    port = int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PORT", "8765"))
    key = os.environ.get("GUARDRAIL_EXAMPLE_PUBLIC_KEY")
    if not key:
        sys.exit("set GUARDRAIL_EXAMPLE_PUBLIC_KEY to the PEM public key that signs the tokens")
    build(port, key).run(transport="streamable-http", host="127.0.0.1", port=port)


if __name__ == "__main__":
    main()
