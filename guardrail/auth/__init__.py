"""Authenticators: bearer token -> verified Principal."""

from guardrail.auth.base import Authenticator, StaticAuthenticator
from guardrail.auth.claims import ClaimMap
from guardrail.auth.jwks import JWKSCache
from guardrail.auth.jwt import JWTAuthenticator
from guardrail.auth.multi import MultiIssuerAuthenticator

__all__ = [
    "Authenticator",
    "ClaimMap",
    "JWKSCache",
    "JWTAuthenticator",
    "MultiIssuerAuthenticator",
    "StaticAuthenticator",
]
