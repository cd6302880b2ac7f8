"""JWTAuthenticator accepts good tokens and rejects each kind of bad one with its own reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from support.jwks import JWKSServer, SigningKey, b64url, compose, ec_key, mint, standard_claims

from guardrail import AuthenticationError, JWTAuthenticator

ISSUER = "https://idp.test/"
AUDIENCE = "support-agent"

Mint = Callable[..., str]


def test_valid_rs256_token_gives_principal(auth: JWTAuthenticator, token: Mint) -> None:
    """A good RS256 token from the JWKS yields its subject, issuer, expiry and the raw token."""
    raw = token(subject="alice", roles=["support"], scope="orders:read orders:refund")
    principal = auth.authenticate(raw)
    assert principal.subject == "alice"
    assert principal.issuer == ISSUER
    assert principal.roles == {"support"}
    assert principal.scopes == {"orders:read", "orders:refund"}
    assert principal.token is not None and principal.token.get_secret_value() == raw
    assert principal.expires_at == json.loads(_payload(raw))["exp"]
    assert raw not in repr(principal)


def test_valid_es256_token(auth: JWTAuthenticator, token: Mint, ec_signer: SigningKey) -> None:
    """An ES256 token signed by the JWKS's EC key is accepted."""
    assert auth.authenticate(token(ec_signer, subject="bob")).subject == "bob"


def test_static_pem_key(rsa_signer: SigningKey, token: Mint) -> None:
    """``key=`` takes a PEM public key instead of a JWKS URL."""
    auth = JWTAuthenticator(ISSUER, AUDIENCE, key=rsa_signer.public_pem, algorithms=["RS256"])
    assert auth.authenticate(token(subject="carol")).subject == "carol"


def test_static_hmac_secret() -> None:
    """An HS256 allow-list works with a shared secret (and only with one)."""
    secret = b"s" * 32
    auth = JWTAuthenticator(ISSUER, AUDIENCE, key=secret, algorithms=["HS256"])
    raw = _hs256(standard_claims(ISSUER, AUDIENCE, "dave"), secret)
    assert auth.authenticate(raw).subject == "dave"


def test_audience_list_in_token(auth: JWTAuthenticator, token: Mint) -> None:
    """A token for several audiences is accepted when ours is one of them."""
    raw = token(audience=["other-api", AUDIENCE])
    assert auth.authenticate(raw).subject == "alice"


# -- every rejection, each with its own reason ---------------------------------------


def _payload(raw: str) -> bytes:
    segment = raw.split(".")[1]
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _hs256(claims: dict[str, Any], secret: bytes, kid: str | None = None) -> str:
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{b64url(json.dumps(header))}.{b64url(json.dumps(claims))}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"


def _tampered(token: Mint) -> str:
    header, _, signature = token(roles=["customer"]).split(".")
    forged = standard_claims(ISSUER, AUDIENCE, "alice", roles=["admin"])
    return f"{header}.{b64url(json.dumps(forged))}.{signature}"


def _key_confusion(token: Mint, rsa: SigningKey) -> str:
    # The classic attack: HMAC over the token with the issuer's *public* key as secret.
    return _hs256(standard_claims(ISSUER, AUDIENCE, "mallory"), rsa.public_pem, kid=rsa.kid)


def _oversized(token: Mint) -> str:
    return token(padding="x" * 7600)


