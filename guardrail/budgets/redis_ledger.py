"""``RedisLedger``: budgets shared by many processes or hosts through one Redis.

Every operation is ONE round trip running ``guardrail/resources/redis/ledger.lua``,
registered with redis-py's ``register_script`` (EVALSHA; on NOSCRIPT, e.g. after a
Redis restart, the script is loaded again and the call retried). Sync calls use a
redis-py client; coroutines (``areserve``, ``asettle``, ...) a redis.asyncio one
(hiredis parser), so no budget check blocks an event loop. Both run the same
file; on a standalone Redis it goes straight over the client's kind of connection
(:mod:`guardrail.budgets._redis_direct`: a third of redis-py's CPU per command).
A call whose charges stand as reserved is never settled, so it costs exactly one
round trip. The script reads the time from Redis ``TIME``, so the clocks
of the application hosts do not matter. Keys carry TTLs, so idle budgets vanish.

Failures of Redis (refused connection, timeout, ...) are raised as
:class:`~guardrail.errors.BackendError`; the client reconnects on the next call,
so limits work again as soon as Redis is back, without a new ``Guard``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from guardrail.budgets._redis_clients import (
    Connection,
    PerLoop,
    check_cluster_prefix,
    is_cluster,
    redis_module,
)
from guardrail.budgets._redis_direct import SyncScripts
from guardrail.budgets.ledger import (
    MICRO,
    Charge,
    Held,
    Ledger,
    Reading,
    Refusal,
    Reservation,
    from_micro,
    to_micro,
)
from guardrail.errors import BackendError

_KINDS = {"window": "w", "concurrent": "c", "day": "d", "month": "m", "total": "n"}
Request = tuple[list[str], list[str]]
"""KEYS and ARGV of one script call."""


@cache
def script_source() -> str:
    """The Lua ledger script, shared by every Redis client of guardrail."""
    return (files("guardrail") / "resources" / "redis" / "ledger.lua").read_text("utf-8")


def _seconds(ms: int) -> float | None:
    return None if ms < 0 else ms / 1000


class RedisLedger(Ledger):
    """Budgets in Redis or Redis Cluster. Pass a redis-py client, or use :meth:`from_url`.

    ``prefix`` namespaces the keys (several apps may share a Redis). In a cluster
    it must begin with a hash tag (``"{guardrail}:"``, the cluster default): a
    call's keys, and those the script derives from them, must share one slot.
    Every budget of one ledger therefore lives on one shard; give tenants their
    own prefixes (``"{acme}:"``) to spread them.

    ``async_client`` makes a redis.asyncio client (called once per event loop);
    :meth:`from_url` passes one. Without it, coroutines run the sync client in a
    worker thread, which still keeps the loop free.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str | None = None,
        async_client: Callable[[], Any] | None = None,
    ) -> None:
        redis = redis_module()
        cluster = is_cluster(client)
        self.prefix = prefix if prefix is not None else "{guardrail}:" if cluster else "guardrail:"
        if cluster:
            check_cluster_prefix(self.prefix)
        self.client = client
        self._script = client.register_script(script_source())
        self._direct = (
            None
            if cluster
            else SyncScripts(client.connection_pool, self._script.sha, script_source())
        )
        self._async = PerLoop(async_client, script_source()) if async_client else None
        self._redis_error: type[Exception] = redis.RedisError

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str | None = None,
        cluster: bool = False,
        socket_timeout: float = 1.0,
        connect_timeout: float = 0.5,
    ) -> RedisLedger:
        """A ledger on ``redis://host:port/db`` (``cluster=True``: any node of a
        cluster), with short timeouts: a budget check must fail fast."""
        where = Connection(url, cluster, socket_timeout, connect_timeout)
        return cls(where.sync_client(), prefix=prefix, async_client=where.async_client)

    # -- the Ledger contract: sync and async differ only in how the script runs -----

    def reserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        return _reserved(charges, rid, self.prefix, self._run(self._reserving(charges, rid)))

    async def areserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        reply = await self._arun(self._reserving(charges, rid))
        return _reserved(charges, rid, self.prefix, reply)

    def settle(self, reservation: Reservation, amounts: Sequence[float]) -> tuple[float, ...]:
        return _settled(self._run(_settling(reservation, amounts)))

    async def asettle(
        self, reservation: Reservation, amounts: Sequence[float]
    ) -> tuple[float, ...]:
        return _settled(await self._arun(_settling(reservation, amounts)))

    def usage(self, charges: Sequence[Charge]) -> list[Reading]:
        return _readings(self._run(self._reading(charges)))

    async def ausage(self, charges: Sequence[Charge]) -> list[Reading]:
        return _readings(await self._arun(self._reading(charges)))

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()
        self.client.close()

    async def aclose(self) -> None:
        """Close this event loop's asyncio client (it also closes with its loop)."""
        if self._async is not None:
            await self._async.aclose()

    # -- requests and replies --------------------------------------------------------

    def prepare(self, charges: Sequence[Charge]) -> Sequence[Charge]:
        """The charges with their keys and script arguments encoded once (a plan's)."""
        return self._encoded(charges)

    def _encoded(self, charges: Sequence[Charge]) -> _Encoded:
        if type(charges) is _Encoded and charges.prefix == self.prefix:
            return charges
        return _Encoded(charges, self.prefix)

    def _reserving(self, charges: Sequence[Charge], rid: str) -> Request:
        plan = self._encoded(charges)
        return plan.keys, ["reserve", rid, *plan.codes]

    def _reading(self, charges: Sequence[Charge]) -> Request:
        keys = [self.prefix + charge.key for charge in charges]
        args = ["usage", "-"]
        args += [f"{_KINDS[c.kind]}:0:0:{round(c.span * 1000)}" for c in charges]
        return keys, args

    def _run(self, request: Request) -> Any:
        try:
            if self._direct is not None:
                return self._direct.run(*request)
            return self._script(*request)
        except self._redis_error as exc:
            raise self._unavailable(exc) from exc

    async def _arun(self, request: Request) -> Any:
        try:
            if self._async is None:
                return await asyncio.to_thread(self._script, *request)
            return await self._async.run(*request)
        except self._redis_error as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> BackendError:
        return BackendError(f"redis ledger at {_address(self.client)}: {exc}")


