"""Unsafe or inconsistent JWTAuthenticator settings fail at construction."""

from __future__ import annotations

from typing import Any

import pytest
from support.jwks import SigningKey

from guardrail import ConfigurationError, JWTAuthenticator

URL = "http://127.0.0.1:9/jwks.json"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"jwks_url": URL, "algorithms": ["RS256", "none"]}, "'none' is never allowed"),
        ({"jwks_url": URL, "algorithms": ["RS256", "HS256"]}, "cannot be verified with JWKS"),
        ({"jwks_url": URL, "algorithms": []}, "must not be empty"),
        ({"jwks_url": URL, "algorithms": "RS256"}, "must be a list"),
        ({"jwks_url": URL, "algorithms": ["XS999"]}, "unsupported algorithms"),
        ({"key": b"short", "algorithms": ["HS256"]}, "at least 32 bytes"),
        ({}, "exactly one of jwks_url= or key="),
    ],
)
def test_bad_settings(options: dict[str, Any], message: str) -> None:
    """Each unsafe setting is a ConfigurationError that says what is wrong."""
    with pytest.raises(ConfigurationError, match=message):
        JWTAuthenticator("https://idp.test/", "aud", **options)


def test_hmac_algorithm_with_public_key_is_refused(rsa_signer: SigningKey) -> None:
    """HS256 next to an RSA public key would allow key confusion: refused up front."""
    with pytest.raises(ConfigurationError, match="HMAC secret"):
        JWTAuthenticator(
            "https://idp.test/", "aud", key=rsa_signer.public_key, algorithms=["RS256", "HS256"]
        )


def test_both_key_and_jwks_url_is_refused(rsa_signer: SigningKey) -> None:
    """Exactly one key source."""
    with pytest.raises(ConfigurationError):
        JWTAuthenticator("https://idp.test/", "aud", key=rsa_signer.public_key, jwks_url=URL)


def test_private_key_is_reduced_to_its_public_half(rsa_signer: SigningKey) -> None:
    """Passing the private key by mistake still verifies with the public key."""
    auth = JWTAuthenticator("https://idp.test/", "aud", key=rsa_signer.private_key)
    assert "static key" in repr(auth)


def test_key_that_fits_no_algorithm(rsa_signer: SigningKey) -> None:
    """An RSA key with an ES256-only allow-list can verify nothing."""
    with pytest.raises(ConfigurationError, match="can use"):
        JWTAuthenticator(
            "https://idp.test/", "aud", key=rsa_signer.public_key, algorithms=["ES256"]
        )
