"""The ledger script sent straight over redis-py connections (standalone Redis).

redis-py's command path (pool locks, a retry wrapper, observability hooks, event
dispatch, response callbacks) costs about as much CPU per command as the round
trip itself: measured 63-74 us per EVALSHA on a sync client, ~120 us on an
asyncio one, against 23-29 and ~62 us for the same command on one of the
client's own connections. A ledger sends one script per call, so it keeps its
own stack of connections, made with the client's pool settings
(``connection_class(**connection_kwargs)``: same address, AUTH, SELECT,
CLIENT SETINFO, timeouts, hiredis parser), and talks to each through the
connection's public ``send_command`` / ``read_response``.

A connection serves one caller at a time. redis-py disconnects one whose send or
read failed (also when the caller is cancelled mid-read), and it reconnects on
its next send. Like the clients' ``Retry(ExponentialBackoff(...), 1)``, a call that
failed on the connection is tried once more after :data:`RETRY_AFTER`; on
NOSCRIPT (a restarted or flushed Redis) the script is sent whole with EVAL, which
also caches it again. Redis Cluster keeps redis-py's cluster client (slots, moves).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import time
from collections import deque
from typing import Any

RETRY_AFTER = 0.02
"""Seconds before the one retry (redis-py's ExponentialBackoff(cap=0.05, base=0.01))."""


def driver_info() -> Any:
    """What the clients tell Redis they are (CLIENT SETINFO), worked out once.

    Left to itself, redis-py >= 7 looks its own version up in the installed packages'
    metadata for every new connection: about 0.5 ms of CPU, on the event loop for an
    asyncio client, each time a burst of calls opens more connections. Older redis-py
    has no ``driver_info`` and reads its version once, at import."""
    try:
        info = importlib.import_module("redis.driver_info")
    except ModuleNotFoundError:
        return None
    return info.DriverInfo(lib_version=importlib.import_module("redis").__version__)


def with_driver_info(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A pool's connection settings, with :func:`driver_info` unless the client
    already says what it is (a client passed in, made without it)."""
    kwargs = dict(kwargs)
    if not {"driver_info", "lib_name", "lib_version"} & kwargs.keys():
        info = driver_info()
        if info is not None:
            kwargs["driver_info"] = info
    return kwargs


class _Scripts:
    """What the sync and asyncio runners share: the script, its connections, errors."""

    def __init__(self, pool: Any, sha: str, source: str) -> None:
        self._make = pool.connection_class
        self._kwargs = with_driver_info(pool.connection_kwargs)
        self.sha, self.source = sha, source
        self._free: deque[Any] = deque()
        self._made: list[Any] = []
        exceptions = importlib.import_module("redis.exceptions")  # redis-py is in use here
        self._retried: tuple[type[Exception], ...] = (
            exceptions.ConnectionError,
            exceptions.TimeoutError,
        )
        self._noscript: type[Exception] = exceptions.NoScriptError

    def _take(self) -> Any:
        # deque.pop/append are atomic: threads share the stack without a lock.
        try:
            return self._free.pop()
        except IndexError:
            conn = self._make(**self._kwargs)
            self._made.append(conn)
            return conn

    def _evalsha(self, keys: list[str], args: list[str]) -> tuple[Any, ...]:
        return ("EVALSHA", self.sha, len(keys), *keys, *args)

    def _eval(self, keys: list[str], args: list[str]) -> tuple[Any, ...]:
        return ("EVAL", self.source, len(keys), *keys, *args)


class SyncScripts(_Scripts):
    """The script on a sync client's settings; safe to share between threads."""

    def __init__(self, pool: Any, sha: str, source: str) -> None:
        super().__init__(pool, sha, source)
        self._pid = os.getpid()

    def run(self, keys: list[str], args: list[str]) -> Any:
        """The script's reply for ``keys`` and ``args`` (redis-py's errors raised)."""
        if self._pid != os.getpid():  # forked: the parent's sockets are not ours
            self._free, self._made, self._pid = deque(), [], os.getpid()
        conn = self._take()
        try:
            try:
                return self._once(conn, keys, args)
            except self._retried:
                time.sleep(RETRY_AFTER)
                return self._once(conn, keys, args)
        finally:
            self._free.append(conn)

    def _once(self, conn: Any, keys: list[str], args: list[str]) -> Any:
        conn.send_command(*self._evalsha(keys, args))
        try:
            return conn.read_response()
        except self._noscript:
            conn.send_command(*self._eval(keys, args))
            return conn.read_response()

    def close(self) -> None:
        for conn in self._made:
            conn.disconnect()
        self._free.clear()


class AsyncScripts(_Scripts):
    """The script on a redis.asyncio client's settings, for the loop that made it.
    The caller bounds how many calls run at once (its connections)."""

    async def run(self, keys: list[str], args: list[str]) -> Any:
        conn = self._take()
        try:
            try:
                return await self._once(conn, keys, args)
            except self._retried:
                await asyncio.sleep(RETRY_AFTER)
                return await self._once(conn, keys, args)
        finally:
            self._free.append(conn)

    async def _once(self, conn: Any, keys: list[str], args: list[str]) -> Any:
        await conn.send_command(*self._evalsha(keys, args))
        try:
            return await conn.read_response()
        except self._noscript:
            await conn.send_command(*self._eval(keys, args))
            return await conn.read_response()

    async def aclose(self) -> None:
        for conn in self._made:
            await conn.disconnect()
        self._free.clear()
