"""Generator and async-generator tools run inside the guard, item by item (issue 16)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from guardrail import BudgetExceeded, Guard, GuardrailDenied, Policy, current_principal
from guardrail.testing import capture_audit, make_principal

ALICE = make_principal("alice", roles=["user"])
POLICY = {
    "rules": [{"id": "users", "allow": "*", "when": {"roles": "user"}}],
    "limits": [{"id": "one-at-a-time", "per": "user", "concurrent": 1}],
}


def _guard() -> Guard:
    return Guard(Policy.from_dict(POLICY))


def test_a_generator_body_runs_as_the_principal() -> None:
    """Every item is produced with the caller bound, not after the guard has finished."""
    guard = _guard()

    @guard.tool
    def rows(n: int) -> Iterator[str | None]:
        for _ in range(n):
            who = current_principal()
            yield who.subject if who else None

    with guard.acting_as(ALICE):
        stream = rows(3)
    assert list(stream) == ["alice", "alice", "alice"]


def test_the_outcome_is_written_after_the_last_item() -> None:
    """Intent before the first item; the outcome after exhaustion, with a failure in it."""
    guard = _guard()
    seen: list[str] = []

    @guard.tool
    def rows() -> Iterator[int]:
        yield 1
        seen.append(f"events at second item: {len(events)}")
        yield 2
        raise RuntimeError("backend dropped")

    with capture_audit(guard) as events, guard.acting_as(ALICE):
        stream = rows()
        assert next(stream) == 1
        assert next(stream) == 2
        with pytest.raises(RuntimeError, match="backend dropped"):
            next(stream)
    assert seen == ["events at second item: 1"]
    assert [(e.phase, e.outcome) for e in events] == [
        ("intent", None),
        ("outcome", "RuntimeError"),
    ]


def test_concurrency_is_held_until_the_generator_is_exhausted_or_closed() -> None:
    """A second stream is refused while the first is open; closing it frees the slot."""
    guard = _guard()

    @guard.tool
    def rows() -> Iterator[int]:
        yield from range(3)

    with guard.acting_as(ALICE):
        first = rows()
        assert next(first) == 0
        with pytest.raises(BudgetExceeded):
            next(rows())
        first.close()
        second = rows()
        assert list(second) == [0, 1, 2]
        assert list(rows()) == [0, 1, 2]


def test_a_refused_generator_never_runs_its_body() -> None:
    """The policy is checked before the first item; a refusal is recorded."""
    guard = _guard()
    ran: list[int] = []

    @guard.tool
    def rows() -> Iterator[int]:
        ran.append(1)
        yield 1

    with capture_audit(guard) as events, pytest.raises(GuardrailDenied):
        list(rows())  # nobody is acting
    assert ran == []
    assert [e.phase for e in events] == ["refusal"]


async def test_an_async_generator_runs_inside_the_guard() -> None:
    """Async generators: principal bound per item, slot held, outcome after the last item."""
    guard = _guard()

    @guard.tool
    async def feed(n: int) -> AsyncIterator[str | None]:
        for _ in range(n):
            who = current_principal()
            yield who.subject if who else None

    with capture_audit(guard) as events:
        async with guard.acting_as(ALICE):
            stream = feed(2)
            assert await stream.__anext__() == "alice"
            with pytest.raises(BudgetExceeded):
                await feed(1).__anext__()
            assert [item async for item in stream] == ["alice"]
            assert [item async for item in feed(1)] == ["alice"]
    phases = [(e.phase, e.decision) for e in events]
    assert phases[:2] == [("intent", "allowed"), ("refusal", "budget_exceeded")]
    assert phases[2] == ("outcome", "allowed")
