"""guardrail: each agent tool call made as a real user, allowed by policy, within budget,
and on the record.

The names below are what an application writes. Engine parts (the pipeline steps,
ledger URIs, audit events, verification) are imported from their own modules
(``guardrail.budgets``, ``guardrail.audit``, ``guardrail.policy``, ...), and the
adapter API from :mod:`guardrail.adapters`.

``import guardrail`` loads none of them: each name is imported when first used
(PEP 562), so a process that only needs, say, ``guardrail.errors`` does not pay
for pydantic, OpenTelemetry or the JWT stack.
"""

from __future__ import annotations

from guardrail._lazy import lazy_exports

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing costs more than the rest
if TYPE_CHECKING:
    from guardrail.approvals.sqlite import SQLiteApprovalStore
    from guardrail.audit.chain import ChainLog
    from guardrail.auth.base import Authenticator, StaticAuthenticator
    from guardrail.auth.claims import ClaimMap
    from guardrail.auth.client_auth import ClientSecret, PrivateKeyJWT
    from guardrail.auth.exchange import TokenExchange
    from guardrail.auth.jwt import JWTAuthenticator
    from guardrail.auth.multi import MultiIssuerAuthenticator
    from guardrail.budgets.memory import MemoryLedger
    from guardrail.budgets.redis_ledger import RedisLedger
    from guardrail.call import report_cost
    from guardrail.downstream import Downstream, adownstream_token, downstream_token
    from guardrail.errors import (
        ApprovalError,
        ApprovalRequired,
        ArgumentError,
        AuditError,
        AuthenticationError,
        BackendError,
        BudgetExceeded,
        ConfigurationError,
        DelegationRefused,
        GuardrailDenied,
        GuardrailError,
        LedgerUnavailable,
        PermissionDenied,
        PolicyError,
    )
    from guardrail.guard import Guard
    from guardrail.identity import Principal, carry_principal, current_principal
    from guardrail.policy.policy import Policy
    from guardrail.policy.validate import PolicyWarning

_HOMES: dict[str, str] = {
    "Guard": "guardrail.guard",
    "Policy": "guardrail.policy.policy",
    "PolicyWarning": "guardrail.policy.validate",
    "Principal": "guardrail.identity",
    "carry_principal": "guardrail.identity",
    "current_principal": "guardrail.identity",
    "report_cost": "guardrail.call",
    "Authenticator": "guardrail.auth.base",
    "StaticAuthenticator": "guardrail.auth.base",
    "ClaimMap": "guardrail.auth.claims",
    "JWTAuthenticator": "guardrail.auth.jwt",
    "MultiIssuerAuthenticator": "guardrail.auth.multi",
    "TokenExchange": "guardrail.auth.exchange",
    "ClientSecret": "guardrail.auth.client_auth",
    "PrivateKeyJWT": "guardrail.auth.client_auth",
    "Downstream": "guardrail.downstream",
    "downstream_token": "guardrail.downstream",
    "adownstream_token": "guardrail.downstream",
    "ChainLog": "guardrail.audit.chain",
    "MemoryLedger": "guardrail.budgets.memory",
    "RedisLedger": "guardrail.budgets.redis_ledger",
    "SQLiteApprovalStore": "guardrail.approvals.sqlite",
    **dict.fromkeys(
        [
            "ApprovalError",
            "ApprovalRequired",
            "ArgumentError",
            "AuditError",
            "AuthenticationError",
            "BackendError",
            "BudgetExceeded",
            "ConfigurationError",
            "DelegationRefused",
            "GuardrailDenied",
            "GuardrailError",
            "LedgerUnavailable",
            "PermissionDenied",
            "PolicyError",
        ],
        "guardrail.errors",
    ),
}
"""Where each public name lives (imported on first use)."""

__all__ = [
    "ApprovalError",
    "ApprovalRequired",
    "ArgumentError",
    "AuditError",
    "AuthenticationError",
    "Authenticator",
    "BackendError",
    "BudgetExceeded",
    "ChainLog",
    "ClaimMap",
    "ClientSecret",
    "ConfigurationError",
    "DelegationRefused",
    "Downstream",
    "Guard",
    "GuardrailDenied",
    "GuardrailError",
    "JWTAuthenticator",
    "LedgerUnavailable",
    "MemoryLedger",
    "MultiIssuerAuthenticator",
    "PermissionDenied",
    "Policy",
    "PolicyError",
    "PolicyWarning",
    "Principal",
    "PrivateKeyJWT",
    "RedisLedger",
    "SQLiteApprovalStore",
    "StaticAuthenticator",
    "TokenExchange",
    "adownstream_token",
    "carry_principal",
    "current_principal",
    "downstream_token",
    "report_cost",
]


__getattr__ = lazy_exports(__name__, _HOMES, globals())


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
