"""Which argument regions can be met: the listing side of the evaluator.

A tool is listed for a principal when some call could be allowed; it is hidden
when an applicable deny rule refuses every call. Both questions are answered
from the rule's operators, resolved for the principal, and, once the tool has
registered, from its parameters (:class:`ToolParams`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from guardrail.policy.operators import MISSING, json_types, passes, plain

__all__ = ["ToolParams", "can_fail", "region_satisfiable", "satisfiable"]

Declared = tuple[str, ...] | None | Literal[False]
"""An argument's JSON types (``None``: any; ``False``: the tool cannot be given it)."""


@dataclass(frozen=True, slots=True)
class ToolParams:
    """A registered tool's parameters as the policy sees them."""

    types: Mapping[str, tuple[str, ...] | None]
    """Parameter name -> the JSON schema types it accepts (``None``: any)."""
    open: bool = False
    """Other names may be given too (``**kwargs``)."""

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.types)

    def types_of(self, arg: str) -> Declared:
        """The types ``arg`` can have; ``False`` when the tool cannot be given it."""
        if arg in self.types:
            return self.types[arg]
        return None if self.open else False


def _arg_types(arg: str, params: ToolParams | None) -> Declared:
    return None if params is None else params.types_of(arg)


def _meet(types: tuple[str, ...] | None, allowed: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if allowed is None:
        return types
    if types is None:
        return allowed
    # "number" admits integers, so an integer parameter meets a number operator.
    return tuple(t for t in types if t in allowed or (t == "integer" and "number" in allowed))


def judged_types(ops: Sequence[Any], declared: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The types every operator can judge, within ``declared`` (``()``: none)."""
    types = declared
    for op in ops:
        types = _meet(types, json_types(op.op, op.value))
    return types


def can_fail(region: Mapping[str, Sequence[Any]], params: ToolParams | None) -> bool:
    """Whether some call makes a deny rule with these constraints definitely not apply."""
    for arg, ops in region.items():
        declared = _arg_types(arg, params)
        if declared is False:
            continue  # never given: always "cannot be checked", so never a way out
        for op in ops:
            if _can_be_false(op) and judged_types([op], declared) != ():
                return True
    return False


def _can_be_false(op: Any) -> bool:
    """Whether some value makes the operator definitely false (not merely unknown);
    ``not_in: []`` holds for every value."""
    return _usable(op) and not (op.op == "not_in" and op.value == [])


def _usable(op: Any) -> bool:
    """Whether the operator can use its operand at all. One it cannot (an unresolved
    reference, NaN, a bound that is not a number, members that are not a list) leaves
    every value "cannot be checked"."""
    if op.op == "regex":
        return True
    operand = plain(op.value)
    if operand is MISSING:
        return False
    if op.op in ("min", "max", "max_length"):
        return _is_bound(operand)
    return isinstance(operand, list) if op.op in ("in", "not_in") else True


def satisfiable(ops: Sequence[Any], declared: Declared = None) -> bool:
    """Whether some value passes every operator (exact for eq/in/min/max; regex assumed)."""
    if declared is False:
        return False
    by_op: dict[str, list[Any]] = {}
    for op in ops:
        if not _usable(op):
            return False  # every value is "cannot be checked": an allow rule never holds
        by_op.setdefault(op.op, []).append(op.value)
    if judged_types(ops, declared) == ():
        return False  # e.g. min needs a number and regex a string
    candidates: list[Any] | None = None
    if "eq" in by_op:
        candidates = by_op["eq"][:1] if all(v == by_op["eq"][0] for v in by_op["eq"]) else []
    for allowed in by_op.get("in", []):
        pool = list(allowed)  # a list: checked by _usable
        candidates = pool if candidates is None else [c for c in candidates if c in pool]
    if candidates is not None:
        return any(_value_passes(c, by_op) for c in candidates)
    lows, highs = by_op.get("min", []), by_op.get("max", [])
    if lows and highs and max(lows) > min(highs):
        return False
    return all(n >= 0 for n in by_op.get("max_length", []))


def region_satisfiable(region: Mapping[str, Sequence[Any]], params: ToolParams | None) -> bool:
    """Whether some call passes every constraint of one allow rule."""
    return all(satisfiable(ops, _arg_types(arg, params)) for arg, ops in region.items())


def _is_bound(value: Any) -> bool:
    # What the operators accept as a min/max/max_length operand: a number, not a bool, not NaN.
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _value_passes(value: Any, by_op: Mapping[str, list[Any]]) -> bool:
    return all(passes(op, value, operand) for op, operands in by_op.items() for operand in operands)
