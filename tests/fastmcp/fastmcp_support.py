"""A small FastMCP CRM server, its policy and two users (imported by the FastMCP tests)."""

from __future__ import annotations

from fastmcp import FastMCP
from fastmcp.exceptions import ToolError

from guardrail import Policy, current_principal

ISSUER = "https://idp.test.invalid/"
POLICY = Policy.model_validate(
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
                "id": "own-record",
                "allow": ["lookup_customer"],
                "when": {"roles": ["customer"]},
                "args": {"customer_id": {"eq": "$principal.subject"}},
            },
            {"id": "anyone-whoami", "allow": ["whoami"]},
        ]
    }
)


def crm_server(ran: list[str], **options: object) -> FastMCP:
    """Tools record what ran and as whom (``current_principal()`` inside the body)."""
    server: FastMCP = FastMCP("crm", **options)  # type: ignore[arg-type]

    def who() -> str:
        principal = current_principal()
        return principal.subject if principal else "-"

    @server.tool
    def lookup_customer(customer_id: str) -> str:
        """Look up a customer record."""
        ran.append(f"lookup {customer_id} as {who()}")
        if customer_id == "missing":
            raise ToolError("no such customer")
        return f"customer {customer_id}: gold tier"

    @server.tool
    async def refund(order_id: str, amount: float) -> str:
        """Refund (part of) an order."""
        ran.append(f"refund {order_id} {amount:g} as {who()}")
        return f"refunded {amount:.2f} on {order_id}"

    @server.tool
    def whoami() -> str:
        """Who the server thinks you are."""
        return who()

    return server
