"""Argument constraints compiled into small three-valued checks.

:meth:`ArgCheck.verdict` says whether one argument's constraint holds
(``True``), fails (``False``) or cannot be evaluated (``None``, see
:mod:`guardrail.policy.operators`). Reasons never contain the argument's value:
it may be a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from guardrail.identity import Principal
from guardrail.policy.model import PRINCIPAL_PREFIXES, Constraint, is_principal_ref
from guardrail.policy.operators import MISSING, UNKNOWN, evaluate, passes, plain
from guardrail.policy.regex import Regex

__all__ = ["MISSING", "ArgCheck", "ResolvedOp", "passes", "reference_resolver"]

Resolver = Callable[[Principal | None], Any]
Judge = Callable[[Any, Principal | None], "bool | None"]
"""One operator of a constraint: the plain value and the principal -> holds, fails, unknown."""


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
        return plain(value)

    return resolve


def _operand(op: str, value: Any) -> Resolver:
    if op == "regex":
        pattern = Regex(value)  # never a reference: the model refuses one
        return lambda _principal: pattern
    if is_principal_ref(value):
        return reference_resolver(value)
    literal = plain(value)
    return lambda _principal: literal


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
    """(operator, operand resolver, operand as written) per operator."""
    judges: tuple[tuple[Judge, str, Any], ...]
    """(judge, operator, operand as written) per operator: what :meth:`verdict` runs."""

    @classmethod
    def compile(cls, arg: str, constraint: Constraint) -> ArgCheck:
        ops = tuple((op, _operand(op, v), v) for op, v in constraint.operators().items())
        return cls(arg, ops, tuple((_judge(op, resolve, v), op, v) for op, resolve, v in ops))

    def resolve(self, principal: Principal | None) -> tuple[ResolvedOp, ...]:
        """The operators with operands resolved (a regex as its pattern text)."""
        return tuple(
            ResolvedOp(op, text if op == "regex" else resolve(principal))
            for op, resolve, text in self.ops
        )

    def verdict(
        self,
        args: Mapping[str, Any],
        principal: Principal | None,
        declared: frozenset[str] = frozenset(),
    ) -> tuple[bool | None, str]:
        """Whether the constraint holds, fails or cannot be evaluated (``None``).

        With it, what the argument must be (for a reason), when it does not hold.
        An argument the tool declares (``declared``) but the call leaves out has no
        value to hold the constraint; any other absent argument cannot be checked.
        """
        value = plain(args.get(self.arg, MISSING))
        if value is MISSING and self.arg in declared and self.arg not in args:
            return False, f"argument {self.arg!r} is given"
        if value is MISSING:
            shown = "is given" if self.arg not in args else "is a plain value (not NaN)"
            return UNKNOWN, f"argument {self.arg!r} {shown}"
        result: bool | None = True
        requirement = ""
        for judge, op, text in self.judges:
            outcome = judge(value, principal)
            if outcome is False:
                return False, f"argument {self.arg!r} {_describe(op, text)}"
            if outcome is UNKNOWN and result is True:
                result, requirement = UNKNOWN, f"argument {self.arg!r} {_describe(op, text)}"
        return result, requirement


def _judge(op: str, resolve: Resolver, written: Any) -> Judge:
    """One operator as a function of the (plain) value and the principal. A ``min`` or
    ``max`` of a literal number compares directly; the rest go through ``evaluate``."""
    bound = plain(written) if op in ("min", "max") and not is_principal_ref(written) else None
    if type(bound) is int or type(bound) is float:
        return _at_least(bound) if op == "min" else _at_most(bound)

    def judge(value: Any, principal: Principal | None) -> bool | None:
        return evaluate(op, value, resolve(principal))

    return judge


def _at_most(bound: float) -> Judge:
    def at_most(value: Any, _principal: Principal | None) -> bool | None:
        cls = type(value)  # plain: a number is exactly int or float (bool is not one)
        return value <= bound if cls is int or cls is float else UNKNOWN

    return at_most


def _at_least(bound: float) -> Judge:
    def at_least(value: Any, _principal: Principal | None) -> bool | None:
        cls = type(value)
        return value >= bound if cls is int or cls is float else UNKNOWN

    return at_least


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
