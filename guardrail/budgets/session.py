"""Agent-run sessions: what ``per: session`` limits count against.

``with guard.session("run-42"):`` (or ``async with``) tags every guarded call made
in the block, including in asyncio tasks started there, with the session id. Calls
outside any session are not counted by ``per: session`` limits.
"""

from __future__ import annotations

import contextvars
import uuid

from guardrail._context import ContextBinding

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "guardrail_session", default=None
)


def current_session() -> str | None:
    """The id of the innermost session bound in this context, if any."""
    return _current.get()


class SessionScope(ContextBinding[str]):
    """Binds a session id for a ``with`` or ``async with`` block; yields the id."""

    def __init__(self, session_id: str | None = None) -> None:
        self.id = session_id or uuid.uuid4().hex
        super().__init__(_current, self.id)
