"""Shared pieces of the token-exchange tests (imported by name: ``exchange_support``)."""

from __future__ import annotations

import time
from typing import Any

from support.jwks import SigningKey, mint
from support.token_service import ISSUER, TokenService

from guardrail import ClientSecret, Guard, JWTAuthenticator, Principal, TokenExchange

IDP = "https://idp.test.invalid/"
APP = "support-agent"
CRM = "https://crm.test.invalid/"
BILLING = "https://billing.test.invalid/"
SECRET = "agent-s3cret"

POLICY = {
    "rules": [{"id": "support", "allow": ["*"], "when": {"roles": ["support"]}}],
}


class Clock:
    """Epoch seconds that start now and move only when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def exchange_for(service: TokenService, **options: Any) -> TokenExchange:
    client = options.pop("client", ClientSecret(client_id="agent", secret=SECRET))
    return TokenExchange(service.token_url, client=client, **options)


class Users:
    def __init__(self, key: SigningKey, guard: Guard) -> None:
        self.key, self.guard = key, guard

    def token(self, subject: str, **claims: Any) -> str:
        claims.setdefault("roles", ["support"])
        return mint(self.key, issuer=IDP, audience=APP, subject=subject, **claims)

    def principal(self, subject: str, **claims: Any) -> Principal:
        return self.guard.authenticate(self.token(subject, **claims))


def downstream_verifier(service: TokenService, audience: str) -> JWTAuthenticator:
    """What the downstream system runs: it trusts the token service for its own audience."""
    return JWTAuthenticator(ISSUER, audience, jwks_url=service.jwks_url)
