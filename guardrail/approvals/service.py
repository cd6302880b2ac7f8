"""``guard.approvals``: list, show, approve and deny approval requests.

An approver proves who they are with a bearer token checked by the guard's
authenticator, and must satisfy the ``approvers`` condition of the rule that
asked; nobody approves their own request. Every grant, denial and refused
attempt is an audit record naming the request's digest and the approver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from guardrail.approvals.model import ApprovalRequest, Status
from guardrail.approvals.records import record_approval
from guardrail.approvals.store import ApprovalStore
from guardrail.conditions import Condition
from guardrail.errors import ApprovalError, ConfigurationError, GuardrailDenied

if TYPE_CHECKING:
    from guardrail.audit.trail import AuditTrail
    from guardrail.auth.base import Authenticator
    from guardrail.identity import Principal


class Approvals:
    """The approval requests in ``store``, and the decisions on them."""

    def __init__(
        self,
        store: ApprovalStore | None,
        audit: AuditTrail,
        authenticator: Authenticator | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.audit = audit
        self.authenticator = authenticator
        self.clock = clock

    def _store(self) -> ApprovalStore:
        if self.store is None:
            raise ConfigurationError("approvals need a store: Guard(approvals='approvals.db')")
        return self.store

    def list(self, status: Status | None = None) -> list[ApprovalRequest]:
        """Requests, newest first; ``status="pending"`` for those waiting for someone."""
        return self._store().list(status)

    def get(self, request_id: str) -> ApprovalRequest:
        request = self._store().get(request_id)
        if request is None:
            raise ApprovalError(f"no approval request {request_id!r}")
        return request

    def approve(
        self,
        request_id: str,
        *,
        token: str | None = None,
        approver: Principal | None = None,
        note: str | None = None,
    ) -> ApprovalRequest:
        """Grant the request as the approver ``token`` proves (or ``approver``, already
        authenticated by the application). The grant is usable once, for ``ttl``."""
        return self._decide(request_id, "granted", token, approver, note)

    def deny(
        self,
        request_id: str,
        *,
        token: str | None = None,
        approver: Principal | None = None,
        note: str | None = None,
    ) -> ApprovalRequest:
        """Deny the request; the call it is for stays refused (a new request is needed)."""
        return self._decide(request_id, "denied", token, approver, note)

    def _decide(
        self,
        request_id: str,
        status: Status,
        token: str | None,
        approver: Principal | None,
        note: str | None,
    ) -> ApprovalRequest:
        who = self._approver(token, approver)
        request = self.get(request_id)
        try:
            self._check(request, who)
        except ApprovalError as refused:
            self._record(request, "denied", f"approval refused: {refused}", who, "refused")
            raise
        decided = self._store().decide(request_id, status, who.subject, self.clock(), note)
        if decided is None:  # another approver, or the clock, got there first
            raise ApprovalError(_not_pending(self.get(request_id), self.clock()))
        kind = "allowed" if status == "granted" else "denied"
        self._record(decided, kind, f"approval {status} by {who.subject}", who, status)
        return decided

    def _approver(self, token: str | None, approver: Principal | None) -> Principal:
        if (token is None) == (approver is None):
            raise ConfigurationError("give exactly one of token= or approver=")
        if approver is not None:
            return approver
        if self.authenticator is None:
            raise ConfigurationError("approving with a token needs Guard(authenticator=...)")
        assert token is not None
        try:
            return self.authenticator.authenticate(token)
        except GuardrailDenied as exc:
            raise ApprovalError(f"the approver's token was not accepted: {exc.reason}") from None

    def _check(self, request: ApprovalRequest, who: Principal) -> None:
        now = self.clock()
        if request.state(now) != "pending":
            raise ApprovalError(_not_pending(request, now))
        if who.subject == request.subject:
            raise ApprovalError(f"{who.subject} asked for request {request.id}: no self-approval")
        if not Condition.model_validate(request.approvers).matches(who):
            raise ApprovalError(
                f"{who.describe()} is not an approver for rule {request.rule!r} "
                f"(approvers: {request.approvers})"
            )

    def _record(
        self, request: ApprovalRequest, kind: Any, reason: str, who: Principal, event: str
    ) -> None:
        record_approval(self.audit, request, kind, event, reason, who.subject)


def _not_pending(request: ApprovalRequest, now: float) -> str:
    state = request.state(now)
    by = f" by {request.decided_by}" if request.decided_by else ""
    return f"approval request {request.id} is {state}{by}, not pending"
