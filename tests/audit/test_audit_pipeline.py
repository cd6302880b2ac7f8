"""Every decision path leaves exactly one intent/outcome pair or one refusal record,
and an audit log that cannot be written stops the tool."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guardrail import (
    ArgumentError,
    AuditError,
    AuthenticationError,
    BudgetExceeded,
    Guard,
    PermissionDenied,
    Principal,
)
from guardrail.audit import ChainLog, verify
from guardrail.audit.event import AuditEvent
from guardrail.call import BudgetState, Call
from guardrail.testing import MemorySink, capture_audit

GuardFactory = Callable[..., Guard]


class Budget:
    """A stand-in budget step: reserves a cost, or refuses past a limit."""

    def __init__(self, maximum: float) -> None:
        self.maximum, self.used = maximum, 0.0

    def enter(self, call: Call) -> None:
        cost = call.tool.cost or 1.0
        if self.used + cost > self.maximum:
            raise BudgetExceeded(
                f"team-spend would exceed {self.maximum}",
                limit="team-spend",
                level="team",
                key="team:support-eu",
                used=self.used,
                maximum=self.maximum,
                retry_after=30.0,
                tool=call.tool.name,
                principal=call.principal,
            )
        self.used += cost
        call.budget = BudgetState(reserved=cost, remaining={"team-spend": self.maximum - self.used})

    def exit(self, call: Call) -> None:
        pass


def tools(guard: Guard, ran: list[str]) -> dict[str, Callable[..., Any]]:
    @guard.tool(cost=2, redact=["note"])
    def refund(order_id: str, amount: float, note: str = "") -> str:
        ran.append("refund")
        return f"refunded {order_id}"

    @guard.tool
    def boom(order_id: str) -> str:
        ran.append("boom")
        raise ValueError("backend exploded")

    @guard.tool(scopes=["crm:write"])
    def lookup(order_id: str) -> str:
        ran.append("lookup")
        return order_id

    @guard.tool
    async def slow(order_id: str) -> str:
        ran.append("slow")
        return order_id

    return {"refund": refund, "boom": boom, "lookup": lookup, "slow": slow}


@pytest.fixture
def setup(make_guard: GuardFactory) -> tuple[Guard, dict[str, Callable[..., Any]], list[str]]:
    guard = make_guard()
    ran: list[str] = []
    fns = tools(guard, ran)
    guard.add_step(Budget(maximum=5))
    return guard, fns, ran


def phases(events: list[AuditEvent]) -> list[tuple[str, str]]:
    return [(e.phase, e.decision) for e in events]


def test_allowed_call_is_one_intent_and_one_outcome(setup: Any, alice: Principal) -> None:
    """An allowed call: intent then outcome, with who, rule, cost, args and trace ids."""
    guard, fns, _ran = setup
    with capture_audit(guard) as events, guard.acting_as(alice):
        assert fns["refund"]("A-1", 40.0, note="call me") == "refunded A-1"
    assert phases(events) == [("intent", "allowed"), ("outcome", "allowed")]
    intent, outcome = events
    assert intent.call_id == outcome.call_id
    assert outcome.outcome == "ok" and outcome.rule == "support-refunds"
    assert outcome.subject == "alice" and outcome.org == "acme" and outcome.teams == ("support-eu",)
    assert outcome.cost_reserved == 2 and outcome.cost_settled == 2
    assert outcome.remaining == {"team-spend": 3}
    assert outcome.args == {"order_id": "A-1", "amount": 40.0, "note": "[REDACTED]"}
    assert outcome.policy == guard.policy.digest and outcome.duration_ms is not None
    assert outcome.trace_id and outcome.span_id


@pytest.mark.parametrize(
    ("call", "error", "decision", "rule"),
    [
        ("over_max", PermissionDenied, "denied", "support-refunds"),
        ("contractor", PermissionDenied, "denied", "no-contractor-refunds"),
        ("no_rule", PermissionDenied, "denied", None),
        ("scope", PermissionDenied, "denied", None),
        ("bad_args", ArgumentError, "denied", None),
        ("no_principal", AuthenticationError, "auth_failed", None),
        ("budget", BudgetExceeded, "budget_exceeded", None),
    ],
)
def test_each_refusal_is_one_record(
    setup: Any,
    alice: Principal,
    contractor: Principal,
    call: str,
    error: type[Exception],
    decision: str,
    rule: str | None,
) -> None:
    """Each kind of denial: the tool does not run and exactly one refusal is written."""
    guard, fns, ran = setup
    stranger = Principal(subject="eve", roles=frozenset({"customer"}))
    actions: dict[str, tuple[Principal | None, Callable[[], Any]]] = {
        "over_max": (alice, lambda: fns["refund"]("A-1", 500.0)),
        "contractor": (contractor, lambda: fns["refund"]("A-1", 5.0)),
        "no_rule": (stranger, lambda: fns["refund"]("A-1", 5.0)),
        "scope": (alice, lambda: fns["lookup"]("A-1")),
        "bad_args": (alice, lambda: fns["refund"]("A-1")),
        "no_principal": (None, lambda: fns["refund"]("A-1", 5.0)),
        "budget": (alice, lambda: [fns["refund"]("A-1", 5.0) for _ in range(3)]),
    }
    who, action = actions[call]
    with capture_audit(guard) as events, pytest.raises(error):
        if who is None:
            action()
        else:
            with guard.acting_as(who):
                action()
    refusals = [e for e in events if e.phase == "refusal"]
    assert len(refusals) == 1
    assert refusals[0].decision == decision and refusals[0].rule == rule
    if call == "budget":
        assert phases(events) == [("intent", "allowed"), ("outcome", "allowed")] * 2 + [
            ("refusal", "budget_exceeded")
        ]
        assert refusals[0].limit == "team-spend" and refusals[0].level == "team"
        assert refusals[0].retry_after == 30.0
        assert ran == ["refund", "refund"]
    else:
        assert len(events) == 1 and ran == []


def test_tool_error_is_intent_and_error_outcome(setup: Any, alice: Principal) -> None:
    """A tool that raises: intent, then an outcome naming the error type."""
    guard, fns, _ran = setup
    with capture_audit(guard) as events, guard.acting_as(alice), pytest.raises(ValueError):
        fns["boom"]("A-1")
    assert phases(events) == [("intent", "allowed"), ("outcome", "error")]
    assert events[1].outcome == "ValueError"


async def test_async_paths(setup: Any, alice: Principal) -> None:
    """The async driver records the same pair, and the same single refusal."""
    guard, fns, _ran = setup
    with capture_audit(guard) as events:
        async with guard.acting_as(alice):
            assert await fns["slow"]("A-1") == "A-1"
        with pytest.raises(AuthenticationError):
            await fns["slow"]("A-2")
    assert phases(events) == [
        ("intent", "allowed"),
        ("outcome", "allowed"),
        ("refusal", "auth_failed"),
    ]


def test_calls_by_name_are_recorded_too(setup: Any, alice: Principal) -> None:
    """guard.call(name, ...) records the tool call id it was given."""
    guard, _fns, _ran = setup
    with capture_audit(guard) as events, guard.acting_as(alice):
        guard.call("refund", {"order_id": "A-1", "amount": 1}, tool_call_id="tc_9")
    assert [e.tool_call_id for e in events] == ["tc_9", "tc_9"]


def test_every_path_lands_in_a_valid_chain(
    make_guard: GuardFactory, log_path: Path, alice: Principal
) -> None:
    """The same calls through a ChainLog give a verifiable file with all records."""
    log = ChainLog(log_path, fsync="never")
    guard = make_guard(log)
    ran: list[str] = []
    fns = tools(guard, ran)
    with guard.acting_as(alice):
        fns["refund"]("A-1", 1.0)
        with pytest.raises(PermissionDenied):
            fns["refund"]("A-1", 1000.0)
        with pytest.raises(ValueError):
            fns["boom"]("A-1")
    log.close()
    report = verify(log_path)
    assert report.ok and report.events == 5


# -- fail closed ------------------------------------------------------------------


def guarded_refund(guard: Guard, ran: list[str]) -> Callable[..., Any]:
    return tools(guard, ran)["refund"]


def test_closed_log_stops_the_tool(
    make_guard: GuardFactory, log_path: Path, alice: Principal
) -> None:
    """A closed ChainLog: AuditError and the tool does not run."""
    log = ChainLog(log_path, fsync="never")
    guard = make_guard(log)
    ran: list[str] = []
    refund = guarded_refund(guard, ran)
    log.close()
    with guard.acting_as(alice), pytest.raises(AuditError, match="closed"):
        refund("A-1", 1.0)
    assert ran == []


def test_disk_full_stops_the_tool(
    make_guard: GuardFactory, log_path: Path, alice: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC on write: AuditError, no tool run, and the next append still chains."""
    log = ChainLog(log_path, fsync="never")
    guard = make_guard(log)
    ran: list[str] = []
    refund = guarded_refund(guard, ran)
    from guardrail.audit import chain

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(chain.os, "write", full)
    with guard.acting_as(alice), pytest.raises(AuditError, match="No space left"):
        refund("A-1", 1.0)
    assert ran == []
    monkeypatch.undo()
    with guard.acting_as(alice):
        refund("A-1", 1.0)
    log.close()
    assert ran == ["refund"] and verify(log_path).ok


