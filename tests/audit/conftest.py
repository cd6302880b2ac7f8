"""Fixtures for the audit tests: an in-memory OTel SDK, a policy, guards and secrets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from guardrail import Guard, Policy, Principal
from guardrail.audit.trail import AuditSink

JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0."
    "eyJzdWIiOiJhbGljZSIsImF1ZCI6InN1cHBvcnQifQ."
    "c2lnbmF0dXJlLXNlY3JldC12YWx1ZQ"
)
SECRETS = (
    JWT,
    "hunter2-very-secret",
    "sk-live-ABCDEFGHIJKLMNOPQRSTUV",
    "4111 1111 1111 1111",
    "Bearer zzTOPSECRETzz123456",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
)
"""Values that must never reach a span, a log line or an audit record."""

POLICY = {
    "rules": [
        {
            "id": "support-refunds",
            "allow": ["refund"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}},
        },
        {
            "id": "support-tools",
            "allow": ["lookup", "boom", "slow"],
            "when": {"roles": ["support"]},
        },
        {
            "id": "no-contractor-refunds",
            "deny": ["refund"],
            "when": {"attributes": {"employment": "contractor"}},
        },
    ]
}


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    tp = TracerProvider()
    tp.add_span_processor(SimpleSpanProcessor(exporter))
    yield tp
    tp.shutdown()


@pytest.fixture
def policy() -> Policy:
    return Policy.from_dict(POLICY)


@pytest.fixture
def alice() -> Principal:
    """A support user whose raw token is a secret."""
    return Principal(
        subject="alice",
        org="acme",
        teams=("support-eu",),
        roles=frozenset({"support"}),
        token=SecretStr(JWT),
    )


@pytest.fixture
def contractor() -> Principal:
    return Principal(
        subject="carl",
        org="acme",
        roles=frozenset({"support"}),
        attributes={"employment": "contractor"},
        token=SecretStr(JWT),
    )


GuardFactory = Callable[..., Guard]


@pytest.fixture
def make_guard(policy: Policy, provider: TracerProvider) -> GuardFactory:
    def make(*sinks: AuditSink, **options: object) -> Guard:
        return Guard(policy, audit=list(sinks), tracer_provider=provider, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


@pytest.fixture
def secrets() -> tuple[str, ...]:
    """Values that must never reach a span, a log line or an audit record (JWT first)."""
    return SECRETS
