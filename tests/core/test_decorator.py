"""@guard.tool on every kind of callable, and the call pipeline around it."""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guardrail import (
    ArgumentError,
    AuthenticationError,
    ConfigurationError,
    Guard,
    PermissionDenied,
    Policy,
    carry_principal,
    current_principal,
)
from guardrail.testing import capture_audit, make_principal

POLICY = Policy.from_dict(
    {
        "rules": [
            {
                "id": "support",
                "allow": ["refund", "arefund", "Shop.*", "report", "whoami*"],
                "when": {"roles": "support"},
                "args": {"amount": {"max": 100}},
            },
            {"id": "reports", "allow": ["report", "whoami*"], "when": {"roles": "support"}},
        ]
    }
)
SUPPORT = make_principal("alice", roles=["support"])
GUEST = make_principal("guest")


@pytest.fixture
def guard() -> Guard:
    return Guard(POLICY)


def test_sync_function_runs_as_the_principal(guard: Guard) -> None:
    """An allowed call returns the tool's result and sees the principal."""

    @guard.tool
    def refund(order_id: str, amount: float) -> str:
        who = current_principal()
        assert who is not None
        return f"{who.subject} refunded {order_id} {amount}"

    with guard.acting_as(SUPPORT):
        assert refund("A-1", 40) == "alice refunded A-1 40.0"


def test_metadata_is_preserved(guard: Guard) -> None:
    """The wrapper keeps __name__, __doc__, the signature and __wrapped__."""

    def refund(order_id: str, amount: float = 1.0, *, note: str = "") -> str:
        """Refund an order."""
        return order_id

    wrapped = guard.tool(name="refund", cost=2)(refund)
    assert wrapped.__name__ == "refund"
    assert wrapped.__doc__ == "Refund an order."
    assert wrapped.__wrapped__ is refund  # type: ignore[attr-defined]
    assert inspect.signature(wrapped) == inspect.signature(refund)
    assert guard.tools["refund"].cost == 2


async def test_async_function(guard: Guard) -> None:
    """Async tools run through the same pipeline and are awaited."""
    ran: list[float] = []

    @guard.tool
    async def arefund(amount: float) -> float:
        await asyncio.sleep(0)
        ran.append(amount)
        return amount

    async with guard.acting_as(SUPPORT):
        assert await arefund(5) == 5.0
        with pytest.raises(PermissionDenied, match="'amount' is <= 100"):
            await arefund(500)
    assert ran == [5.0]


def test_method(guard: Guard) -> None:
    """Methods keep `self`; the policy sees only the real arguments."""

    class Shop:
        def __init__(self) -> None:
            self.refunds: list[float] = []

        @guard.tool(name="Shop.refund")
        def refund(self, amount: float) -> int:
            self.refunds.append(amount)
            return len(self.refunds)

    shop = Shop()
    with capture_audit(guard) as events, guard.acting_as(SUPPORT):
        assert shop.refund(10) == 1
        with pytest.raises(PermissionDenied):
            shop.refund(amount=1000)
    assert shop.refunds == [10.0]
    assert events[0].args == {"amount": 10.0}


def test_defaults_and_keyword_only_arguments(guard: Guard) -> None:
    """Defaults are applied before the policy sees the arguments; keyword-only args work."""

    @guard.tool
    def refund(order_id: str, amount: float = 150.0, *, reason: str = "n/a") -> str:
        return f"{order_id}:{amount}:{reason}"

    with guard.acting_as(SUPPORT):
        with pytest.raises(PermissionDenied):
            refund("A-1")  # the default 150 exceeds the rule's max
        assert refund("A-1", 99, reason="late") == "A-1:99.0:late"
        assert refund(order_id="A-2", amount=1) == "A-2:1.0:n/a"


def test_varargs_functions_bind_through_the_signature(guard: Guard) -> None:
    """Functions with *args/**kwargs still bind and run."""

    @guard.tool(name="report")
    def report(*parts: str, **options: Any) -> str:
        return "/".join(parts) + str(sorted(options))

    with guard.acting_as(SUPPORT):
        assert report("a", "b", x=1) == "a/b['x']"


def test_invalid_arguments_are_refused_and_audited(guard: Guard) -> None:
    """Type-hint validation fails with a clear error, before the tool runs, on the record."""
    ran = []

    @guard.tool
    def refund(order_id: str, amount: float) -> None:
        ran.append(1)

    with capture_audit(guard) as events, guard.acting_as(SUPPORT):
        with pytest.raises(ArgumentError, match="amount"):
            refund("A-1", "lots")
        with pytest.raises(ArgumentError, match="missing required"):
            refund("A-1")  # type: ignore[call-arg]
        with pytest.raises(ArgumentError, match="unexpected argument"):
            refund("A-1", 1, colour="red")  # type: ignore[call-arg]
    assert ran == []
    assert [e.phase for e in events] == ["refusal"] * 3


