"""``RedisLedger``: budgets shared by many processes or hosts through one Redis.

Every operation is ONE round trip running ``guardrail/resources/redis/ledger.lua``
(EVALSHA; on NOSCRIPT, e.g. after a Redis restart, the script is loaded again and
the call retried). A call whose charges stand as reserved is never settled, so it
costs exactly one round trip. The script reads the time from Redis ``TIME``, so the clocks
of the application hosts do not matter. Keys carry TTLs, so idle budgets vanish.

Failures of Redis (refused connection, timeout, ...) are raised as
:class:`~guardrail.errors.BackendError`; the client reconnects on the next call,
so limits work again as soon as Redis is back, without a new ``Guard``.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

from guardrail.budgets.ledger import (
    MICRO,
    Charge,
    Ledger,
    Reading,
    Refusal,
    Reservation,
    from_micro,
    make_held,
    make_reservation,
    to_micro,
)
from guardrail.errors import BackendError, ConfigurationError

_WIRE_CACHE = 65_536
_KINDS = {"window": "w", "concurrent": "c", "day": "d", "month": "m", "total": "n"}


@cache
def script_source() -> str:
    """The Lua ledger script, shared by every Redis client of guardrail."""
    return (files("guardrail") / "resources" / "redis" / "ledger.lua").read_text("utf-8")


def _redis_module(name: str = "redis") -> Any:
    # Imported on first use, never with guardrail: the core runs without redis-py.
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        raise ConfigurationError(
            "the Redis ledger needs redis-py: pip install 'guardrail[redis]'"
        ) from None


def _seconds(ms: int) -> float | None:
    return None if ms < 0 else ms / 1000


class RedisLedger(Ledger):
    """Budgets in Redis. Pass a ``redis.Redis`` client, or use :meth:`from_url`.

    ``prefix`` namespaces the keys (several apps may share a Redis).

    Per call the client sends ONE ``EVALSHA``: the keys, the reservation id and one
    argument per charge. A charge's key and argument are encoded once and reused
    (charges are planned once per call shape), and the reply is one string of
    numbers, so little is encoded or parsed per call. The script is loaded once,
    and again only when Redis answers ``NOSCRIPT`` (e.g. after a restart).
    """

    def __init__(self, client: Any, *, prefix: str = "guardrail:") -> None:
        self.client = client
        self.prefix = prefix
        self._source = script_source()
        self._sha = hashlib.sha1(self._source.encode(), usedforsecurity=False).hexdigest()
        redis = _redis_module()
        self._redis_error: type[Exception] = redis.RedisError
        self._no_script: type[Exception] = redis.exceptions.NoScriptError
        self._wire: dict[int, tuple[Charge, bytes, bytes, str]] = {}
        """Encoded charges by ``id``: (the charge itself, so the id cannot be reused while
        cached, the prefixed key as bytes, the charge argument, the prefixed key)."""

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "guardrail:",
        socket_timeout: float = 1.0,
        connect_timeout: float = 0.5,
    ) -> RedisLedger:
        """A client for ``redis://host:port/db`` with short timeouts (a budget check
        must fail fast) and one retry, so a connection dropped by a Redis restart
        is replaced transparently."""
        redis = _redis_module()
        backoff = _redis_module("redis.backoff").ExponentialBackoff(cap=0.05, base=0.01)
        retry = _redis_module("redis.retry").Retry(backoff, 1)

        client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            retry=retry,
        )
        return cls(client, prefix=prefix)

    def _encode(self, charge: Charge) -> tuple[Charge, bytes, bytes, str]:
        key = self.prefix + charge.key
        arg = f"{_KINDS[charge.kind]}:{charge.units}:{charge.max_units}:{round(charge.span * 1000)}"
        wire = (charge, key.encode(), arg.encode(), key)
        if len(self._wire) >= _WIRE_CACHE:
            self._wire.clear()
        self._wire[id(charge)] = wire
        return wire

    def reserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        cache = self._wire
        wires = []
        for charge in charges:
            wire = cache.get(id(charge))
            if wire is None or wire[0] is not charge:
                wire = self._encode(charge)
            wires.append(wire)
        reply = self._eval([w[1] for w in wires], [b"reserve", rid, *[w[2] for w in wires]])
        fields = reply.split()
        if fields[0] == b"0":
            _, index, used, retry, reset = fields
            return Refusal(
                int(index) - 1, int(used) / MICRO, _seconds(int(retry)), _seconds(int(reset))
            )
        held = []
        at = 1
        for charge, wire in zip(charges, wires, strict=True):
            used, reset, bucket = fields[at], fields[at + 1], fields[at + 2]
            at += 3
            slot = wire[3] if bucket == b"-" else f"{wire[3]}:{bucket.decode()}"
            held.append(make_held(charge, slot, int(used) / MICRO, _seconds(int(reset))))
        return make_reservation(rid, tuple(held))

    def settle(self, reservation: Reservation, amounts: Sequence[float]) -> tuple[float, ...]:
        args: list[Any] = [b"settle", reservation.id]
        for held, amount in zip(reservation.held, amounts, strict=True):
            args.append(f"{_KINDS[held.charge.kind]}:{held.charge.units}:{to_micro(amount)}:0")
        reply = self._eval([h.slot for h in reservation.held], args)
        return tuple(from_micro(int(used)) for used in reply)

    def usage(self, charges: Sequence[Charge]) -> list[Reading]:
        args: list[Any] = [b"usage", "-"]
        for charge in charges:
            args.append(f"{_KINDS[charge.kind]}:0:0:{round(charge.span * 1000)}")
        reply = self._eval([self.prefix + c.key for c in charges], args)
        return [
            Reading(from_micro(int(reply[2 * i])), _seconds(int(reply[2 * i + 1])))
            for i in range(len(charges))
        ]

    def close(self) -> None:
        self.client.close()

    def _eval(self, keys: list[Any], args: list[Any]) -> Any:
        """One EVALSHA; on NOSCRIPT load the script and run it again."""
        try:
            try:
                return self.client.evalsha(self._sha, len(keys), *keys, *args)
            except self._no_script:
                self._sha = self.client.script_load(self._source)
                return self.client.evalsha(self._sha, len(keys), *keys, *args)
        except self._redis_error as exc:
            where = self.client.connection_pool.connection_kwargs
            address = f"{where.get('host', where.get('path', '?'))}:{where.get('port', '')}"
            raise BackendError(f"redis ledger at {address}: {exc}") from exc
