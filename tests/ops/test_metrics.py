"""OpenTelemetry metrics of guarded calls, read back through the SDK's in-memory reader."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from support.redis_server import INSTALL_HINT, RedisServer, RedisServerMissing

from guardrail import BudgetExceeded, Guard, LedgerUnavailable, PermissionDenied, Policy
from guardrail.call import report_cost
from guardrail.testing import make_principal

ALICE = make_principal("alice", roles=["support"], teams=["eu"])
BOB = make_principal("bob", roles=["contractor"])
POLICY = Policy.model_validate(
    {
        "rules": [
            {"id": "support-all", "allow": ["*"], "when": {"roles": ["support"]}},
            {"id": "contractors-read", "allow": ["lookup"], "when": {"roles": ["contractor"]}},
            {"id": "no-big-refunds", "deny": ["refund"], "args": {"amount": {"min": 100}}},
        ],
        "limits": [
            {"id": "refund-rate", "per": "user", "tools": ["refund"], "calls": "3/minute"},
            {"id": "team-spend", "per": "team", "cost": 1000, "period": "day"},
        ],
    }
)
Points = dict[str, list[tuple[dict[str, Any], Any]]]


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


def read(reader: InMemoryMetricReader) -> Points:
    """Every data point by metric name: (attributes, value or histogram point)."""
    found: Points = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "guardrail"
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", point)
                    found.setdefault(metric.name, []).append((dict(point.attributes), value))
    return found


def value(points: Points, name: str, **attributes: Any) -> Any:
    matching = [v for attrs, v in points.get(name, []) if _has(attrs, attributes)]
    assert len(matching) == 1, f"{name} {attributes}: {points.get(name)}"
    return matching[0]


def _has(attrs: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(attrs.get(k.replace("__", ".")) == v for k, v in wanted.items())


def guarded(reader: InMemoryMetricReader, **options: Any) -> Guard:
    guard = Guard(POLICY, meter_provider=MeterProvider(metric_readers=[reader]), **options)

    @guard.tool(cost=2.5)
    def refund(order_id: str, amount: float) -> str:
        return f"refunded {amount}"

    @guard.tool
    def lookup(order_id: str) -> str:
        if order_id == "boom":
            raise KeyError(order_id)
        report_cost(0.25)
        return "found"

    return guard


def test_calls_denials_cost_and_durations(reader: InMemoryMetricReader) -> None:
    guard = guarded(reader)
    with guard.acting_as(ALICE):
        for amount in (10, 20, 30):
            guard.call("refund", {"order_id": "A", "amount": amount})
        with pytest.raises(BudgetExceeded):
            guard.call("refund", {"order_id": "A", "amount": 5})
        guard.call("lookup", {"order_id": "A"})
        with pytest.raises(KeyError):
            guard.call("lookup", {"order_id": "boom"})
    with guard.acting_as(BOB):
        with pytest.raises(PermissionDenied):
            guard.call("refund", {"order_id": "A", "amount": 500})
        with pytest.raises(PermissionDenied):
            guard.call("refund", {"order_id": "A", "amount": 5})
        guard.call("lookup", {"order_id": "B"})

    p = read(reader)
    calls = "guardrail.tool.calls"
    assert value(p, calls, gen_ai__tool__name="refund", guardrail__decision="allowed") == 3
    assert value(p, calls, gen_ai__tool__name="refund", guardrail__decision="denied") == 2
    assert value(p, calls, gen_ai__tool__name="refund", guardrail__decision="budget_exceeded") == 1
    assert value(p, calls, gen_ai__tool__name="lookup", guardrail__decision="allowed") == 2
    assert value(p, calls, gen_ai__tool__name="lookup", guardrail__decision="error") == 1
    assert sum(v for _, v in p[calls]) == 9
    # Denials by the rule (or limit) that decided them; the default deny has a name too.
    denials = "guardrail.tool.denials"
    assert value(p, denials, guardrail__rule="no-big-refunds", error__type="PermissionDenied") == 1
    assert value(p, denials, guardrail__rule="(default deny)") == 1
    assert value(p, denials, guardrail__rule="refund-rate", error__type="BudgetExceeded") == 1
    assert len(p[denials]) == 3
    # Cost: what the calls that ran settled (declared 2.5 x 3, reported 0.25 x 2).
    assert value(p, "guardrail.tool.cost", gen_ai__tool__name="refund") == 7.5
    assert value(p, "guardrail.tool.cost", gen_ai__tool__name="lookup") == 0.5
    # Durations in seconds, by tool and decision; a raising tool names its error type.
    failed = value(p, "guardrail.tool.call.duration", error__type="KeyError")
    assert failed.count == 1 and failed.attributes["guardrail.decision"] == "error"
    timed = p["guardrail.tool.call.duration"]
    assert sum(point.count for _, point in timed) == 9
    assert all(0 < point.sum < 60 for _, point in timed)
    assert list(timed[0][1].explicit_bounds)[:2] == [0.0001, 0.00025]
    # Nobody's identity becomes a metric attribute (unbounded cardinality, personal data).
    every = [attrs for name in p for attrs, _ in p[name]]
    assert not any({"alice", "bob"} & {str(v) for v in attrs.values()} for attrs in every)
    assert "guardrail.ledger.errors" not in p


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    try:
        server = RedisServer().start()
    except RedisServerMissing:
        pytest.fail(INSTALL_HINT)  # a required component: never a skip
    yield server
    server.close()


@pytest.mark.parametrize("on_error", ["deny", "allow"])
def test_ledger_errors_counted(
    reader: InMemoryMetricReader, own_redis: RedisServer, on_error: Any
) -> None:
    guard = guarded(reader, ledger=own_redis.url, on_ledger_error=on_error)
    with guard.acting_as(ALICE):
        guard.call("refund", {"order_id": "A", "amount": 1})
        own_redis.stop()
        for _ in range(2):
            if on_error == "deny":
                with pytest.raises(LedgerUnavailable):
                    guard.call("refund", {"order_id": "A", "amount": 1})
            else:
                guard.call("refund", {"order_id": "A", "amount": 1})
    p = read(reader)
    outcome = "refused" if on_error == "deny" else "failed_open"
    assert p["guardrail.ledger.errors"] == [({"guardrail.ledger.outcome": outcome}, 2)]
    if on_error == "deny":  # refused outside the policy: no rule, the refusal's type
        assert p["guardrail.tool.denials"] == [
            (
                {
                    "gen_ai.tool.name": "refund",
                    "guardrail.decision": "denied",
                    "error.type": "LedgerUnavailable",
                },
                2,
            )
        ]
    decided = "denied" if on_error == "deny" else "allowed"
    calls = value(p, "guardrail.tool.calls", guardrail__decision=decided)
    assert calls == (2 if on_error == "deny" else 3)


async def test_async_calls_counted(reader: InMemoryMetricReader) -> None:
    guard = guarded(reader)

    @guard.tool
    async def fetch(order_id: str) -> str:
        return order_id

    with guard.acting_as(ALICE):
        assert await fetch("A") == "A"
        await guard.acall("lookup", {"order_id": "A"})
    with guard.acting_as(BOB), pytest.raises(PermissionDenied):
        await fetch("B")
    p = read(reader)
    assert (
        value(p, "guardrail.tool.calls", gen_ai__tool__name="fetch", guardrail__decision="allowed")
        == 1
    )
    assert value(p, "guardrail.tool.denials", gen_ai__tool__name="fetch") == 1
    assert value(p, "guardrail.tool.calls", gen_ai__tool__name="lookup") == 1


NO_SDK_THEN_SDK = """
import time
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from guardrail import Guard, Policy
from guardrail.testing import make_principal

guard = Guard(Policy.model_validate({"rules": [{"id": "all", "allow": ["*"]}]}))

@guard.tool
def ping() -> str:
    return "pong"

with guard.acting_as(make_principal("alice")):
    for _ in range(5):
        ping()
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    time.sleep(1.1)  # the step looks for an SDK at most once a second
    for _ in range(2):
        ping()
data = reader.get_metrics_data()
counts = [
    point.value
    for r in data.resource_metrics for s in r.scope_metrics for m in s.metrics
    if m.name == "guardrail.tool.calls" for point in m.data.data_points
]
print(counts)
"""


def test_no_sdk_no_metrics_then_a_later_sdk_is_used() -> None:
    """With the API alone nothing is recorded; an SDK installed later is picked up."""
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(NO_SDK_THEN_SDK)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[2]"