def test_no_principal_is_denied(guard: Guard) -> None:
    """Outside acting_as there is no principal: fail closed with AuthenticationError."""

    @guard.tool
    def refund(amount: float) -> None:
        raise AssertionError("must not run")

    with pytest.raises(AuthenticationError, match="no principal"):
        refund(1)


def test_call_by_name(guard: Guard) -> None:
    """guard.call / guard.acall run registered tools by name with keyword arguments."""

    @guard.tool
    def refund(amount: float) -> float:
        return amount * 2

    @guard.tool
    async def arefund(amount: float) -> float:
        return amount * 3

    with guard.acting_as(SUPPORT):
        assert guard.call("refund", {"amount": 2}) == 4.0
        assert asyncio.run(guard.acall("arefund", {"amount": 2})) == 6.0
        assert asyncio.run(guard.acall("refund", {"amount": 2})) == 4.0
        with pytest.raises(ConfigurationError, match="acall"):
            guard.call("arefund", {"amount": 1})
        with pytest.raises(ConfigurationError, match="no tool named"):
            guard.call("nope")


def test_tool_scopes_are_required_on_top_of_policy(guard: Guard) -> None:
    """@guard.tool(scopes=...) needs those OAuth scopes even when a rule allows the tool."""

    @guard.tool(name="report", scopes=["reports:read"])
    def report() -> str:
        return "ok"

    with guard.acting_as(SUPPORT), pytest.raises(PermissionDenied, match="reports:read"):
        report()
    scoped = make_principal("carol", roles=["support"], scopes=["reports:read"])
    with guard.acting_as(scoped):
        assert report() == "ok"
    assert guard.visible_tools(SUPPORT, ["report"]) == []
    assert guard.visible_tools(scoped, ["report"]) == ["report"]


def test_a_name_cannot_be_taken_twice(guard: Guard) -> None:
    """Two different functions may not share a tool name."""

    @guard.tool(name="report")
    def one() -> None: ...

    with pytest.raises(ConfigurationError, match="already registered"):

        @guard.tool(name="report")
        def two() -> None: ...


async def test_identity_is_isolated_between_1000_concurrent_tasks(guard: Guard) -> None:
    """1,000 tasks acting as different users never see each other's identity."""

    @guard.tool(name="whoami")
    async def whoami(tag: str) -> str:
        await asyncio.sleep(0)
        who = current_principal()
        assert who is not None
        await asyncio.sleep(0)
        return f"{who.subject}={tag}"

    async def act(i: int) -> str:
        async with guard.acting_as(make_principal(f"user{i}", roles=["support"])):
            return await whoami(str(i))

    results = await asyncio.gather(*(act(i) for i in range(1000)))
    assert results == [f"user{i}={i}" for i in range(1000)]


def test_carry_principal_into_a_thread_pool(guard: Guard) -> None:
    """Threads do not inherit the principal unless the callable is wrapped."""

    @guard.tool(name="whoami_sync")
    def whoami() -> str:
        who = current_principal()
        return who.subject if who else "nobody"

    with ThreadPoolExecutor(max_workers=2) as pool, guard.acting_as(SUPPORT):
        assert pool.submit(carry_principal(whoami)).result() == "alice"
        with pytest.raises(AuthenticationError):
            pool.submit(whoami).result()


@settings(max_examples=200, deadline=None)
@given(
    roles=st.sets(st.sampled_from(["support", "admin", "guest"])),
    amount=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False), st.integers(-(10**6), 10**6)
    ),
    anonymous=st.booleans(),
)
def test_a_denied_call_never_runs_the_tool(roles: set[str], amount: float, anonymous: bool) -> None:
    """Property: the tool body runs iff the policy allows the call."""
    guard = Guard(POLICY)
    ran: list[float] = []

    @guard.tool
    def refund(amount: float) -> None:
        ran.append(amount)

    who = None if anonymous else make_principal("p", roles=roles)
    allowed = guard.check("refund", {"amount": float(amount)}, who).allowed
    try:
        if who is None:
            refund(amount)
        else:
            with guard.acting_as(who):
                refund(amount)
    except (PermissionDenied, AuthenticationError):
        assert not allowed
    assert bool(ran) is allowed


def test_a_principal_whose_token_expired_is_refused(guard: Guard) -> None:
    """A token valid at acting_as(...) but expired by call time no longer acts."""
    import time

    @guard.tool(name="whoami_late")
    def whoami() -> str:
        raise AssertionError("must not run")

    expired = SUPPORT.model_copy(update={"expires_at": time.time() - 1})
    with guard.acting_as(expired), pytest.raises(AuthenticationError, match="expired"):
        whoami()