CASES: dict[str, tuple[Callable[[Mint, SigningKey], str], str]] = {
    "expired": (lambda t, k: t(lifetime=-120), "token expired"),
    "not yet valid": (lambda t, k: t(nbf=int(time.time()) + 600), "token not yet valid"),
    "wrong issuer": (lambda t, k: t(issuer="https://evil.test/"), "wrong issuer"),
    "wrong audience": (lambda t, k: t(audience="billing"), "wrong audience"),
    "missing sub": (lambda t, k: t(subject=None), "token has no 'sub' claim"),
    "missing exp": (lambda t, k: t(exp=None), "token has no 'exp' claim"),
    "integer sub": (lambda t, k: t(subject=42), "'sub' claim must be a string"),
    "alg none": (
        lambda t, k: compose({"alg": "none", "typ": "JWT"}, standard_claims(ISSUER, AUDIENCE)),
        "algorithm 'none' not allowed",
    ),
    "alg NONE": (
        lambda t, k: compose({"alg": "NONE"}, standard_claims(ISSUER, AUDIENCE)),
        "algorithm 'none' not allowed",
    ),
    "key confusion HS256": (lambda t, k: _key_confusion(t, k), "algorithm 'HS256' not allowed"),
    "alg for another key type": (
        lambda t, k: ec_key("rsa-1").sign(standard_claims(ISSUER, AUDIENCE)),
        "algorithm 'ES256' does not fit the signing key",
    ),
    "unknown kid": (lambda t, k: t(headers={"kid": "nope"}), "unknown signing key 'nope'"),
    "tampered payload": (lambda t, k: _tampered(t), "invalid signature"),
    "issued in the future": (
        lambda t, k: t(now=time.time() + 600, lifetime=60),
        "token issued in the future (iat)",
    ),
    "no alg": (
        lambda t, k: compose({"kid": "rsa-1"}, standard_claims(ISSUER, AUDIENCE)),
        "token header has no 'alg'",
    ),
    "kid not a string": (
        lambda t, k: compose({"alg": "RS256", "kid": 7}, standard_claims(ISSUER, AUDIENCE)),
        "malformed token header ('kid' must be a string)",
    ),
    "oversized": (lambda t, k: _oversized(t), "token too large"),
    "not three segments": (
        lambda t, k: "abc.def",
        "malformed token (expected three base64url segments)",
    ),
    "header not JSON": (
        lambda t, k: f"{b64url('nope')}.{b64url('{}')}.c2ln",
        "malformed token header (not base64url JSON)",
    ),
    "header not an object": (
        lambda t, k: f"{b64url('[1]')}.{b64url('{}')}.c2ln",
        "malformed token header (not a JSON object)",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_rejection_reason(
    case: str, auth: JWTAuthenticator, token: Mint, rsa_signer: SigningKey
) -> None:
    """Each bad token fails with AuthenticationError, its reason, and never echoes the token."""
    build, reason = CASES[case]
    raw = build(token, rsa_signer)
    with pytest.raises(AuthenticationError) as caught:
        auth.authenticate(raw)
    assert caught.value.reason.startswith(reason)
    assert raw not in str(caught.value)
    assert all(len(part) < 8 or part not in str(caught.value) for part in raw.split("."))


def test_rejection_reasons_are_distinct() -> None:
    """No two kinds of failure share a reason (case variants of one attack aside)."""
    reasons = [reason for case, (_, reason) in CASES.items() if case != "alg NONE"]
    assert len(reasons) == len(set(reasons))


def test_oversized_reason_names_sizes(auth: JWTAuthenticator, token: Mint) -> None:
    """A 10 KB token is refused before decoding, with both sizes in the reason."""
    raw = token(padding="x" * 7600)
    assert 9000 < len(raw) < 11000
    expected = rf"^token too large \({len(raw)} bytes > 8192\)$"
    with pytest.raises(AuthenticationError, match=expected):
        auth.authenticate(raw)
    with pytest.raises(AuthenticationError, match=r"^token too large \(10240 bytes > 8192\)$"):
        auth.authenticate("a" * 10240)


def test_jku_and_embedded_jwk_headers_are_never_followed(
    auth: JWTAuthenticator, token: Mint
) -> None:
    """A token pointing at the attacker's own JWKS (jku/x5u) or embedding a key is refused."""
    attacker = ec_key("attacker")
    with JWKSServer([attacker]) as evil:
        headers = {"jku": evil.url, "x5u": evil.url, "jwk": attacker.jwk, "x5c": ["MIIB"]}
        raw = mint(attacker, issuer=ISSUER, audience=AUDIENCE, headers=headers)
        with pytest.raises(AuthenticationError, match="unknown signing key 'attacker'"):
            auth.authenticate(raw)
        assert evil.fetches == 0


def test_verify_returns_claims_without_caching(auth: JWTAuthenticator, token: Mint) -> None:
    """``verify`` is the uncached check; it returns the verified claims."""
    claims = auth.verify(token(subject="erin", tenant="acme"))
    assert claims["sub"] == "erin" and claims["tenant"] == "acme"


async def test_aauthenticate_caches_and_offloads(auth: JWTAuthenticator, token: Mint) -> None:
    """The async entry point verifies (off the loop) and then answers from the cache."""
    raw = token(subject="async-alice")
    first = await auth.aauthenticate(raw)
    assert first.subject == "async-alice"
    assert await auth.aauthenticate(raw) is first
    with pytest.raises(AuthenticationError, match="wrong audience"):
        await auth.aauthenticate(token(audience="billing"))
