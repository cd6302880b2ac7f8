"""What the model reads when guardrail refuses a CrewAI tool call: the observation text.

CrewAI hands a tool's result (or its error message) back to the model as the
next ``Observation:``; the agent loop goes on. A refusal is that text.
"""

from __future__ import annotations

from guardrail import ArgumentError, AuthenticationError, BudgetExceeded, GuardrailDenied

_PREFIX = "Tool call refused by guardrail"


def denial_text(exc: GuardrailDenied) -> str:
    """A message a model can act on: which rule or budget, and whether to retry."""
    if isinstance(exc, BudgetExceeded):
        when = "it does not reset by itself"
        if exc.retry_after is not None:
            when = f"it resets in {max(0.0, exc.retry_after):.0f} s"
        return (
            f"{_PREFIX}: budget {exc.limit!r} is used up ({exc.used:g} of {exc.maximum:g}); "
            f"{when}. Do not retry before then; tell the user."
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
    return (
        f"{_PREFIX} (rule {exc.rule!r}): {exc.reason}. Do not retry with the same "
        "arguments; use arguments the rule allows, or tell the user it is not permitted."
    )
