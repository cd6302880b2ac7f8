"""guardrail: each agent tool call made as a real user, allowed by policy, within budget,
and on the record."""

from guardrail.audit import AuditEvent, ChainLog, SpanEmitter, verify
from guardrail.auth.base import Authenticator, StaticAuthenticator
from guardrail.budgets.limit import Limit
from guardrail.conditions import Condition
from guardrail.errors import (
    ArgumentError,
    AuditError,
    AuthenticationError,
    BackendError,
    BudgetExceeded,
    ConfigurationError,
    GuardrailDenied,
    GuardrailError,
    PermissionDenied,
    PolicyError,
)
from guardrail.guard import Guard
from guardrail.identity import Principal, carry_principal, current_principal
from guardrail.pipeline import current_call, report_cost
from guardrail.policy import Constraint, Decision, Policy, Rule

__all__ = [
    "ArgumentError",
    "AuditError",
    "AuditEvent",
    "AuthenticationError",
    "Authenticator",
    "BackendError",
    "BudgetExceeded",
    "ChainLog",
    "Condition",
    "ConfigurationError",
    "Constraint",
    "Decision",
    "Guard",
    "GuardrailDenied",
    "GuardrailError",
    "Limit",
    "PermissionDenied",
    "Policy",
    "PolicyError",
    "Principal",
    "Rule",
    "SpanEmitter",
    "StaticAuthenticator",
    "carry_principal",
    "current_call",
    "current_principal",
    "report_cost",
    "verify",
]
