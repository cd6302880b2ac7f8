"""The ``Authenticator`` protocol and a static authenticator for development and tests."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from guardrail.errors import AuthenticationError
from guardrail.identity import Principal


@runtime_checkable
class Authenticator(Protocol):
    """Turns a bearer token into a verified :class:`Principal` or raises ``AuthenticationError``."""

    def authenticate(self, token: str) -> Principal: ...


class StaticAuthenticator:
    """Fixed tokens mapped to principals. For development and tests, never production."""

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self._principals = dict(principals)

    def authenticate(self, token: str) -> Principal:
        for known, principal in self._principals.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                return principal
        raise AuthenticationError("unknown token")
