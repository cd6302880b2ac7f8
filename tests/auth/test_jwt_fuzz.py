"""Whatever the input, the authenticator answers with a principal or an AuthenticationError."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.jwks import b64url, ec_key, standard_claims

from guardrail import AuthenticationError, JWTAuthenticator

ISSUER = "https://idp.test/"
AUDIENCE = "support-agent"
KEY = ec_key("fuzz")
AUTH = JWTAuthenticator(ISSUER, AUDIENCE, key=KEY.public_key, algorithms=["ES256"])
GOOD = KEY.sign(standard_claims(ISSUER, AUDIENCE, lifetime=3600))

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(["ES256", "RS256", "HS256", "none", "", 5])},
    optional={"kid": st.one_of(st.text(max_size=5), st.integers()), "crit": json_values},
)
claims = st.fixed_dictionaries(
    {},
    optional={
        "iss": st.sampled_from([ISSUER, "x", 1]),
        "aud": st.sampled_from([AUDIENCE, [AUDIENCE], ["x"], 3]),
        "sub": json_values,
        "exp": json_values,
        "nbf": json_values,
        "iat": json_values,
        "scope": json_values,
        "roles": json_values,
        "realm_access": json_values,
    },
)


def _check(token: Any) -> None:
    try:
        principal = AUTH.authenticate(token)
    except AuthenticationError as exc:
        # A JWT-shaped input (two dots) is never echoed; short text without dots can
        # be a chance substring of a fixed message ("malformed to").
        if isinstance(token, str) and len(token) >= 12 and token.count(".") >= 2:
            assert token not in exc.reason
    else:
        assert isinstance(principal.subject, str) and principal.subject


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(GOOD) - 1), st.characters(codec="ascii"))
def test_one_character_changed(position: int, char: str) -> None:
    """Any single-character edit of a good token is refused or (if a no-op) accepted."""
    _check(GOOD[:position] + char + GOOD[position + 1 :])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(headers, claims)
def test_signed_tokens_with_odd_headers_and_claims(
    header: dict[str, Any], body: dict[str, Any]
) -> None:
    """Properly encoded tokens with arbitrary header and claim values never crash verification."""
    signing_input = f"{b64url(json.dumps(header))}.{b64url(json.dumps(body))}"
    _check(f"{signing_input}.{b64url(b'x' * 64)}")
    _check(KEY.sign_raw(header, body))


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.text(max_size=64), st.binary(max_size=64), st.none(), st.integers()))
def test_arbitrary_input(token: Any) -> None:
    """Non-tokens (text, bytes, None, numbers) are refused cleanly."""
    _check(token)
