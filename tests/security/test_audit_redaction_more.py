"""Secrets in shapes the first corpus missed never reach a record (issue 16, audit, new members).

Found on main at 08b4769: a URL password holding ``@`` (URL parsers read the
userinfo up to the *last* ``@``, so ``postgres://u:p@ss@db`` kept ``ss``) or an
unencoded ``/ ? #``; header and environment pairs written as records
(``[("Authorization", "...")]``, ``{"name": "DB_PASSWORD", "value": "..."}``,
HAR headers, AWS tags); command-line flags (``--password=...``,
``--db-password ...``).
"""

from __future__ import annotations

from typing import Any

import pytest

from guardrail import Guard, Policy
from guardrail.audit.redact import REDACTED, Redactor
from guardrail.testing import capture_audit, make_principal

SECRET = "Zq7pW3x"
"""Not random-looking and no token shape: only the surrounding shape can give it away."""

URLS = [
    f"postgresql://app:{SECRET}@prod@db.internal:5432/orders",
    f"postgres://app:p@ss{SECRET}@db/orders?sslmode=require",
    f"mysql://root:pa/ss{SECRET}@10.0.0.5/db",
    f"mysql+pymysql://root:a?b{SECRET}@host/db",
    f"mongodb+srv://admin:x#y{SECRET}@cluster0.example.net/?retryWrites=true",
    f"redis://:{SECRET}@@cache:6379/0",
    f"amqp://guest:@{SECRET}@rabbit//",
    f"https://deploy:{SECRET}@@git.example.com/o/r.git",
    f"clickhouse://default:{SECRET}@x@ch:8123/db",
    f'{{"dsn": "x", "url": "postgres://u:a@b{SECRET}@h/db", "n": 1}}',
]


@pytest.mark.parametrize("text", URLS)
def test_a_url_password_is_redacted_up_to_the_last_at(text: str) -> None:
    out = Redactor(max_length=10_000).text(text)
    assert SECRET not in out, out
    assert REDACTED in out


@pytest.mark.parametrize(
    "value",
    [
        [("Authorization", f"Token {SECRET}")],
        [["X-Api-Key", SECRET], ["Accept", "json"]],
        ("Cookie", f"sid={SECRET}"),
        [{"name": "Authorization", "value": SECRET}],  # HAR
        {"env": [{"name": "DB_PASSWORD", "value": SECRET}]},  # Kubernetes
        {"Tags": [{"Key": "api_token", "Value": SECRET}]},  # AWS
        [{"key": "password", "value": SECRET, "enabled": True}],  # Postman
        {"headers": [{"header": "Proxy-Authorization", "values": [SECRET]}]},
    ],
)
def test_a_secret_named_by_its_pair_is_redacted(value: Any) -> None:
    out = repr(Redactor().value(value))
    assert SECRET not in out, out


@pytest.mark.parametrize(
    "text",
    [
        f"psql --password={SECRET} -h db",
        f"deploy --db-password {SECRET} --env prod",
        f"curl --oauth2-bearer {SECRET} https://x",
        f'tool --api-key "{SECRET} with space" --verbose',
        f"login -token={SECRET}",
        f"vault --client_secret {SECRET}",
    ],
)
def test_a_secret_flag_on_a_command_line_is_redacted(text: str) -> None:
    out = Redactor().text(text)
    assert SECRET not in out, out


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com:8443/orders/17",
        "git@github.com:org/repo.git",
        "write to alice@example.com about order 17",
        "run --max-tokens 100 --model small",
        "ssh://git@github.com/org/repo",
    ],
)
def test_what_holds_no_secret_is_kept(text: str) -> None:
    assert Redactor().text(text) == text


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ([{"name": "region", "value": "eu"}], "eu"),
        ([("Accept", "application/json")], "application/json"),
        ({"Tags": [{"Key": "team", "Value": "payments"}]}, "payments"),
        (["max_tokens", 100], 100),
    ],
)
def test_pairs_that_name_no_secret_are_kept(value: Any, kept: Any) -> None:
    assert repr(kept) in repr(Redactor().value(value))


def test_the_records_of_a_guarded_call_hold_none_of_them() -> None:
    """End to end: the intent and outcome records of a call carrying every shape above."""
    guard = Guard(Policy.from_dict({"rules": [{"id": "all", "allow": "*"}]}))

    @guard.tool
    def run(command: str, target: str, headers: list[Any], env: dict[str, Any]) -> None:
        return None

    with guard.acting_as(make_principal("alice")), capture_audit(guard) as events:
        run(
            f"deploy --db-password {SECRET}",
            URLS[0],
            [("Authorization", f"Token {SECRET}")],
            {"env": [{"name": "DB_PASSWORD", "value": SECRET}]},
        )
    assert len(events) == 2
    for event in events:
        assert SECRET not in repr(event.model_dump()), event.args
