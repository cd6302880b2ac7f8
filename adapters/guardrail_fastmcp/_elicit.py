"""A held call, for a client that can ask its user: an MCP elicitation (FastMCP).

On a 2026-07-28 connection whose client declared the ``elicitation`` capability,
a ``tools/call`` an ``approve`` rule holds answers with an ``InputRequiredResult``
(SEP-2322): an elicitation telling the user the request id and asking them to
have it approved, then to confirm. The client retries the call with the answer.
Confirming is not approving: on ``accept`` the call goes through the guard again,
which runs it only on a grant an approver (never the requester) made; on
``decline``/``cancel`` it is refused (and audited). Other clients get the usual
``is_error`` result naming the request.
"""

from __future__ import annotations

from typing import Any

import mcp_types as mt
from fastmcp.server.context import Context
from fastmcp.tools.base import InputRequiredToolResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from guardrail import ApprovalRequired, GuardrailDenied

ASK = "guardrail_approval"
"""The key of the elicitation in ``input_requests`` / ``input_responses``."""
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


def ask(refusal: GuardrailDenied, ctx: Context | None) -> InputRequiredToolResult | None:
    """The elicitation for a held call, when this client can be asked; else ``None``."""
    if not isinstance(refusal, ApprovalRequired) or refusal.request_id is None:
        return None
    if ctx is None or not _can_ask(ctx):
        return None
    message = (
        f"{refusal.tool!r} waits for approval request {refusal.request_id} "
        f"({refusal.reason}). Ask an approver to grant it (you cannot approve your own "
        "request), then accept to make the call; decline to leave it."
    )
    form = mt.ElicitRequestFormParams(message=message, requested_schema=CONFIRM)
    asked = mt.InputRequiredResult(
        input_requests={ASK: mt.ElicitRequest(params=form)},
        request_state=str(refusal.request_id),
    )
    return InputRequiredToolResult(asked)


def answer(ctx: Context | None) -> str | None:
    """On the retried call: the user's action (``accept``, ``decline``, ``cancel``)."""
    responses = _responses(ctx)
    found = responses.get(ASK) if responses else None
    if found is None:
        return None
    action = getattr(found, "action", None)
    return action if isinstance(action, str) else "cancel"


def _responses(ctx: Context | None) -> Any:
    if ctx is None:
        return None
    try:
        return ctx.input_responses
    except RuntimeError:  # no request (a background task without one)
        return None


def _can_ask(ctx: Context) -> bool:
    try:
        session = ctx.session
    except RuntimeError:
        return False
    capabilities = session.client_capabilities
    declared = capabilities is not None and capabilities.elicitation is not None
    return declared and session.protocol_version in MODERN_PROTOCOL_VERSIONS
