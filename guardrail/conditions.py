"""Principal conditions shared by policy rules and limits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrail._plain import MISSING, plain, same
from guardrail.identity import Principal

PrincipalTest = Callable[[Principal | None], bool]
_COLLECTIONS = (list, tuple, set, frozenset)
_LISTED = ("roles", "scopes", "teams", "subjects", "org")


class Condition(BaseModel):
    """Who a rule or limit applies to. Every listed field must hold; empty means anyone.

    ``roles``, ``teams`` and ``subjects`` need any one of the listed values;
    ``scopes`` needs all of them (OAuth semantics); ``org`` one of the listed orgs;
    ``attributes`` each key equal to the value, or to one of the listed values
    (when the principal's attribute is itself a list, any overlap counts).
    ``anonymous: true`` makes the rule apply to calls with no principal at all.
    An empty list is an error: ``roles: []`` reads as "nobody" but an absent
    field means "anyone", so the policy must say which it means.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()
    org: frozenset[str] = frozenset()
    attributes: Mapping[str, Any] = Field(default_factory=dict)
    anonymous: bool = False

    @field_validator(*_LISTED, mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = (value,)
        if isinstance(value, _COLLECTIONS) and not value:
            raise ValueError("an empty list matches nobody; remove the field to mean anyone")
        if isinstance(value, _COLLECTIONS) and "" in value:
            raise ValueError("an empty name matches nobody")
        return value

    @field_validator("attributes")
    @classmethod
    def _no_empty_choices(cls, value: Mapping[str, Any]) -> Mapping[str, Any]:
        if not value:
            raise ValueError("an empty mapping says nothing; remove the field to mean anyone")
        for key, want in value.items():
            if isinstance(want, _COLLECTIONS) and not want:
                raise ValueError(f"attribute {key!r}: an empty list matches nobody")
            for item in want if isinstance(want, _COLLECTIONS) else (want,):
                if item is None or plain(item) is MISSING or isinstance(item, Mapping | list):
                    # null, NaN, a mapping: no principal's attribute ever equals it
                    raise ValueError(
                        f"attribute {key!r}: {item!r} matches nobody (give a string, "
                        "number or boolean, or a list of them)"
                    )
        return value

    @model_validator(mode="after")
    def _anonymous_alone(self) -> Condition:
        if self.anonymous and not self.is_empty():
            raise ValueError("'anonymous: true' cannot be combined with principal conditions")
        return self

    def is_empty(self) -> bool:
        return not (
            self.roles or self.scopes or self.teams or self.subjects or self.org or self.attributes
        )

    def matches(self, principal: Principal | None) -> bool:
        """True when the condition holds for ``principal`` (``None``: no principal)."""
        if principal is None:
            return self.anonymous
        if self.anonymous:
            return False
        return (
            (not self.roles or not self.roles.isdisjoint(principal.roles))
            and self.scopes <= principal.scopes
            and (not self.teams or not self.teams.isdisjoint(principal.teams))
            and (not self.subjects or principal.subject in self.subjects)
            and (not self.org or principal.org in self.org)
            and all(
                _attribute_matches(principal.attributes.get(key), want)
                for key, want in self.attributes.items()
            )
        )

    def compile(self) -> PrincipalTest:
        """:meth:`matches` specialised to the fields this condition sets: same answers.

        Most rules name one or two fields; testing only those, with the operands
        bound once, is what keeps a decision a few dict and set operations.
        """
        if self.anonymous:
            return _no_principal
        parts = [_set_test(name, getattr(self, name)) for name in _LISTED if getattr(self, name)]
        parts.extend(_attribute_test(key, want) for key, want in self.attributes.items())
        if not parts:
            return _some_principal
        if len(parts) == 1:
            return parts[0]  # each part is false without a principal: a lone part is the test
        every = tuple(parts)
        return lambda p: all(test(p) for test in every)


def _set_test(name: str, wanted: frozenset[str]) -> PrincipalTest:
    if name == "scopes":
        return lambda p: p is not None and wanted <= p.scopes
    if name == "subjects":
        return lambda p: p is not None and p.subject in wanted
    if name == "org":
        return lambda p: p is not None and p.org in wanted
    if name == "roles":
        return lambda p: p is not None and not wanted.isdisjoint(p.roles)
    return lambda p: p is not None and not wanted.isdisjoint(p.teams)


def _no_principal(principal: Principal | None) -> bool:
    return principal is None


def _some_principal(principal: Principal | None) -> bool:
    return principal is not None


def _attribute_test(key: str, want: Any) -> PrincipalTest:
    return lambda p: p is not None and _attribute_matches(p.attributes.get(key), want)


def _attribute_matches(have: Any, want: Any) -> bool:
    wanted = want if isinstance(want, _COLLECTIONS) else (want,)
    if isinstance(have, _COLLECTIONS):
        return any(_plain_in(item, wanted) for item in have)
    return have is not None and _plain_in(have, wanted)


def _plain_in(have: Any, wanted: Any) -> bool:
    # Compare as plain values: a str subclass's own __eq__ must not decide.
    value = plain(have)
    return value is not MISSING and any(same(value, plain(w)) for w in wanted)
