"""Authenticators: bearer token -> verified Principal."""

from guardrail.auth.base import Authenticator, StaticAuthenticator

__all__ = ["Authenticator", "StaticAuthenticator"]
