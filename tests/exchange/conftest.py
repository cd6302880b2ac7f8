"""Fixtures for token exchange: an IdP (real JWKS), a real token endpoint, a guard using both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("uvicorn")  # the token endpoint is served by uvicorn (the mcp extra)

from exchange_support import APP, BILLING, CRM, IDP, POLICY, SECRET, Clock, Users, exchange_for
from support.jwks import JWKSServer, SigningKey, rsa_key
from support.token_service import TokenService

from guardrail import Guard, JWTAuthenticator, Policy
from guardrail.testing import capture_audit


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


@pytest.fixture
def users(idp_key: SigningKey, guard: Guard) -> Users:
    return Users(idp_key, guard)
