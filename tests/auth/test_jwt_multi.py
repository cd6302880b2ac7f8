"""MultiIssuerAuthenticator routes on the unverified ``iss``, verifies with that issuer's keys."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from support.jwks import JWKSServer, SigningKey, compose, ec_key, mint, standard_claims

from guardrail import AuthenticationError, ConfigurationError, JWTAuthenticator
from guardrail.auth import MultiIssuerAuthenticator

A = "https://idp-a.test/"
B = "https://idp-b.test/"
AUD = "support-agent"


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    # "shared" exists at both issuers with different key material.
    return {
        "a": ec_key("a-1"),
        "b": ec_key("b-1"),
        "a-shared": ec_key("shared"),
        "b-shared": ec_key("shared"),
    }


@pytest.fixture(scope="module")
def servers(keys: dict[str, SigningKey]) -> Iterator[tuple[JWKSServer, JWKSServer]]:
    with (
        JWKSServer([keys["a"], keys["a-shared"]]) as a,
        JWKSServer([keys["b"], keys["b-shared"]]) as b,
    ):
        yield a, b


@pytest.fixture
def multi(servers: tuple[JWKSServer, JWKSServer]) -> MultiIssuerAuthenticator:
    a, b = servers
    return MultiIssuerAuthenticator(
        [
            JWTAuthenticator(A, AUD, jwks_url=a.url),
            JWTAuthenticator(B, AUD, jwks_url=b.url),
        ]
    )


def _reason(multi: MultiIssuerAuthenticator, raw: str) -> str:
    with pytest.raises(AuthenticationError) as caught:
        multi.authenticate(raw)
    return caught.value.reason


def test_each_issuer_verifies_its_own_tokens(
    multi: MultiIssuerAuthenticator, keys: dict[str, SigningKey]
) -> None:
    """Tokens from A and from B both verify, each carrying its issuer."""
    a = multi.authenticate(mint(keys["a"], issuer=A, audience=AUD, subject="ann"))
    b = multi.authenticate(mint(keys["b"], issuer=B, audience=AUD, subject="bob"))
    assert (a.subject, a.issuer) == ("ann", A)
    assert (b.subject, b.issuer) == ("bob", B)


def test_token_naming_b_signed_with_a_key_fails(
    multi: MultiIssuerAuthenticator, keys: dict[str, SigningKey]
) -> None:
    """``iss`` B with A's key: B's key set has no such kid."""
    raw = mint(keys["a"], issuer=B, audience=AUD)
    assert _reason(multi, raw) == "unknown signing key 'a-1'"


def test_same_kid_at_both_issuers_does_not_cross_over(
    multi: MultiIssuerAuthenticator, keys: dict[str, SigningKey]
) -> None:
    """``iss`` B, signed with A's "shared" key: B's "shared" key rejects the signature."""
    raw = mint(keys["a-shared"], issuer=B, audience=AUD)
    assert _reason(multi, raw) == "invalid signature"


def test_unknown_or_missing_issuer(multi: MultiIssuerAuthenticator) -> None:
    """An issuer nobody configured, or none at all, is refused before any key lookup."""
    evil = compose({"alg": "ES256", "kid": "a-1"}, standard_claims("https://evil.test/", AUD))
    assert _reason(multi, evil) == "unknown issuer 'https://evil.test/'"
    anonymous = compose({"alg": "ES256"}, {"sub": "x"})
    assert _reason(multi, anonymous) == "token has no 'iss' claim"


def test_shape_checks_apply_before_routing(multi: MultiIssuerAuthenticator) -> None:
    """Oversized and malformed tokens are refused by the router itself."""
    assert _reason(multi, "x" * 9000).startswith("token too large")
    assert _reason(multi, "a.b").startswith("malformed token")


def test_duplicate_issuer_is_a_configuration_error(servers: Any) -> None:
    """Two verifiers for one issuer is a mistake."""
    url = servers[0].url
    with pytest.raises(ConfigurationError, match="configured twice"):
        MultiIssuerAuthenticator(
            [JWTAuthenticator(A, AUD, jwks_url=url), JWTAuthenticator(A, AUD, jwks_url=url)]
        )
