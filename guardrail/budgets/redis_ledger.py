"""``RedisLedger``: budgets shared by many processes or hosts through one Redis.

Every operation is ONE round trip running ``guardrail/resources/redis/ledger.lua``
(EVALSHA; on NOSCRIPT, e.g. after a Redis restart, the script is loaded again and
the call retried). The script reads the time from Redis ``TIME``, so the clocks
of the application hosts do not matter. Keys carry TTLs, so idle budgets vanish.

Failures of Redis (refused connection, timeout, ...) are raised as
:class:`~guardrail.errors.BackendError`; the client reconnects on the next call,
so limits work again as soon as Redis is back, without a new ``Guard``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from typing import Any

from guardrail.budgets.ledger import (
    Charge,
    Held,
    Ledger,
    Reading,
    Refusal,
    Reservation,
    from_micro,
    to_micro,
)
from guardrail.errors import BackendError, ConfigurationError

_KINDS = {"window": "w", "concurrent": "c", "day": "d", "month": "m", "total": "n"}


@cache
def script_source() -> str:
    """The Lua ledger script, shared by every Redis client of guardrail."""
    return (files("guardrail") / "resources" / "redis" / "ledger.lua").read_text("utf-8")


def _redis_module() -> Any:
    try:
        import redis
    except ModuleNotFoundError:
        raise ConfigurationError(
            "the Redis ledger needs redis-py: pip install 'guardrail[redis]'"
        ) from None
    return redis


def _seconds(ms: int) -> float | None:
    return None if ms < 0 else ms / 1000


class RedisLedger(Ledger):
    """Budgets in Redis. Pass a ``redis.Redis`` client, or use :meth:`from_url`.

    ``prefix`` namespaces the keys (several apps may share a Redis).
    """

    def __init__(self, client: Any, *, prefix: str = "guardrail:") -> None:
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(script_source())

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
        from redis.backoff import ExponentialBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
        )
        return cls(client, prefix=prefix)

    def reserve(self, charges: Sequence[Charge], *, rid: str) -> Reservation | Refusal:
        args: list[Any] = ["reserve", rid]
        for charge in charges:
            args += [
                _KINDS[charge.kind],
                to_micro(charge.amount),
                to_micro(charge.maximum),
                round(charge.span * 1000),
            ]
        with self._errors():
            reply = self._script(keys=[self.prefix + c.key for c in charges], args=args)
        if reply[0] == 0:
            _, index, used, retry, reset = reply
            return Refusal(int(index) - 1, from_micro(int(used)), _seconds(retry), _seconds(reset))
        held = []
        for i, charge in enumerate(charges):
            slot, used, reset = reply[1 + 3 * i : 4 + 3 * i]
            slot = slot.decode() if isinstance(slot, bytes) else slot
            held.append(Held(charge, slot, from_micro(int(used)), _seconds(int(reset))))
        return Reservation(rid, tuple(held))

    def settle(self, reservation: Reservation, amounts: Sequence[float]) -> tuple[float, ...]:
        args: list[Any] = ["settle", reservation.id]
        for held, amount in zip(reservation.held, amounts, strict=True):
            args += [_KINDS[held.charge.kind], to_micro(held.charge.amount), to_micro(amount), 0]
        with self._errors():
            reply = self._script(keys=[h.slot for h in reservation.held], args=args)
        return tuple(from_micro(int(used)) for used in reply)

    def usage(self, charges: Sequence[Charge]) -> list[Reading]:
        args: list[Any] = ["usage", "-"]
        for charge in charges:
            args += [_KINDS[charge.kind], 0, 0, round(charge.span * 1000)]
        with self._errors():
            reply = self._script(keys=[self.prefix + c.key for c in charges], args=args)
        return [
            Reading(from_micro(int(reply[2 * i])), _seconds(int(reply[2 * i + 1])))
            for i in range(len(charges))
        ]

    def close(self) -> None:
        self.client.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        redis = _redis_module()
        try:
            yield
        except redis.RedisError as exc:
            where = self.client.connection_pool.connection_kwargs
            address = f"{where.get('host', where.get('path', '?'))}:{where.get('port', '')}"
            raise BackendError(f"redis ledger at {address}: {exc}") from exc
