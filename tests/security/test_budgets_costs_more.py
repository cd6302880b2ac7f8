"""A cost no budget can hold is refused like a negative one (issue 16, budgets, new members).

Found on main at 08b4769: ``report_cost(10**400)`` (an int too large for a float)
raised ``OverflowError`` rather than the documented ``ArgumentError``, and
``cost=10**400`` at registration was not a ``ConfigurationError``; a cost reported
after the call was settled (from a thread the tool left running) was silently lost.
"""

from __future__ import annotations

import contextvars
import threading
from decimal import Decimal
from typing import Any

import pytest

from guardrail import ArgumentError, ConfigurationError, Guard, Policy, report_cost
from guardrail.testing import capture_audit, make_principal

ALICE = make_principal("alice")
HUGE = [10**400, -(10**400), Decimal("1e400"), Decimal("-1e400")]


def budgeted() -> Guard:
    policy = Policy.from_dict(
        {
            "rules": [{"id": "all", "allow": "*"}],
            "limits": [{"id": "spend", "per": "user", "cost": 100, "period": "day"}],
        }
    )
    return Guard(policy)


@pytest.mark.parametrize("amount", HUGE, ids=repr)
def test_reporting_a_cost_too_large_for_a_float_is_an_argument_error(amount: Any) -> None:
    guard = budgeted()
    raised: list[BaseException] = []

    @guard.tool(cost=1)
    def work() -> None:
        try:
            report_cost(amount)
        except Exception as exc:
            raised.append(exc)
            raise

    with guard.acting_as(ALICE), capture_audit(guard) as events, pytest.raises(ArgumentError):
        work()
    assert [type(e) for e in raised] == [ArgumentError]
    assert events[-1].phase == "outcome" and events[-1].decision != "allowed"
    assert guard.usage(ALICE)[0].used == 0  # the reservation was given back


@pytest.mark.parametrize("amount", HUGE, ids=repr)
def test_declaring_such_a_cost_is_a_configuration_error(amount: Any) -> None:
    guard = budgeted()
    with pytest.raises(ConfigurationError, match="finite number"):
        guard.tool(name="work", cost=amount)(lambda: None)


def test_reporting_a_cost_after_the_call_was_settled_is_an_error() -> None:
    """``report_cost()`` from a thread the tool left running, once the call is settled,
    raises instead of being silently dropped (the budget never saw that cost)."""
    guard = budgeted()
    started = threading.Event()
    outcome: list[BaseException | None] = []

    @guard.tool(cost=1)
    def work() -> None:
        context = contextvars.copy_context()

        def later() -> None:
            started.wait(timeout=30)
            try:
                report_cost(50)
                outcome.append(None)
            except RuntimeError as exc:
                outcome.append(exc)

        worker = threading.Thread(target=context.run, args=(later,))
        worker.start()
        threads.append(worker)

    threads: list[threading.Thread] = []
    with guard.acting_as(ALICE):
        work()
    started.set()
    threads[0].join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], RuntimeError)
    assert "settled" in str(outcome[0])
    assert guard.usage(ALICE)[0].used == 1


def test_reporting_a_cost_inside_the_call_still_settles_it() -> None:
    guard = budgeted()

    @guard.tool(cost=1)
    def work() -> None:
        report_cost(7)

    with guard.acting_as(ALICE):
        work()
    assert guard.usage(ALICE)[0].used == 7
