"""``tool.stream`` / ``tool.astream`` of a wrapped tool go through the guard like ``invoke``."""

from __future__ import annotations

from langchain_core.messages import ToolMessage
from lc_support import make_decorated, ran, tool_call

from guardrail import Guard, Principal
from guardrail.testing import capture_audit


def test_stream_allowed_and_refused(guard: Guard, support: Principal) -> None:
    refund = guard.wrap(make_decorated())
    with guard.acting_as(support), capture_audit(guard) as events:
        allowed = list(refund.stream(tool_call("refund", {"order_id": "A", "amount": 40}, "s1")))
        refused = list(refund.stream(tool_call("refund", {"order_id": "A", "amount": 400}, "s2")))
    assert [m.status for m in allowed + refused if isinstance(m, ToolMessage)] == [
        "success",
        "error",
    ]
    assert ran["refund"] == 1
    final = [(e.tool_call_id, e.decision) for e in events if e.phase != "intent"]
    assert final == [("s1", "allowed"), ("s2", "denied")]


async def test_astream_refused(guard: Guard, support: Principal) -> None:
    refund = guard.wrap(make_decorated())
    with guard.acting_as(support), capture_audit(guard) as events:
        chunks = [
            c async for c in refund.astream(tool_call("refund", {"order_id": "A", "amount": 400}))
        ]
    assert [c.status for c in chunks] == ["error"] and ran["refund"] == 0
    assert [e.decision for e in events if e.phase != "intent"] == ["denied"]
