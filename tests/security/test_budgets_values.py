"""Budgets cannot be refilled or voided by the numbers they are given (issue 16, item 6).

``report_cost`` inside a tool, a declared ``cost=``, and a limit's own maximum and
window: a negative, NaN or infinite number is refused where it is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from budgets.conftest import ALL_LEDGERS, make_ledger, redis_cluster, redis_server  # noqa: F401

from guardrail import ArgumentError, ConfigurationError, Guard, Policy, report_cost
from guardrail.budgets import Ledger, Limit
from guardrail.errors import PolicyError
from guardrail.testing import capture_audit, make_principal

ALICE = make_principal("alice", teams=["payments"], org="acme")
EVERYONE = {"id": "everyone", "allow": "*"}


@pytest.fixture(params=ALL_LEDGERS)
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """The memory ledger and a real Redis (tests/budgets' fixture, reused)."""
    made = make_ledger(request.param, request)
    yield made
    made.close()


def guard_with(ledger: Ledger, *limits: dict[str, Any]) -> Guard:
    return Guard(Policy.from_dict({"rules": [EVERYONE], "limits": list(limits)}), ledger=ledger)


@pytest.mark.parametrize(
    "reported", [-1000, -0.5, float("nan"), float("inf"), float("-inf"), True, "5", None]
)
def test_report_cost_refuses_what_would_refill_a_budget(ledger: Ledger, reported: Any) -> None:
    """``report_cost(-1000)`` / NaN / inf / non-numbers raise ArgumentError inside the tool;
    the call is audited with that error and the budget keeps what was reserved."""
    guard = guard_with(ledger, {"id": "spend", "per": "user", "cost": 100, "period": "day"})

    @guard.tool(cost=10)
    def llm() -> None:
        report_cost(reported)

    with (
        guard.acting_as(ALICE),
        capture_audit(guard) as events,
        pytest.raises(ArgumentError, match="report_cost"),
    ):
        llm()
    assert [(e.phase, e.outcome) for e in events] == [
        ("intent", None),
        ("outcome", "ArgumentError"),
    ]
    # The failed tool is refunded (refund_on_error): nothing refilled, nothing negative.
    assert [u.used for u in guard.usage(ALICE)] == [0]


def test_report_cost_accepts_numbers_that_are_costs(ledger: Ledger) -> None:
    """0, ints, floats and Decimals are costs; what is reported is what stays charged."""
    guard = guard_with(ledger, {"id": "spend", "per": "user", "cost": 100, "period": "day"})
    costs = iter([0, 3, 2.5, Decimal("1.25")])

    @guard.tool(cost=10)
    def llm() -> None:
        report_cost(next(costs))

    with guard.acting_as(ALICE):
        for _ in range(4):
            llm()
    assert [u.used for u in guard.usage(ALICE)] == [6.75]


@pytest.mark.parametrize("cost", [-5, float("nan"), float("inf"), float("-inf")])
def test_a_declared_cost_must_be_a_finite_number_at_least_zero(cost: float) -> None:
    """``@guard.tool(cost=-5)`` would refill every cost budget on each call: refused."""
    guard = Guard(Policy.from_dict({"rules": [EVERYONE]}))
    with pytest.raises(ConfigurationError, match="cost"):

        @guard.tool(cost=cost)
        def llm() -> None:
            return None


@pytest.mark.parametrize(
    "limit",
    [
        {"cost": float("inf")},
        {"calls": 3, "window": float("inf")},
        {"calls": 3, "tools": []},
    ],
)
def test_a_limit_that_could_never_refuse_is_refused_at_load(limit: dict[str, Any]) -> None:
    """An infinite maximum or window, or a ``tools: []`` that counts no tool (NaN was
    already refused)."""
    with pytest.raises(PolicyError):
        Policy.from_dict({"rules": [EVERYONE], "limits": [{"id": "x", **limit}]})
    with pytest.raises(ValueError):
        Limit.model_validate({"id": "x", **limit})
