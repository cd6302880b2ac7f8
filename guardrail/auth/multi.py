"""``MultiIssuerAuthenticator``: route each token to the verifier of the issuer it names."""

from __future__ import annotations

from collections.abc import Iterable

from guardrail.auth import compact
from guardrail.auth.jwt import JWTAuthenticator
from guardrail.errors import AuthenticationError, ConfigurationError
from guardrail.identity import Principal


class MultiIssuerAuthenticator:
    """Several :class:`JWTAuthenticator` objects, one per issuer.

    The unverified ``iss`` only chooses the verifier; that verifier then checks
    the signature with its own issuer's keys, so a token naming issuer B but
    signed with issuer A's key fails.
    """

    def __init__(self, authenticators: Iterable[JWTAuthenticator]) -> None:
        self.by_issuer: dict[str, JWTAuthenticator] = {}
        for authenticator in authenticators:
            if authenticator.issuer in self.by_issuer:
                raise ConfigurationError(f"issuer {authenticator.issuer!r} is configured twice")
            self.by_issuer[authenticator.issuer] = authenticator
        if not self.by_issuer:
            raise ConfigurationError("MultiIssuerAuthenticator needs at least one authenticator")
        self.max_token_bytes = max(a.max_token_bytes for a in self.by_issuer.values())

    def authenticate(self, token: str) -> Principal:
        """The principal ``token`` proves, verified by the authenticator of its issuer."""
        return self._route(token).authenticate(token)

    async def aauthenticate(self, token: str) -> Principal:
        """``authenticate`` for event loops (see :meth:`JWTAuthenticator.aauthenticate`)."""
        return await self._route(token).aauthenticate(token)

    def _route(self, token: str) -> JWTAuthenticator:
        issuer = compact.parse(token, self.max_token_bytes).unverified_claims().get("iss")
        if not isinstance(issuer, str):
            raise AuthenticationError("token has no 'iss' claim")
        authenticator = self.by_issuer.get(issuer)
        if authenticator is None:
            raise AuthenticationError(f"unknown issuer {compact.shown(issuer)}")
        return authenticator
