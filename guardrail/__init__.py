"""guardrail: each agent tool call made as a real user, allowed by policy, within budget,
and on the record."""

from guardrail.approvals import ApprovalRequest, ApprovalStore, SQLiteApprovalStore
from guardrail.audit import AuditEvent, ChainLog, SpanEmitter, verify
from guardrail.auth import (
    Authenticator,
    ClaimMap,
    JWTAuthenticator,
    MultiIssuerAuthenticator,
    StaticAuthenticator,
)
from guardrail.auth.client_auth import ClientSecret, PrivateKeyJWT
from guardrail.auth.exchange import TokenExchange
from guardrail.budgets import (
    BudgetKeeper,
    Ledger,
    MemoryLedger,
    RedisLedger,
    Usage,
    ledger_from_uri,
)
from guardrail.budgets.limit import Limit
from guardrail.call import current_call, report_cost
from guardrail.conditions import Condition
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
from guardrail.policy import Constraint, Decision, Policy, Rule
from guardrail.policy.validate import PolicyWarning

__all__ = [
    "ApprovalError",
    "ApprovalRequest",
    "ApprovalRequired",
    "ApprovalStore",
    "ArgumentError",
    "AuditError",
    "AuditEvent",
    "AuthenticationError",
    "Authenticator",
    "BackendError",
    "BudgetExceeded",
    "BudgetKeeper",
    "ChainLog",
    "ClaimMap",
    "ClientSecret",
    "Condition",
    "ConfigurationError",
    "Constraint",
    "Decision",
    "DelegationRefused",
    "Downstream",
    "Guard",
    "GuardrailDenied",
    "GuardrailError",
    "JWTAuthenticator",
    "Ledger",
    "LedgerUnavailable",
    "Limit",
    "MemoryLedger",
    "MultiIssuerAuthenticator",
    "PermissionDenied",
    "Policy",
    "PolicyError",
    "PolicyWarning",
    "Principal",
    "PrivateKeyJWT",
    "RedisLedger",
    "Rule",
    "SQLiteApprovalStore",
    "SpanEmitter",
    "StaticAuthenticator",
    "TokenExchange",
    "Usage",
    "adownstream_token",
    "carry_principal",
    "current_call",
    "current_principal",
    "downstream_token",
    "ledger_from_uri",
    "report_cost",
    "verify",
]
