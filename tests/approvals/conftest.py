"""Fixtures for approval tests: real JWTs from a JWKS server on 127.0.0.1, a chain log,
and each approval store (SQLite file, real redis-server)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.jwks import JWKSServer, SigningKey, mint, rsa_key
from support.redis_server import RedisServer

from guardrail import ChainLog, Guard, JWTAuthenticator, Policy
from guardrail.approvals import ApprovalStore, SQLiteApprovalStore
from guardrail.approvals.redis import RedisApprovalStore

ISSUER = "https://idp.test/"
AUDIENCE = "refund-agent"

POLICY: dict[str, Any] = {
    "rules": [
        {
            "id": "refund-small",
            "allow": "refund",
            "when": {"roles": ["agent"]},
            "args": {"amount": {"max": 100}},
        },
        {
            "id": "refund-large",
            "approve": "refund",
            "when": {"roles": ["agent"]},
            "args": {"amount": {"min": 100}},
            "approvers": {"roles": ["finance-lead"]},
            "ttl": "1h",
        },
    ]
}


class Clock:
    """Epoch seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


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


def open_store(uri: str) -> ApprovalStore:
    return RedisApprovalStore(uri) if uri.startswith("redis://") else SQLiteApprovalStore(uri)


class Records:
    """The chain log's records, parsed."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def all(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = [json.loads(line) for line in self.path.read_text().splitlines() if line]
        return [line["data"] for line in lines if line["kind"] == "event"]

    def approvals(self) -> list[tuple[str, str | None, str | None]]:
        """(event, approver, digest) of every approval notice, in order."""
        return [
            (r["detail"]["event"], r["detail"].get("approver"), r["detail"].get("digest"))
            for r in self.all()
            if r.get("phase") == "notice"
            and str(r["detail"].get("event", "")).startswith("approval.")
        ]

    def calls(self) -> list[tuple[str, str]]:
        """(phase, decision) of every call record, in order."""
        return [(r["phase"], r["decision"]) for r in self.all() if r.get("phase") != "notice"]


def make_guard(
    store: ApprovalStore | str,
    authenticator: JWTAuthenticator,
    chain: Path,
    policy: dict[str, Any] = POLICY,
) -> Guard:
    return Guard(
        Policy.from_dict(policy),
        authenticator=authenticator,
        audit=[ChainLog(chain)],
        approvals=store,
    )
