"""Fixtures: a real redis-server for the session, and ``ledger`` over both backends."""

from __future__ import annotations

import gc
import uuid
import warnings
from collections.abc import Iterator

import pytest
from support.redis_cluster import RedisCluster
from support.redis_server import INSTALL_HINT, RedisServer, RedisServerMissing

from guardrail.budgets import Ledger, MemoryLedger
from guardrail.budgets.redis_ledger import RedisLedger

ALL_LEDGERS = ["memory", "redis", "cluster"]


def start_redis() -> RedisServer:
    """A started server, or a test FAILURE (never a skip) when redis-server is missing."""
    try:
        return RedisServer().start()
    except RedisServerMissing:
        pytest.fail(INSTALL_HINT)


@pytest.fixture(autouse=True)
def _collect_redis_garbage() -> Iterator[None]:
    """Collect what a budgets test left in reference cycles at its own teardown.

    A refused call keeps its guard (and ledger) in a traceback cycle, and a cluster client
    drops the nodes of a killed master unclosed: their sockets are collected whenever the
    garbage collector next runs, i.e. inside some unrelated later test, where the
    ResourceWarning of an unclosed socket fails it. Collected here, they stay here.
    """
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisCluster]:
    """A real three-node Redis Cluster for the session (a FAILURE when redis is missing)."""
    try:
        cluster = RedisCluster().start()
    except RedisServerMissing:
        pytest.fail(INSTALL_HINT)
    yield cluster
    cluster.close()


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A server for this test alone (it may be killed and restarted)."""
    server = start_redis()
    yield server
    server.close()


def make_ledger(kind: str, request: pytest.FixtureRequest) -> Ledger:
    if kind == "memory":
        return MemoryLedger()
    if kind == "cluster":
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        # A fresh hash tag per test: one slot per test, no cross-test leaks.
        # A roomy timeout: a loaded test machine, not the ledger, decides how long a
        # first cluster connection (slot map and all) takes.
        return RedisLedger.from_url(
            cluster.node_url,
            cluster=True,
            prefix=f"{{t-{uuid.uuid4().hex[:8]}}}:",
            socket_timeout=5.0,
            connect_timeout=2.0,
        )
    server: RedisServer = request.getfixturevalue("redis_server")
    # A fresh key prefix per test: no flushing, no cross-test leaks.
    return RedisLedger.from_url(server.url, prefix=f"t-{uuid.uuid4().hex[:8]}:")


@pytest.fixture(params=ALL_LEDGERS)
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    made = make_ledger(request.param, request)
    yield made
    made.close()
