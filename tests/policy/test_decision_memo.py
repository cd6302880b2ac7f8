"""Decisions and budget plans are memoised per (tool, principal object): never shared
with a principal that merely compares equal, and never carried over to another policy."""

from __future__ import annotations

from typing import Any

from guardrail import Guard, PermissionDenied, Policy, Principal
from guardrail.testing import make_principal


class Liar(str):
    """Claims to equal anything (and hashes like the real value)."""

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = str.__hash__


RULES: list[dict[str, Any]] = [
    {"id": "staff", "allow": ["refund"], "when": {"attributes": {"employment": "staff"}}},
    {
        "id": "small",
        "allow": ["refund"],
        "when": {"roles": ["support"]},
        "args": {"amount": {"max": 10}},
    },
]


def test_an_equal_looking_principal_does_not_reuse_a_memoised_decision() -> None:
    policy = Policy.model_validate({"rules": RULES})
    staff = make_principal("alice", employment="staff")
    assert policy.decide("refund", staff, {"amount": 500}).allowed
    liar = Principal.model_construct(
        subject="alice", attributes={"employment": Liar("contractor")}, teams=()
    )
    assert not policy.decide("refund", liar, {"amount": 500}).allowed
    assert policy.decide("refund", staff, {"amount": 500}).allowed  # memo still right


def test_the_memo_answers_like_a_fresh_evaluation_for_every_argument() -> None:
    support = make_principal("bob", roles=["support"])
    memoised = Policy.model_validate({"rules": RULES})
    for amount in (5, 10, 11, float("nan"), "7", None):
        fresh = Policy.model_validate({"rules": RULES})
        want = fresh.decide("refund", support, {"amount": amount})
        got = memoised.decide("refund", support, {"amount": amount})
        assert (got.allowed, got.rule, got.reason) == (want.allowed, want.rule, want.reason)


def test_a_new_policy_never_reuses_a_decision_of_the_old_one() -> None:
    alice = make_principal("alice", roles=["support"])
    guard = Guard(Policy.model_validate({"rules": [{"id": "all", "allow": ["refund"]}]}))

    @guard.tool
    def refund(amount: float) -> float:
        return amount

    with guard.acting_as(alice):
        assert refund(50) == 50
    stricter = Policy.model_validate({"rules": RULES[1:]})
    swapped = Guard(stricter)
    swapped.register(refund.__wrapped__, name="refund")  # type: ignore[attr-defined]
    with swapped.acting_as(alice):
        assert swapped.call("refund", {"amount": 5}) == 5
        try:
            swapped.call("refund", {"amount": 50})
        except PermissionDenied as denied:
            assert denied.rule == "small"
        else:
            raise AssertionError("the stricter policy's decision was not made")
