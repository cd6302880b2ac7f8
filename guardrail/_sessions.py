"""The sessions bound in this context (a leaf module: ``guardrail.call`` reads it)."""

from __future__ import annotations

import contextvars

current: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "guardrail_session", default=None
)
"""The ids of the sessions bound in this context, outermost first."""


def current_sessions() -> tuple[str, ...]:
    """The ids of every session bound in this context, outermost first."""
    return current.get() or ()
