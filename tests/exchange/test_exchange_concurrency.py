"""One exchange in flight per key: 100 concurrent calls by one user, threads or tasks."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from exchange_support import CRM, Users
from support.token_service import TokenService

from guardrail import DelegationRefused, Guard, adownstream_token, carry_principal, downstream_token


def test_100_threads_one_exchange(guard: Guard, users: Users, service: TokenService) -> None:
    """100 threads calling at once as alice: one exchange, one token for all."""
    service.delay = 0.3  # keep the first exchange in flight while the others arrive

    @guard.tool
    def lookup(customer: str) -> str:
        return downstream_token(CRM, ["crm.read"])

    start = threading.Barrier(100)

    def call(i: int) -> str:
        start.wait()
        return lookup(f"c-{i}")

    with guard.acting_as(users.token("alice")), ThreadPoolExecutor(100) as pool:
        tokens = list(pool.map(carry_principal(call), range(100)))
    assert len(set(tokens)) == 1 and service.exchanges == 1


async def test_100_tasks_one_exchange(guard: Guard, users: Users, service: TokenService) -> None:
    """100 asyncio tasks as alice: one exchange, and the loop is never blocked by it."""
    service.delay = 0.3
    ticks = 0

    @guard.tool
    async def lookup(customer: str) -> str:
        return await adownstream_token(CRM, ["crm.read"])

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(ticker())
    async with guard.acting_as(users.token("alice")):
        tokens = await asyncio.gather(*(lookup(f"c-{i}") for i in range(100)))
    beat.cancel()
    assert len(set(tokens)) == 1 and service.exchanges == 1
    assert ticks >= 3  # the loop kept running while the exchange waited 0.3 s


async def test_threads_and_tasks_share_one_exchange(
    guard: Guard, users: Users, service: TokenService
) -> None:
    """Sync callers on threads and async callers on the loop join the same exchange."""
    service.delay = 0.3

    @guard.tool
    def sync_lookup(customer: str) -> str:
        return downstream_token(CRM, ["crm.read"])

    @guard.tool
    async def async_lookup(customer: str) -> str:
        return await adownstream_token(CRM, ["crm.read"])

    async with guard.acting_as(users.token("alice")):
        threads = [asyncio.to_thread(carry_principal(sync_lookup), f"t-{i}") for i in range(20)]
        tasks = [async_lookup(f"a-{i}") for i in range(20)]
        tokens = await asyncio.gather(*threads, *tasks)
    assert len(set(tokens)) == 1 and service.exchanges == 1


async def test_failure_reaches_every_waiter_and_is_not_cached(
    guard: Guard, users: Users, service: TokenService
) -> None:
    """While the service fails, every concurrent caller is refused; afterwards one exchange."""
    service.delay = 0.2
    service.fail(503)

    @guard.tool
    async def lookup(customer: str) -> str:
        return await adownstream_token(CRM, ["crm.read"])

    async with guard.acting_as(users.token("alice")):
        results = await asyncio.gather(
            *(lookup(f"c-{i}") for i in range(30)), return_exceptions=True
        )
        assert all(isinstance(r, DelegationRefused) for r in results)
        assert len({id(r) for r in results}) == 30  # each waiter raises its own copy
        assert len(service.requests) == 1
        service.fail(None)
        assert await lookup("again")
    assert service.exchanges == 1


async def test_cancelled_leader_still_serves_the_others(
    guard: Guard, users: Users, service: TokenService
) -> None:
    """The first caller is cancelled mid-exchange; the ones waiting still get the token."""
    service.delay = 0.3

    @guard.tool
    async def lookup(customer: str) -> str:
        return await adownstream_token(CRM, ["crm.read"])

    async with guard.acting_as(users.token("alice")):
        leader = asyncio.create_task(lookup("first"))
        await asyncio.sleep(0.05)
        followers = [asyncio.create_task(lookup(f"c-{i}")) for i in range(10)]
        await asyncio.sleep(0.05)
        leader.cancel()
        tokens = await asyncio.gather(*followers)
    assert len(set(tokens)) == 1 and service.exchanges == 1
