"""Regressions from a review of the fail-closed and nothing-lost rules."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any, NamedTuple

import pytest

from guardrail import (
    AuditError,
    Guard,
    GuardrailDenied,
    PermissionDenied,
    Policy,
    current_principal,
)
from guardrail.audit.event import AuditEvent
from guardrail.budgets import MemoryLedger
from guardrail.testing import MemorySink, capture_audit, make_principal

ALICE = make_principal("alice", roles=["user"])
BOB = make_principal("bob", roles=["user"])
EVERYONE = {"id": "everyone", "allow": "*", "when": {"roles": "user"}}


def test_guard_call_runs_the_tool_as_the_given_principal() -> None:
    """guard.call(principal=bob) inside acting_as(alice): the body runs as bob."""
    guard = Guard(Policy.from_dict({"rules": [EVERYONE]}))

    @guard.tool
    def whoami() -> str:
        who = current_principal()
        return who.subject if who else "nobody"

    with guard.acting_as(ALICE):
        assert guard.call("whoami", principal=BOB) == "bob"
    assert guard.call("whoami", principal=BOB) == "bob"


class _Broken:
    def write(self, event: AuditEvent) -> None:
        raise OSError("disk full")


def test_a_failing_sink_leaves_no_dangling_intent_in_the_others() -> None:
    """When one sink cannot keep the intent, the others record that the tool never ran."""
    policy = Policy.from_dict({"rules": [EVERYONE], "limits": [{"id": "u", "calls": 5}]})
    good = MemorySink()
    guard = Guard(policy, audit=[good, _Broken()])
    ran: list[int] = []

    @guard.tool
    def act() -> None:
        ran.append(1)

    with guard.acting_as(ALICE), pytest.raises(AuditError, match="disk full"):
        act()
    assert ran == []
    assert [(e.phase, e.decision, e.outcome) for e in good.events] == [
        ("intent", "allowed", None),
        ("outcome", "error", "AuditError"),
    ]
    assert [u.used for u in guard.usage(ALICE)] == [0.0]


class _FlakyLedger(MemoryLedger):
    def reserve(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionResetError("peer reset")


def test_a_ledger_that_raises_anything_is_refused_and_audited() -> None:
    """A ledger error it did not wrap still fails closed, on the record."""
    policy = Policy.from_dict({"rules": [EVERYONE], "limits": [{"id": "u", "calls": 5}]})
    guard = Guard(policy, ledger=_FlakyLedger())

    @guard.tool
    def act() -> None:
        raise AssertionError("must not run")

    with (
        capture_audit(guard) as events,
        guard.acting_as(ALICE),
        pytest.raises(GuardrailDenied, match="ledger unavailable"),
    ):
        act()
    assert [(e.phase, e.decision) for e in events] == [("refusal", "denied")]


class Login(NamedTuple):
    user: str
    password: str


@dataclasses.dataclass
class Creds:
    user: str
    refresh_token: str


def test_named_tuples_dataclasses_and_prefixed_secret_names_are_redacted() -> None:
    """Field names survive, so secret fields are caught; `db_password=` in text is too."""
    guard = Guard(Policy.from_dict({"rules": [EVERYONE]}))

    @guard.tool
    def connect(login: Any, creds: Any, note: str) -> None:
        return None

    with capture_audit(guard) as events, guard.acting_as(ALICE):
        connect(Login("bob", "hunter2"), Creds("bob", "rt-9f8e7d6c5b4a"), "db_password=s3cr3t")
    text = repr(events[0].args)
    for secret in ("hunter2", "rt-9f8e7d6c5b4a", "s3cr3t"):
        assert secret not in text
    assert events[0].args["login"]["user"] == "bob"


def test_skill_steps_keep_their_scopes_and_deny_rules() -> None:
    """A step's own scopes and any deny rule naming it apply inside a skill."""
    policy = Policy.from_dict(
        {
            "rules": [
                EVERYONE,
                {
                    "id": "no-contractors",
                    "deny": "wipe",
                    "when": {"attributes": {"employment": "contractor"}},
                },
            ]
        }
    )
    guard = Guard(policy)

    @guard.tool(expose="skill", scopes=["admin"])
    def wipe() -> str:
        return "wiped"

    @guard.skill
    def playbook() -> str:
        return wipe()

    with guard.acting_as(ALICE), pytest.raises(PermissionDenied, match="admin"):
        playbook()
    contractor = make_principal(
        "mallory", roles=["user"], scopes=["admin"], employment="contractor"
    )
    with guard.acting_as(contractor), pytest.raises(PermissionDenied, match="no-contractors"):
        playbook()
    with guard.acting_as(make_principal("root", roles=["user"], scopes=["admin"])):
        assert playbook() == "wiped"


def test_one_acting_as_object_entered_from_two_threads() -> None:
    """Each thread restores its own state when leaving a shared acting_as block."""
    guard = Guard(Policy.from_dict({"rules": [EVERYONE]}))
    binding = guard.acting_as(ALICE)
    inside = threading.Barrier(2)
    after: dict[str, object] = {}

    def work(name: str) -> None:
        with binding:
            inside.wait(timeout=5)
        after[name] = current_principal()

    threads = [threading.Thread(target=work, args=(n,)) for n in ("t1", "t2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert after == {"t1": None, "t2": None}


def test_a_refunded_call_is_recorded_as_costing_nothing() -> None:
    """cost_settled says what the ledger kept: 0 after a refund on error."""
    policy = Policy.from_dict({"rules": [EVERYONE], "limits": [{"id": "spend", "cost": 100}]})
    guard = Guard(policy)

    @guard.tool(cost=5)
    def charge() -> None:
        raise RuntimeError("declined")

    with capture_audit(guard) as events, guard.acting_as(ALICE), pytest.raises(RuntimeError):
        charge()
    assert (events[-1].cost_reserved, events[-1].cost_settled) == (5.0, 0.0)


class _FailsOnOutcome:
    def write(self, event: AuditEvent) -> None:
        if event.phase == "outcome":
            raise OSError("disk full")


def test_a_lost_outcome_says_the_tool_ran() -> None:
    """If only the outcome cannot be written, the error says the tool did run."""
    guard = Guard(Policy.from_dict({"rules": [EVERYONE]}), audit=[_FailsOnOutcome()])
    ran: list[int] = []

    @guard.tool
    def refund() -> None:
        ran.append(1)

    with guard.acting_as(ALICE), pytest.raises(AuditError, match="ran, but") as caught:
        refund()
    assert caught.value.tool_ran and ran == [1]


def test_a_deny_rule_on_not_in_catches_list_values() -> None:
    """`not_in` compares by equality, so a list value cannot slip past a deny rule."""
    policy = Policy.from_dict(
        {
            "rules": [
                EVERYONE,
                {"id": "domestic", "deny": "transfer", "args": {"country": {"not_in": ["US"]}}},
            ]
        }
    )
    assert not policy.decide("transfer", ALICE, {"country": ["RU"]}).allowed
    assert not policy.decide("transfer", ALICE, {"country": "RU"}).allowed
    assert policy.decide("transfer", ALICE, {"country": "US"}).allowed
