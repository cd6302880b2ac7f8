"""A limit never silently skips a call it covers (issue 16, item 6, and its class).

Members: a principal lacking the limit's key (no team, no org, no principal), a
nested session per call, a tool whose cost is not declared, and ``identical``
limits whose key changed with what does not matter (object addresses, dict and set
order, mixed key types, per-process string hashing).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from budgets.conftest import ALL_LEDGERS, make_ledger, redis_cluster, redis_server  # noqa: F401
from support.redis_server import RedisServer

from guardrail import BudgetExceeded, Guard, Policy, report_cost
from guardrail.budgets import Ledger
from guardrail.identity import Principal
from guardrail.testing import capture_audit, make_principal

EVERYONE = {"id": "everyone", "allow": "*"}
TEAMLESS = make_principal("tess", org="acme")
ORGLESS = make_principal("olga", teams=["payments"])
BLANK_ORG = make_principal("blank", teams=["payments"], org="")


@pytest.fixture(params=ALL_LEDGERS)
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    """The memory ledger and a real Redis (tests/budgets' fixture, reused)."""
    made = make_ledger(request.param, request)
    yield made
    made.close()


def guard_with(ledger: Ledger, *limits: dict[str, Any], rules: Any = (EVERYONE,)) -> Guard:
    policy = Policy.from_dict({"rules": list(rules), "limits": list(limits)})
    return Guard(policy, ledger=ledger)


# -- a principal without the limit's key --------------------------------------------------


@pytest.mark.parametrize(
    ("per", "who", "key"),
    [
        ("team", TEAMLESS, "(no team)"),
        ("org", ORGLESS, "(no org)"),
        ("org", BLANK_ORG, "(no org)"),
        ("team", None, "(no team)"),
        ("org", None, "(no org)"),
    ],
)
def test_callers_lacking_a_limits_key_share_one_documented_key(
    ledger: Ledger, per: str, who: Principal | None, key: str
) -> None:
    """``per: team`` with no teams, ``per: org`` with no (or an empty) org, either without a
    principal: charged on the level's shared key, so the limit still refuses, and the
    message says the key is shared."""
    rules = [{"id": "anyone", "allow": "*", "when": {"anonymous": True}}, EVERYONE]
    guard = guard_with(ledger, {"id": "spend", "per": per, "calls": 2}, rules=rules)
    ran: list[int] = []

    @guard.tool
    def act() -> None:
        ran.append(1)

    def call() -> None:
        if who is None:
            act()
        else:
            with guard.acting_as(who):
                act()

    call()
    call()
    with capture_audit(guard) as events, pytest.raises(BudgetExceeded) as caught:
        call()
    assert ran == [1, 1]
    assert (caught.value.level, caught.value.key) == (per, key)
    assert f"every caller without a {per} shares this key" in str(caught.value)
    assert [(e.phase, e.decision, e.limit_key) for e in events] == [
        ("refusal", "budget_exceeded", key)
    ]


def test_two_callers_without_a_team_share_the_team_key(ledger: Ledger) -> None:
    """The shared key is one budget: a second team-less principal finds it spent."""
    guard = guard_with(ledger, {"id": "spend", "per": "team", "cost": 5, "period": "day"})

    @guard.tool(cost=5)
    def pay() -> None:
        return None

    with guard.acting_as(TEAMLESS):
        pay()
    with guard.acting_as(make_principal("other")), pytest.raises(BudgetExceeded):
        pay()


def test_a_limit_scoped_with_when_does_not_refuse_principals_outside_it(ledger: Ledger) -> None:
    """The documented way out: ``when:`` scopes a team limit to principals in teams."""
    guard = guard_with(
        ledger, {"id": "spend", "per": "team", "calls": 1, "when": {"teams": ["payments"]}}
    )

    @guard.tool
    def act() -> None:
        return None

    with guard.acting_as(TEAMLESS):
        act()
        act()
    with guard.acting_as(ORGLESS):
        act()
        with pytest.raises(BudgetExceeded):
            act()


# -- nested sessions ---------------------------------------------------------------------


def test_a_nested_session_per_call_cannot_reset_a_session_limit(ledger: Ledger) -> None:
    """Every enclosing session is charged: a fresh inner session per call is still counted
    against the outer run."""
    guard = guard_with(ledger, {"id": "run", "per": "session", "calls": 3})

    @guard.tool
    def step() -> None:
        return None

    with guard.acting_as(TEAMLESS), guard.session("outer"):
        for _ in range(3):
            with guard.session():
                step()
        with guard.session(), pytest.raises(BudgetExceeded) as caught:
            step()
    assert (caught.value.level, caught.value.key) == ("session", "outer")
    assert [u.used for u in guard.usage(TEAMLESS, session="outer")] == [3]


async def test_nested_sessions_follow_asyncio_tasks(ledger: Ledger) -> None:
    """The chain of sessions is inherited by tasks; re-entering the same id counts once."""
    import asyncio

    guard = guard_with(ledger, {"id": "run", "per": "session", "calls": 2})

    @guard.tool
    async def step() -> None:
        return None

    async with guard.acting_as(TEAMLESS), guard.session("outer"):
        async with guard.session("outer"):
            await step()  # "outer" twice in the chain: charged once
        async with guard.session("inner"):
            await asyncio.create_task(step())
        async with guard.session("third"):
            with pytest.raises(BudgetExceeded):
                await asyncio.create_task(step())


# -- undeclared cost -----------------------------------------------------------------------


def test_a_tool_without_a_declared_cost_is_refused_once_the_budget_is_spent(
    ledger: Ledger,
) -> None:
    """No ``cost=`` means unknown, not free: admitted while the budget has something left
    (and charged what it reports), refused once it is spent; ``cost=0`` is free."""
    guard = guard_with(ledger, {"id": "spend", "per": "user", "cost": 10, "period": "day"})
    ran: list[str] = []

    @guard.tool
    def llm(tokens: float) -> None:
        ran.append("llm")
        report_cost(tokens)

    @guard.tool(cost=0)
    def free() -> None:
        ran.append("free")

    with guard.acting_as(TEAMLESS), capture_audit(guard) as events:
        llm(4)
        llm(6)  # exactly spent: 10 of 10
        with pytest.raises(BudgetExceeded) as caught:
            llm(1)
        free()
    assert ran == ["llm", "llm", "free"]
    assert (caught.value.used, caught.value.maximum) == (10, 10)
    assert "has used 10 of 10 cost" in str(caught.value)
    refusal = next(e for e in events if e.phase == "refusal")
    assert refusal.remaining == {"spend:tess": 0.0}


# -- identical: true -----------------------------------------------------------------------


class Query:
    """An argument object with the default ``repr`` (its memory address)."""

    def __init__(self, text: str) -> None:
        self.text = text


@pytest.mark.parametrize(
    ("first", "again"),
    [
        (Query("refunds"), Query("refunds")),
        ({"a": {1: "x", "b": "y"}}, {"a": {"b": "y", 1: "x"}}),
        ({"k": [{2: 1, "z": 0}]}, {"k": [{"z": 0, 2: 1}]}),
        ({1: "x", "b": {"q": 1, "p": 2}}, {"b": {"p": 2, "q": 1}, 1: "x"}),
    ],
)
def test_identical_calls_are_recognised_whatever_their_representation(
    ledger: Ledger, first: Any, again: Any
) -> None:
    """Equal arguments are one key: objects by fields (not address), dicts of mixed key
    types in any order, at any depth."""
    guard = guard_with(
        ledger, {"id": "loop", "per": "user", "calls": 1, "window": "1m", "identical": True}
    )

    @guard.tool
    def search(q: Any) -> None:
        return None

    with guard.acting_as(TEAMLESS):
        search(first)
        with pytest.raises(BudgetExceeded, match="already called 1 times"):
            search(again)


_WORKER = textwrap.dedent(
    """
    import sys
    from guardrail import BudgetExceeded, Guard, Policy
    from guardrail.budgets.redis_ledger import RedisLedger
    from guardrail.testing import make_principal

    url, prefix = sys.argv[1], sys.argv[2]
    policy = Policy.from_dict({
        "rules": [{"id": "everyone", "allow": "*"}],
        "limits": [{"id": "loop", "per": "user", "calls": 1, "window": "1m", "identical": True}],
    })
    guard = Guard(policy, ledger=RedisLedger.from_url(url, prefix=prefix))

    @guard.tool
    def tag(labels: set) -> None:
        return None

    with guard.acting_as(make_principal("alice")):
        try:
            tag({f"label-{n}" for n in range(40)})
        except BudgetExceeded:
            print("refused")
        else:
            print("ran")
    """
)


def test_identical_sets_are_one_key_across_processes(redis_server: RedisServer) -> None:  # noqa: F811
    """Two processes with different string hashing send the same set: the second is the
    repeat (a set's iteration order differs between them)."""
    prefix = f"t-{os.urandom(4).hex()}:"
    answers = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _WORKER, redis_server.url, prefix],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        answers.append(done.stdout.strip())
    assert answers == ["ran", "refused"]
