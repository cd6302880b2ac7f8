"""The ledger script straight over redis-py connections (guardrail.budgets._redis_direct):
bounded connections, a killed connection replaced, NOSCRIPT recovered, forks kept apart."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
import redis
from support.redis_server import RedisServer

from guardrail.budgets._redis_clients import CONNECTIONS
from guardrail.budgets._redis_direct import with_driver_info
from guardrail.budgets.ledger import Charge, Reservation
from guardrail.budgets.redis_ledger import RedisLedger


def _ledger(server: RedisServer) -> RedisLedger:
    return RedisLedger.from_url(server.url, prefix=f"direct-{uuid.uuid4().hex[:8]}:")


def _clients(server: RedisServer) -> int:
    """Connections open on ``server`` (this admin one excluded)."""
    admin = redis.Redis.from_url(server.url)
    try:
        listed = admin.client_list()
        me = admin.client_id()
    finally:
        admin.close()
    return sum(1 for c in listed if c["id"] != str(me))


async def test_a_burst_of_async_calls_uses_at_most_the_bounded_connections(
    own_redis: RedisServer,
) -> None:
    """1,000 concurrent areserves: all counted, over at most CONNECTIONS sockets, all
    closed by aclose() and close()."""
    ledger = _ledger(own_redis)
    charge = Charge("burst", "day", 1, 10_000)
    got = await asyncio.gather(*(ledger.areserve([charge], rid=f"r{i}") for i in range(1000)))
    assert all(isinstance(g, Reservation) for g in got)
    assert (await ledger.ausage([charge]))[0].used == 1000
    assert CONNECTIONS // 2 <= _clients(own_redis) <= CONNECTIONS
    await ledger.aclose()
    ledger.close()
    assert _clients(own_redis) == 0


def test_a_connection_killed_by_redis_is_replaced(redis_server: RedisServer) -> None:
    """CLIENT KILL of the ledger's connection between calls: the next call still answers
    (one retry on a new connection), sync and async alike."""
    ledger = _ledger(redis_server)
    charge = Charge("killed", "day", 1, 100)
    assert isinstance(ledger.reserve([charge], rid="a"), Reservation)
    admin = redis.Redis.from_url(redis_server.url)
    try:
        admin.client_kill_filter(_type="normal", skipme=True)
        assert isinstance(ledger.reserve([charge], rid="b"), Reservation)

        async def twice() -> None:
            assert isinstance(await ledger.areserve([charge], rid="c"), Reservation)
            admin.client_kill_filter(_type="normal", skipme=True)
            assert isinstance(await ledger.areserve([charge], rid="d"), Reservation)
            await ledger.aclose()

        asyncio.run(twice())
    finally:
        admin.close()
    assert ledger.usage([charge])[0].used == 4
    ledger.close()


def test_a_flushed_script_is_sent_again_by_async_calls(redis_server: RedisServer) -> None:
    """SCRIPT FLUSH (as after a restart): the next areserve answers, and the script is
    cached again, so the one after is an EVALSHA."""
    ledger = _ledger(redis_server)
    charge = Charge("flushed", "day", 1, 100)
    admin = redis.Redis.from_url(redis_server.url)

    async def calls() -> None:
        assert isinstance(await ledger.areserve([charge], rid="a"), Reservation)
        admin.script_flush()
        assert isinstance(await ledger.areserve([charge], rid="b"), Reservation)
        assert admin.script_exists(ledger._script.sha) == [True]
        await ledger.aclose()

    try:
        asyncio.run(calls())
    finally:
        admin.close()
    assert ledger.usage([charge])[0].used == 2
    ledger.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_opens_its_own_connection(redis_server: RedisServer) -> None:
    """A child forked after the parent's first call never talks over the parent's
    socket (the replies would cross): both go on counting correctly."""
    ledger = _ledger(redis_server)
    charge = Charge("forked", "day", 1, 10_000)
    assert isinstance(ledger.reserve([charge], rid="parent-0"), Reservation)
    pid = os.fork()
    if pid == 0:  # the child: exit status says whether every reply was its own
        ok = all(
            isinstance(ledger.reserve([charge], rid=f"child-{i}"), Reservation) for i in range(200)
        )
        os._exit(0 if ok else 1)
    for i in range(200):
        assert isinstance(ledger.reserve([charge], rid=f"parent-{i + 1}"), Reservation)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert ledger.usage([charge])[0].used == 401
    ledger.close()


def test_connections_of_a_client_passed_in_say_what_they_are_without_a_lookup() -> None:
    """A client made without driver_info gets it once for the ledger's connections (else
    redis-py reads package metadata per new connection, ~0.5 ms on the loop); a
    client that names itself keeps its own name."""
    bare = with_driver_info({"host": "127.0.0.1"})
    assert bare["driver_info"].lib_version == redis.__version__
    named = with_driver_info({"host": "127.0.0.1", "lib_name": "mine"})
    assert named == {"host": "127.0.0.1", "lib_name": "mine"}
