"""``ContextBinding``: a value bound in a ContextVar for a ``with`` / ``async with`` block."""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class ContextBinding(Generic[T]):
    """Sets ``var`` to ``value`` on entry, restores the previous value on exit; yields ``value``.

    Asyncio tasks created inside the block see the value; threads do not. Each
    entry keeps its own reset token, so one object may be entered again, nested.
    """

    def __init__(self, var: contextvars.ContextVar[T | None], value: T) -> None:
        self._var = var
        self._value = value
        self._tokens: list[contextvars.Token[T | None]] = []

    def __enter__(self) -> T:
        self._tokens.append(self._var.set(self._value))
        return self._value

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._var.reset(self._tokens.pop())

    async def __aenter__(self) -> T:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)
