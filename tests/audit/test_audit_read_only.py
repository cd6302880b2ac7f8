"""``@guard.tool(read_only=True)``: an allowed call is one record, its outcome, kept
before the result reaches the caller; everything else keeps its intent record."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from guardrail import AuditError, Guard, PermissionDenied, Principal
from guardrail.audit import ChainLog, verify
from guardrail.audit.event import AuditEvent
from guardrail.audit.stats import summarize
from guardrail.testing import MemorySink, capture_audit

GuardFactory = Callable[..., Guard]


def test_an_allowed_read_only_call_is_its_outcome_alone(
    make_guard: GuardFactory, alice: Principal
) -> None:
    """One outcome record, carrying what the intent and outcome of any call carry."""
    guard = make_guard()

    @guard.tool(read_only=True)
    def lookup(order_id: str) -> str:
        return f"order {order_id}"

    @guard.tool
    def boom(order_id: str) -> str:  # the same policy rule, not read-only
        return order_id

    with capture_audit(guard) as events, guard.acting_as(alice):
        assert lookup("A-17") == "order A-17"
        boom("A-18")
    assert [(e.tool, e.phase) for e in events] == [
        ("lookup", "outcome"),
        ("boom", "intent"),
        ("boom", "outcome"),
    ]
    read, _, written = events
    assert read.outcome == "ok" and read.decision == "allowed"
    assert read.rule == "support-tools" and read.subject == "alice"
    assert read.args == {"order_id": "A-17"} and read.duration_ms is not None
    assert set(read._asdict()) == set(written._asdict())
    assert [name for name, value in read._asdict().items() if value is None] == [
        name for name, value in written._asdict().items() if value is None
    ]


def test_the_result_is_withheld_when_the_outcome_cannot_be_kept(
    make_guard: GuardFactory, alice: Principal
) -> None:
    """No record, no result: the caller gets AuditError (tool_ran) instead."""

    class Broken(MemorySink):
        def write(self, event: AuditEvent) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    guard = make_guard(Broken())
    ran: list[str] = []

    @guard.tool(read_only=True)
    def lookup(order_id: str) -> str:
        ran.append(order_id)
        return "secret result"

    with guard.acting_as(alice), pytest.raises(AuditError, match="No space") as caught:
        lookup("A-1")
    assert ran == ["A-1"] and caught.value.tool_ran


async def test_async_read_only_calls_and_refusals(
    make_guard: GuardFactory, alice: Principal, contractor: Principal
) -> None:
    """Async: one outcome; a refused read-only call is still one refusal record."""
    guard = make_guard()

    @guard.tool(read_only=True)
    async def lookup(order_id: str) -> str:
        return order_id

    @guard.tool(read_only=True)
    def refund(order_id: str, amount: float) -> str:
        return order_id

    with capture_audit(guard) as events:
        with guard.acting_as(alice):
            assert await lookup("A-1") == "A-1"
        with guard.acting_as(contractor), pytest.raises(PermissionDenied):
            refund("A-2", 5.0)
    assert [(e.tool, e.phase) for e in events] == [("lookup", "outcome"), ("refund", "refusal")]


def test_a_read_only_generator_keeps_its_intent(make_guard: GuardFactory, alice: Principal) -> None:
    """A generator hands items over before its outcome: the intent is written first."""
    guard = make_guard()

    @guard.tool(read_only=True)
    def lookup(order_id: str) -> Iterator[str]:
        yield order_id

    with capture_audit(guard) as events, guard.acting_as(alice):
        assert list(lookup("A-1")) == ["A-1"]
    assert [e.phase for e in events] == ["intent", "outcome"]


def test_read_only_calls_in_a_chain_log_verify_and_count(
    make_guard: GuardFactory, alice: Principal, tmp_path: Path
) -> None:
    """One line per read-only call; verify passes; the summary counts each call once."""
    path = tmp_path / "audit.jsonl"
    log = ChainLog(path, fsync="batch")
    guard = make_guard(log)

    @guard.tool(read_only=True)
    def lookup(order_id: str) -> str:
        return order_id

    @guard.tool
    def boom(order_id: str) -> str:
        return order_id

    with guard.acting_as(alice):
        for i in range(5):
            lookup(f"A-{i}")
        boom("B-1")
    log.close()
    guard.audit.remove(log)
    report = verify(path)
    assert report.ok and report.events == 7
    with capture_audit(guard) as events, guard.acting_as(alice):
        lookup("A-9")
        boom("B-2")
    summary = summarize(e.model_dump(mode="json") for e in events)
    assert summary["calls"] == 2 and summary["tools"] == {"lookup": 1, "boom": 1}
