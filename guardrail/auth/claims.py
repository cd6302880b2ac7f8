"""``ClaimMap``: which claims of a verified token become which :class:`Principal` fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from guardrail.errors import AuthenticationError
from guardrail.identity import Principal

_MISSING = object()


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``"realm_access.roles"``), or ``None`` when absent.

    A claim whose name itself contains dots (Auth0's ``https://example.com/roles``)
    is found by its full name before the path is split.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part, _MISSING)
        if value is _MISSING:
            return None
    return value


def _seconds(value: Any) -> float | None:
    # PyJWT accepts any exp that int() takes, e.g. "1700000000".
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _strings(value: Any, *, split: bool) -> list[str]:
    if isinstance(value, str):
        return value.split() if split else [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str) and item]
    return []


def _collect(claims: Mapping[str, Any], paths: Iterable[str], *, split: bool) -> list[str]:
    found: dict[str, None] = {}  # ordered and de-duplicated
    for path in paths:
        for item in _strings(claim_at(claims, path), split=split):
            found[item] = None
    return list(found)


@dataclass(frozen=True, kw_only=True)
class ClaimMap:
    """Claim paths for each principal field; defaults fit Keycloak, Auth0, Okta and Entra ID.

    A path is a claim name or a dotted path into nested objects. Where several
    paths are listed, list fields take the union and ``org`` takes the first present.
    """

    subject: str = "sub"
    """The claim naming the user; must be a non-empty string."""
    scopes: Sequence[str] = ("scope", "scp")
    """Space-separated strings (``scope``) or lists (``scp``)."""
    roles: Sequence[str] = ("roles", "groups", "realm_access.roles")
    """Lists of role names (a single string counts as one role)."""
    teams: Sequence[str] = ("teams", "team")
    """Lists of team names (a single string counts as one team)."""
    org: Sequence[str] = ("org", "org_id", "tenant", "tid")
    """The first string found is the principal's organisation."""
    attributes: Mapping[str, str] | Sequence[str] = field(default_factory=dict)
    """Claim path -> attribute name; a plain list keeps each path as the name."""
    actor: str | None = "act.sub"
    """The current actor of a delegated token (RFC 8693 section 4.1: the outermost
    ``act``; nested ones are earlier actors); ``None`` reads no actor."""

    def __post_init__(self) -> None:
        # A bare string is one path, not a sequence of one-letter paths.
        for name in ("scopes", "roles", "teams", "org", "attributes"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))

    def principal(self, claims: Mapping[str, Any], token: str) -> Principal:
        """Build the principal for verified ``claims``; ``token`` is kept as a secret."""
        subject = claim_at(claims, self.subject)
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError(f"'{self.subject}' claim must be a non-empty string")
        exp = claims.get("exp")
        iss = claims.get("iss")
        return Principal(
            subject=subject,
            org=self._org(claims),
            teams=tuple(_collect(claims, self.teams, split=False)),
            roles=frozenset(_collect(claims, self.roles, split=False)),
            scopes=frozenset(_collect(claims, self.scopes, split=True)),
            attributes=self._attributes(claims),
            issuer=iss if isinstance(iss, str) else None,
            actor=self._actor(claims),
            token=SecretStr(token),
            expires_at=_seconds(exp),
        )

    def _org(self, claims: Mapping[str, Any]) -> str | None:
        for path in self.org:
            value = claim_at(claims, path)
            if isinstance(value, str) and value:
                return value
        return None

    def _actor(self, claims: Mapping[str, Any]) -> str | None:
        value = claim_at(claims, self.actor) if self.actor else None
        return value if isinstance(value, str) and value else None

    def _attributes(self, claims: Mapping[str, Any]) -> dict[str, Any]:
        names = (
            self.attributes
            if isinstance(self.attributes, Mapping)
            else {path: path for path in self.attributes}
        )
        out: dict[str, Any] = {}
        for path, name in names.items():
            value = claim_at(claims, path)
            if value is not None:
                out[name] = value
        return out
