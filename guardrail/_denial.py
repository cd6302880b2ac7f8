"""What the model reads when guardrail refuses a call: the reason and what to do next.

Shared by every adapter (exported by :mod:`guardrail.adapters`), so a model reads the
same words whatever framework runs it.
"""

from __future__ import annotations

from typing import Any

from guardrail.errors import (
    ApprovalRequired,
    ArgumentError,
    AuthenticationError,
    BudgetExceeded,
    GuardrailDenied,
)

_PREFIX = "Tool call refused by guardrail"


def denial_text(exc: GuardrailDenied) -> str:
    """A message a model can act on: which rule or budget, and whether to retry."""
    if isinstance(exc, ApprovalRequired):
        return _waiting(exc)
    if isinstance(exc, BudgetExceeded):
        return (
            f"{_PREFIX}: budget {exc.limit!r} ({exc.level} {exc.key}) is used up "
            f"({exc.used:g} of {exc.maximum:g}); {_resets(exc.retry_after)}. "
            "Do not retry before then; tell the user."
        )
    if isinstance(exc, AuthenticationError):
        return (
            f"{_PREFIX}: the user is not authenticated ({exc.reason}). "
            "Do not retry; ask the user to sign in."
        )
    if isinstance(exc, ArgumentError):
        return f"{_PREFIX}: {exc.reason}. Fix the arguments and call again."
    if exc.rule is None:
        return f"{_PREFIX}: {exc.reason}. This user may not do this; tell them, do not retry."
    rule = "" if repr(exc.rule) in exc.reason else f" (rule {exc.rule!r})"
    return (
        f"{_PREFIX}{rule}: {exc.reason}. Do not retry with the same arguments; "
        "use arguments the rule allows, or tell the user it is not permitted."
    )


def denial_details(exc: GuardrailDenied) -> dict[str, Any]:
    """Structured facts for application code (the ``ToolMessage.artifact``)."""
    details: dict[str, Any] = {
        "decision": exc.decision_kind,
        "tool": exc.tool,
        "rule": exc.rule,
        "reason": exc.reason,
        "error": type(exc).__name__,
    }
    if isinstance(exc, ApprovalRequired):
        details["approval_request"] = exc.request_id
    if isinstance(exc, BudgetExceeded):
        details.update(exc.details())
    return details


def _waiting(exc: ApprovalRequired) -> str:
    # Not "do not retry": the identical call is exactly what runs once it is approved.
    if exc.request_id is None:
        return f"{_PREFIX}: {exc.reason}. Tell the user it needs an approval; do not retry."
    return (
        f"{_PREFIX}: {exc.reason}. Tell the user it waits for approval request "
        f"{exc.request_id}; once it is approved, make the identical call again "
        "(any other arguments need a new approval)."
    )


def _resets(retry_after: float | None) -> str:
    if retry_after is None:
        return "it does not reset by itself"
    seconds = max(0.0, retry_after)
    if seconds < 120:
        return f"it resets in {seconds:.0f} s"
    if seconds < 7200:
        return f"it resets in {seconds / 60:.0f} min"
    return f"it resets in {seconds / 3600:.1f} h"
