"""Agent-run sessions: what ``per: session`` limits count against.

``with guard.session("run-42"):`` (or ``async with``) tags every guarded call made
in the block, including in asyncio tasks started there, with the session id. Calls
outside any session are not counted by ``per: session`` limits.
"""

from __future__ import annotations

import contextvars
import uuid
from types import TracebackType

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "guardrail_session", default=None
)


def current_session() -> str | None:
    """The id of the innermost session bound in this context, if any."""
    return _current.get()


class SessionScope:
    """Binds a session id for a ``with`` or ``async with`` block; yields the id."""

    def __init__(self, session_id: str | None = None) -> None:
        self.id = session_id or uuid.uuid4().hex
        self._tokens: list[contextvars.Token[str | None]] = []

    def __enter__(self) -> str:
        self._tokens.append(_current.set(self.id))
        return self.id

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _current.reset(self._tokens.pop())

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
