"""JWKS fetching: caching, rate-limited refresh on unknown kid, rotation, failing endpoint."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from support.jwks import JWKSServer, SigningKey, ec_key, rsa_key

from guardrail import AuthenticationError, ConfigurationError, JWTAuthenticator
from guardrail.auth import JWKSCache

Mint = Callable[..., str]


def _refused(auth: JWTAuthenticator, raw: str) -> str:
    with pytest.raises(AuthenticationError) as caught:
        auth.authenticate(raw)
    return caught.value.reason


def test_keys_fetched_lazily_once_then_cached(
    make_auth: Any, jwks: JWKSServer, token: Mint, ec_signer: SigningKey
) -> None:
    """No I/O at construction; one fetch serves many tokens and both keys."""
    auth = make_auth()
    assert jwks.fetches == 0
    for subject in ("a", "b", "c"):
        auth.authenticate(token(subject=subject))
        auth.authenticate(token(ec_signer, subject=subject))
    assert jwks.fetches == 1


def test_unknown_kid_one_refresh_then_rejection(
    auth: JWTAuthenticator, jwks: JWKSServer, token: Mint, clock: Any
) -> None:
    """An unknown kid fetches once and is refused; another within the cooldown fetches nothing."""
    assert _refused(auth, token(headers={"kid": "ghost"})) == "unknown signing key 'ghost'"
    assert jwks.fetches == 1
    assert _refused(auth, token(headers={"kid": "ghost-2"})) == "unknown signing key 'ghost-2'"
    assert jwks.fetches == 1
    clock.advance(31)
    assert _refused(auth, token(headers={"kid": "ghost-3"})) == "unknown signing key 'ghost-3'"
    assert jwks.fetches == 2


def test_thousand_random_kids_at_most_one_fetch_per_cooldown(
    make_auth: Any, jwks: JWKSServer, clock: Any
) -> None:
    """1,000 tokens with random kids over 100 simulated seconds: at most one fetch per 30 s."""
    auth = make_auth(jwks_cooldown=30, jwks_ttl=3600)
    signer = ec_key("unused")  # ES256 signs fast; the kid, not the key, is what is looked up
    tokens = [signer.sign({"sub": "x"}, headers={"kid": secrets.token_hex(8)}) for _ in range(1000)]
    for raw in tokens:
        with pytest.raises(AuthenticationError, match="unknown signing key"):
            auth.authenticate(raw)
        clock.advance(0.1)
    # One fetch in each 30 s window: at t = 0, ~30, ~60, ~90.
    assert jwks.fetches == 4


def test_concurrent_unknown_kids_fetch_once(make_auth: Any, jwks: JWKSServer) -> None:
    """1,000 random-kid tokens from eight threads at one instant share a single fetch."""
    auth = make_auth()
    signer = ec_key("unused")
    kids = [secrets.token_hex(8) for _ in range(1000)]
    tokens = [signer.sign({"sub": "x"}, headers={"kid": kid}) for kid in kids]
    failures: list[str] = []

    def work(chunk: list[str]) -> None:
        for raw in chunk:
            try:
                auth.authenticate(raw)
            except AuthenticationError as exc:
                failures.append(exc.reason)

    threads = [threading.Thread(target=work, args=(tokens[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(failures) == 1000
    assert set(failures) == {f"unknown signing key '{kid}'" for kid in kids}
    assert jwks.fetches == 1


def test_rotation_picks_up_new_kid(
    auth: JWTAuthenticator, jwks: JWKSServer, token: Mint, clock: Any
) -> None:
    """After the issuer rotates keys, a token with the new kid verifies via one refresh."""
    auth.authenticate(token())
    rotated = ec_key("ec-2")
    jwks.set_keys(rotated)
    clock.advance(31)  # past the cooldown since the first fetch
    assert auth.authenticate(token(rotated, subject="new")).subject == "new"
    assert jwks.fetches == 2
    assert _refused(auth, token(subject="old")) == "unknown signing key 'rsa-1'"


def test_stale_set_refreshed_after_ttl(
    make_auth: Any, jwks: JWKSServer, token: Mint, clock: Any
) -> None:
    """When the TTL passes the set is re-fetched even for a known kid."""
    auth = make_auth(jwks_ttl=60)
    auth.authenticate(token(lifetime=3600))
    clock.advance(61)
    auth.authenticate(token(lifetime=3600, subject="later"))
    assert jwks.fetches == 2


@pytest.mark.parametrize("breakage", ["http-503", "not-json", "no-keys"])
def test_failing_endpoint_keeps_last_good_keys(
    breakage: str, make_auth: Any, jwks: JWKSServer, token: Mint, clock: Any
) -> None:
    """A refresh that fails (HTTP error, junk, empty set) leaves the last good keys in use."""
    auth = make_auth(jwks_ttl=60)
    auth.authenticate(token(lifetime=3600))
    if breakage == "http-503":
        jwks.fail(503)
    elif breakage == "not-json":
        jwks.set_raw(b"<html>oops</html>")
    else:
        jwks.set_document({"keys": []})
    clock.advance(61)
    assert auth.authenticate(token(lifetime=3600, subject="still")).subject == "still"
    assert jwks.fetches == 2
    auth.authenticate(token(lifetime=3600, subject="again"))
    assert jwks.fetches == 2  # the failed attempt starts a cooldown too


def test_never_fetched_and_failing_is_refused(
    auth: JWTAuthenticator, jwks: JWKSServer, token: Mint
) -> None:
    """Without any good fetch there are no keys: fail closed and say why."""
    jwks.fail(500)
    assert _refused(auth, token()) == "signing keys unavailable (JWKS fetch failed: HTTP 500)"


def test_unreachable_endpoint(token: Mint, clock: Any) -> None:
    """A closed port is an ordinary refusal, not a crash."""
    with JWKSServer() as gone:
        url = gone.url
    auth = JWTAuthenticator("https://idp.test/", "support-agent", jwks_url=url, clock=clock)
    reason = _refused(auth, token())
    assert reason.startswith("signing keys unavailable (JWKS fetch failed: ")


def test_pinned_jwk_alg_is_honoured(make_auth: Any, jwks: JWKSServer, clock: Any) -> None:
    """A JWK that says ``alg: RS256`` does not verify PS256, even when PS256 is allowed."""
    key = rsa_key("pinned")
    jwks.set_keys(key)
    auth = make_auth(algorithms=["RS256", "PS256"])
    ps = SigningKey("pinned", "PS256", key.private_key)
    raw = ps.sign({"iss": "https://idp.test/", "aud": "support-agent", "sub": "a", "exp": 2**33})
    assert _refused(auth, raw) == "algorithm 'PS256' does not fit the signing key"


def test_unusable_keys_are_skipped(make_auth: Any, jwks: JWKSServer, token: Mint) -> None:
    """oct, encryption and malformed entries are ignored; the good key still works."""
    good = ec_key("good")
    jwks.set_document(
        {
            "keys": [
                {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
                {**ec_key("enc").jwk, "use": "enc"},
                {"kty": "RSA", "kid": "broken"},
                "not a key",
                good.jwk,
            ]
        }
    )
    auth = make_auth()
    assert auth.authenticate(token(good)).subject == "alice"
    assert _refused(auth, token(headers={"kid": "secret"})) == "unknown signing key 'secret'"


def test_token_without_kid_uses_single_key(
    make_auth: Any, jwks: JWKSServer, token: Mint, rsa_signer: SigningKey
) -> None:
    """No kid is fine when the set has exactly one key, refused when it has several."""
    auth = make_auth()
    assert _refused(auth, token(headers={"kid": None})) == "token has no 'kid' header"
    jwks.set_keys(rsa_signer)
    single = make_auth()
    assert single.authenticate(token(headers={"kid": None})).subject == "alice"


def test_refresh_keys_raises_when_endpoint_fails(auth: JWTAuthenticator, jwks: JWKSServer) -> None:
    """``refresh_keys()`` (start-up check) surfaces a failing endpoint."""
    auth.refresh_keys()
    jwks.fail(502)
    with pytest.raises(AuthenticationError, match="HTTP 502"):
        auth.refresh_keys()


def test_jwks_url_must_be_http() -> None:
    """``file://`` and other schemes are refused at construction."""
    with pytest.raises(ConfigurationError):
        JWKSCache("file:///etc/passwd", algorithms=frozenset({"RS256"}))


