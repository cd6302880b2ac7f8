"""Redis killed mid-run: fail closed or open as configured, always audited, then recover."""

from __future__ import annotations

import pytest
from support.redis_server import RedisServer

from guardrail import BudgetExceeded, Guard, LedgerUnavailable, Policy
from guardrail.testing import capture_audit, make_principal

ALICE = make_principal("alice")
POLICY = Policy.model_validate(
    {
        "rules": [{"id": "everyone", "allow": ["*"]}],
        "limits": [{"id": "rate", "per": "user", "calls": "2/minute"}],
    }
)


def test_deny_while_redis_is_down_then_recover(own_redis: RedisServer) -> None:
    """on_ledger_error="deny": refused with a clear, audited error; limits work after restart."""
    guard = Guard(POLICY, ledger=own_redis.url)  # on_ledger_error="deny" is the default
    ran = []

    @guard.tool
    def act(n: int) -> None:
        ran.append(n)

    with guard.acting_as(ALICE), capture_audit(guard) as events:
        act(1)
        own_redis.stop()
        with pytest.raises(LedgerUnavailable) as caught:
            act(2)
        assert str(caught.value).startswith("budget ledger unavailable: redis ledger at 127.0.0.1")
        assert not isinstance(caught.value, BudgetExceeded)
        refusal = events[-1]
        assert (refusal.phase, refusal.decision) == ("refusal", "denied")
        assert (refusal.reason or "").startswith("budget ledger unavailable")
        assert refusal.detail["budget_ledger"].startswith("unavailable: ")

        own_redis.start()  # same port, empty (no persistence): the same Guard recovers
        act(3)
        act(4)
        with pytest.raises(BudgetExceeded):
            act(5)
    assert ran == [1, 3, 4]
    guard.ledger.close()  # the guard's own connections: not left to the garbage collector


def test_allow_while_redis_is_down_is_audited_as_failed_open(own_redis: RedisServer) -> None:
    """on_ledger_error="allow": calls pass while Redis is down, and the records say so."""
    guard = Guard(POLICY, ledger=own_redis.url, on_ledger_error="allow")

    @guard.tool
    def act() -> str:
        return "done"

    with guard.acting_as(ALICE), capture_audit(guard) as events:
        own_redis.stop()
        assert [act() for _ in range(3)] == ["done"] * 3
        assert {e.decision for e in events} == {"allowed"}
        assert all(
            e.detail["budget_ledger"].startswith("unavailable, failed open: ") for e in events
        )
        own_redis.start()
        events.clear()
        act()
        act()
        with pytest.raises(BudgetExceeded):
            act()
    assert "budget_ledger" not in events[0].detail
    guard.ledger.close()


def test_script_is_reloaded_after_a_flush(redis_server: RedisServer) -> None:
    """NOSCRIPT (script cache emptied, as after a restart) is handled by reloading it."""
    import redis

    guard = Guard(POLICY, ledger=redis_server.url)

    @guard.tool
    def act() -> None:
        return None

    with guard.acting_as(make_principal("noscript")):
        act()
        redis.Redis.from_url(redis_server.url).script_flush()
        act()
        with pytest.raises(BudgetExceeded):
            act()
    guard.ledger.close()


def test_redis_dying_while_the_tool_runs_keeps_the_result(own_redis: RedisServer) -> None:
    """Reserved, then Redis dies mid-call: the tool's result is returned, the settle
    failure is on the outcome record."""
    policy = Policy.model_validate(
        {
            "rules": [{"id": "everyone", "allow": ["*"]}],
            "limits": [{"id": "one-at-a-time", "per": "user", "concurrent": 1}],
        }
    )
    guard = Guard(policy, ledger=own_redis.url)

    @guard.tool
    def act() -> str:
        own_redis.stop()
        return "result"

    with guard.acting_as(ALICE), capture_audit(guard) as events:
        assert act() == "result"
    outcome = events[-1]
    assert (outcome.phase, outcome.decision, outcome.outcome) == ("outcome", "allowed", "ok")
    assert outcome.detail["budget_ledger"].startswith("settle failed: ")
    guard.ledger.close()
