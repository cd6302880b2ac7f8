"""``Binding``: a value bound in a ContextVar for a ``with`` / ``async with`` block."""

from __future__ import annotations

import contextvars
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Y = TypeVar("Y")


# The reset tokens of the bindings entered in the current context, innermost last.
# Kept per context (not on the binding object) so that one ``acting_as(...)`` object
# entered from two threads or tasks at once restores each one's own value.
_entered: contextvars.ContextVar[tuple[tuple[int, contextvars.Token[Any]], ...]] = (
    contextvars.ContextVar("guardrail_bindings", default=())
)


class Binding(Generic[T, Y]):
    """Sets ``var`` to ``value`` on entry, restores the previous value on exit.

    The block gets what :meth:`_given` makes of the bound value (type ``Y``).
    Asyncio tasks created inside the block see the value; threads do not. One
    object may be entered again (nested) and from several threads or tasks.
    """

    def __init__(self, var: contextvars.ContextVar[T | None], value: T) -> None:
        self._var = var
        self._value = value

    def __enter__(self) -> Y:
        value = self._entry_value()
        token = self._var.set(value)
        _entered.set((*_entered.get(), (id(self), token)))
        return self._given(value)

    def _entry_value(self) -> T:
        """The value to bind on this entry (a subclass may derive it from the current one)."""
        return self._value

    def _given(self, value: T) -> Y:
        """What the ``with`` block gets for the bound ``value``."""
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack = _entered.get()
        for index in range(len(stack) - 1, -1, -1):
            if stack[index][0] == id(self):
                _entered.set(stack[:index] + stack[index + 1 :])
                self._var.reset(stack[index][1])
                return
        raise RuntimeError("exit of a guardrail context binding that was not entered here")

    async def __aenter__(self) -> Y:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class ContextBinding(Binding[T, T]):
    """A :class:`Binding` whose block gets the bound value itself."""

    def _given(self, value: T) -> T:
        return value
