"""Fixtures for approval tests: real JWTs from a JWKS server on 127.0.0.1, and each
approval store (a SQLite file, a real redis-server)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.approval_fixtures import authenticator, jwks, signer, token
from support.redis_server import RedisServer

from guardrail.approvals.redis import RedisApprovalStore

__all__ = ["authenticator", "jwks", "signer", "token"]  # fixtures, found by name


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
