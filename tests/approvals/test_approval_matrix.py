"""The approval matrix: each way an approval can be used, misused or outlive its
process, with the call's outcome and the audit records it leaves. Every case runs
against both stores (a SQLite file and a real redis-server), with real JWTs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.approvals import POLICY, Clock, Records, make_guard, open_store

from guardrail import ApprovalError, ApprovalRequired, Guard, JWTAuthenticator, Policy

Token = Callable[..., str]


def refund_tool(guard: Guard, runs: list[tuple[str, float]]) -> Callable[..., str]:
    @guard.tool
    def refund(order: str, amount: float) -> str:
        """Refund an order."""
        runs.append((order, amount))
        return f"refunded {amount:g} on {order}"

    return refund


def ask(guard: Guard, refund: Callable[..., str], who: str, order: str, amount: float) -> str:
    """Call refund as ``who``; the pending request's id when approval is required."""
    with guard.acting_as(who), pytest.raises(ApprovalRequired) as held:
        refund(order, amount)
    assert held.value.request_id is not None
    return held.value.request_id


@pytest.fixture
def setup(
    store_uri: str, authenticator: JWTAuthenticator, tmp_path: Path, token: Token
) -> dict[str, Any]:
    guard = make_guard(store_uri, authenticator, tmp_path / "audit.jsonl")
    runs: list[tuple[str, float]] = []
    return {
        "guard": guard,
        "runs": runs,
        "refund": refund_tool(guard, runs),
        "records": Records(tmp_path / "audit.jsonl"),
        "alice": token("alice", "agent"),
        "bob": token("bob", "finance-lead"),
    }


