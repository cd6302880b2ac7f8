"""The checks every call passes before its tool runs."""

from __future__ import annotations

from guardrail.errors import AuthenticationError, PermissionDenied
from guardrail.pipeline import Call
from guardrail.policy.decision import Decision
from guardrail.policy.policy import Policy


class PolicyChecker:
    """Asks the compiled policy; no principal and no anonymous rule fails as authentication."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def enter(self, call: Call) -> None:
        tool, principal = call.tool, call.principal
        if principal is not None and not tool.scopes <= principal.scopes:
            missing = ", ".join(sorted(tool.scopes - principal.scopes))
            call.decision = Decision(False, None, f"{tool.name!r} needs scope(s) {missing}")
            raise PermissionDenied(
                f"{principal.describe()} may not call {tool.name!r}: missing scope(s) {missing}",
                tool=tool.name,
                principal=principal,
            )
        decision = self.policy.evaluator.decide(tool.name, principal, call.args)
        call.decision = decision
        if decision.allowed:
            return
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

    def exit(self, call: Call, error: BaseException | None) -> None:
        pass
