"""Which principal fields an authenticator can fill, for checking ``when`` conditions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guardrail.auth.claims import ClaimMap

_LISTS = ("teams", "org", "roles", "scopes")


@dataclass(frozen=True)
class PrincipalFields:
    """The fields principals from one authenticator can have."""

    filled: frozenset[str]
    """Which of teams, org, roles and scopes some claim path feeds."""
    attributes: frozenset[str] | None
    """Attribute names the claim map fills (``None``: any)."""


def principal_fields(authenticator: Any) -> PrincipalFields | None:
    """What ``authenticator`` fills; ``None`` when it cannot be known (principals given directly,
    a custom authenticator)."""
    claims = getattr(authenticator, "claims", None)
    if isinstance(claims, ClaimMap):
        return _from_claims(claims)
    by_issuer = getattr(authenticator, "by_issuer", None)
    if isinstance(by_issuer, Mapping) and by_issuer:
        each = [principal_fields(a) for a in by_issuer.values()]
        if any(f is None for f in each):
            return None
        known = [f for f in each if f is not None]
        attributes: frozenset[str] = frozenset()
        for f in known:
            if f.attributes is None:
                return PrincipalFields(frozenset().union(*(k.filled for k in known)), None)
            attributes |= f.attributes
        return PrincipalFields(frozenset().union(*(k.filled for k in known)), attributes)
    return None


def _from_claims(claims: ClaimMap) -> PrincipalFields:
    filled = frozenset(name for name in _LISTS if getattr(claims, name))
    names = claims.attributes
    attributes = frozenset(names.values() if isinstance(names, Mapping) else names)
    return PrincipalFields(filled, attributes)
