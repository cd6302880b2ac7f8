"""Fixtures for token exchange: an IdP (real JWKS), a real token endpoint, a guard using both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("uvicorn")  # the token endpoint is served by uvicorn (the mcp extra)

from support.jwks import JWKSServer, SigningKey, mint, rsa_key
from support.token_service import TokenService

from guardrail import (
    ClientSecret,
    Guard,
    JWTAuthenticator,
    Policy,
    Principal,
    TokenExchange,
)
from guardrail.testing import capture_audit

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
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def idp_key() -> SigningKey:
    return rsa_key("idp-1")


@pytest.fixture(scope="session")
def idp(idp_key: SigningKey) -> Iterator[JWKSServer]:
    with JWKSServer([idp_key]) as server:
        yield server


@pytest.fixture
def service(idp: JWKSServer) -> Iterator[TokenService]:
    """The token endpoint: client ``agent``; CRM offers crm.read/crm.write, billing bill.read."""
    with TokenService(idp.url, IDP, APP) as sts:
        sts.add_client("agent", secret=SECRET)
        sts.add_audience(CRM, {"crm.read", "crm.write"})
        sts.add_audience(BILLING, {"bill.read"})
        for user in ("alice", "bob"):
            sts.consent(user, CRM, {"crm.read"})
        yield sts


@pytest.fixture
def clock() -> Clock:
    return Clock()


def exchange_for(service: TokenService, **options: Any) -> TokenExchange:
    client = options.pop("client", ClientSecret(client_id="agent", secret=SECRET))
    return TokenExchange(service.token_url, client=client, **options)


@pytest.fixture
def guard(idp: JWKSServer, service: TokenService, clock: Clock) -> Guard:
    return Guard(
        Policy.from_dict(POLICY),
        authenticator=JWTAuthenticator(IDP, APP, jwks_url=idp.url),
        token_exchange=exchange_for(service, clock=clock),
    )


@pytest.fixture
def audit(guard: Guard) -> Iterator[list[Any]]:
    with capture_audit(guard) as events:
        yield events


class Users:
    def __init__(self, key: SigningKey, guard: Guard) -> None:
        self.key, self.guard = key, guard

    def token(self, subject: str, **claims: Any) -> str:
        claims.setdefault("roles", ["support"])
        return mint(self.key, issuer=IDP, audience=APP, subject=subject, **claims)

    def principal(self, subject: str, **claims: Any) -> Principal:
        return self.guard.authenticate(self.token(subject, **claims))


@pytest.fixture
def users(idp_key: SigningKey, guard: Guard) -> Users:
    return Users(idp_key, guard)


def downstream_verifier(service: TokenService, audience: str) -> JWTAuthenticator:
    """What the downstream system runs: it trusts the token service for its own audience."""
    from support.token_service import ISSUER

    return JWTAuthenticator(ISSUER, audience, jwks_url=service.jwks_url)
