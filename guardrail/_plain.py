"""Plain values: what policies compare, whatever object a caller passed.

A leaf module (no guardrail imports) so conditions and the policy evaluator share it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

MISSING: Any = object()
"""An absent argument, an unresolvable reference or a value that cannot be judged."""


def plain(value: Any) -> Any:
    """``value`` as plain data (str, int, float, bool, None, list, dict), or ``MISSING``.

    Subclasses of the builtins become the builtin (through the base type's own
    conversion, so an overridden ``__str__`` or ``__eq__`` plays no part); NaN
    and objects that are not JSON-like cannot be judged.
    """
    cls = type(value)
    if cls is str or cls is bool or cls is int or value is None:
        return value
    if cls is float:
        return MISSING if math.isnan(value) else value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        converted = float.__float__(value)
        return MISSING if math.isnan(converted) else converted
    if isinstance(value, list | tuple):
        items = [plain(item) for item in value]
        return MISSING if any(item is MISSING for item in items) else items
    if isinstance(value, Mapping):
        return _plain_mapping(value)
    return MISSING


def _plain_mapping(value: Mapping[Any, Any]) -> Any:
    out: dict[str, Any] = {}
    for key, item in value.items():
        key, item = plain(key), plain(item)
        if not isinstance(key, str) or item is MISSING:
            return MISSING
        out[key] = item
    return out


def kind(value: Any) -> str:
    """The JSON type of a plain value (``number`` for int and float, not bool)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def same(a: Any, b: Any) -> bool:
    """Equal plain values of the same kind (``True`` is not ``1``)."""
    return kind(a) == kind(b) and bool(a == b)
