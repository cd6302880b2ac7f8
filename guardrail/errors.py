"""One exception hierarchy, rooted at :class:`GuardrailError`.

Runtime denials (``PermissionDenied``, ``BudgetExceeded``, ``AuthenticationError``)
share :class:`GuardrailDenied` so an adapter can turn any of them into a tool error
the model can read. Developer mistakes are :class:`ConfigurationError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from guardrail.identity import Principal


class GuardrailError(Exception):
    """Root of every error guardrail raises."""


class ConfigurationError(GuardrailError):
    """The guard, a policy or an adapter was set up wrongly (a developer mistake)."""


class PolicyError(ConfigurationError):
    """A policy file or object is malformed; the message says where."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        rule: str | None = None,
        field: str | None = None,
        kind: str = "rule",
    ) -> None:
        self.source = source
        self.rule = rule
        self.field = field
        where = ", ".join(
            part
            for part in (
                f"file {source}" if source else "",
                f"{kind} {rule!r}" if rule else "",
                f"field {field!r}" if field else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class GuardrailDenied(GuardrailError):
    """A call was refused. ``tool`` and ``principal`` say which and for whom."""

    decision_kind = "denied"

    def __init__(
        self,
        message: str,
        *,
        tool: str | None = None,
        principal: Principal | None = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = message
        self.tool = tool
        self.principal = principal
        self.rule = rule


class AuthenticationError(GuardrailDenied):
    """No principal, or a token that failed verification; ``reason`` says why."""

    decision_kind = "auth_failed"


class PermissionDenied(GuardrailDenied):
    """The policy does not allow this principal to make this call."""

    decision_kind = "denied"


class ApprovalRequired(GuardrailDenied):
    """The call needs a human approval first (an ``approve`` rule matched it).

    ``request_id`` names the pending request an approver can grant
    (``guard.approvals.approve``, ``guardrail approvals approve``); ``None`` when no
    approval store is configured, so none could be made. ``digest`` is the exact
    call the approval will be bound to. Retrying the identical call after the
    grant runs it once.
    """

    decision_kind = "approval_required"

    def __init__(
        self,
        message: str,
        *,
        request_id: str | None,
        digest: str | None = None,
        expires: float | None = None,
        tool: str | None = None,
        principal: Principal | None = None,
        rule: str | None = None,
    ) -> None:
        super().__init__(message, tool=tool, principal=principal, rule=rule)
        self.request_id = request_id
        self.digest = digest
        self.expires = expires


class ApprovalError(GuardrailError):
    """An approval could not be granted or denied (unknown request, not pending,
    approver not authorised, self-approval); the message says which."""


class ArgumentError(GuardrailDenied):
    """The arguments do not fit the tool's signature or type hints."""

    decision_kind = "denied"


class BudgetExceeded(GuardrailDenied):
    """A limit would be exceeded; names the limit, its key and when it resets."""

    decision_kind = "budget_exceeded"

    def __init__(
        self,
        message: str,
        *,
        limit: str,
        level: str,
        key: str,
        used: float,
        maximum: float,
        retry_after: float | None,
        tool: str | None = None,
        principal: Principal | None = None,
    ) -> None:
        super().__init__(message, tool=tool, principal=principal, rule=None)
        self.limit = limit
        self.level = level
        self.key = key
        self.used = used
        self.maximum = maximum
        self.retry_after = retry_after

    def details(self) -> dict[str, Any]:
        return {
            "limit": self.limit,
            "level": self.level,
            "key": self.key,
            "used": self.used,
            "maximum": self.maximum,
            "retry_after": self.retry_after,
        }


class LedgerUnavailable(GuardrailDenied):
    """The budget ledger could not be reached, so the call was refused (fail closed).

    Raised ``from`` the :class:`BackendError`; not a :class:`BudgetExceeded`,
    because no limit was found to be exhausted.
    """

    decision_kind = "denied"


class DelegationRefused(GuardrailDenied):
    """No downstream token for the user: the exchange was refused, failed or fell short.

    ``reason`` says why in words the model can relay (e.g. consent needed for a
    scope); ``audience`` and ``scopes`` say what was asked for, ``error`` is the
    token service's OAuth error code (``unavailable`` when it could not be reached)
    and ``missing_scopes`` the scopes it would not grant. The tool never gets a
    fallback credential.
    """

    decision_kind = "denied"

    def __init__(
        self,
        message: str,
        *,
        audience: str,
        scopes: frozenset[str] = frozenset(),
        error: str | None = None,
        missing_scopes: frozenset[str] = frozenset(),
        tool: str | None = None,
        principal: Principal | None = None,
    ) -> None:
        super().__init__(message, tool=tool, principal=principal, rule=None)
        self.audience = audience
        self.scopes = scopes
        self.error = error
        self.missing_scopes = missing_scopes

    def again(self, tool: str | None = None) -> DelegationRefused:
        """A fresh copy (one raise per waiter), optionally naming the tool."""
        return DelegationRefused(
            self.reason,
            audience=self.audience,
            scopes=self.scopes,
            error=self.error,
            missing_scopes=self.missing_scopes,
            tool=tool or self.tool,
            principal=self.principal,
        )


class BackendError(GuardrailError):
    """A budget store (e.g. Redis) failed; raised from the original exception."""


class AuditError(GuardrailError):
    """An audit record could not be written.

    Before the tool: it did not run (fail closed). After it (``tool_ran`` true):
    the tool did run and its outcome record is missing; do not blindly retry.
    """

    def __init__(self, message: str, *, tool_ran: bool = False) -> None:
        super().__init__(message)
        self.tool_ran = tool_ran
