"""Hot reload: atomic swaps under load, in-flight calls, broken files, the file watcher."""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from guardrail import ConfigurationError, Guard, GuardrailDenied, PermissionDenied, Policy
from guardrail.audit.event import AuditEvent
from guardrail.testing import MemorySink, capture_audit, make_principal

USERS = [make_principal(f"user{i}", roles=["staff"], teams=[f"t{i % 3}"]) for i in range(8)]
# Under A, small orders are allowed and big ones denied; under B the other way
# round. Each has its own limit, so a record's budget fields name the policy too.
DOC_A: dict[str, Any] = {
    "rules": [{"id": "a-small", "allow": ["work"], "args": {"n": {"max": 49}}}],
    "limits": [{"id": "a-rate", "per": "user", "calls": "1000000/minute"}],
}
DOC_B: dict[str, Any] = {
    "rules": [
        {"id": "b-big", "allow": ["work"], "args": {"n": {"min": 50}}},
        {"id": "b-no-seven", "deny": ["work"], "args": {"n": {"eq": 77}}},
    ],
    "limits": [{"id": "b-spend", "per": "team", "cost": 1000000, "period": "day"}],
}
POLICY_A, POLICY_B = Policy.model_validate(DOC_A), Policy.model_validate(DOC_B)
BY_DIGEST = {POLICY_A.digest: POLICY_A, POLICY_B.digest: POLICY_B}


def guarded(policy: Policy | Path, sink: MemorySink, **options: Any) -> Guard:
    guard = Guard(policy, audit=[sink], **options)

    @guard.tool(cost=1.0)
    def work(n: int) -> int:
        time.sleep(0)  # let other threads (and the swapper) in mid-call
        return n

    return guard


def by_call(events: list[AuditEvent]) -> dict[str, list[AuditEvent]]:
    calls: dict[str, list[AuditEvent]] = defaultdict(list)
    for event in events:
        if event.phase != "notice":
            calls[event.call_id].append(event)
    return calls


def test_reload_under_eight_threads() -> None:
    """Every call is decided by exactly one policy, as that policy decides it, and
    none is refused by the swap itself; every record of a call names that policy."""
    sink = MemorySink()
    guard = guarded(POLICY_A, sink)
    done = threading.Event()
    outcomes: dict[str, list[tuple[int, str]]] = {}
    crashes: list[BaseException] = []

    def caller(i: int) -> None:
        rng, seen = random.Random(i), outcomes.setdefault(USERS[i].subject, [])
        with guard.acting_as(USERS[i]):
            while not done.is_set() or len(seen) < 50:
                n = rng.choice([7, 30, 49, 50, 60, 77, 99])
                try:
                    guard.call("work", {"n": n})
                    seen.append((n, "allowed"))
                except PermissionDenied:
                    seen.append((n, "denied"))
                except BaseException as exc:  # anything else is the swap's fault
                    crashes.append(exc)
                    return

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for flip in range(200):
        guard.reload(POLICY_B if flip % 2 == 0 else POLICY_A)
        time.sleep(0.001)
    done.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not crashes, crashes[:3]

    calls = by_call(sink.events)
    assert len(calls) == sum(len(seen) for seen in outcomes.values())
    deciders = defaultdict(int)
    for records in calls.values():
        digests = {r.policy for r in records}
        assert len(digests) == 1, records  # intent and outcome under the same policy
        policy = BY_DIGEST[digests.pop()]
        deciders[policy.digest] += 1
        first = records[0]
        user = next(u for u in USERS if u.subject == first.subject)
        expected = policy.decide("work", user, first.args)
        final = records[-1]
        assert final.decision == ("allowed" if expected.allowed else "denied")
        assert final.rule == expected.rule
        if expected.allowed:
            assert [r.phase for r in records] == ["intent", "outcome"]
            assert {k.split(":")[0] for k in final.remaining} == {
                limit.id for limit in policy.limits
            }
        else:
            assert [r.phase for r in records] == ["refusal"]
    assert deciders[POLICY_A.digest] > 100 and deciders[POLICY_B.digest] > 100, deciders
    notices = [e for e in sink.events if e.phase == "notice"]
    assert len(notices) == 200 and {n.decision for n in notices} == {"allowed"}


