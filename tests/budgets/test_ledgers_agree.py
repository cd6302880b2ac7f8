"""The Lua script and the Python ledger implement the same arithmetic: random
sequences of reserve / settle / release give identical answers on both."""

from __future__ import annotations

import uuid

from hypothesis import example, given, settings
from hypothesis import strategies as st
from support.redis_server import RedisServer

from guardrail.budgets import Charge, Ledger, MemoryLedger, RedisLedger, Reservation

CHARGES = [
    Charge("w", "window", 1, 5, 3600),
    Charge("c", "concurrent", 1, 3, 3600),
    Charge("d", "day", 0.7, 4.2, 0),
    Charge("m", "month", 1.5, 6, 0),
    Charge("t", "total", 0.25, 1.5, 0),
]
amount = st.sampled_from([0, 0.1, 0.25, 0.7, 1, 1.5, 2, 3.3])
op = st.one_of(
    st.tuples(st.just("reserve"), st.lists(st.sampled_from(range(5)), min_size=1, max_size=4,
                                           unique=True), st.lists(amount, min_size=4, max_size=4)),
    st.tuples(st.just("settle"), st.integers(0, 50), st.lists(amount, min_size=4, max_size=4)),
)  # fmt: skip


def play(ledger: Ledger, ops: list[tuple[str, list[int] | int, list[float]]]) -> list[object]:
    out: list[object] = []
    held: list[Reservation] = []
    for i, (name, which, amounts) in enumerate(ops):
        if name == "reserve":
            assert isinstance(which, list)
            charges = [
                Charge(CHARGES[k].key, CHARGES[k].kind, a, CHARGES[k].maximum, CHARGES[k].span)
                for k, a in zip(which, amounts, strict=False)
            ]
            got = ledger.reserve(charges, rid=f"r{i}")
            if isinstance(got, Reservation):
                held.append(got)
                out.append(("ok", [h.used for h in got.held]))
            else:
                out.append(("refused", got.index, got.used))
        elif held:
            assert isinstance(which, int)
            res = held.pop(which % len(held))
            out.append(("settled", ledger.settle(res, amounts[: len(res.held)])))
    readings = ledger.usage([Charge(c.key, c.kind, 0, c.maximum, c.span) for c in CHARGES])
    out.append([round(r.used, 6) for r in readings])
    return out


@settings(max_examples=40, deadline=None)
@given(ops=st.lists(op, max_size=25))
# A refusal gives back a counter an earlier reservation charged 0 to: the later
# settlement of that reservation still finds it (a total, then a day counter).
@example(
    ops=[
        ("reserve", [4], [0, 0, 0, 0]),
        ("reserve", [4], [2, 0, 0, 0]),
        ("settle", 0, [0.1, 0, 0, 0]),
    ]
)
@example(
    ops=[
        ("reserve", [4, 0, 2], [1, 0, 0, 0]),
        ("reserve", [0], [0, 0, 0, 0]),
        ("reserve", [0, 1, 2, 4], [0, 0, 0, 0.7]),
        ("settle", 0, [0, 0, 0.1, 0]),
    ]
)
def test_memory_and_redis_agree(
    redis_server: RedisServer, ops: list[tuple[str, list[int] | int, list[float]]]
) -> None:
    """Same operations, same admissions, same use: one contract, two implementations."""
    redis_ledger = RedisLedger.from_url(redis_server.url, prefix=f"h-{uuid.uuid4().hex[:8]}:")
    try:
        assert play(MemoryLedger(), ops) == play(redis_ledger, ops)
    finally:
        redis_ledger.close()
