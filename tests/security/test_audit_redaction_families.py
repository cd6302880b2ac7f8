"""The secret families of issue 16, each as a class: names, URL credentials, vendor tokens,
authorization header values anywhere, tokens used as keys, AWS secrets under neutral
names, private keys; and what must stay readable (ids, digests, words)."""

from __future__ import annotations

import json
import random
import string
from collections import namedtuple
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel

from guardrail.audit.redact import REDACTED, Redactor

R = Redactor(max_length=10_000)
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVlLXNlY3JldA"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def dumped(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)


@pytest.mark.parametrize(
    "name",
    [
        "pwd", "passwd", "pass", "password", "db_password", "DB_PASS", "userPassword",
        "passphrase", "secret", "client_secret", "clientSecret", "token", "access_token",
        "refreshToken", "id_token", "apikey", "api_key", "api-key", "X-Api-Key", "APIKey",
        "auth", "Authorization", "proxy-authorization", "oauth", "credential", "credentials",
        "creds", "private_key", "privateKey", "session", "session_id", "sessionToken",
        "cookie", "Set-Cookie", "signature", "sig", "jwt", "bearer", "otp", "pin", "cvv",
        "card_number", "ssn", "stripe_key", "signing_key", "AWS_SECRET_ACCESS_KEY",
        "aws_session_token", "connection_string", "dsn", "x-amz-security-token", "mfa_code",
        "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44", "to\u212aen", "pa\u017f\u017fword",
    ],
)  # fmt: skip
def test_secret_names_hide_their_value(name: str) -> None:
    """By normalised name: separators, case, camelCase, fullwidth and look-alike letters."""
    assert R.arguments({name: "hunter2", "order": "A-1"}) == {name: REDACTED, "order": "A-1"}
    assert R.value({"outer": {name: ["x", 1]}}) == {"outer": {name: REDACTED}}
    assert R.text(f"{name}=hunter2 and more") == f"{name}={REDACTED} and more"


@pytest.mark.parametrize(
    "name",
    ["max_tokens", "total_tokens", "author", "sort_key", "primary_key", "idempotency_key",
     "public_key", "key", "passenger", "company", "order_id", "note", "spinner", "keyboard"],
)  # fmt: skip
def test_ordinary_names_keep_their_value(name: str) -> None:
    """Names that only look like secret names keep plain values."""
    assert R.arguments({name: "A-17"}) == {name: "A-17"}


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("postgres://u:pw@h", "postgres://u:"),
        ("postgresql+psycopg2://app:S3cr3t!@db.internal:5432/prod", "postgresql+psycopg2://app:"),
        ("mysql://root:hunter2@10.0.0.1/db", "mysql://root:"),
        ("mongodb+srv://admin:p%40ss@cluster0.example.net/test", "mongodb+srv://admin:"),
        ("redis://:hunter2@cache:6379/0", "redis://:"),
        ("amqp://guest:guest-pw@rabbit/vhost", "amqp://guest:"),
        ("https://bob:tops3cret@example.com/path?q=1", "https://bob:"),
        ("ftp://anon:mail-pw@ftp.example.org/", "ftp://anon:"),
        ("ldap://cn=admin:ldap-pw@dir.example.com", "ldap://cn=admin:"),
    ],
)
def test_url_credentials_lose_the_password(url: str, kept: str) -> None:
    """Any scheme://user:pass@host: the password goes, scheme, user and host stay."""
    password = url.split("@")[0].rsplit(":", 1)[1]
    for shape in (url, f"connect to {url} now", [url], {"target": url}):
        out = dumped(R.value(shape))
        assert password not in out and kept in out and REDACTED in out


