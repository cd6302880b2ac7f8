"""One shape for every approval audit record: request, grant or denial, refusal, use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from guardrail.approvals.model import ApprovalRequest

if TYPE_CHECKING:
    from guardrail.audit.trail import AuditTrail


def record_approval(
    audit: AuditTrail,
    request: ApprovalRequest,
    kind: Any,
    event: str,
    reason: str,
    approver: str | None,
    **extra: Any,
) -> None:
    """An audit notice naming the request, its digest, the requester and the approver."""
    audit.notice(
        request.tool,
        kind,
        f"{reason}: request {request.id}",
        event=f"approval.{event}",
        request_id=request.id,
        digest=request.digest,
        requester=request.subject,
        approver=approver,
        rule=request.rule,
        **extra,
    )
