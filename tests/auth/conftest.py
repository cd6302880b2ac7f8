"""Fixtures for authenticator tests: shared keys, one JWKS server, a settable clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from support.jwks import JWKSServer, SigningKey, ec_key, mint, rsa_key

from guardrail import JWTAuthenticator

ISSUER = "https://idp.test/"
AUDIENCE = "support-agent"


class FakeClock:
    """Epoch seconds that move only when told to."""

    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def rsa_signer() -> SigningKey:
    return rsa_key("rsa-1")


@pytest.fixture(scope="session")
def ec_signer() -> SigningKey:
    return ec_key("ec-1")


@pytest.fixture(scope="session")
def _server() -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        yield server


@pytest.fixture
def jwks(_server: JWKSServer, rsa_signer: SigningKey, ec_signer: SigningKey) -> JWKSServer:
    """The shared JWKS server, reset to serve the RSA and EC keys with a zero fetch count."""
    _server.set_keys(rsa_signer, ec_signer)
    _server.reset_fetches()
    _server.delay = 0.0
    return _server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_auth(jwks: JWKSServer, clock: FakeClock) -> Any:
    """``make_auth(**overrides)``: a JWKS-backed authenticator on the fake clock."""

    def make(**overrides: Any) -> JWTAuthenticator:
        options: dict[str, Any] = {"jwks_url": jwks.url, "clock": clock, **overrides}
        return JWTAuthenticator(ISSUER, AUDIENCE, **options)

    return make


@pytest.fixture
def auth(make_auth: Any) -> JWTAuthenticator:
    return make_auth()  # type: ignore[no-any-return]


@pytest.fixture
def token(rsa_signer: SigningKey) -> Any:
    """``token(key=rsa_signer, **claims)``: a token for this issuer and audience.

    Times are real (PyJWT checks them against the system clock); the fake clock
    only drives the caches.
    """

    def make(key: SigningKey | None = None, **options: Any) -> str:
        options = {"issuer": ISSUER, "audience": AUDIENCE, **options}
        return mint(key or rsa_signer, **options)

    return make
