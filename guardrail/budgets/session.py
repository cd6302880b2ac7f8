"""Agent-run sessions: what ``per: session`` limits count against.

``with guard.session("run-42"):`` (or ``async with``) tags every guarded call made
in the block, including in asyncio tasks started there, with the session id.
Sessions nest: a call inside ``session("inner")`` inside ``session("outer")`` is
charged to both, so opening a new session per call cannot reset an enclosing
session's limit. Calls outside any session are not counted by ``per: session``
limits (a session is a scope the application opens, not something a principal
can shed).
"""

from __future__ import annotations

import uuid

from guardrail._context import Binding
from guardrail._sessions import current, current_sessions

__all__ = ["SessionScope", "current_session", "current_sessions"]

_current = current
"""The ids of the sessions bound in this context, outermost first."""


def current_session() -> str | None:
    """The id of the innermost session bound in this context, if any."""
    chain = _current.get()
    return chain[-1] if chain else None


class SessionScope(Binding[tuple[str, ...], str]):
    """Binds a session id for a ``with`` or ``async with`` block; yields the id.

    Each entry binds the enclosing sessions plus this one (worked out on entry).
    """

    def __init__(self, session_id: str | None = None) -> None:
        self.id = session_id or uuid.uuid4().hex
        super().__init__(_current, (self.id,))

    def _entry_value(self) -> tuple[str, ...]:
        chain = current_sessions()
        return chain if self.id in chain else (*chain, self.id)

    def _given(self, value: tuple[str, ...]) -> str:
        return self.id