def _reserved(
    charges: Sequence[Charge], rid: str, prefix: str, reply: bytes
) -> Reservation | Refusal:
    fields = reply.split()
    if fields[0] == b"0":
        _, index, used, retry, reset = fields
        return Refusal(
            int(index) - 1, int(used) / MICRO, _seconds(int(retry)), _seconds(int(reset))
        )
    return _Reply(rid, charges, prefix, fields)


class _Encoded(tuple[Charge, ...]):
    """A plan's charges with their keys (under ``prefix``) and their script arguments
    encoded once (:meth:`RedisLedger.prepare`)."""

    prefix: str
    keys: list[str]
    codes: list[str]

    def __new__(cls, charges: Sequence[Charge], prefix: str) -> _Encoded:
        encoded = super().__new__(cls, charges)
        encoded.prefix = prefix
        encoded.keys = [prefix + charge.key for charge in encoded]
        encoded.codes = [
            f"{_KINDS[c.kind]}:{c.units}:{c.max_units}:{round(c.span * 1000)}" for c in encoded
        ]
        return encoded


class _Reply(Reservation):
    """A reservation as the script answered it; ``held`` is read from the reply only
    when something asks (a settlement, a record of the remaining budget)."""

    __slots__ = ("_charges", "_fields", "_prefix")

    def __init__(
        self, rid: str, charges: Sequence[Charge], prefix: str, fields: list[bytes]
    ) -> None:
        super().__init__(rid, ())
        self._charges, self._prefix, self._fields = charges, prefix, fields

    @property
    def held(self) -> tuple[Held, ...]:
        if not self._held:
            held = []
            fields, prefix = self._fields, self._prefix
            for at, charge in enumerate(self._charges):
                used, reset, bucket = fields[1 + 3 * at : 4 + 3 * at]
                slot = prefix + charge.key
                if bucket != b"-":
                    slot = f"{slot}:{bucket.decode()}"
                held.append(Held(charge, slot, int(used) / MICRO, _seconds(int(reset))))
            self._held = tuple(held)
        return self._held


def _settling(reservation: Reservation, amounts: Sequence[float]) -> Request:
    args = ["settle", reservation.id]
    for held, amount in zip(reservation.held, amounts, strict=True):
        args.append(f"{_KINDS[held.charge.kind]}:{held.charge.units}:{to_micro(amount)}:0")
    return [held.slot for held in reservation.held], args


def _settled(reply: list[Any]) -> tuple[float, ...]:
    return tuple(from_micro(int(used)) for used in reply)


def _readings(reply: list[Any]) -> list[Reading]:
    return [
        Reading(from_micro(int(reply[i])), _seconds(int(reply[i + 1])))
        for i in range(0, len(reply), 2)
    ]


def _address(client: Any) -> str:
    pool = getattr(client, "connection_pool", None)
    if pool is None:  # a cluster: name the node it knows first
        nodes = client.get_nodes()
        return f"{nodes[0].host}:{nodes[0].port}" if nodes else "cluster"
    where = pool.connection_kwargs
    return f"{where.get('host', where.get('path', '?'))}:{where.get('port', '')}"
