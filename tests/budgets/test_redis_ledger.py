"""RedisLedger specifics: keys expire, and time comes from Redis, not the app."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from support.redis_server import RedisServer

from guardrail.budgets import Charge, RedisLedger, Reservation


def test_every_key_carries_a_ttl(redis_server: RedisServer) -> None:
    """Window, concurrent and calendar keys expire by themselves; idle budgets vanish."""
    prefix = f"ttl-{uuid.uuid4().hex[:8]}:"
    ledger = RedisLedger.from_url(redis_server.url, prefix=prefix)
    charges = [
        Charge("w", "window", 1, 5, 60),
        Charge("c", "concurrent", 1, 5, 120),
        Charge("d", "day", 1, 5),
        Charge("m", "month", 1, 5),
    ]
    held = ledger.reserve(charges, rid="a")
    assert isinstance(held, Reservation)
    client = redis.Redis.from_url(redis_server.url)
    keys = sorted(k.decode() for k in client.keys(prefix + "*"))
    assert len(keys) == 6  # w, w:sum, c, c:sum, d:<day>, m:<yyyymm>
    ttl = {key.removeprefix(prefix): client.pttl(key) for key in keys}
    assert 0 < ttl["w"] <= 61_000 and 0 < ttl["w:sum"] <= 61_000
    assert 0 < ttl["c"] <= 121_000
    day_key = next(k for k in ttl if k.startswith("d:"))
    assert 86_400_000 < ttl[day_key] <= 2 * 86_400_000  # the rest of today, plus a day
    client.close()
    ledger.close()


def test_the_app_clock_is_ignored(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the app clock a year ahead, buckets and resets still follow Redis TIME."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 365 * 86400)
    ledger = RedisLedger.from_url(redis_server.url, prefix=f"clk-{uuid.uuid4().hex[:8]}:")
    held = ledger.reserve([Charge("d", "day", 1, 5)], rid="a")
    assert isinstance(held, Reservation)
    today = int(real() // 86400)
    assert held.held[0].slot.endswith(f":d:{today}")
    assert held.held[0].reset == (today + 1) * 86400
    ledger.close()