def test_read_only_descriptor_stops_the_tool(
    make_guard: GuardFactory, log_path: Path, alice: Principal
) -> None:
    """The log's descriptor turned read-only underneath it (EBADF): fail closed."""
    log = ChainLog(log_path, fsync="never")
    guard = make_guard(log)
    ran: list[str] = []
    refund = guarded_refund(guard, ran)
    read_only = os.open(log_path, os.O_RDONLY)
    os.dup2(read_only, log._fd)
    os.close(read_only)
    with guard.acting_as(alice), pytest.raises(AuditError):
        refund("A-1", 1.0)
    assert ran == []
    log.close()


def test_failing_sink_stops_the_tool(make_guard: GuardFactory, alice: Principal) -> None:
    """Any sink raising (here a plain OSError) becomes AuditError before the tool."""

    class Broken(MemorySink):
        def write(self, event: AuditEvent) -> None:
            raise OSError(errno.EROFS, "Read-only file system")

    guard = make_guard(Broken())
    ran: list[str] = []
    with guard.acting_as(alice), pytest.raises(AuditError, match="Read-only"):
        guarded_refund(guard, ran)("A-1", 1.0)
    assert ran == []


FILE_SIZE_LIMIT = r"""
import resource, signal, sys
from guardrail import Guard, Policy, Principal, AuditError
from guardrail.audit import ChainLog
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
log = ChainLog(sys.argv[1], fsync="never")
size = __import__("os").path.getsize(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 10, size + 10))
guard = Guard(Policy.from_dict({"rules": [{"id": "r", "allow": ["t"]}]}), audit=[log])
ran = []
@guard.tool
def t() -> None:
    ran.append(1)
with guard.acting_as(Principal(subject="a")):
    try:
        t()
    except AuditError as exc:
        print("AuditError", exc)
print("ran", len(ran))
"""


def test_file_size_limit_stops_the_tool(log_path: Path) -> None:
    """A real kernel write failure (RLIMIT_FSIZE, EFBIG) in a child process: fail closed."""
    out = subprocess.run(
        [sys.executable, "-c", FILE_SIZE_LIMIT, str(log_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "AuditError" in out and "ran 0" in out
