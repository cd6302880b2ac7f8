"""The verified-token cache: no second signature check, never past ``exp``, thread-safe."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from guardrail import AuthenticationError, JWTAuthenticator

Mint = Callable[..., str]


def _count_verifications(auth: JWTAuthenticator, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Wrap the authenticator's own uncached ``verify`` (signature + claims) to count calls."""
    calls: list[str] = []
    real = auth.verify

    def counting(token: str) -> dict[str, Any]:
        calls.append(token)
        return real(token)

    monkeypatch.setattr(auth, "verify", counting)
    return calls


def test_second_call_served_from_cache(
    auth: JWTAuthenticator, token: Mint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same token twice: one verification, the same principal."""
    calls = _count_verifications(auth, monkeypatch)
    raw = token()
    first = auth.authenticate(raw)
    second = auth.authenticate(raw)
    assert second is first
    assert len(calls) == 1
    auth.authenticate(token(subject="other"))
    assert len(calls) == 2


def test_expired_token_never_served_from_cache(
    make_auth: Any, token: Mint, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a long cache TTL, a token is re-verified (and refused) once its ``exp`` passes."""
    auth = make_auth(cache_ttl=3600, leeway=0)
    calls = _count_verifications(auth, monkeypatch)
    raw = token(lifetime=60)
    auth.authenticate(raw)
    clock.advance(30)
    auth.authenticate(raw)
    assert len(calls) == 1
    clock.advance(31)
    with pytest.raises(AuthenticationError, match=r"^token expired$"):
        auth.authenticate(raw)
    assert len(calls) == 2


def test_cache_ttl_bounds_entries(
    make_auth: Any, token: Mint, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived token is re-verified after ``cache_ttl`` (and still accepted)."""
    auth = make_auth(cache_ttl=10)
    calls = _count_verifications(auth, monkeypatch)
    raw = token(lifetime=3600)
    auth.authenticate(raw)
    clock.advance(11)
    auth.authenticate(raw)
    assert len(calls) == 2


def test_cache_can_be_disabled(
    make_auth: Any, token: Mint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``cache_ttl=0`` verifies every time."""
    auth = make_auth(cache_ttl=0)
    calls = _count_verifications(auth, monkeypatch)
    raw = token()
    auth.authenticate(raw)
    auth.authenticate(raw)
    assert len(calls) == 2


def test_failures_are_not_cached(auth: JWTAuthenticator, token: Mint) -> None:
    """A refused token is refused again (and a good one after it is unaffected)."""
    bad = token(audience="billing")
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="wrong audience"):
            auth.authenticate(bad)
    assert auth.authenticate(token()).subject == "alice"


def test_cache_under_threads(auth: JWTAuthenticator, token: Mint) -> None:
    """Eight threads sharing five tokens always get the right subject."""
    tokens = {f"user{i}": token(subject=f"user{i}") for i in range(5)}
    wrong: list[tuple[str, str]] = []

    def work() -> None:
        for _ in range(100):
            for subject, raw in tokens.items():
                got = auth.authenticate(raw).subject
                if got != subject:
                    wrong.append((subject, got))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