def test_redirects_are_not_followed(
    make_auth: Any, jwks: JWKSServer, token: Mint, rsa_signer: SigningKey
) -> None:
    """A JWKS URL that redirects (even to a valid key set) is a failed fetch."""
    with JWKSServer([rsa_signer]) as elsewhere:
        jwks.redirect(elsewhere.url)
        assert _refused(make_auth(), token()) == (
            "signing keys unavailable (JWKS fetch failed: HTTP 302 (redirects are not followed))"
        )
        assert elsewhere.fetches == 0
    jwks.recover()


def test_stale_known_key_served_during_slow_refresh(
    make_auth: Any, jwks: JWKSServer, token: Mint, clock: Any
) -> None:
    """While one thread waits on a slow refresh, others keep using the stale key set."""
    auth = make_auth(jwks_ttl=60)
    auth.authenticate(token(lifetime=3600))
    clock.advance(61)
    jwks.delay = 0.5
    refresher = threading.Thread(target=auth.authenticate, args=(token(subject="r"),))
    refresher.start()
    while jwks.fetches < 2:  # wait for the refresh request to reach the server
        time.sleep(0.01)
    assert auth.authenticate(token(subject="meanwhile")).subject == "meanwhile"
    assert refresher.is_alive()
    refresher.join()


def test_weak_rsa_key_is_refused(make_auth: Any, jwks: JWKSServer, token: Mint) -> None:
    """A 1024-bit RSA key from the JWKS does not verify anything."""
    weak = rsa_key("weak", bits=1024)
    jwks.set_keys(weak)
    assert _refused(make_auth(), token(weak)) == "signing key rejected (too weak or wrong type)"
