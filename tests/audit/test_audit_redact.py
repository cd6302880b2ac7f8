"""Redaction: secret keys, secret-looking values, per-tool fields, long values."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from guardrail.audit.redact import REDACTED, Redactor


@pytest.fixture
def redactor() -> Redactor:
    return Redactor(max_length=64)


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "db_passwd",
        "client_secret",
        "api_key",
        "X-Api-Key",
        "access_token",
        "Authorization",
        "cookie",
        "private_key",
        "session_id",
        "cvv",
        "card_number",
        "otp",
    ],
)
def test_secret_keys_are_hidden_whatever_the_value(redactor: Redactor, key: str) -> None:
    """A secret-looking key hides its whole value."""
    assert redactor.arguments({key: {"nested": 1}, "order": "A-1"}) == {
        key: REDACTED,
        "order": "A-1",
    }


@pytest.mark.parametrize(
    "text",
    [
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl",
        "Bearer abcdefghijklmnop",
        "sk-live-ABCDEFGHIJKLMNOPQRSTUV",
        "AKIAABCDEFGHIJKLMNOP",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "xoxb-1234567890-abcdef",
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "5500005555555559",
        "-----BEGIN PRIVATE KEY-----\nMIIEv...\n-----END PRIVATE KEY-----",
    ],
)
def test_secret_values_are_replaced_inside_text(redactor: Redactor, text: str) -> None:
    """Tokens, keys and card numbers are cut out of free text."""
    out = redactor.value(f"see {text} here")
    assert text not in out and REDACTED in out


def test_assignments_in_text_keep_the_name(redactor: Redactor) -> None:
    """In 'password=...' only the value goes."""
    out = redactor.value("login password=hunter2 token: 'abc def' user=bob")
    assert out == f"login password={REDACTED} token: {REDACTED} user=bob"


def test_ordinary_numbers_and_ids_are_kept(redactor: Redactor) -> None:
    """Not every long number is a card: Luhn decides."""
    args = {"order": "A-1234567890123", "phone": "4111 1111 1111 1112", "n": 42, "ok": True}
    assert redactor.arguments(args) == args


def test_per_tool_fields_and_dotted_paths(redactor: Redactor) -> None:
    """A tool's redact= fields, nested ones by dotted path, are hidden."""
    args = {"note": "hello", "payment": {"card": "x", "amount": 3}, "to": "bob"}
    out = redactor.arguments(args, ["note", "payment.card"])
    assert out == {"note": REDACTED, "payment": {"card": REDACTED, "amount": 3}, "to": "bob"}
    assert args["payment"] == {"card": "x", "amount": 3}  # the call's own args are untouched


def test_long_values_are_truncated(redactor: Redactor) -> None:
    """Long strings are cut to max_length with a note of how much."""
    out = redactor.value("x" * 1000)
    assert out.startswith("x" * 64) and out.endswith("[936 more chars]")


def test_nesting_items_bytes_and_models_are_bounded(redactor: Redactor) -> None:
    """Depth, item count, bytes and pydantic models are handled."""

    class Card(BaseModel):
        holder: str
        pan: str
        pin: SecretStr

    deep: dict[str, object] = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    out = redactor.arguments(
        {
            "deep": deep,
            "many": list(range(100)),
            "blob": b"\x00" * 10,
            "card": Card(holder="A", pan="4111111111111111", pin=SecretStr("1234")),
        }
    )
    assert out["deep"] == {"a": {"b": {"c": {"d": "[...]"}}}}
    assert len(out["many"]) == 50
    assert out["blob"] == "[10 bytes]"
    assert out["card"] == {"holder": "A", "pan": REDACTED, "pin": REDACTED}


SAMPLES = (
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl",
    "Bearer abcdefghijklmnop",
    "sk-proj-ABCDEFGHIJKLMNOPQRSTUV",
    "4111111111111111",
    "password=hunter2hunter2",
)


@settings(max_examples=int(os.environ.get("GUARDRAIL_EXAMPLES", "200")), deadline=None)
@given(
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    secret=st.sampled_from(SAMPLES),
)
def test_a_secret_between_any_words_is_removed(before: str, after: str, secret: str) -> None:
    """Whatever surrounds a secret (space-separated), it does not survive redaction."""
    out = Redactor(max_length=10_000).value(f"{before} {secret} {after}")
    assert secret not in out
