"""RedisLedger on a real three-node Redis Cluster: one hash tag per ledger, and a
master killed under ``on_ledger_error`` deny and allow (audited), then restarted."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from support.redis_cluster import RedisCluster
from support.redis_server import INSTALL_HINT, RedisServerMissing

from guardrail import BudgetExceeded, Guard, LedgerUnavailable, Policy
from guardrail.budgets import Charge, Reservation, ledger_from_uri
from guardrail.budgets.redis_ledger import RedisLedger
from guardrail.errors import ConfigurationError
from guardrail.testing import capture_audit, make_principal

POLICY = Policy.model_validate(
    {
        "rules": [{"id": "everyone", "allow": ["*"]}],
        "limits": [
            {"id": "rate", "per": "user", "calls": "2/minute"},
            {"id": "team-day", "per": "team", "calls": "100/day"},
            {"id": "all", "per": "global", "concurrent": 50},
        ],
    }
)
ALICE = make_principal("alice", teams=("support",))


@pytest.fixture
def own_cluster() -> Iterator[RedisCluster]:
    """A cluster for this test alone (a node of it gets killed)."""
    try:
        cluster = RedisCluster().start()
    except RedisServerMissing:
        pytest.fail(INSTALL_HINT)
    yield cluster
    cluster.close()


def tagged_ledger(cluster: RedisCluster) -> tuple[RedisLedger, int]:
    """A cluster ledger with a fresh hash tag, and the port of the master holding it."""
    ledger = RedisLedger.from_url(
        cluster.node_url, cluster=True, prefix=f"{{fo-{uuid.uuid4().hex[:8]}}}:"
    )
    slot = ledger.client.keyslot(ledger.prefix + "any")
    return ledger, cluster.port_of_slot(slot)


def test_a_calls_keys_share_one_slot(redis_cluster: RedisCluster) -> None:
    """Keys of different limits (window, calendar, concurrent) reserve in one script
    call: they hash on the prefix's tag (no CROSSSLOT), and all sit on one master."""
    ledger = ledger_from_uri(redis_cluster.url)
    assert isinstance(ledger, RedisLedger) and ledger.prefix == "{guardrail}:"
    charges = [
        Charge(f"user:{uuid.uuid4().hex}", "window", 1, 5, 60),
        Charge(f"team:{uuid.uuid4().hex}", "day", 1, 5),
        Charge(f"all:{uuid.uuid4().hex}", "concurrent", 1, 5, 30),
    ]
    held = ledger.reserve(charges, rid="one")
    assert isinstance(held, Reservation)
    slots = {ledger.client.keyslot(h.slot) for h in held.held}
    assert slots == {ledger.client.keyslot("{guardrail}:x")}
    ledger.release(held)
    ledger.close()


def test_a_cluster_prefix_without_a_hash_tag_is_refused(redis_cluster: RedisCluster) -> None:
    """Without a leading hash tag a call's keys would land on different shards."""
    for prefix in ("guardrail:", "{}:{tag}:", "{open:"):
        with pytest.raises(ConfigurationError, match="hash tag"):
            RedisLedger.from_url(redis_cluster.node_url, cluster=True, prefix=prefix)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_master_killed_deny_then_restarted(own_cluster: RedisCluster, mode: str) -> None:
    """on_ledger_error="deny": the master holding the tag dies -> refused, audited;
    restarted (same nodes.conf) -> limits work again with the same Guard."""
    ledger, port = tagged_ledger(own_cluster)
    guard = Guard(POLICY, ledger=ledger)
    ran: list[int] = []

    @guard.tool
    def act(n: int) -> None:
        ran.append(n)

    async def call(n: int) -> None:
        if mode == "sync":
            act(n)
        else:
            await guard.acall("act", {"n": n})

    with guard.acting_as(ALICE), capture_audit(guard) as events:
        await call(1)
        own_cluster.kill(port)
        with pytest.raises(LedgerUnavailable, match="budget ledger unavailable: redis ledger"):
            await call(2)
        refusal = events[-1]
        assert (refusal.phase, refusal.decision) == ("refusal", "denied")
        assert refusal.detail["budget_ledger"].startswith("unavailable: ")
        own_cluster.restart(port)
        await call(3)  # the ledger's data survived only in memory: rate is 1 of 2 again
        await call(4)
        with pytest.raises(BudgetExceeded):
            await call(5)
    assert ran == [1, 3, 4]
    await ledger.aclose()
    ledger.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_master_killed_allow_is_audited_as_failed_open(
    own_cluster: RedisCluster, mode: str
) -> None:
    """on_ledger_error="allow": calls pass while the shard is gone, and say so."""
    ledger, port = tagged_ledger(own_cluster)
    guard = Guard(POLICY, ledger=ledger, on_ledger_error="allow")

    @guard.tool
    def act() -> str:
        return "done"

    with guard.acting_as(ALICE), capture_audit(guard) as events:
        own_cluster.kill(port)
        for _ in range(3):
            result = act() if mode == "sync" else await guard.acall("act", {})
            assert result == "done"
    assert {e.decision for e in events} == {"allowed"}
    assert all(e.detail["budget_ledger"].startswith("unavailable, failed open: ") for e in events)
    await ledger.aclose()
    ledger.close()