def test_approved_identical_call_runs_exactly_once(setup: dict[str, Any]) -> None:
    """Approve, then the identical call runs once; the same call again needs a new approval."""
    guard, refund, records = setup["guard"], setup["refund"], setup["records"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    assert ask(guard, refund, setup["alice"], "A-1", 500.0) == request_id  # no duplicate request
    granted = guard.approvals.approve(request_id, token=setup["bob"])
    assert (granted.status, granted.decided_by) == ("granted", "bob")
    with guard.acting_as(setup["alice"]):
        assert refund("A-1", 500.0) == "refunded 500 on A-1"
    again = ask(guard, refund, setup["alice"], "A-1", 500.0)
    assert again != request_id
    assert setup["runs"] == [("A-1", 500.0)]
    assert guard.approvals.get(request_id).status == "consumed"
    digest = granted.digest
    assert records.approvals()[:3] == [
        ("approval.requested", None, digest),
        ("approval.granted", "bob", digest),
        ("approval.consumed", "bob", digest),
    ]
    assert records.calls()[:4] == [
        ("refusal", "approval_required"),
        ("refusal", "approval_required"),
        ("intent", "allowed"),
        ("outcome", "allowed"),
    ]
    intent = next(r for r in records.all() if r["phase"] == "intent")
    assert intent["reason"] == f"approved by bob (request {request_id})"
    assert intent["rule"] == "refund-large"


def test_small_refund_needs_no_approval(setup: dict[str, Any]) -> None:
    """Below the approve rule's range, the allow rule decides and nothing is requested."""
    with setup["guard"].acting_as(setup["alice"]):
        setup["refund"]("A-2", 40.0)
    assert setup["guard"].approvals.list() == []
    assert setup["records"].calls() == [("intent", "allowed"), ("outcome", "allowed")]


def test_edited_argument_is_not_approved(setup: dict[str, Any]) -> None:
    """A grant for 500 does not let 501 through: a new request, and the grant stays unused."""
    guard, refund = setup["guard"], setup["refund"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    guard.approvals.approve(request_id, token=setup["bob"])
    edited = ask(guard, refund, setup["alice"], "A-1", 501.0)
    other_order = ask(guard, refund, setup["alice"], "A-2", 500.0)
    assert len({request_id, edited, other_order}) == 3
    assert setup["runs"] == []
    assert guard.approvals.get(request_id).status == "granted"
    events = [event for event, _, _ in setup["records"].approvals()]
    assert events == ["approval.requested", "approval.granted", *["approval.requested"] * 2]


def test_consumed_grant_cannot_be_replayed(setup: dict[str, Any]) -> None:
    """A used grant is gone: the replay is held again and the tool does not run twice."""
    guard, refund = setup["guard"], setup["refund"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    guard.approvals.approve(request_id, token=setup["bob"])
    with guard.acting_as(setup["alice"]):
        refund("A-1", 500.0)
    ask(guard, refund, setup["alice"], "A-1", 500.0)
    assert setup["runs"] == [("A-1", 500.0)]
    with pytest.raises(ApprovalError, match="is consumed by bob, not pending"):
        guard.approvals.approve(request_id, token=setup["bob"])
    consumed = [e for e in setup["records"].approvals() if e[0] == "approval.consumed"]
    assert len(consumed) == 1


def test_expired_grant_is_not_used(setup: dict[str, Any]) -> None:
    """A grant past its ttl lets nothing through; an expired request cannot be granted."""
    guard, refund, clock = setup["guard"], setup["refund"], Clock()
    assert guard.checker.approvals is not None
    guard.checker.approvals.clock = guard.approvals.clock = clock
    first = ask(guard, refund, setup["alice"], "A-1", 500.0)
    guard.approvals.approve(first, token=setup["bob"])
    clock.now += 3601
    second = ask(guard, refund, setup["alice"], "A-1", 500.0)
    assert second != first and guard.approvals.get(first).state(clock.now) == "expired"
    clock.now += 3601
    with pytest.raises(ApprovalError, match="is expired, not pending"):
        guard.approvals.approve(second, token=setup["bob"])
    assert setup["runs"] == []
    assert [e[0] for e in setup["records"].approvals()][-1] == "approval.refused"


def test_wrong_approver_is_refused_and_recorded(setup: dict[str, Any], token: Token) -> None:
    """Someone outside ``approvers`` cannot grant; the attempt is on the record."""
    guard, refund = setup["guard"], setup["refund"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    with pytest.raises(ApprovalError, match="is not an approver for rule 'refund-large'"):
        guard.approvals.approve(request_id, token=token("carol", "agent"))
    with pytest.raises(ApprovalError, match="token was not accepted"):
        guard.approvals.approve(request_id, token=setup["bob"][:-4] + "AAAA")
    assert guard.approvals.get(request_id).status == "pending"
    ask(guard, refund, setup["alice"], "A-1", 500.0)
    assert setup["runs"] == []
    assert ("approval.refused", "carol", guard.approvals.get(request_id).digest) in setup[
        "records"
    ].approvals()


def test_self_approval_is_refused(setup: dict[str, Any], token: Token) -> None:
    """The requester cannot approve their own request, even holding the approver role."""
    guard, refund = setup["guard"], setup["refund"]
    both = token("alice", "agent", "finance-lead")
    request_id = ask(guard, refund, both, "A-1", 500.0)
    with pytest.raises(ApprovalError, match="no self-approval"):
        guard.approvals.approve(request_id, token=both)
    assert guard.approvals.get(request_id).status == "pending"
    assert setup["runs"] == []


def test_grant_is_never_valid_for_another_user(setup: dict[str, Any], token: Token) -> None:
    """Alice's grant does not let dave make the same call."""
    guard, refund = setup["guard"], setup["refund"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    guard.approvals.approve(request_id, token=setup["bob"])
    assert ask(guard, refund, token("dave", "agent"), "A-1", 500.0) != request_id
    assert guard.approvals.get(request_id).status == "granted"
    assert setup["runs"] == []


def test_denied_request_stays_refused(setup: dict[str, Any]) -> None:
    """A denial lets nothing through and cannot be turned into a grant afterwards."""
    guard, refund = setup["guard"], setup["refund"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    denied = guard.approvals.deny(request_id, token=setup["bob"], note="too much")
    assert (denied.status, denied.note) == ("denied", "too much")
    with pytest.raises(ApprovalError, match="is denied by bob"):
        guard.approvals.approve(request_id, token=setup["bob"])
    assert ask(guard, refund, setup["alice"], "A-1", 500.0) != request_id
    assert setup["runs"] == []
    assert ("approval.denied", "bob", denied.digest) in setup["records"].approvals()


def test_changed_policy_voids_the_grant(
    setup: dict[str, Any], store_uri: str, authenticator: JWTAuthenticator, tmp_path: Path
) -> None:
    """A grant made under one policy does not apply under a changed one."""
    guard, refund = setup["guard"], setup["refund"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    guard.approvals.approve(request_id, token=setup["bob"])
    changed = {"rules": [dict(POLICY["rules"][0], description="edited"), POLICY["rules"][1]]}
    other = make_guard(store_uri, authenticator, tmp_path / "other.jsonl", changed)
    runs: list[tuple[str, float]] = []
    assert ask(other, refund_tool(other, runs), setup["alice"], "A-1", 500.0) != request_id
    assert runs == [] and other.approvals.get(request_id).status == "granted"


def test_changed_tool_definition_voids_the_grant(
    setup: dict[str, Any], store_uri: str, authenticator: JWTAuthenticator, tmp_path: Path
) -> None:
    """A grant for one definition of the tool does not apply to an edited tool."""
    guard, refund = setup["guard"], setup["refund"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    guard.approvals.approve(request_id, token=setup["bob"])
    other = make_guard(store_uri, authenticator, tmp_path / "other.jsonl")
    runs: list[tuple[str, float]] = []

    @other.tool
    def refund(order: str, amount: float, reason: str = "") -> str:
        """Refund an order."""
        runs.append((order, amount))
        return "refunded"

    assert ask(other, refund, setup["alice"], "A-1", 500.0) != request_id
    assert runs == [] and other.approvals.get(request_id).status == "granted"


def test_restart_between_approve_and_call_keeps_the_grant(
    setup: dict[str, Any], store_uri: str, authenticator: JWTAuthenticator, tmp_path: Path
) -> None:
    """A new process (a new guard and store connection) still finds and uses the grant."""
    guard, refund = setup["guard"], setup["refund"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    assert guard.approvals.store is not None
    guard.approvals.store.close()
    approver_side = open_store(store_uri)
    make_guard(approver_side, authenticator, tmp_path / "approver.jsonl").approvals.approve(
        request_id, token=setup["bob"]
    )
    approver_side.close()
    restarted = make_guard(store_uri, authenticator, tmp_path / "restarted.jsonl")
    runs: list[tuple[str, float]] = []
    refund_again = refund_tool(restarted, runs)
    with restarted.acting_as(setup["alice"]):
        assert refund_again("A-1", 500.0) == "refunded 500 on A-1"
    assert runs == [("A-1", 500.0)]
    assert Records(tmp_path / "restarted.jsonl").approvals()[0][:2] == ("approval.consumed", "bob")


async def test_async_call_uses_the_grant_once(
    setup: dict[str, Any], store_uri: str, authenticator: JWTAuthenticator, tmp_path: Path
) -> None:
    """The async driver goes through the same step (store I/O off the loop): one run."""
    guard = make_guard(store_uri, authenticator, tmp_path / "async.jsonl")
    runs: list[float] = []

    @guard.tool
    async def refund(order: str, amount: float) -> str:
        runs.append(amount)
        return "ok"

    with guard.acting_as(setup["alice"]), pytest.raises(ApprovalRequired) as held:
        await refund("A-9", 900.0)
    assert held.value.request_id is not None
    guard.approvals.approve(held.value.request_id, token=setup["bob"])
    with guard.acting_as(setup["alice"]):
        assert await refund("A-9", 900.0) == "ok"
        with pytest.raises(ApprovalRequired):
            await refund("A-9", 900.0)
    assert runs == [900.0]


def test_without_a_store_the_call_is_held_with_no_request(
    authenticator: JWTAuthenticator, tmp_path: Path, token: Token
) -> None:
    """No approval store: fail closed, with ApprovalRequired and no request id."""
    guard = Guard(Policy.from_dict(POLICY), authenticator=authenticator)
    runs: list[tuple[str, float]] = []
    refund = refund_tool(guard, runs)
    alice = token("alice", "agent")
    with guard.acting_as(alice), pytest.raises(ApprovalRequired, match="no approval") as held:
        refund("A-1", 500.0)
    assert held.value.request_id is None and runs == []
    decision = guard.check("refund", {"order": "A-1", "amount": 500.0}, held.value.principal)
    assert (decision.allowed, decision.approval, decision.rule) == (False, True, "refund-large")


def test_reloaded_policy_keeps_the_store_and_voids_older_grants(setup: dict[str, Any]) -> None:
    """After guard.reload the approve rule still files requests; a grant made under the
    old policy does not apply under the new one."""
    guard, refund = setup["guard"], setup["refund"]
    request_id = ask(guard, refund, setup["alice"], "A-1", 500.0)
    guard.approvals.approve(request_id, token=setup["bob"])
    guard.reload(Policy.from_dict({"rules": [*POLICY["rules"], {"id": "x", "deny": "other"}]}))
    after = ask(guard, refund, setup["alice"], "A-1", 500.0)
    assert after != request_id and guard.approvals.get(after).policy == guard.policy.digest
    assert setup["runs"] == []
