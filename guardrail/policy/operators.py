"""The operators, three-valued: a constraint holds, fails, or cannot be evaluated.

A value the operator cannot judge (the wrong type, NaN, a non-plain object, an
absent argument, a ``$principal`` reference the caller lacks) is ``UNKNOWN``.
An allow rule needs every constraint to hold; a deny rule applies unless some
constraint definitely fails. So no value "errors into allow".

Values are compared as plain JSON-like data (:func:`plain`): a ``str`` subclass
is read as the characters it holds, never through its own ``__eq__``.
"""

from __future__ import annotations

from typing import Any, Final

from guardrail._plain import MISSING, kind, plain, same
from guardrail.policy.regex import Regex

__all__ = ["MISSING", "UNKNOWN", "evaluate", "json_types", "kind", "passes", "plain"]

UNKNOWN: Final = None
"""The third truth value (``True`` holds, ``False`` fails)."""

_NUMBER_TYPES = ("number", "integer")
_SIZED_TYPES = ("string", "array", "object")


def _kinds(operand: Any) -> frozenset[str] | None:
    """The kinds a value compared with ``operand`` (eq/ne) may have; ``None``: any."""
    if operand is None:
        return None
    return frozenset({kind(operand)})


def _member_kinds(operand: Any) -> frozenset[str] | None:
    items = operand if isinstance(operand, list) else ()
    if any(item is None for item in items) or not items:
        return None
    return frozenset(kind(item) for item in items)


def json_types(op: str, operand: Any) -> tuple[str, ...] | None:
    """JSON schema types of the values ``op`` can judge (``None``: any type)."""
    if op in ("min", "max"):
        return _NUMBER_TYPES
    if op == "regex":
        return ("string",)
    if op == "max_length":
        return _SIZED_TYPES
    operand = plain(operand)
    kinds = _kinds(operand) if op in ("eq", "ne") else _member_kinds(operand)
    if kinds is None:
        return None
    types = [t for t in ("string", "boolean", "null", "array", "object") if t in kinds]
    return (*types, *_NUMBER_TYPES) if "number" in kinds else tuple(types)


def evaluate(op: str, value: Any, operand: Any) -> bool | None:
    """``True``/``False`` for one operator, or ``UNKNOWN`` (see the module docstring).

    ``value`` must already be plain (:func:`plain`); ``operand`` is the resolved
    operand (a compiled :class:`Regex` for ``regex``).
    """
    if value is MISSING or operand is MISSING:
        return UNKNOWN
    if op == "regex":
        return operand.fullmatch(value) if isinstance(value, str) else UNKNOWN
    operand = plain(operand)
    if operand is MISSING:
        return UNKNOWN
    if op in ("min", "max"):
        if not (_number(value) and _number(operand)):
            return UNKNOWN
        return bool(value >= operand) if op == "min" else bool(value <= operand)
    if op == "max_length":
        if not isinstance(value, str | list | dict) or not _number(operand):
            return UNKNOWN
        return bool(len(value) <= operand)
    if op in ("eq", "ne"):
        allowed = _kinds(operand)
        if allowed is not None and kind(value) not in allowed:
            return UNKNOWN
        return (value == operand) is (op == "eq")
    return _membership(op, value, operand)


def _membership(op: str, value: Any, operand: Any) -> bool | None:
    if not isinstance(operand, list):
        return UNKNOWN  # a reference that resolved to something other than a list
    allowed = _member_kinds(operand)
    if allowed is not None and kind(value) not in allowed:
        return UNKNOWN
    found = any(same(value, item) for item in operand)
    return found if op == "in" else not found


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def passes(op: str, value: Any, operand: Any) -> bool:
    """Whether ``value`` definitely satisfies ``op`` (schema narrowing asks this)."""
    if op == "regex" and isinstance(operand, str):
        operand = Regex(operand)
    return evaluate(op, plain(value), operand) is True
