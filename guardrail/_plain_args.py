"""Parameters annotated with a plain type (``str``, ``int``, ``float``, ``bool``): a value of
exactly that type validates to itself, so the binder can skip pydantic for it."""

from __future__ import annotations

import inspect
import math
import operator
from typing import Any

_PLAIN_TYPES = {t: t for t in (str, int, float, bool)} | {
    t.__name__: t for t in (str, int, float, bool)
}
"""Annotations for which a value of exactly that type validates to itself (also as the
strings that ``from __future__ import annotations`` leaves, which name the builtins)."""


def exactly(args: tuple[Any, ...], kinds: tuple[type, ...], floats: tuple[int, ...]) -> bool:
    """``args`` are one value of exactly each type (``is``: a subclass or a metaclass that
    lies in ``==`` does not pass), the floats finite."""
    if len(args) != len(kinds) or not all(map(operator.is_, map(type, args), kinds)):
        return False
    for i in floats:  # noqa: SIM110 - a loop: all(<genexpr>) makes a generator per call
        if not -math.inf < args[i] < math.inf:  # NaN compares False too
            return False
    return True


def plain_fields(
    params: list[inspect.Parameter],
) -> tuple[tuple[str, ...], tuple[type, ...], tuple[str, ...]] | None:
    """Field names and their types when every field is annotated with a plain type, and
    the names of the ``float`` fields (whose values must also be finite)."""
    fields = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not all(_hashable(p.annotation) and p.annotation in _PLAIN_TYPES for p in fields):
        return None
    kinds = tuple(_PLAIN_TYPES[p.annotation] for p in fields)
    floats = tuple(p.name for p, kind in zip(fields, kinds, strict=True) if kind is float)
    return tuple(p.name for p in fields), kinds, floats


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
