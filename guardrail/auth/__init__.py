"""Authenticators: bearer token -> verified Principal.

Each name is imported on first use, so code that only needs ``guardrail.auth.base``
(the ``Guard`` does) never loads pyjwt or cryptography.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guardrail._lazy import lazy_exports

if TYPE_CHECKING:
    from guardrail.auth.base import Authenticator, StaticAuthenticator
    from guardrail.auth.claims import ClaimMap
    from guardrail.auth.jwks import JWKSCache
    from guardrail.auth.jwt import JWTAuthenticator
    from guardrail.auth.multi import MultiIssuerAuthenticator

_HOMES = {
    "Authenticator": "guardrail.auth.base",
    "StaticAuthenticator": "guardrail.auth.base",
    "ClaimMap": "guardrail.auth.claims",
    "JWKSCache": "guardrail.auth.jwks",
    "JWTAuthenticator": "guardrail.auth.jwt",
    "MultiIssuerAuthenticator": "guardrail.auth.multi",
}

__all__ = [
    "Authenticator",
    "ClaimMap",
    "JWKSCache",
    "JWTAuthenticator",
    "MultiIssuerAuthenticator",
    "StaticAuthenticator",
]


__getattr__ = lazy_exports(__name__, _HOMES, globals())
