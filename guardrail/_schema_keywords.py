"""JSON-schema keywords for one argument's policy operators (:mod:`guardrail.schema`).

:func:`constrain` turns the operators a rule puts on one argument into schema
keywords (``enum``, ``minimum``, ``pattern``, ...), merged with what the tool's
own schema says by :func:`conjoin`, and raises :class:`Unsatisfiable` when no
value can pass (exact for enums and numeric ranges; a regex is assumed
satisfiable).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from guardrail.policy.constraints import MISSING, ResolvedOp, passes
from guardrail.policy.operators import json_types
from guardrail.policy.regex import json_schema_pattern

__all__ = ["Unsatisfiable", "conjoin", "constrain", "declared_types"]

_NUMERIC = ("number", "integer")
_SIZED = ("string", "array", "object")
_SIZE_KEYWORDS = {"maxLength": "string", "maxItems": "array", "maxProperties": "object"}
_MERGED_ONCE = frozenset({"enum", "minimum", "maximum", "maxLength", "maxItems", "maxProperties"})


class Unsatisfiable(Exception):
    """No value both fits the schema and passes the operators."""


def constrain(
    prop: Mapping[str, Any] | None, ops: Sequence[ResolvedOp], free_form: bool
) -> tuple[dict[str, Any], bool]:
    """The constraint subschema for one argument, and whether it must be given."""
    if prop is None and not free_form:
        raise Unsatisfiable  # the schema does not let the caller give this argument
    prop = prop or {}
    types = declared_types(prop)
    out: dict[str, Any] = {}
    for op in ops:
        if op.value is MISSING:
            raise Unsatisfiable
        types = _narrow_types(types, op)
        _add(out, op.op, op.value)
    if types is not None:
        if not types:
            raise Unsatisfiable
        if types != declared_types(prop):
            out["type"] = types[0] if len(types) == 1 else list(types)
        for keyword, kind in _SIZE_KEYWORDS.items():
            if kind not in types:
                out.pop(keyword, None)
    _check_feasible(prop, out, types, ops)
    has_default = "default" in prop
    default_ok = has_default and all(passes(op.op, prop["default"], op.value) for op in ops)
    return out, not default_ok


def declared_types(prop: Mapping[str, Any]) -> tuple[str, ...] | None:
    declared = prop.get("type")
    if declared is None:
        return None
    return (declared,) if isinstance(declared, str) else tuple(declared)


def _narrow_types(types: tuple[str, ...] | None, op: ResolvedOp) -> tuple[str, ...] | None:
    """``types`` cut to what ``op`` can judge: a value of another type is never allowed."""
    allowed = None if op.op in ("eq", "in") else json_types(op.op, op.value)  # enum is exact
    if allowed is None:
        return types
    if types is None:
        return ("number",) if allowed == _NUMERIC else _json_types(allowed)
    return tuple(t for t in types if t in allowed)


def _json_types(types: tuple[str, ...]) -> tuple[str, ...]:
    # "number" admits integers: listing both would only repeat it.
    return tuple(t for t in types if t != "integer" or "number" not in types)


def _add(out: dict[str, Any], op: str, value: Any) -> None:
    if op in ("eq", "in"):
        values = [value] if op == "eq" else _listed(value)
        _merge(out, {"enum": values})
    elif op == "min":
        _merge(out, {"minimum": value})
    elif op == "max":
        _merge(out, {"maximum": value})
    elif op == "regex":
        _merge(out, {"pattern": json_schema_pattern(value)})
    elif op == "max_length":
        _merge(out, {"maxLength": value, "maxItems": value, "maxProperties": value})
    elif op == "ne":
        _merge(out, {"not": {"const": _jsonable(value)}})
    elif op == "not_in":
        _merge(out, {"not": {"enum": _listed(value)}})


def _listed(value: Any) -> list[Any]:
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
        return []  # the check's "in" never passes for a non-collection operand
    items = [_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        items.sort(key=repr)
    unique: list[Any] = []
    for item in items:
        if not any(_same(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    # JSON schema tells 1 from true (Python's == does not) but not 1 from 1.0.
    if _number(a) and _number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _merge(out: dict[str, Any], extra: Mapping[str, Any]) -> None:
    merged = conjoin(out, extra)
    out.clear()
    out.update(merged)


def conjoin(prop: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``prop`` AND ``extra``: tightest bound per keyword, the rest under ``allOf``."""
    result = dict(prop)
    for key, value in extra.items():
        if key not in result:
            result[key] = value
        elif key == "enum":
            result[key] = [v for v in result[key] if any(_same(v, w) for w in value)]
        elif key == "minimum":
            result[key] = max(result[key], value)
        elif key in _MERGED_ONCE:
            result[key] = min(result[key], value)
        elif key == "type":
            result[key] = value
        else:
            result["allOf"] = [*result.get("allOf", []), {key: value}]
    return result


def _check_feasible(
    prop: Mapping[str, Any],
    out: dict[str, Any],
    types: tuple[str, ...] | None,
    ops: Sequence[ResolvedOp],
) -> None:
    """Raise when no value fits: exact for enums and numeric ranges, regex assumed."""
    merged = conjoin(prop, out)
    low: Any = merged.get("minimum")
    high: Any = merged.get("maximum")
    if "enum" in merged:
        kept = [
            v
            for v in merged["enum"]
            if _type_fits(v, types) and _in_range(v, low, high) and _passes_all(v, ops)
        ]
        if not kept:
            raise Unsatisfiable
        if kept != merged["enum"]:
            out["enum"] = kept
        return
    for keyword in _SIZE_KEYWORDS:
        if _number(out.get(keyword)) and out[keyword] < 0:
            raise Unsatisfiable
    if not (_number(low) and _number(high)):
        return  # an open range holds infinitely many values; ne/not_in exclude finitely many
    if low > high:
        raise Unsatisfiable
    if types == ("integer",):
        _check_integers(low, high, ops)
    elif low == high and not _passes_all(low, ops):
        raise Unsatisfiable


def _check_integers(low: Any, high: Any, ops: Sequence[ResolvedOp]) -> None:
    """Raise when ``ne``/``not_in`` exclude every integer in ``[low, high]``."""
    first, last = math.ceil(low), math.floor(high)
    excluded = sum(1 for op in ops if op.op == "ne") + sum(
        len(_listed(op.value)) for op in ops if op.op == "not_in"
    )
    if first > last:
        raise Unsatisfiable
    if last - first + 1 <= excluded and not any(
        _passes_all(v, ops) for v in range(first, last + 1)
    ):
        raise Unsatisfiable


def _in_range(value: Any, low: Any, high: Any) -> bool:
    if not _number(value):
        return True
    return not (_number(low) and value < low) and not (_number(high) and value > high)


def _passes_all(value: Any, ops: Sequence[ResolvedOp]) -> bool:
    return all(passes(op.op, value, op.value) for op in ops)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _type_fits(value: Any, types: tuple[str, ...] | None) -> bool:
    if types is None:
        return True
    return any(_TYPE_CHECKS.get(t, _anything)(value) for t in types)


def _anything(value: Any) -> bool:
    return True


_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: _number(v) and float(v).is_integer(),
    "number": _number,
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}
