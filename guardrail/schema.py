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
from collections.abc import Mapping, Sequence
from typing import Any

from guardrail._schema_keywords import Unsatisfiable, conjoin, constrain, declared_types
from guardrail.policy.constraints import MISSING, ResolvedOp
from guardrail.policy.evaluator import Region
from guardrail.policy.regions import judged_types

__all__ = ["narrow_schema"]


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
    branches = _branches(properties, regions, free_form)
    if branches is None:
        return None
    narrowed = copy.deepcopy(dict(schema))
    _apply_branches(narrowed, branches, flat)
    closed = not free_form and schema.get("additionalProperties") is False
    for region in exclusions:
        fallible = _fallible(properties, region, closed)
        if not fallible:
            return None  # the deny rule refuses every call this schema admits
        excluded = _excluded(narrowed, properties, fallible)
        if excluded is not None:
            _exclude(narrowed, dict(list(excluded.items())[:1]) if flat else excluded)
    return narrowed


def _branches(
    properties: Mapping[str, Any], regions: Sequence[Region], free_form: bool
) -> list[_Branch] | None:
    """The distinct branches of ``regions``: ``[]`` when one region admits any
    arguments, ``None`` when none can be met."""
    branches: list[_Branch] = []
    for region in regions:
        if not region:
            return []
        branch = _branch(properties, region, free_form)
        if branch is not None and branch not in branches:
            branches.append(branch)
    return branches or None


def _apply_branches(narrowed: dict[str, Any], branches: list[_Branch], flat: bool) -> None:
    if len(branches) == 1:
        _apply(narrowed, branches[0])
    elif len(branches) > 1 and len({tuple(b) for b in branches}) == 1 and len(branches[0]) == 1:
        _apply_one_arg(narrowed, next(iter(branches[0])), branches)
    elif branches and flat:
        _apply(narrowed, branches[0])
    elif branches:
        narrowed["anyOf"] = [_as_subschema(branch) for branch in branches]


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
        if judged_types(known, declared_types(prop or {})) != ():
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
        declared = declared_types(properties.get(arg) or {})
        judged = judged_types(ops, declared)
        if judged is not None and judged != declared:
            kept = {"type": judged[0] if len(judged) == 1 else list(judged)}
            schema["properties"][arg] = conjoin(schema["properties"].get(arg, {}), kept)
        if arg not in properties:
            _require(schema, arg)  # an undeclared argument not given cannot be checked: denied
    try:
        return {
            arg: constrain(properties.get(arg), ops, True) for arg, ops in sorted(fallible.items())
        }
    except Unsatisfiable:
        return None


_Branch = dict[str, tuple[dict[str, Any], bool]]
"""Argument -> (its constraint subschema, whether it must be given)."""


def _branch(properties: Mapping[str, Any], region: Region, free_form: bool) -> _Branch | None:
    try:
        return {
            arg: constrain(properties.get(arg), ops, free_form)
            for arg, ops in sorted(region.items())
        }
    except Unsatisfiable:
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
        schema["properties"][arg] = conjoin(schema["properties"].get(arg, {}), {"not": constraint})
        return
    props = {arg: constraint for arg, (constraint, _) in branch.items()}
    refused = {"not": {"properties": props, "required": list(branch)}}
    schema["allOf"] = [*schema.get("allOf", []), refused]


def _apply(schema: dict[str, Any], branch: Mapping[str, tuple[dict[str, Any], bool]]) -> None:
    schema.setdefault("properties", {})
    for arg, (constraint, required) in branch.items():
        schema["properties"][arg] = conjoin(schema["properties"].get(arg, {}), constraint)
        if required:
            _require(schema, arg)


def _apply_one_arg(
    schema: dict[str, Any], arg: str, branches: Sequence[Mapping[str, tuple[dict[str, Any], bool]]]
) -> None:
    # Every region constrains the same single argument: keep the choice on that
    # property, where a model reads it, rather than at the root.
    schema.setdefault("properties", {})
    options = [branch[arg][0] for branch in branches]
    schema["properties"][arg] = conjoin(schema["properties"].get(arg, {}), {"anyOf": options})
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
