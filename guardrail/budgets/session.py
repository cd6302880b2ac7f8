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
from types import TracebackType

from guardrail._context import ContextBinding
from guardrail._sessions import current, current_sessions

__all__ = ["SessionScope", "current_session", "current_sessions"]

_current = current
"""The ids of the sessions bound in this context, outermost first."""


def current_session() -> str | None:
    """The id of the innermost session bound in this context, if any."""
    chain = _current.get()
    return chain[-1] if chain else None


class _Nested(ContextBinding[tuple[str, ...]]):
    """Binds the enclosing sessions plus one more, worked out on each entry."""

    def __init__(self, session_id: str) -> None:
        super().__init__(_current, (session_id,))
        self._id = session_id

    def _entry_value(self) -> tuple[str, ...]:
        chain = current_sessions()
        return chain if self._id in chain else (*chain, self._id)


class SessionScope:
    """Binds a session id for a ``with`` or ``async with`` block; yields the id."""

    def __init__(self, session_id: str | None = None) -> None:
        self.id = session_id or uuid.uuid4().hex
        self._binding = _Nested(self.id)

    def __enter__(self) -> str:
        self._binding.__enter__()
        return self.id

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._binding.__exit__(exc_type, exc, tb)

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
