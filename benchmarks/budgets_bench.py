"""Per-call cost of budget checks: memory vs Redis ledger, beside a raw Redis INCR.

Run from the repository root::

    python -m benchmarks.budgets_bench [--calls 5000] [--runs 7]

Starts its own ``redis-server`` (tests/support/redis_server.py). Each figure is
the median over ``--runs`` runs of the mean per-call time in a run, with the
fastest and slowest run beside it. Three limits are checked per call (user calls
per minute, team cost per day, user concurrency), as ONE script round trip to
Redis for the reservation and one for the settlement.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from guardrail import Guard, Policy
from guardrail.budgets import Charge, Ledger, MemoryLedger, Reservation
from guardrail.budgets.redis_ledger import RedisLedger
from guardrail.testing import make_principal
from tests.support.redis_server import RedisServer

RATE_LIMITS: list[dict[str, object]] = [
    {"id": "user-rate", "per": "user", "calls": "1000000000/minute"},
    {"id": "team-spend", "per": "team", "cost": 1e9, "period": "day"},
    {"id": "org-calls", "per": "org", "calls": 1e9, "period": "month"},
]
# With a concurrent limit the slot must be given back after the call: a 2nd trip.
SLOT_LIMITS: list[dict[str, object]] = [
    *RATE_LIMITS[:2],
    {"id": "in-flight", "per": "user", "concurrent": 1000},
]


def charges(*, slot: bool = True) -> list[Charge]:
    """User calls per minute, team cost per day, and a concurrency slot (or org per month)."""
    tag = uuid.uuid4().hex[:6]  # fresh keys for each scenario
    third = (
        Charge(f"{tag}:in-flight:alice", "concurrent", 1, 1e9, 3600)
        if slot
        else Charge(f"{tag}:org-calls:acme", "month", 1, 1e12)
    )
    return [
        Charge(f"{tag}:user-rate:alice", "window", 1, 1e9, 60),
        Charge(f"{tag}:team-spend:payments", "day", 2, 1e12),
        third,
    ]


def reserve_settle(ledger: Ledger) -> Callable[[], None]:
    batch = charges()

    def one() -> None:
        held = ledger.reserve(batch, rid=uuid.uuid4().hex)
        assert isinstance(held, Reservation)
        ledger.settle(held, [1, 1.5, 0])  # reported cost differs; slot released

    return one


def reserve_only(ledger: Ledger) -> Callable[[], None]:
    batch = charges(slot=False)

    def reserve() -> None:
        ledger.reserve(batch, rid=uuid.uuid4().hex)

    return reserve


def guarded_call(ledger: Ledger, limits: list[dict[str, object]]) -> Callable[[], None]:
    policy = Policy.model_validate({"rules": [{"id": "all", "allow": ["*"]}], "limits": limits})
    guard = Guard(policy, ledger=ledger)

    @guard.tool(cost=2)
    def tool() -> None:
        return None

    alice = make_principal("alice", teams=["payments"], org="acme")

    def one() -> None:
        with guard.acting_as(alice):
            tool()

    return one


def measure(
    scenarios: list[tuple[str, Callable[[], None]]], calls: int, runs: int
) -> list[tuple[str, tuple[float, float, float]]]:
    """(median, min, max) over ``runs`` of the mean microseconds per call, per scenario.

    Runs are interleaved (scenario A, B, C, A, B, C, ...) so that load from other
    processes on the machine spreads over every scenario alike.
    """
    for _, fn in scenarios:
        for _ in range(min(calls, 200)):
            fn()  # warm up: connections, script cache, caches
    per_call: dict[str, list[float]] = {name: [] for name, _ in scenarios}
    for _ in range(runs):
        for name, fn in scenarios:
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            per_call[name].append((time.perf_counter() - start) / calls * 1e6)
    return [
        (name, (statistics.median(times), min(times), max(times)))
        for name, times in per_call.items()
    ]


def script_calls(ledger: RedisLedger) -> int:
    stats = ledger.client.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("evalsha", "eval"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000, help="calls per run")
    parser.add_argument("--runs", type=int, default=7, help="runs per figure")
    opts = parser.parse_args()
    with RedisServer() as server:
        redis_ledger = RedisLedger.from_url(server.url, prefix="bench:")
        client = redis_ledger.client
        scenarios: list[tuple[str, Callable[[], None]]] = [
            ("redis INCR round trip (raw redis-py)", lambda: client.incr("bench:raw") and None),
            ("memory ledger reserve+settle, 3 limits", reserve_settle(MemoryLedger())),
            ("redis ledger reserve, 3 limits (1 round trip)", reserve_only(redis_ledger)),
            ("redis ledger reserve+settle, 3 limits (2 round trips)", reserve_settle(redis_ledger)),
            ("guarded call, no limits (pipeline baseline)", guarded_call(MemoryLedger(), [])),
            ("guarded call, memory ledger, 3 limits", guarded_call(MemoryLedger(), RATE_LIMITS)),
            ("guarded call, redis ledger, 3 limits (1 round trip)",
             guarded_call(redis_ledger, RATE_LIMITS)),
            ("guarded call, redis ledger, 2 limits + concurrent (2 trips)",
             guarded_call(redis_ledger, SLOT_LIMITS)),
        ]  # fmt: skip
        rows = measure(scenarios, opts.calls, opts.runs)
        trips = []
        for limits in (RATE_LIMITS, SLOT_LIMITS):
            call = guarded_call(redis_ledger, limits)
            before = script_calls(redis_ledger)
            call()
            trips.append(script_calls(redis_ledger) - before)
        redis_ledger.close()
    width = max(len(name) for name, _ in rows)
    print(f"{'per call (us)':<{width}}  {'median':>8}  {'min':>8}  {'max':>8}")
    for name, (med, low, high) in rows:
        print(f"{name:<{width}}  {med:8.1f}  {low:8.1f}  {high:8.1f}")
    print(
        f"\nRedis round trips per guarded call: {trips[0]} with 3 limits, "
        f"{trips[1]} with a concurrent limit (reserve + release)"
    )
    print(
        f"{opts.runs} interleaved runs x {opts.calls} calls per scenario; "
        "redis-server on 127.0.0.1, same host"
    )


if __name__ == "__main__":
    main()
