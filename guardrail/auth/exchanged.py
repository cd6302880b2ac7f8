"""``ExchangedToken``: a downstream token, and what its response and claims say of it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr


@dataclass(frozen=True, slots=True)
class ExchangedToken:
    """A downstream token and what the audit trail may know of it (never the token)."""

    access_token: SecretStr = field(repr=False)
    audience: str
    scopes: frozenset[str]
    """The scopes granted (all of those asked for: fewer is a refusal)."""
    expires_at: float
    """Epoch seconds."""
    subject: str
    actor: str | None
    """Who acts for the subject: the ``act`` claim's ``sub``, else this client's id."""
    token_id: str
    """SHA-256 (hex) of the token's ``jti``, or of the token when it has none."""

    def delegation(self) -> dict[str, Any]:
        """The audit form: subject, actor, audience, scopes, token id hash."""
        return {
            "subject": self.subject,
            "actor": self.actor,
            "audience": self.audience,
            "scopes": sorted(self.scopes),
            "token_id_sha256": self.token_id,
        }


def unverified_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (only for expiry, scopes and the audit), or {}."""
    if token.count(".") != 2:
        return {}
    import jwt  # pyjwt loads only when a downstream token is used

    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return {}
    return claims


def granted_scopes(
    data: Mapping[str, Any], claims: Mapping[str, Any], asked: frozenset[str]
) -> frozenset[str]:
    # RFC 6749 5.1: no "scope" in the response means the scopes asked for, unless the
    # token itself says otherwise.
    for source in (data.get("scope"), claims.get("scope"), claims.get("scp")):
        if isinstance(source, str):
            return frozenset(source.split())
        if isinstance(source, list):
            return frozenset(s for s in source if isinstance(s, str))
    return asked


def actor_of(claims: Mapping[str, Any]) -> str | None:
    act = claims.get("act")
    if isinstance(act, Mapping):
        return text(act.get("sub")) or text(act.get("client_id"))
    return text(claims.get("azp"))


def text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def token_id(token: str, claims: Mapping[str, Any]) -> str:
    jti = claims.get("jti")
    source = jti if isinstance(jti, str) and jti else token
    return hashlib.sha256(source.encode()).hexdigest()
