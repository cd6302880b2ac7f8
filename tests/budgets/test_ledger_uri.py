"""Choosing a ledger by URI or object, and configuration mistakes."""

from __future__ import annotations

import sys

import pytest
from support.redis_server import RedisServer

from guardrail import (
    ConfigurationError,
    Guard,
    MemoryLedger,
    Policy,
    RedisLedger,
)
from guardrail.budgets import ledger_from_uri

POLICY = Policy.model_validate({"rules": [{"id": "all", "allow": ["*"]}]})


def test_uris_pick_the_backend(redis_server: RedisServer) -> None:
    """memory:// and redis://host:port/db build the matching ledger."""
    assert isinstance(ledger_from_uri("memory://"), MemoryLedger)
    ledger = ledger_from_uri(redis_server.url)
    assert isinstance(ledger, RedisLedger)
    ledger.close()
    assert isinstance(Guard(POLICY).ledger, MemoryLedger)  # the default
    mine = MemoryLedger()
    assert Guard(POLICY, ledger=mine).ledger is mine  # an object is used as is


def test_an_unknown_scheme_is_a_configuration_error() -> None:
    """A typo in the ledger URI fails when the Guard is built, listing the schemes."""
    with pytest.raises(ConfigurationError, match="memory://"):
        Guard(POLICY, ledger="memcached://localhost")


def test_on_ledger_error_must_be_deny_or_allow() -> None:
    """Anything but "deny" or "allow" is refused up front."""
    with pytest.raises(ConfigurationError, match="on_ledger_error"):
        Guard(POLICY, on_ledger_error="ignore")  # type: ignore[arg-type]


def test_redis_uri_without_redis_py_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without redis-py installed, a redis:// ledger names the pip extra."""
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match=r"guardrail\[redis\]"):
        ledger_from_uri("redis://127.0.0.1:1/0")
