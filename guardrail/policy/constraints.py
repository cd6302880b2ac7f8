"""Argument constraints compiled into small check functions.

A check returns ``None`` when the value passes, or a short reason when it does
not. Reasons never contain the argument's value: it may be a secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from guardrail.identity import Principal
from guardrail.policy.model import PRINCIPAL_PREFIXES, Constraint, is_principal_ref

MISSING: Any = object()
Resolver = Callable[[Principal | None], Any]
ValueTest = Callable[[Any, Principal | None], bool]


def reference_resolver(ref: str) -> Resolver:
    """``"$principal.attributes.regions"`` -> a function of the principal."""
    path = next(ref[len(p) :] for p in PRINCIPAL_PREFIXES if ref.startswith(p)).split(".")

    def resolve(principal: Principal | None) -> Any:
        value: Any = principal
        for part in path:
            if value is None:
                return MISSING
            if isinstance(value, Mapping):
                value = value.get(part, MISSING)
            else:
                value = getattr(value, part, MISSING)
            if value is MISSING:
                return MISSING
        return value

    return resolve


def _operand(value: Any) -> Resolver:
    if is_principal_ref(value):
        return reference_resolver(value)
    return lambda _principal: value


_NUMBERS = (int, float)  # a tuple: ``int | float`` would build a union on every call


def _is_number(value: Any) -> bool:
    return isinstance(value, _NUMBERS) and not isinstance(value, bool)


def _as_collection(value: Any) -> Any:
    if isinstance(value, str | bytes) or value is MISSING or value is None:
        return ()
    return value


def _member(value: Any, operand: Any) -> bool:
    collection = _as_collection(operand)
    try:
        return value in collection
    except TypeError:  # a set operand and an unhashable value
        return any(value == item for item in collection)


@dataclass(frozen=True, slots=True)
class ResolvedOp:
    """One operator with its operand resolved for a given principal."""

    op: str
    value: Any


@dataclass(frozen=True, slots=True)
class ArgCheck:
    """The compiled form of one argument's :class:`Constraint`."""

    arg: str
    ops: tuple[tuple[str, Resolver, Any], ...]
    pattern: re.Pattern[str] | None
    tests: tuple[ValueTest, ...] = field(init=False, repr=False, compare=False)
    """One test per entry of ``ops``, literal operands bound once (see :meth:`_test`)."""
    _steps: tuple[tuple[ValueTest, str, Any], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tests = tuple(self._test(op, resolve, value) for op, resolve, value in self.ops)
        object.__setattr__(self, "tests", tests)
        steps = tuple((test, op, text) for test, (op, _, text) in zip(tests, self.ops, strict=True))
        object.__setattr__(self, "_steps", steps)

    @classmethod
    def compile(cls, arg: str, constraint: Constraint) -> ArgCheck:
        ops = tuple((op, _operand(value), value) for op, value in constraint.operators().items())
        pattern = re.compile(constraint.regex) if constraint.regex is not None else None
        return cls(arg, ops, pattern)

    def _test(self, op: str, resolve: Resolver, operand: Any) -> ValueTest:
        """``passes`` for one operator, specialised when the operand is a literal."""
        if is_principal_ref(operand):
            return lambda value, principal: self.passes(op, value, resolve(principal))
        if op in ("min", "max") and not _is_number(operand):
            return lambda value, principal: False
        if op == "max":
            return lambda value, principal: _is_number(value) and value <= operand
        if op == "min":
            return lambda value, principal: _is_number(value) and value >= operand
        if op == "eq":
            return lambda value, principal: bool(value == operand)
        if op == "regex" and self.pattern is not None:
            pattern = self.pattern
            return lambda value, principal: (
                isinstance(value, str) and pattern.fullmatch(value) is not None
            )
        return lambda value, principal: passes(op, value, operand)

    def resolve(self, principal: Principal | None) -> tuple[ResolvedOp, ...]:
        return tuple(ResolvedOp(op, resolve(principal)) for op, resolve, _ in self.ops)

    def failure(self, args: Mapping[str, Any], principal: Principal | None) -> str | None:
        value = args.get(self.arg, MISSING)
        if value is MISSING:
            return f"argument {self.arg!r} is given"
        for test, op, text in self._steps:
            if not test(value, principal):
                return f"argument {self.arg!r} {_describe(op, text)}"
        return None

    def passes(self, op: str, value: Any, operand: Any) -> bool:
        if op == "regex" and self.pattern is not None and operand is not MISSING:
            return isinstance(value, str) and self.pattern.fullmatch(value) is not None
        return passes(op, value, operand)


def passes(op: str, value: Any, operand: Any) -> bool:
    """Whether ``value`` satisfies one operator with an already-resolved operand."""
    if operand is MISSING:
        return False  # a reference to something the caller lacks never passes
    if op == "eq":
        return bool(value == operand)
    if op == "ne":
        return bool(value != operand)
    # Membership in a tuple compares with ==, so unhashable values (a list) work too:
    # ["RU"] is not one of ("US",), and a deny rule on `not_in` must see that.
    if op == "in":
        return _member(value, operand)
    if op == "not_in":
        return not _member(value, operand)
    if op == "min":
        return _is_number(value) and _is_number(operand) and value >= operand
    if op == "max":
        return _is_number(value) and _is_number(operand) and value <= operand
    if op == "max_length":
        return hasattr(value, "__len__") and _is_number(operand) and len(value) <= operand
    if op == "regex":
        return isinstance(value, str) and re.fullmatch(operand, value) is not None
    raise AssertionError(f"unknown operator {op}")  # the model forbids it


def _describe(op: str, text: Any) -> str:
    # The operand as the policy wrote it: a reference reads "equal $principal.subject"
    # and so says nothing about another user's values.
    shown = text if is_principal_ref(text) else repr(text)
    words = {
        "eq": f"equals {shown}",
        "ne": f"does not equal {shown}",
        "in": f"is one of {shown}",
        "not_in": f"is not one of {shown}",
        "min": f"is >= {shown}",
        "max": f"is <= {shown}",
        "max_length": f"has length <= {shown}",
        "regex": f"matches {shown}",
    }
    return words[op]
