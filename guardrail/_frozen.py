"""Read-only copies of JSON-like data (a leaf module: ``guardrail.identity`` uses it).

A principal's ``attributes`` are decided on once per principal object (the policy's
and the budgets' memos key on it), so they must not change in place afterwards.
:func:`frozen` copies them into dicts and lists that refuse every mutation, yet
are still ``dict`` and ``list`` (equal to plain ones, serialized by json, orjson
and pydantic as they are); sets become frozensets,
tuples are copied with their items frozen.
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["FrozenDict", "FrozenList", "frozen"]


def _refuse(self: object, *args: Any, **kwargs: Any) -> NoReturn:
    raise TypeError(f"{type(self).__name__} is read-only: a principal's attributes never change")


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses changes (copy it to get a mutable one)."""

    __slots__ = ()
    __setitem__ = __delitem__ = __ior__ = _refuse
    update = pop = popitem = clear = setdefault = _refuse

    def __reduce__(self) -> tuple[Any, ...]:  # copy, deepcopy, pickle: rebuilt whole
        return (FrozenDict, (dict(self),))


class FrozenList(list[Any]):
    """A ``list`` that refuses changes."""

    __slots__ = ()
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self),))


def frozen(value: Any) -> Any:
    """``value`` with every dict, list and set in it copied into a read-only one."""
    if isinstance(value, dict):
        return FrozenDict({key: frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return FrozenList(frozen(item) for item in value)
    if isinstance(value, set):
        return frozenset(frozen(item) for item in value)
    if type(value) is tuple:
        return tuple(frozen(item) for item in value)
    return value