@pytest.mark.parametrize(
    "token",
    [
        "sk-ant-api03-" + "A1b2C3d4E5" * 9 + "xyzAA",
        "sk-proj-" + "Ab3" * 20,
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
        "ghp_" + "a1B2c3D4e5" * 3 + "F6g7h8",
        "gho_" + "Z9y8X7w6V5" * 3 + "u4T3s2",
        "ghs_" + "0aZ" * 12,
        "xoxb-123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789",
        "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
        "rk_live_" + "51H8sN2eZvKYlo2C9sAbCdEf",
        "whsec_" + "Xy7" * 11,
        "AIzaSyD-" + "a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuV",
        "ya29.a0AfH6SMB" + "x1Y2z3" * 6,
        "AKIAIOSFODNN7EXAMPLE",
        "glpat-" + "xY9" * 7,
        "npm_" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hI6",
        "hf_" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh",
        "SG." + "aBcDeFgHiJkLmNoPqRsTuV" + "." + "wXyZ0123456789aBcDeFgHiJkLmNoPqRsTuVwXyZ01234",
        JWT,
    ],
)
def test_vendor_tokens_go_wherever_they_are(token: str) -> None:
    """Bare, in text, under a neutral name, in lists and tuples, as a key, in models."""

    @dataclass
    class Holder:
        value: Any

    class Model(BaseModel):
        body: str

    pair = namedtuple("pair", "a b")
    for shape in (
        token,
        f"use {token}.",
        {"data": token},
        [1, [token]],
        ("x", token),
        {token: 1},
        {"headers": {token: "v"}},
        Holder(value=token),
        pair(a=1, b=token),
        Model(body=f"token:{token}"),
        {frozenset({token})},
    ):
        out = dumped(R.value(shape))
        assert token not in out, out


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "Basic", "BASIC", "Token"])
def test_authorization_values_anywhere(scheme: str) -> None:
    """``Basic``/``Bearer`` values in header lists, tuples, dicts and free text."""
    credential = "dXNlcjpodW50ZXIy" if scheme.lower() == "basic" else "abc.DEF-123_ghi~jkl"
    value = f"{scheme} {credential}"
    for shape in (
        [("Authorization", value), ("Accept", "json")],
        [["X-Forwarded-Authorization", value]],
        {"headers": [value]},
        {"h": {"Proxy": value}},
        f"curl -H 'Authorization: {value}' https://example.com",
        value,
    ):
        out = dumped(R.value(shape))
        assert credential not in out, out
    assert R.value("Basic information about accounts") == "Basic information about accounts"


def test_a_jwt_used_as_a_key_is_redacted_and_keys_stay_apart() -> None:
    """Keys are redacted like values; two redacted keys do not overwrite each other."""
    out = R.arguments({"cache": {JWT: "alice", JWT[:-1] + "Q": "bob"}})
    assert JWT not in dumped(out)
    assert sorted(out["cache"].values()) == ["alice", "bob"]


def test_aws_secret_access_keys_under_neutral_names() -> None:
    """40 base64 characters of key material, under any name, next to an AKIA id or not."""
    rng = random.Random(16)
    alphabet = string.ascii_letters + string.digits + "+/"
    keys = [AWS_SECRET] + ["".join(rng.choice(alphabet) for _ in range(40)) for _ in range(500)]
    for key in keys:
        for shape in (
            {"data": key},
            {"id": "AKIAIOSFODNN7EXAMPLE", "value": key},
            f"aws configure set {key}",
            [key],
        ):
            assert key not in dumped(R.value(shape)), key


@pytest.mark.parametrize(
    "kind", ["RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "PRIVATE KEY",
             "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK", "DSA PRIVATE KEY"],
)  # fmt: skip
def test_private_key_blocks(kind: str) -> None:
    """A PEM block goes whole, also when cut short."""
    body = "MIIEowIBAAKCAQEA7bq1" + "q" * 64 + "\nAbCd=="
    block = f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----"
    for text in (block, f"key:\n{block}\ntrailer", block[:60]):
        out = R.value(text)
        assert "MIIEowIBAAKCAQEA7bq1" not in out and REDACTED in out


@pytest.mark.parametrize(
    "plain",
    [
        "550e8400-e29b-41d4-a716-446655440000",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "ch_3MmlLrLkdIwHu7ix0snN0B15",
        "cus_NffrFeUfNV2Hib",
        "2026-11-25T10:00:00+00:00",
        "/home/alice/projects/guardrail/tests/security/test_cli_errors.py",
        "alice.smith@example.com",
        "refund order A-1234567890 for the customer, amount 40.00 EUR",
        "https://example.com/api/v2/users/12345/orders?page=2",
        "ThisIsAVeryLongCamelCaseIdentifierName",
        "i-0abcd1234efab5678",
    ],
)
def test_ordinary_values_stay_readable(plain: str) -> None:
    """Ids, digests, times, paths, addresses and sentences are not secrets."""
    assert R.value(plain) == plain
    assert R.arguments({"data": plain}) == {"data": plain}
