"""The policy as data: rules, principal conditions and argument constraints.

A policy is default deny. A rule *matches* a call when one of its tool globs
matches the tool name, its ``when`` condition holds for the principal and every
argument constraint holds. The call is allowed when some ``allow`` rule matches
and no ``deny`` rule does: deny beats allow.

Constraint values may refer to the caller: a string ``$principal.subject`` or
``principal.attributes.regions`` is resolved against the principal at call time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrail._plain import MISSING, plain
from guardrail.budgets.limit import parse_duration
from guardrail.conditions import Condition
from guardrail.policy.names import check_glob
from guardrail.policy.regex import Regex
from guardrail.policy.regions import satisfiable

PRINCIPAL_PREFIXES = ("$principal.", "principal.")


_REFERABLE = frozenset({"subject", "org", "teams", "roles", "scopes", "issuer", "expires_at"})
"""Principal fields a reference may name (plus ``attributes.<name>``); never ``token``."""


def is_principal_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PRINCIPAL_PREFIXES)


def check_reference(value: str) -> None:
    """Raise ValueError when ``value`` is, or looks like, a principal reference that
    names no principal field: ``$principal.subjet`` would resolve to nothing at call
    time, and ``$Principal.subject`` would be compared as the literal text."""
    if is_principal_ref(value):
        path = value.split(".", 1)[1]
        head, _, rest = path.partition(".")
        if (head == "attributes" and rest and "" not in rest.split(".")) or (
            head in _REFERABLE and not rest
        ):
            return
        fields = ", ".join(sorted(_REFERABLE))
        raise ValueError(f"{value!r} names no principal field (use {fields} or attributes.<name>)")
    if value[:1] == "$" and value[1:].lower().startswith("principal"):
        raise ValueError(f"{value!r} is not a principal reference (write $principal.<field>)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Constraint(_Strict):
    """Declarative checks on one argument; all given operators must hold."""

    eq: Any = None
    ne: Any = None
    in_: tuple[Any, ...] | str | None = Field(default=None, alias="in")
    not_in: tuple[Any, ...] | str | None = None
    min: int | float | str | None = None
    max: int | float | str | None = None
    regex: str | None = None
    max_length: int | str | None = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _none_means_absent(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and not data:
            raise ValueError("a constraint needs at least one operator")
        if isinstance(data, Mapping):
            for op in ("in", "not_in", "min", "max", "regex", "max_length"):
                if op in data and data[op] is None:
                    raise ValueError(f"'{op}: null' has no operand (remove it, or give one)")
        return data

    @field_validator("eq", "ne", "in_", "not_in", "min", "max", "max_length")
    @classmethod
    def _comparable(cls, value: Any) -> Any:
        # A literal that is not plain data (NaN, bytes from !!binary, a date) can never
        # be compared: the constraint would be unknown for every value. A reference
        # inside a list is not resolved, so it is refused too.
        if isinstance(value, str):
            check_reference(value)
        elif value is not None:
            if plain(value) is MISSING:
                raise ValueError("must be plain data (no NaN, bytes, dates or other objects)")
            for item in _leaves(value):
                if isinstance(item, str) and (is_principal_ref(item) or item[:1] == "$"):
                    check_reference(item)
                    raise ValueError(
                        f"a principal reference inside a list or mapping ({item!r}) is not "
                        "resolved: give the reference alone, e.g. in: $principal.attributes.x"
                    )
        return value

    @field_validator("in_", "not_in", mode="before")
    @classmethod
    def _list_or_reference(cls, value: Any) -> Any:
        if value is None or is_principal_ref(value):
            return value
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
            raise ValueError("must be a list of values or a principal reference")
        return tuple(value)

    @field_validator("min", "max", "max_length", mode="before")
    @classmethod
    def _number_or_reference(cls, value: Any) -> Any:
        if (isinstance(value, str) and not is_principal_ref(value)) or isinstance(value, bool):
            raise ValueError("must be a number or a principal reference")
        return value

    @field_validator("max_length")
    @classmethod
    def _length(cls, value: Any) -> Any:
        if isinstance(value, int) and value < 0:
            raise ValueError("a length is never below 0")
        return value

    @field_validator("min", "max", "max_length")
    @classmethod
    def _finite(cls, value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            if is_principal_ref(value):
                raise ValueError("a regex is a pattern, never a principal reference")
            Regex(value)  # raises ValueError naming the RE2 syntax problem
        return value

    def operators(self) -> dict[str, Any]:
        """The operators set on this constraint, by their policy-file names."""
        return self.model_dump(by_alias=True, exclude_unset=True)


def _leaves(value: Any) -> list[Any]:
    """The scalars inside a (plain) list, tuple or mapping, keys included."""
    if isinstance(value, Mapping):
        return [leaf for k, v in value.items() for leaf in (*_leaves(k), *_leaves(v))]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


@dataclass(frozen=True)
class _Op:
    op: str
    value: Any


def never_met(constraint: Constraint) -> bool:
    """Whether no value meets every operator of ``constraint`` (``min: 10, max: 5``);
    constraints with principal references are known only at call time."""
    operators = constraint.operators()
    if any(is_principal_ref(v) for v in operators.values()):
        return False
    ops = [_Op(op, list(v) if isinstance(v, tuple) else v) for op, v in operators.items()]
    return not satisfiable(ops)


class Rule(_Strict):
    """One allow, deny or approve rule over a set of tool-name globs.

    An ``approve`` rule matches like an allow rule, but the call it matches runs
    only once someone its ``approvers`` condition admits has granted an approval
    for exactly that call (valid for ``ttl``); deny beats approve beats allow.
    """

    id: str = Field(min_length=1)
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    approve: tuple[str, ...] = ()
    when: Condition = Condition()
    args: Mapping[str, Constraint] = Field(default_factory=dict)
    approvers: Condition | None = None
    """Who may grant the approvals this rule asks for (``approve`` rules only)."""
    ttl: float | None = None
    """Seconds (or ``"30m"``, ``"1h"``) a request waits and a grant stays usable;
    default one hour (``approve`` rules only)."""
    description: str | None = None

    @field_validator("allow", "deny", "approve", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("allow", "deny", "approve")
    @classmethod
    def _normal_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # Matched against NFKC names in the MCP alphabet (guardrail.policy.names).
        return tuple(check_glob(pattern) for pattern in value)

    @field_validator("ttl", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _exactly_one_effect(self) -> Rule:
        if sum(map(bool, (self.allow, self.deny, self.approve))) != 1:
            raise ValueError(
                "a rule needs exactly one of 'allow' or 'deny' (a list of tool globs), "
                "or 'approve' (with 'approvers')"
            )
        if self.approve and (self.approvers is None or self.approvers.is_empty()):
            raise ValueError("an 'approve' rule needs 'approvers' (e.g. roles: [finance-lead])")
        if not self.approve and (self.approvers is not None or self.ttl is not None):
            raise ValueError("'approvers' and 'ttl' belong to 'approve' rules only")
        if self.ttl is not None and not 0 < self.ttl < math.inf:
            raise ValueError("'ttl' must be a duration above zero")
        return self

    @property
    def effect(self) -> str:
        return "allow" if self.allow else "deny" if self.deny else "approve"

    @property
    def tools(self) -> tuple[str, ...]:
        return self.allow or self.deny or self.approve