def test_in_flight_call_finishes_under_the_old_policy() -> None:
    sink = MemorySink()
    guard = Guard(POLICY_A, audit=[sink])
    started, release = threading.Event(), threading.Event()

    @guard.tool(cost=1.0)
    def work(n: int) -> int:
        started.set()
        assert release.wait(10)
        return n

    result: list[int] = []

    def slow_call() -> None:
        with guard.acting_as(USERS[0]):
            result.append(work(10))

    with guard.acting_as(USERS[0]):
        slow = threading.Thread(target=slow_call)
        slow.start()
        assert started.wait(10)
        guard.reload(POLICY_B)
        with pytest.raises(PermissionDenied):
            work(10)  # a new call: B refuses small orders
        release.set()
        slow.join(10)
    assert result == [10]  # A allowed it; the swap did not refuse it
    calls = list(by_call(sink.events).values())
    old, new = calls
    assert [(r.phase, r.policy, r.rule) for r in old] == [
        ("intent", POLICY_A.digest, "a-small"),
        ("outcome", POLICY_A.digest, "a-small"),
    ]
    assert set(old[-1].remaining) == {"a-rate:user0"}
    assert [(r.phase, r.policy, r.decision) for r in new] == [
        ("refusal", POLICY_B.digest, "denied")
    ]


async def test_async_in_flight_call_and_a_cached_decision() -> None:
    """An awaiting call keeps its policy; a decision made many times under A is not
    reused under B (nothing cached for a policy outlives it)."""
    sink = MemorySink()
    guard = Guard(POLICY_A, audit=[sink])
    gate = asyncio.Event()

    @guard.tool
    async def work(n: int) -> int:
        if n == 1:
            await gate.wait()
        return n

    with guard.acting_as(USERS[1]):
        for _ in range(50):
            assert await work(60 - 30) == 30
        waiting = asyncio.create_task(work(1))
        await asyncio.sleep(0.01)
        guard.reload(POLICY_B)
        with pytest.raises(PermissionDenied):
            await work(30)
        assert await work(60) == 60
        gate.set()
        assert await waiting == 1
    finals = [r for r in sink.events if r.phase in ("outcome", "refusal")]
    assert [(r.args["n"], r.policy) for r in finals[-3:]] == [
        (30, POLICY_B.digest),
        (60, POLICY_B.digest),
        (1, POLICY_A.digest),
    ]


def write(path: Path, doc: dict[str, Any] | str) -> None:
    # Written whole, then renamed: a reader never sees half a file.
    part = path.with_suffix(".part")
    part.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc), encoding="utf-8")
    part.replace(path)


def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


BROKEN = {
    "bad yaml": "rules:\n  - id: x\n    allow: [work\n",
    "invalid rule": {"rules": [{"id": "x", "allow": ["work"], "unknown_key": 1}]},
    "unreadable limit": {"rules": [], "limits": [{"id": "l", "per": "user", "calls": "lots"}]},
}


