"""Principal conditions shared by policy rules and limits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from guardrail.identity import Principal


class Condition(BaseModel):
    """Who a rule or limit applies to. Every listed field must hold; empty means anyone.

    ``roles``, ``teams`` and ``subjects`` need any one of the listed values;
    ``scopes`` needs all of them (OAuth semantics); ``org`` one of the listed orgs;
    ``attributes`` each key equal to the value, or to one of the listed values
    (when the principal's attribute is itself a list, any overlap counts).
    ``anonymous: true`` makes the rule apply to calls with no principal at all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()
    org: frozenset[str] = frozenset()
    attributes: Mapping[str, Any] = Field(default_factory=dict)
    anonymous: bool = False

    @field_validator("roles", "scopes", "teams", "subjects", "org", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

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


def _attribute_matches(have: Any, want: Any) -> bool:
    wanted = want if isinstance(want, list | tuple | set | frozenset) else (want,)
    if isinstance(have, list | tuple | set | frozenset):
        return any(item in wanted for item in have)
    return have is not None and have in wanted
