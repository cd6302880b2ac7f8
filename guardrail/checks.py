"""The checks every call passes before its tool runs."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from guardrail.call import Call
from guardrail.errors import ApprovalRequired, AuthenticationError, PermissionDenied
from guardrail.identity import Principal
from guardrail.policy.decision import Decision
from guardrail.policy.policy import Policy

if TYPE_CHECKING:
    from guardrail.approvals.gate import ApprovalGate
    from guardrail.approvals.model import ApprovalRequest
    from guardrail.tools import ToolSpec


class PolicyChecker:
    """Asks the compiled policy; no principal and no anonymous rule fails as authentication.

    A call an ``approve`` rule holds goes to ``approvals`` (the gate consumes a
    grant for exactly that call, or files a request and refuses); without a gate
    it is refused with :class:`ApprovalRequired` and no request.
    """

    def __init__(self, policy: Policy, approvals: ApprovalGate | None = None) -> None:
        self.policy = policy
        self.approvals = approvals
        # Only a gate redeeming approvals does I/O; otherwise aenter is enter.
        self.awaits = approvals is not None and any(rule.approve for rule in policy.rules)

    def enter(self, call: Call) -> None:
        if self.judge(call):
            self._gate(call).redeem(call, self.policy)

    async def aenter(self, call: Call) -> None:
        if self.judge(call):
            await self._gate(call).aredeem(call, self.policy)

    def approval(self, call: Call) -> ApprovalRequest | None:
        """For a call an approve rule holds: its grant or pending request (see
        :meth:`ApprovalGate.find`); ``None`` when the call is not held. Runs nothing."""
        return self._gate(call).find(call, self.policy) if self.judge(call) else None

    def _gate(self, call: Call) -> ApprovalGate:
        if self.approvals is None:
            rule = call.decision.rule if call.decision is not None else None
            raise ApprovalRequired(
                f"rule {rule!r} requires a human approval for {call.tool.name!r}, and the "
                "guard has no approval store to ask for one (Guard(approvals=...))",
                request_id=None,
                tool=call.tool.name,
                principal=call.principal,
                rule=rule,
            )
        return self.approvals

    def judge(self, call: Call) -> bool:
        """Decide ``call`` (setting ``call.decision``) with no I/O: raise a refusal,
        return ``True`` when an approve rule holds it, ``False`` when it is allowed."""
        tool, principal = call.tool, call.principal
        if principal is not None:
            _check_principal(tool, principal, call)
        if tool.expose == "skill":
            return self._skill_step(call)
        decision = self.policy.evaluator.decide(tool.name, principal, call.args)
        call.decision = decision
        if decision.allowed:
            return False
        if decision.approval and principal is not None:
            return True
        if principal is None:
            raise AuthenticationError(
                f"no principal for {tool.name!r}: call it inside guard.acting_as(...) "
                "(no anonymous rule applies)",
                tool=tool.name,
            )
        raise PermissionDenied(
            f"{principal.describe()} may not call {tool.name!r}: {decision.reason}",
            tool=tool.name,
            principal=principal,
            rule=decision.rule,
        )

    def _skill_step(self, call: Call) -> bool:
        # A skill was authorized as a whole; its internal steps need no rule of
        # their own, but are refused to anyone calling them directly. A rule
        # written about a step is still enforced: deny refuses it, approve holds it.
        parent = call.parent
        if parent is None or not parent.tool.skill:
            call.decision = Decision(False, None, f"{call.tool.name!r} runs only inside a skill")
            raise PermissionDenied(
                f"{call.tool.name!r} can only be called from inside a skill",
                tool=call.tool.name,
                principal=call.principal,
            )
        denial = self.policy.evaluator.denial(call.tool.name, call.principal, call.args)
        if denial is not None:  # deny beats allow, inside a skill too
            call.decision = denial
            raise PermissionDenied(
                f"{_who(call.principal)} may not call {call.tool.name!r}: {denial.reason}",
                tool=call.tool.name,
                principal=call.principal,
                rule=denial.rule,
            )
        held = self.policy.evaluator.decide(call.tool.name, call.principal, call.args)
        if held.approval:
            call.decision = held
            if call.principal is None:  # nobody to file a request for: fail closed
                raise AuthenticationError(
                    f"{call.tool.name!r} needs an approval: call it inside guard.acting_as(...)",
                    tool=call.tool.name,
                )
            return True
        rule = parent.decision.rule if parent.decision else None
        call.decision = Decision(True, rule, f"step of skill {parent.tool.name!r}")
        return False

    def exit(self, call: Call) -> None:
        pass


def _check_principal(tool: ToolSpec, principal: Principal, call: Call) -> None:
    """Refuse a principal whose token expired, or who lacks one of the tool's scopes."""
    expires = principal.expires_at
    if expires is not None and expires <= time.time():
        raise AuthenticationError(
            f"the token of {principal.describe()} expired during acting_as(...)",
            tool=tool.name,
            principal=principal,
        )
    if not tool.scopes <= principal.scopes:
        missing = ", ".join(sorted(tool.scopes - principal.scopes))
        call.decision = Decision(False, None, f"{tool.name!r} needs scope(s) {missing}")
        raise PermissionDenied(
            f"{principal.describe()} may not call {tool.name!r}: missing scope(s) {missing}",
            tool=tool.name,
            principal=principal,
        )


def _who(principal: Principal | None) -> str:
    return principal.describe() if principal is not None else "an anonymous caller"