@pytest.mark.parametrize("broken", BROKEN, ids=list(BROKEN))
def test_broken_file_keeps_the_old_policy_and_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, broken: str
) -> None:
    path = tmp_path / "policy.yaml"
    write(path, DOC_A)
    sink = MemorySink()
    guard = guarded(path, sink, watch=True, watch_interval=0.02)
    try:
        with guard.acting_as(USERS[2]), caplog.at_level(logging.ERROR, "guardrail.reload"):
            assert guard.call("work", {"n": 10}) == 10
            write(path, BROKEN[broken])
            wait_for(lambda: any(e.phase == "notice" for e in sink.events))
            assert guard.call("work", {"n": 10}) == 10  # A still decides
            with pytest.raises(PermissionDenied):
                guard.call("work", {"n": 60})
            write(path, DOC_B)
            wait_for(lambda: guard.policy == POLICY_B)
            assert guard.call("work", {"n": 60}) == 60
            with pytest.raises(PermissionDenied):
                guard.call("work", {"n": 10})
    finally:
        guard.close()
    failed, reloaded = [e for e in sink.events if e.phase == "notice"]
    assert (failed.decision, failed.policy) == ("error", POLICY_A.digest)
    assert failed.reason is not None and POLICY_A.digest in failed.reason
    assert failed.detail["source"] == str(path)
    assert [r.message for r in caplog.records] == [f"{failed.reason} (from {path})"]
    assert (reloaded.decision, reloaded.policy) == ("allowed", POLICY_B.digest)
    assert reloaded.detail["previous"] == POLICY_A.digest
    calls = [records[-1] for records in by_call(sink.events).values()]
    assert [(c.args["n"], c.decision, c.policy) for c in calls] == [
        (10, "allowed", POLICY_A.digest),
        (10, "allowed", POLICY_A.digest),
        (60, "denied", POLICY_A.digest),
        (60, "allowed", POLICY_B.digest),
        (10, "denied", POLICY_B.digest),
    ]


def test_reload_raises_for_a_broken_policy(tmp_path: Path) -> None:
    sink = MemorySink()
    guard = guarded(POLICY_A, sink)
    path = tmp_path / "bad.yaml"
    write(path, BROKEN["bad yaml"])
    with pytest.raises(ConfigurationError, match=r"bad\.yaml"):
        guard.reload(path)
    with pytest.raises(ConfigurationError, match="cannot read policy"):
        guard.reload(tmp_path / "missing.yaml")
    assert guard.policy is POLICY_A
    assert [e.decision for e in sink.events] == ["error", "error"]
    with guard.acting_as(USERS[0]), capture_audit(guard) as events:
        assert guard.call("work", {"n": 1}) == 1
    assert {e.policy for e in events} == {POLICY_A.digest}


def test_strict_guard_keeps_its_policy_when_a_tool_no_longer_fits() -> None:
    """A strict guard refuses a policy its registered tools do not fit, as at start."""
    guard = guarded(POLICY_A, MemorySink(), strict=True)
    misfit = Policy.model_validate(
        {"rules": [{"id": "r", "allow": ["work"], "args": {"amount": {"max": 5}}}]}
    )
    with pytest.raises(ConfigurationError, match="amount"):
        guard.reload(misfit)
    assert guard.policy is POLICY_A


def test_sinks_and_custom_steps_survive_a_reload() -> None:
    """Sinks added before or after a reload get every record; a custom step stays put."""
    early, late = MemorySink(), MemorySink()
    guard = guarded(POLICY_A, early)
    seen: list[str] = []

    class Counting:
        def enter(self, call: Any) -> None:
            seen.append(call.tool.name)

        def exit(self, call: Any) -> None:
            pass

    counting = Counting()
    guard.add_step(counting)
    guard.reload(POLICY_B)
    guard.audit.add(late)
    with guard.acting_as(USERS[3]):
        assert guard.call("work", {"n": 50}) == 50
    assert seen == ["work"] and counting in guard.steps
    assert guard.steps[-1] is guard.audit
    assert [e.phase for e in early.events] == ["notice", "intent", "outcome"]
    assert [e.phase for e in late.events] == ["intent", "outcome"]
    assert {e.policy for e in late.events} == {POLICY_B.digest}


def test_watch_needs_a_file() -> None:
    with pytest.raises(ConfigurationError, match="watch=True"):
        Guard(POLICY_A, watch=True)


def test_close_stops_watching(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    write(path, DOC_A)
    guard = guarded(path, MemorySink(), watch=True, watch_interval=0.02)
    guard.close()
    write(path, DOC_B)
    time.sleep(0.2)
    assert guard.policy == POLICY_A
    with guard.acting_as(USERS[0]), pytest.raises(GuardrailDenied):
        guard.call("work", {"n": 60})
