"""Approval fixtures for the framework tests: real RS256 JWTs checked against a JWKS
document served on 127.0.0.1, as ``tests/approvals`` uses them.

Import the fixtures into a test module (``from support.approval_fixtures import
authenticator, jwks, signer, token``); pytest finds them there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from guardrail import JWTAuthenticator
from support.approvals import AUDIENCE, ISSUER
from support.jwks import JWKSServer, SigningKey, mint, rsa_key


@pytest.fixture(scope="module")
def signer() -> SigningKey:
    return rsa_key("approvals-fw")


@pytest.fixture(scope="module")
def jwks(signer: SigningKey) -> Iterator[JWKSServer]:
    with JWKSServer([signer]) as server:
        yield server


@pytest.fixture
def token(signer: SigningKey) -> Callable[..., str]:
    """A signed JWT for ``subject`` with ``roles``."""

    def make(subject: str, *roles: str) -> str:
        return mint(signer, issuer=ISSUER, audience=AUDIENCE, subject=subject, roles=list(roles))

    return make


@pytest.fixture
def authenticator(jwks: JWKSServer) -> JWTAuthenticator:
    return JWTAuthenticator(ISSUER, AUDIENCE, jwks_url=jwks.url)
