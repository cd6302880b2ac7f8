"""Narrow a tool's JSON schema to what the policy lets one principal call.

The regions come from :meth:`Guard.regions` (one per applicable allow rule, its
operators resolved for the principal), so the schema shown to a user and the
check made on the call come from the same compiled evaluator. The narrowed
schema is conservative: it never admits a value that the call-time check
denies for the arguments it shows (regular-expression dialects aside: the
pattern is the policy's regex anchored as ``^(?:regex)$``). The call is still
checked in full.

=============  ==========================================================
operator       JSON schema
=============  ==========================================================
``eq``/``in``  ``enum`` (intersected with an existing ``enum``)
``min``        ``minimum`` and ``type: number`` (the check needs a number)
``max``        ``maximum`` and ``type: number``
``regex``      ``pattern`` and ``type: string``
``max_length`` ``maxLength`` / ``maxItems`` / ``maxProperties``
``ne``         ``not: {const: ...}``
``not_in``     ``not: {enum: [...]}``
=============  ==========================================================

Several regions become ``anyOf``. An argument a rule constrains must be given
(or have a schema ``default`` that passes), so it is added to ``required``.

.. versionadded:: 0.1
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from guardrail.policy.constraints import MISSING, ResolvedOp, passes
from guardrail.policy.evaluator import Region
from guardrail.policy.operators import json_types
from guardrail.policy.regex import json_schema_pattern
from guardrail.policy.regions import judged_types

__all__ = ["narrow_schema"]

_NUMERIC = ("number", "integer")
_SIZED = ("string", "array", "object")
_SIZE_KEYWORDS = {"maxLength": "string", "maxItems": "array", "maxProperties": "object"}
_MERGED_ONCE = frozenset({"enum", "minimum", "maximum", "maxLength", "maxItems", "maxProperties"})


class _Unsatisfiable(Exception):
    """No value both fits the schema and passes the operators."""


def narrow_schema(
    schema: Mapping[str, Any],
    regions: Sequence[Region],
    exclusions: Sequence[Region] = (),
    *,
    flat: bool = False,
) -> dict[str, Any] | None:
    """``schema`` (an object schema) narrowed to ``regions``; ``None`` when none can be met.

    An empty ``regions`` means the tool is hidden (``None``); a region without
    entries means any arguments. ``exclusions`` are the regions of applicable deny
    rules (``Evaluator.exclusions``): each becomes ``not`` on its argument, or
    ``not: {...}`` under a root ``allOf`` when it names several arguments.

    Combinators are kept on properties where that is exact; only allow rules on
    different arguments need a root ``anyOf``. Some model APIs reject root
    combinators: ``flat=True`` never writes them, showing the first region and
    each exclusion's first argument only (a subset of what may be called, so
    still never more). The input is never modified.
    """
    properties: Mapping[str, Any] = schema.get("properties") or {}
    free_form = "properties" not in schema
    branches: list[_Branch] = []
    for region in regions:
        if not region:
            branches = []
            break
        branch = _branch(properties, region, free_form)
        if branch is None:
            continue
        if branch not in branches:
            branches.append(branch)
    else:
        if not branches:
            return None
    narrowed = copy.deepcopy(dict(schema))
    if len(branches) == 1:
        _apply(narrowed, branches[0])
    elif len(branches) > 1 and len({tuple(b) for b in branches}) == 1 and len(branches[0]) == 1:
        _apply_one_arg(narrowed, next(iter(branches[0])), branches)
    elif branches and flat:
        _apply(narrowed, branches[0])
    elif branches:
        narrowed["anyOf"] = [_as_subschema(branch) for branch in branches]
    for region in exclusions:
        closed = not free_form and schema.get("additionalProperties") is False
        fallible = _fallible(properties, region, closed)
        if not fallible:
            return None  # the deny rule refuses every call this schema admits
        excluded = _excluded(narrowed, properties, fallible)
        if excluded is not None:
            _exclude(narrowed, dict(list(excluded.items())[:1]) if flat else excluded)
    return narrowed


def _fallible(
    properties: Mapping[str, Any], region: Region, closed: bool
) -> dict[str, tuple[ResolvedOp, ...]]:
    """The deny rule's arguments a call can make it fail on, with the operators that can.

    A deny rule applies unless a constraint definitely fails: an argument the
    schema cannot carry, an operand the principal lacks or a type no operator
    judges never makes it fail.
    """
    fallible: dict[str, tuple[ResolvedOp, ...]] = {}
    for arg, ops in region.items():
        known = tuple(op for op in ops if op.value is not MISSING)
        prop = properties.get(arg)
        if not known or (prop is None and closed):
            continue
        if judged_types(known, _types(prop or {})) != ():
            fallible[arg] = known
    return fallible


def _excluded(
    schema: dict[str, Any],
    properties: Mapping[str, Any],
    fallible: Mapping[str, tuple[ResolvedOp, ...]],
) -> _Branch | None:
    """Limit each argument to types its operators judge; the constraints to negate.

    ``None`` when some argument can never pass its constraint: every call the
    narrowed schema admits then escapes the deny rule.
    """
    schema.setdefault("properties", {})
    for arg, ops in fallible.items():
        declared = _types(properties.get(arg) or {})
        judged = judged_types(ops, declared)
        if judged is not None and judged != declared:
            kept = {"type": judged[0] if len(judged) == 1 else list(judged)}
            schema["properties"][arg] = _conjoin(schema["properties"].get(arg, {}), kept)
        if arg not in properties:
            _require(schema, arg)  # an undeclared argument not given cannot be checked: denied
    try:
        return {
            arg: _constrain(properties.get(arg), ops, True) for arg, ops in sorted(fallible.items())
        }
    except _Unsatisfiable:
        return None


_Branch = dict[str, tuple[dict[str, Any], bool]]
"""Argument -> (its constraint subschema, whether it must be given)."""


def _branch(properties: Mapping[str, Any], region: Region, free_form: bool) -> _Branch | None:
    try:
        return {
            arg: _constrain(properties.get(arg), ops, free_form)
            for arg, ops in sorted(region.items())
        }
    except _Unsatisfiable:
        return None


def _exclude(schema: dict[str, Any], branch: _Branch) -> None:
    # A deny rule applies when every argument it names passes its checks. An
    # omitted argument whose default passes would be denied too: require it.
    for arg, (_, must_be_given) in branch.items():
        if not must_be_given:
            _require(schema, arg)
    if len(branch) == 1:
        # not(arg given and passing) == arg, when given, does not pass: say it on the property.
        ((arg, (constraint, _)),) = branch.items()
        schema.setdefault("properties", {})
        schema["properties"][arg] = _conjoin(schema["properties"].get(arg, {}), {"not": constraint})
        return
    props = {arg: constraint for arg, (constraint, _) in branch.items()}
    refused = {"not": {"properties": props, "required": list(branch)}}
    schema["allOf"] = [*schema.get("allOf", []), refused]


def _apply(schema: dict[str, Any], branch: Mapping[str, tuple[dict[str, Any], bool]]) -> None:
    schema.setdefault("properties", {})
    for arg, (constraint, required) in branch.items():
        schema["properties"][arg] = _conjoin(schema["properties"].get(arg, {}), constraint)
        if required:
            _require(schema, arg)


def _apply_one_arg(
    schema: dict[str, Any], arg: str, branches: Sequence[Mapping[str, tuple[dict[str, Any], bool]]]
) -> None:
    # Every region constrains the same single argument: keep the choice on that
    # property, where a model reads it, rather than at the root.
    schema.setdefault("properties", {})
    options = [branch[arg][0] for branch in branches]
    schema["properties"][arg] = _conjoin(schema["properties"].get(arg, {}), {"anyOf": options})
    if any(branch[arg][1] for branch in branches):
        _require(schema, arg)


def _as_subschema(branch: Mapping[str, tuple[dict[str, Any], bool]]) -> dict[str, Any]:
    sub: dict[str, Any] = {"properties": {arg: c for arg, (c, _) in branch.items()}}
    required = [arg for arg, (_, req) in branch.items() if req]
    if required:
        sub["required"] = required
    return sub


def _require(schema: dict[str, Any], arg: str) -> None:
    required = schema.setdefault("required", [])
    if arg not in required:
        required.append(arg)


def _constrain(
    prop: Mapping[str, Any] | None, ops: Sequence[ResolvedOp], free_form: bool
) -> tuple[dict[str, Any], bool]:
    """The constraint subschema for one argument, and whether it must be given."""
    if prop is None and not free_form:
        raise _Unsatisfiable  # the schema does not let the caller give this argument
    prop = prop or {}
    types = _types(prop)
    out: dict[str, Any] = {}
    for op in ops:
        if op.value is MISSING:
            raise _Unsatisfiable
        types = _narrow_types(types, op)
        _add(out, op.op, op.value)
    if types is not None:
        if not types:
            raise _Unsatisfiable
        if types != _types(prop):
            out["type"] = types[0] if len(types) == 1 else list(types)
        for keyword, kind in _SIZE_KEYWORDS.items():
            if kind not in types:
                out.pop(keyword, None)
    _check_feasible(prop, out, types, ops)
    has_default = "default" in prop
    default_ok = has_default and all(passes(op.op, prop["default"], op.value) for op in ops)
    return out, not default_ok


def _types(prop: Mapping[str, Any]) -> tuple[str, ...] | None:
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
    merged = _conjoin(out, extra)
    out.clear()
    out.update(merged)


def _conjoin(prop: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
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
    merged = _conjoin(prop, out)
    low: Any = merged.get("minimum")
    high: Any = merged.get("maximum")
    if "enum" in merged:
        kept = [
            v
            for v in merged["enum"]
            if _type_fits(v, types) and _in_range(v, low, high) and _passes_all(v, ops)
        ]
        if not kept:
            raise _Unsatisfiable
        if kept != merged["enum"]:
            out["enum"] = kept
        return
    for keyword in _SIZE_KEYWORDS:
        if _number(out.get(keyword)) and out[keyword] < 0:
            raise _Unsatisfiable
    if not (_number(low) and _number(high)):
        return  # an open range holds infinitely many values; ne/not_in exclude finitely many
    if low > high:
        raise _Unsatisfiable
    if types == ("integer",):
        first, last = math.ceil(low), math.floor(high)
        excluded = sum(1 for op in ops if op.op == "ne") + sum(
            len(_listed(op.value)) for op in ops if op.op == "not_in"
        )
        if first > last:
            raise _Unsatisfiable
        if last - first + 1 <= excluded and not any(
            _passes_all(v, ops) for v in range(first, last + 1)
        ):
            raise _Unsatisfiable
    elif low == high and not _passes_all(low, ops):
        raise _Unsatisfiable


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
