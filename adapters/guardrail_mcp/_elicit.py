"""A held call, for a client that can ask its user: an MCP elicitation.

When an ``approve`` rule holds a ``tools/call`` and the client declared the
``elicitation`` capability, the server asks the user (a form elicitation) to get
the request approved and to confirm once it is. Confirming is not approving: on
``accept`` the call goes through the guard again, which runs it only on a grant
an authorised approver made (never the requester). Without the capability, or
on ``decline``/``cancel``, the client gets the usual ``is_error`` result naming
the request.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError

from guardrail import ApprovalRequired

CONFIRM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approved": {
            "type": "boolean",
            "title": "An approver has granted the request",
            "default": True,
        }
    },
}


def can_elicit(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether the client declared elicitation and this request can carry one."""
    session = ctx.session
    capabilities = session.client_capabilities
    return (
        capabilities is not None
        and capabilities.elicitation is not None
        and session.can_send_request
    )


async def confirmed(ctx: ServerRequestContext[Any, Any], held: ApprovalRequired) -> bool:
    """Ask the user to have ``held`` approved; ``True`` when they say it is (unverified)."""
    message = (
        f"{held.tool!r} waits for approval request {held.request_id} "
        f"({held.reason}). Ask an approver to grant it (you cannot approve your own "
        "request), then accept to make the call; decline to leave it."
    )
    try:
        answer = await ctx.session.elicit_form(message, CONFIRM, related_request_id=ctx.request_id)
    except MCPError:  # the client refused the elicitation: the refusal stands
        return False
    return answer.action == "accept"
