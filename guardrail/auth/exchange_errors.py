"""Token-service refusals, in words a model can relay to the user.

OAuth error codes (RFC 6749 5.2, RFC 8693 2.2.2, OpenID Connect, Entra AADSTS
codes) become one :class:`DelegationRefused` each, saying what the user or an
administrator can do about it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from guardrail.errors import DelegationRefused
from guardrail.identity import Principal

_MAX_DESCRIPTION = 200
_CONSENT_CODES = frozenset({"consent_required", "interaction_required", "insufficient_scope"})
# Entra: AADSTS65001 no consent, AADSTS65004 consent declined, AADSTS70011 bad scope.
_ENTRA_CONSENT = re.compile(r"AADSTS650(01|04)|AADSTS70011")


def oauth_refusal(
    status: int,
    data: object,
    principal: Principal,
    audience: str,
    scopes: frozenset[str],
    missing: frozenset[str] | None = None,
) -> DelegationRefused:
    """The refusal for a token-service answer that brought no usable token."""
    body = data if isinstance(data, Mapping) else {}
    code = body.get("error") if isinstance(body.get("error"), str) else None
    said = _description(body)
    who = principal.describe()
    if code is None:
        if status >= 500:
            reason = f"the token service failed (HTTP {status}); try again later"
            return _refused(reason, audience, scopes, principal, "server_error")
        reason = f"the token service refused a token for {audience} as {who} (HTTP {status})"
        return _refused(reason, audience, scopes, principal, "invalid_response")
    if code in _CONSENT_CODES or code == "invalid_scope" or _ENTRA_CONSENT.search(said):
        lacking = missing if missing is not None else _named_scopes(said, scopes) or scopes
        listed = ", ".join(sorted(lacking)) or "the requested access"
        return _refused(
            f"consent needed: {who} has not granted scope(s) {listed} for {audience}"
            f" ({code}{said}); ask the user to consent, then try again",
            audience,
            scopes,
            principal,
            code,
            frozenset(lacking),
        )
    return _refused(_other_reason(code, said, who, audience), audience, scopes, principal, code)


def unusable(
    what: str, principal: Principal, audience: str, scopes: frozenset[str]
) -> DelegationRefused:
    return _refused(
        f"the token service sent an unusable answer ({what}); no token for {audience} "
        f"as {principal.describe()}",
        audience,
        scopes,
        principal,
        "invalid_response",
    )


def _other_reason(code: str, said: str, who: str, audience: str) -> str:
    if code == "invalid_target":
        return (
            f"the token service will not issue tokens for {audience} to this agent ({code}{said})"
        )
    if code == "invalid_grant":
        return (
            f"the token service did not accept {who}'s token ({code}{said}); "
            "the user may need to sign in again"
        )
    if code in ("invalid_client", "unauthorized_client"):
        return (
            f"this agent may not exchange tokens at the token service ({code}{said}); "
            "an administrator must fix its registration"
        )
    return f"the token service refused a token for {audience} as {who} ({code}{said})"


def _refused(
    message: str,
    audience: str,
    scopes: frozenset[str],
    principal: Principal,
    error: str,
    missing: frozenset[str] = frozenset(),
) -> DelegationRefused:
    return DelegationRefused(
        message,
        audience=audience,
        scopes=scopes,
        error=error,
        missing_scopes=missing,
        principal=principal,
    )


def _description(body: Mapping[str, Any]) -> str:
    text = body.get("error_description")
    if not isinstance(text, str) or not text.strip():
        return ""
    flat = " ".join(text.split())
    if len(flat) > _MAX_DESCRIPTION:
        flat = flat[: _MAX_DESCRIPTION - 3] + "..."
    return f": {flat}"


def _named_scopes(description: str, asked: frozenset[str]) -> frozenset[str]:
    """The asked-for scopes the token service's description names, if it names any."""
    words = set(re.findall(r"[\w.:/-]+", description))
    return frozenset(scope for scope in asked if scope in words)
