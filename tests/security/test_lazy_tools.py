"""A tool body never runs after the guard let go (issue 16, generator tools, new members).

The class: a tool whose call hands back its body unrun (a generator or coroutine
object) runs that body after the guard finished: no principal bound, the outcome
already recorded as ok, the concurrency slot already released. Found on main at
08b4769 with callable objects (``__call__`` a generator or ``async def``) and
plain functions returning a generator or coroutine (a ``functools.wraps``
decorator around an ``async def``, a generator expression).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from guardrail import (
    BudgetExceeded,
    ConfigurationError,
    Guard,
    Policy,
    current_principal,
)
from guardrail.identity import Principal
from guardrail.testing import capture_audit, make_principal

ALICE = make_principal("alice")


def one_at_a_time() -> Guard:
    """Everyone may call anything, one call in flight per user."""
    policy = Policy.from_dict(
        {
            "rules": [{"id": "everyone", "allow": "*"}],
            "limits": [{"id": "one", "per": "user", "concurrent": 1}],
        }
    )
    return Guard(policy)


class Stream:
    """A callable object whose ``__call__`` is a generator function."""

    def __init__(self) -> None:
        self.seen: list[Principal | None] = []

    def __call__(self, n: int) -> Iterator[int]:
        self.seen.append(current_principal())
        yield n


class Fetch:
    """A callable object whose ``__call__`` is a coroutine function."""

    def __init__(self) -> None:
        self.seen: list[Principal | None] = []

    async def __call__(self, n: int) -> int:
        self.seen.append(current_principal())
        return n


class AsyncStream:
    def __init__(self) -> None:
        self.seen: list[Principal | None] = []

    async def __call__(self, n: int) -> AsyncIterator[int]:
        self.seen.append(current_principal())
        yield n


def test_a_generator_object_tool_runs_inside_the_guard() -> None:
    """An object with a generator ``__call__`` runs as the principal, holding its slot."""
    guard = one_at_a_time()
    body = Stream()
    stream = guard.tool(name="stream")(body)
    with guard.acting_as(ALICE), capture_audit(guard) as events:
        first = stream(1)
        assert next(first) == 1
        with pytest.raises(BudgetExceeded):
            next(stream(2))  # the first call still holds the one slot
        first.close()
        assert list(stream(3)) == [3]
    assert body.seen == [ALICE, ALICE]
    outcomes = sorted(e.decision for e in events if e.phase != "intent")
    assert outcomes == ["allowed", "allowed", "budget_exceeded"]


def test_a_coroutine_object_tool_runs_inside_the_guard() -> None:
    """An object with an ``async def __call__`` is an async tool: awaited in the guard."""
    guard = one_at_a_time()
    body = Fetch()
    fetch = guard.tool(name="fetch")(body)

    async def main() -> Any:
        with guard.acting_as(ALICE):
            return await fetch(7), await guard.acall("fetch", {"n": 8})

    assert asyncio.run(main()) == (7, 8)
    assert body.seen == [ALICE, ALICE]


def test_an_async_generator_object_tool_runs_inside_the_guard() -> None:
    guard = one_at_a_time()
    body = AsyncStream()
    stream = guard.tool(name="astream")(body)

    async def main() -> list[int]:
        with guard.acting_as(ALICE):
            return [item async for item in stream(4)]

    assert asyncio.run(main()) == [4]
    assert body.seen == [ALICE]


def passthrough(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A sync decorator (as many are): it returns whatever ``fn`` returns, unrun."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


RAN: list[Principal | None] = []


@passthrough
def decorated_generator(n: int) -> Iterator[int]:
    RAN.append(current_principal())
    yield n


@passthrough
async def decorated_coroutine(n: int) -> int:
    RAN.append(current_principal())
    return n


def generator_expression(n: int) -> Iterator[int]:
    return (RAN.append(current_principal()) or item for item in [n])


LAZY = [decorated_generator, decorated_coroutine, generator_expression]


@pytest.mark.parametrize("fn", LAZY, ids=lambda fn: fn.__name__)
def test_a_plain_function_returning_its_body_unrun_is_refused(fn: Callable[..., Any]) -> None:
    """The body never runs; the outcome is an error, not ok; the slot is free again."""
    RAN.clear()
    guard = one_at_a_time()
    tool = guard.tool(fn)
    with guard.acting_as(ALICE), capture_audit(guard) as events:
        with pytest.raises(ConfigurationError, match=r"returned a \w+ object instead of running"):
            tool(1)
        with pytest.raises(ConfigurationError):
            guard.call(fn.__name__, {"n": 1})
    assert RAN == []
    assert [e.decision for e in events if e.phase == "outcome"] == ["error", "error"]
    assert guard.check(fn.__name__, {"n": 1}, ALICE).allowed  # the policy had allowed it


@pytest.mark.parametrize("fn", LAZY, ids=lambda fn: fn.__name__)
def test_the_async_driver_refuses_an_unrun_body_too(fn: Callable[..., Any]) -> None:
    """``guard.acall`` (the sync function in a worker thread) refuses it the same way."""
    RAN.clear()
    guard = one_at_a_time()
    guard.tool(fn)

    async def main() -> None:
        with guard.acting_as(ALICE):
            await guard.acall(fn.__name__, {"n": 1})

    with pytest.raises(ConfigurationError, match="instead of running"):
        asyncio.run(main())
    assert RAN == []


def test_a_callable_without_a_name_needs_one() -> None:
    """A ``functools.partial`` is a ConfigurationError without ``name=``, a tool with it;
    the argument it presets is what the policy sees."""
    guard = Guard(
        Policy.from_dict(
            {
                "rules": [
                    {"id": "everyone", "allow": "*"},
                    {"id": "big", "deny": "*", "args": {"amount": {"min": 1000}}},
                ]
            }
        )
    )

    def pay(order: str, amount: int) -> str:
        return order

    with pytest.raises(ConfigurationError, match="name="):
        guard.tool(functools.partial(pay, amount=5000))
    preset = guard.tool(name="pay_big")(functools.partial(pay, amount=5000))
    assert not guard.check("pay_big", {"order": "A-1"}, ALICE).allowed
    with guard.acting_as(ALICE), pytest.raises(Exception, match="big"):
        preset("A-1")
