"""End to end: ``Guard(policy, authenticator=JWTAuthenticator(...))`` acts as the token's user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from guardrail import AuthenticationError, Guard, PermissionDenied, Policy, current_principal
from guardrail.testing import capture_audit

Mint = Callable[..., str]

POLICY = Policy.from_dict(
    {
        "rules": [
            {
                "id": "support-refunds",
                "allow": ["refund"],
                "when": {"roles": ["support"]},
                "args": {"amount": {"max": 100}},
            }
        ]
    }
)


@pytest.fixture
def guard(auth: Any) -> Guard:
    return Guard(POLICY, authenticator=auth)


def test_tool_runs_as_token_subject(guard: Guard, token: Mint) -> None:
    """Inside ``acting_as(token)`` the tool sees the verified user and the audit names them."""

    @guard.tool
    def refund(order_id: str, amount: float) -> str:
        principal = current_principal()
        assert principal is not None and principal.token is not None
        return f"{order_id} refunded by {principal.subject} via {principal.issuer}"

    raw = token(subject="alice", realm_access={"roles": ["support"]})
    with capture_audit(guard) as events, guard.acting_as(raw):
        result = refund("A-17", 40.0)
    assert result == "A-17 refunded by alice via https://idp.test/"
    assert events and {event.subject for event in events} == {"alice"}
    assert all(raw not in event.model_dump_json() for event in events)


def test_token_without_role_is_denied(guard: Guard, token: Mint) -> None:
    """A verified user the policy does not allow gets PermissionDenied, not the tool."""

    @guard.tool
    def refund(order_id: str, amount: float) -> str:
        raise AssertionError("must not run")

    with (
        guard.acting_as(token(subject="carl", roles=["customer"])),
        pytest.raises(PermissionDenied),
    ):
        refund("A-17", 40.0)


def test_bad_token_fails_at_acting_as(guard: Guard, token: Mint) -> None:
    """An expired token never binds a principal."""
    with pytest.raises(AuthenticationError, match="token expired"):
        guard.acting_as(token(lifetime=-600))
    assert current_principal() is None
