"""``ApprovalGate``: the policy step's approval half.

When an ``approve`` rule holds a call, the :class:`~guardrail.checks.PolicyChecker`
hands it here. The gate binds the call to its digest and consumes one grant for
exactly that digest (atomically, in the store): the call then runs, allowed by
the rule and the approver. Without a grant it files a request (or finds the
pending one for the same call) and refuses with :class:`ApprovalRequired`
naming it. Each request and each use of a grant is an audit record naming the
digest and the approver.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticSerializationError

from guardrail._ids import new_id
from guardrail.approvals.canonical import call_digest
from guardrail.approvals.model import ApprovalRequest
from guardrail.approvals.records import record_approval
from guardrail.approvals.store import ApprovalStore
from guardrail.errors import ApprovalRequired, ArgumentError
from guardrail.policy.decision import Decision

if TYPE_CHECKING:
    from guardrail.audit.trail import AuditTrail
    from guardrail.call import Call
    from guardrail.identity import Principal
    from guardrail.policy.model import Rule
    from guardrail.policy.policy import Policy

DEFAULT_TTL = 3600.0


class ApprovalGate:
    """Turns a held call into a consumed grant, or a pending request and a refusal."""

    def __init__(
        self, store: ApprovalStore, audit: AuditTrail, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.audit = audit
        self.clock = clock

    def redeem(self, call: Call, policy: Policy) -> None:
        """Allow ``call`` on a grant for exactly it, else raise :class:`ApprovalRequired`."""
        decision, principal = call.decision, call.principal
        assert decision is not None and decision.rule is not None and principal is not None
        digest = digest_of(call, principal, policy)
        now = self.clock()
        grant = self.store.consume(digest, call.call_id, now)
        if grant is not None:
            call.decision = Decision(
                True, decision.rule, f"approved by {grant.decided_by} (request {grant.id})"
            )
            self._record("allowed", "consumed", grant, call_id=call.call_id)
            return
        request = self._pending(call, principal, digest, policy, now)
        raise ApprovalRequired(
            f"{decision.reason}: approval request {request.id} is pending "
            f"(approvers: {_who(request.approvers)}); once it is granted, make the "
            "identical call again",
            request_id=request.id,
            digest=digest,
            expires=request.expires,
            tool=call.tool.name,
            principal=principal,
            rule=decision.rule,
        )

    def find(self, call: Call, policy: Policy) -> ApprovalRequest:
        """The unused grant for exactly ``call``, else its pending request (filed now if
        there is none). Nothing is consumed: a framework asks this before it pauses."""
        principal = call.principal
        assert principal is not None
        digest = digest_of(call, principal, policy)
        now = self.clock()
        for request in self.store.list("granted"):
            if request.digest == digest and not request.expired(now):
                return request
        return self._pending(call, principal, digest, policy, now)

    def _pending(
        self, call: Call, principal: Principal, digest: str, policy: Policy, now: float
    ) -> ApprovalRequest:
        decision = call.decision
        assert decision is not None and decision.rule is not None
        rule = _rule(policy, decision.rule)
        wanted = self._new_request(call, principal, rule, digest, policy.digest, now)
        request = self.store.request(wanted, now)
        if request.id == wanted.id:
            self._record("approval_required", "requested", request)
        return request

    async def aredeem(self, call: Call, policy: Policy) -> None:
        # The store and the audit sinks do blocking I/O: off the event loop.
        await asyncio.to_thread(self.redeem, call, policy)

    def _new_request(
        self,
        call: Call,
        principal: Principal,
        rule: Rule,
        digest: str,
        policy_digest: str,
        now: float,
    ) -> ApprovalRequest:
        ttl = rule.ttl if rule.ttl is not None else DEFAULT_TTL
        assert rule.approvers is not None
        return ApprovalRequest(
            id=new_id(),
            digest=digest,
            tool=call.tool.name,
            subject=principal.subject,
            rule=rule.id,
            approvers=rule.approvers.model_dump(mode="json", exclude_defaults=True),
            args=self.audit.redactor.arguments(call.args, call.tool.redact),
            reason=call.decision.reason if call.decision is not None else "",
            policy=policy_digest,
            ttl=ttl,
            created=now,
            expires=now + ttl,
        )

    def _record(self, kind: Any, event: str, request: ApprovalRequest, **extra: Any) -> None:
        reason = f"approval {event}"
        record_approval(self.audit, request, kind, event, reason, request.decided_by, **extra)


def digest_of(call: Call, principal: Principal, policy: Policy) -> str:
    """The call's approval digest; arguments with no JSON form cannot be approved."""
    try:
        return call_digest(principal, call.tool, call.args, policy.digest)
    except (ValueError, PydanticSerializationError) as exc:
        raise ArgumentError(
            f"{call.tool.name!r} cannot be approved: {exc}",
            tool=call.tool.name,
            principal=principal,
        ) from None


def _rule(policy: Policy, rule_id: str) -> Rule:
    for rule in policy.rules:
        if rule.id == rule_id:
            return rule
    raise LookupError(f"no rule {rule_id!r} in the policy")  # the evaluator named it: a bug


def _who(approvers: dict[str, Any]) -> str:
    parts = [
        f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}" for k, v in approvers.items()
    ]
    return "; ".join(parts) or "anyone authorised"
