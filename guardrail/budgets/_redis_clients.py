"""redis-py clients for :class:`~guardrail.budgets.redis_ledger.RedisLedger`, made
on first use (the core runs without redis-py), with one asyncio client per event
loop (a redis.asyncio connection belongs to the loop that opened it).
"""

from __future__ import annotations

import asyncio
import importlib
import re
import weakref
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

from guardrail.budgets._redis_direct import AsyncScripts, driver_info
from guardrail.errors import ConfigurationError

CONNECTIONS = 64
"""asyncio connections per event loop (per node in a cluster); more calls queue."""
POOL_WAIT = 10.0
HASH_TAG = re.compile(r"\{[^{}]+\}")


def redis_module(name: str = "redis") -> Any:
    # Imported on first use, never with guardrail.
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        raise ConfigurationError(
            "the Redis ledger needs redis-py: pip install 'guardrail-sdk[redis]'"
        ) from None


def is_cluster(client: Any) -> bool:
    cluster = redis_module("redis.cluster").RedisCluster
    async_cluster = redis_module("redis.asyncio.cluster").RedisCluster
    return isinstance(client, cluster | async_cluster)


def check_cluster_prefix(prefix: str) -> None:
    """In Redis Cluster a script's keys must share one slot: the prefix must begin
    with a hash tag, so that every key of the ledger (and the ``:sum`` and calendar
    keys the script derives from them) hashes on the tag alone."""
    tag = HASH_TAG.search(prefix)
    if tag is None or "{" in prefix[: tag.start()]:
        raise ConfigurationError(
            f"a Redis Cluster ledger needs a hash tag in its prefix, e.g. "
            f"prefix='{{guardrail}}:' (got {prefix!r})"
        )


@dataclass(frozen=True, slots=True)
class Connection:
    """How to reach Redis: the URL, cluster or not, and the timeouts."""

    url: str
    cluster: bool
    socket_timeout: float
    connect_timeout: float

    def sync_client(self) -> Any:
        """A redis-py client with short timeouts (a budget check must fail fast) and
        one retry, so a connection dropped by a Redis restart is replaced."""
        if self.cluster:
            return redis_module("redis.cluster").RedisCluster.from_url(self.url, **self._options())
        retry = redis_module("redis.retry").Retry(_backoff("redis.backoff"), 1)
        return redis_module("redis").Redis.from_url(self.url, retry=retry, **self._options())

    def async_client(self) -> Any:
        """The same, from redis.asyncio (hiredis parses replies when installed)."""
        if self.cluster:
            cluster = redis_module("redis.asyncio.cluster").RedisCluster
            return cluster.from_url(self.url, max_connections=CONNECTIONS, **self._options())
        # A blocking pool: a burst of concurrent calls queues for a connection
        # (up to POOL_WAIT seconds) instead of failing with "Too many connections".
        aio = redis_module("redis.asyncio")
        retry = redis_module("redis.asyncio.retry").Retry(_backoff("redis.backoff"), 1)
        pool = aio.BlockingConnectionPool.from_url(
            self.url,
            max_connections=CONNECTIONS,
            timeout=POOL_WAIT,
            retry=retry,
            **self._options(),
        )
        return aio.Redis.from_pool(pool)  # owns the pool: closing the client closes it

    def _options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.connect_timeout,
        }
        driver = driver_info()
        if driver is not None:
            options["driver_info"] = driver
        return options


def _backoff(module: str) -> Any:
    return redis_module(module).ExponentialBackoff(cap=0.05, base=0.01)


class PerLoop:
    """One registered script, on its own asyncio client, per running event loop.

    At most :data:`CONNECTIONS` calls of a loop are in flight; the others queue
    (the async cluster client would fail them rather than wait). A client is
    closed when its loop shuts down: it is held by an async generator the loop
    tracks, and ``asyncio.run`` (any ``asyncio.Runner``) finalizes those before
    closing the loop. :meth:`aclose` closes the current loop's at once.
    """

    def __init__(self, make_client: Callable[[], Any], source: str) -> None:
        self._make_client = make_client
        self._source = source
        self._open: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )

    async def run(self, keys: list[str], args: list[str]) -> Any:
        """The script's reply for ``keys`` and ``args``."""
        loop = asyncio.get_running_loop()
        client = self._open.get(loop)
        if client is None:
            client = self._open[loop] = _LoopClient(self._make_client(), self._source)
        try:
            await client.ready
        except Exception:
            # Unreachable at start: the next call starts over with a new client.
            if self._open.get(loop) is client:
                del self._open[loop]
                await client.closer.aclose()
            raise
        async with client.gate:
            if client.direct is not None:
                return await client.direct.run(keys, args)
            return await client.script(keys, args)

    async def aclose(self) -> None:
        client = self._open.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.closer.aclose()


class _LoopClient:
    """What one event loop uses: the client, its script, the in-flight gate (which
    also bounds the direct connections of a standalone Redis)."""

    def __init__(self, client: Any, source: str) -> None:
        self.script = client.register_script(source)
        self.direct = (
            None
            if is_cluster(client)
            else AsyncScripts(client.connection_pool, self.script.sha, source)
        )
        self.gate = asyncio.Semaphore(CONNECTIONS)
        self.closer = _closed_with_loop(client, self.direct)
        self.ready = asyncio.ensure_future(self._start(client))

    async def _start(self, client: Any) -> None:
        await anext(self.closer)
        # The cluster client learns the slot map on first use; many first calls at
        # once race in redis-py (8.1), so it is learned once, before any call.
        initialize = getattr(client, "initialize", None)
        if initialize is not None:
            await initialize()


async def _closed_with_loop(client: Any, direct: AsyncScripts | None) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        try:
            if direct is not None:
                await direct.aclose()
        finally:
            await client.aclose()
