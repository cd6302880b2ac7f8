"""Fixtures for approval tests: real JWTs from a JWKS server on 127.0.0.1, and each
approval store (a SQLite file, a real redis-server)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.approvals import AUDIENCE, ISSUER
from support.jwks import JWKSServer, SigningKey, mint, rsa_key
from support.redis_server import RedisServer

from guardrail import JWTAuthenticator
from guardrail.approvals.redis import RedisApprovalStore


@pytest.fixture(scope="session")
def signer() -> SigningKey:
    return rsa_key("approvals-1")


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "redis"])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the approvals live: a SQLite file, or a freshly flushed real Redis."""
    if request.param == "sqlite":
        return str(tmp_path / "approvals.db")
    server: RedisServer = request.getfixturevalue("redis_server")
    store = RedisApprovalStore(server.url)
    store.client.flushdb()
    store.close()
    return server.url
