"""guard.wrap on every kind of LangChain tool: same schema, guarded calls, readable denials."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from guardrail_langchain import GuardedTool, GuardedToolkit
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from lc_support import (
    ShopToolkit,
    TransferTool,
    make_decorated,
    make_structured_async,
    ran,
    tool_call,
)

from guardrail import Guard, PermissionDenied, Policy, Principal
from guardrail.testing import capture_audit


@dataclass(frozen=True)
class Kind:
    make: Callable[[], BaseTool]
    allowed: dict[str, Any]
    denied: dict[str, Any]
    result: str
    narrowed: dict[str, dict[str, Any]]


def _kit_refund() -> BaseTool:
    return next(t for t in ShopToolkit().get_tools() if t.name == "kit_refund")


KINDS = {
    "@tool": Kind(
        make_decorated,
        {"order_id": "A-1", "amount": 40},
        {"order_id": "A-1", "amount": 400},
        "refunded 40 EUR on A-1",
        {"amount": {"maximum": 100}, "currency": {"enum": ["EUR", "USD"]}},
    ),
    "StructuredTool": Kind(
        make_structured_async,
        {"order_id": "A-1", "amount": 40, "currency": "USD"},
        {"order_id": "A-1", "amount": 40, "currency": "GBP"},
        "refunded 40 USD on A-1 (sync)",
        {"amount": {"maximum": 100}, "currency": {"enum": ["EUR", "USD"]}},
    ),
    "BaseTool subclass": Kind(
        TransferTool,
        {"account": "X", "amount": 40},
        {"account": "X", "amount": 100.5},
        "moved 40 EUR to X",
        {"amount": {"maximum": 100, "minimum": 0}, "currency": {"enum": ["EUR", "USD"]}},
    ),
    "toolkit": Kind(
        _kit_refund,
        {"order_id": "A-1", "amount": 50},
        {"order_id": "A-1", "amount": 51},
        "kit refunded 50 on A-1",
        {"amount": {"maximum": 50}},
    ),
}


def _wrap(guard: Guard, kind: Kind) -> tuple[BaseTool, BaseTool]:
    inner = kind.make()
    if kind.make is _kit_refund:
        toolkit = guard.wrap(ShopToolkit())
        assert isinstance(toolkit, GuardedToolkit)
        wrapped = next(t for t in toolkit.get_tools() if t.name == inner.name)
        return wrapped.wrapped, wrapped  # type: ignore[attr-defined]
    return inner, guard.wrap(inner)


@pytest.fixture(params=list(KINDS), ids=list(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


def test_wrapped_tool_shows_the_inner_schema(guard: Guard, kind: Kind, manager: Principal) -> None:
    """The wrapper is a BaseTool whose OpenAI form equals the inner tool's."""
    inner, wrapped = _wrap(guard, kind)
    assert isinstance(wrapped, GuardedTool)
    assert convert_to_openai_tool(wrapped) == convert_to_openai_tool(inner)
    unconstrained = guard.visible(wrapped, manager)
    assert convert_to_openai_tool(unconstrained) == convert_to_openai_tool(inner)


def test_visible_narrows_the_schema(guard: Guard, kind: Kind, support: Principal) -> None:
    """A constrained user sees enum/maximum where the rule constrains an argument."""
    inner, wrapped = _wrap(guard, kind)
    shown = guard.visible(wrapped, support)
    params = convert_to_openai_tool(shown)["function"]["parameters"]
    base = convert_to_openai_tool(inner)["function"]["parameters"]
    for arg, constraint in kind.narrowed.items():
        assert params["properties"][arg] == {**base["properties"][arg], **constraint}
    assert params["required"] == base["required"]
    assert shown.tool_call_schema == params


def test_allowed_call_returns_the_inner_result(
    guard: Guard, kind: Kind, support: Principal
) -> None:
    """invoke with a ToolCall returns the inner tool's ToolMessage."""
    _, wrapped = _wrap(guard, kind)
    with guard.acting_as(support):
        out = wrapped.invoke(tool_call(wrapped.name, kind.allowed, "c-ok"))
    assert isinstance(out, ToolMessage)
    assert (out.content, out.tool_call_id, out.status) == (kind.result, "c-ok", "success")
    assert sum(ran.values()) == 1


def test_denied_call_is_an_error_message(guard: Guard, kind: Kind, support: Principal) -> None:
    """A denial comes back as an error ToolMessage naming the rule; the body never runs."""
    _, wrapped = _wrap(guard, kind)
    with capture_audit(guard) as events, guard.acting_as(support):
        out = wrapped.invoke(tool_call(wrapped.name, kind.denied, "c-no"))
    assert isinstance(out, ToolMessage)
    assert (out.tool_call_id, out.name, out.status) == ("c-no", wrapped.name, "error")
    assert "refused by guardrail" in str(out.content) and "rule 'support-" in str(out.content)
    assert out.artifact["guardrail"]["decision"] == "denied"
    assert not ran
    assert [(e.phase, e.decision, e.tool_call_id) for e in events] == [
        ("refusal", "denied", "c-no")
    ]


async def test_async_paths(guard: Guard, kind: Kind, support: Principal) -> None:
    """ainvoke goes through the same pipeline (the coroutine when the tool has one)."""
    _, wrapped = _wrap(guard, kind)
    async with guard.acting_as(support):
        ok = await wrapped.ainvoke(tool_call(wrapped.name, kind.allowed, "a-ok"))
        no = await wrapped.ainvoke(tool_call(wrapped.name, kind.denied, "a-no"))
    assert ok.status == "success" and no.status == "error"
    assert ok.content == kind.result.replace("(sync)", "(async)")
    assert sum(ran.values()) == 1


def test_without_tool_call_id_a_denial_raises_tool_exception(
    guard: Guard, support: Principal
) -> None:
    """Plain dict input has no tool_call_id: allowed returns content, denied raises."""
    wrapped = guard.wrap(make_decorated())
    with guard.acting_as(support):
        assert wrapped.invoke({"order_id": "B", "amount": 1}) == "refunded 1 EUR on B"
        assert wrapped.run({"order_id": "B", "amount": 2}) == "refunded 2 EUR on B"
        with pytest.raises(ToolException, match="rule 'support-refunds'"):
            wrapped.invoke({"order_id": "B", "amount": 101})
    assert ran["refund"] == 2


def test_on_denied_raise_reraises_the_guardrail_error(guard: Guard, support: Principal) -> None:
    """on_denied="raise" hands the PermissionDenied to the caller."""
    from guardrail_langchain import wrap

    wrapped = wrap(guard, make_decorated(), on_denied="raise")
    with guard.acting_as(support), pytest.raises(PermissionDenied) as info:
        wrapped.invoke(tool_call("refund", {"order_id": "B", "amount": 101}))
    assert info.value.rule == "support-refunds"


def test_batch_goes_through_the_guard(guard: Guard, support: Principal) -> None:
    """batch() runs each input through the pipeline (context carried into threads)."""
    wrapped = guard.wrap(make_decorated())
    calls = [tool_call("refund", {"order_id": "C", "amount": a}, f"b{a}") for a in (10, 200, 30)]
    with guard.acting_as(support):
        out = wrapped.batch(calls)
    assert [m.status for m in out] == ["success", "error", "success"]
    assert ran["refund"] == 2


def test_toolkit_wraps_every_tool(guard: Guard, support: Principal, stranger: Principal) -> None:
    """A toolkit becomes a GuardedToolkit; visible() keeps only what the user may call."""
    toolkit = guard.wrap(ShopToolkit())
    assert isinstance(toolkit, GuardedToolkit)
    assert all(isinstance(t, GuardedTool) for t in toolkit.get_tools())
    assert [t.name for t in guard.visible(ShopToolkit(), support).get_tools()] == [
        "kit_lookup",
        "kit_refund",
    ]
    assert guard.visible(ShopToolkit(), stranger).get_tools() == []
    assert guard.visible([make_decorated(), TransferTool()], stranger) == []


def test_wrap_is_idempotent_and_accepts_lists(guard: Guard) -> None:
    """Wrapping a wrapped tool returns it; lists and tuples keep their type."""
    wrapped = guard.wrap(make_decorated())
    assert guard.wrap(wrapped) is wrapped
    pair = guard.wrap((make_decorated(), TransferTool()))
    assert isinstance(pair, tuple) and all(isinstance(t, GuardedTool) for t in pair)


def test_guard_call_by_name_runs_the_tool(guard: Guard, support: Principal) -> None:
    """A wrapped tool is registered: guard.call(name, args) checks and runs it."""
    guard.wrap(make_decorated())
    with guard.acting_as(support):
        assert guard.call("refund", {"order_id": "D", "amount": 5}) == "refunded 5 EUR on D"
        with pytest.raises(PermissionDenied):
            guard.call("refund", {"order_id": "D", "amount": 500})


def test_legacy_single_input_tool(guard: Guard, manager: Principal, support: Principal) -> None:
    """A plain `Tool` keeps its `__arg1` OpenAI form; string and ToolCall input are both checked."""
    from langchain_core.tools import Tool

    search = Tool(name="lookup_order", func=lambda q: f"order {q}", description="Find an order.")
    wrapped = guard.wrap(search)
    assert convert_to_openai_tool(wrapped) == convert_to_openai_tool(search)
    guard = Guard(
        Policy.model_validate(
            {
                "rules": [
                    {
                        "id": "short",
                        "allow": ["lookup_order"],
                        "args": {"tool_input": {"max_length": 4}},
                    }
                ]
            }
        )
    )
    wrapped = guard.wrap(search)
    shown = convert_to_openai_tool(guard.visible(search, support))["function"]["parameters"]
    assert shown["properties"]["__arg1"]["maxLength"] == 4
    with guard.acting_as(support):
        assert wrapped.invoke("A-17") == "order A-17"
        assert wrapped.invoke(tool_call("lookup_order", {"__arg1": "A-1"})).content == "order A-1"
        assert wrapped.invoke(tool_call("lookup_order", {"__arg1": "A-1234"})).status == "error"


def test_tool_fields_and_artifacts_pass_through(guard: Guard, manager: Principal) -> None:
    """return_direct, response_format, extras and artifacts are the inner tool's."""

    @tool(response_format="content_and_artifact", return_direct=True, extras={"defer": True})
    def export(order_id: str) -> tuple[str, dict[str, str]]:
        """Export an order."""
        return f"exported {order_id}", {"order_id": order_id}

    wrapped = guard.wrap(export)
    for field in ("return_direct", "response_format", "extras", "name", "description"):
        assert getattr(wrapped, field) == getattr(export, field)
    assert convert_to_openai_tool(wrapped) == convert_to_openai_tool(export)
    with guard.acting_as(manager):
        out = wrapped.invoke(tool_call("export", {"order_id": "E"}))
        assert (out.content, out.artifact) == ("exported E", {"order_id": "E"})
        (streamed,) = wrapped.stream(tool_call("export", {"order_id": "F"}))
        assert streamed.content == "exported F"


def test_metadata_sets_scopes_and_cost(guard: Guard, manager: Principal) -> None:
    """tool.metadata["guardrail"] declares scopes the caller must hold, and a cost."""

    @tool
    def close_ticket(ticket_id: str) -> str:
        """Close a ticket."""
        return f"closed {ticket_id}"

    close_ticket.metadata = {"guardrail": {"scopes": ["crm:write"], "cost": 2}}

    wrapped = guard.wrap(close_ticket)
    assert guard.tools["close_ticket"].cost == 2
    assert guard.visible([close_ticket], manager) == []
    with guard.acting_as(manager):
        out = wrapped.invoke(tool_call("close_ticket", {"ticket_id": "T"}))
    assert out.status == "error" and "missing scope(s) crm:write" in str(out.content)
    scoped = manager.model_copy(update={"scopes": frozenset({"crm:write"})})
    assert [t.name for t in guard.visible([close_ticket], scoped)] == ["close_ticket"]


def test_visible_on_a_tool_narrowed_for_someone_else(
    guard: Guard, support: Principal, manager: Principal
) -> None:
    """Narrowing is per principal: re-asking for another user starts from the inner tool."""
    inner = make_decorated()
    for_alice = guard.visible(inner, support)
    for_maria = guard.visible(for_alice, manager)
    assert convert_to_openai_tool(for_maria) == convert_to_openai_tool(inner)
    assert guard.visible(for_alice, support) is for_alice


def test_flat_visible_keeps_combinators_off_the_root(support: Principal) -> None:
    """visible(..., flat=True) for model APIs that reject a root anyOf."""
    from guardrail_langchain import visible

    two_rules = {
        "rules": [
            {"id": "small", "allow": ["refund"], "args": {"amount": {"max": 10}}},
            {"id": "euro", "allow": ["refund"], "args": {"currency": {"eq": "EUR"}}},
        ]
    }
    guard = Guard(Policy.model_validate(two_rules))
    exact = convert_to_openai_tool(visible(guard, make_decorated(), support))
    flat = convert_to_openai_tool(visible(guard, make_decorated(), support, flat=True))
    assert "anyOf" in exact["function"]["parameters"]
    assert "anyOf" not in flat["function"]["parameters"]
    assert flat["function"]["parameters"]["properties"]["amount"]["maximum"] == 10


async def test_json_schema_tool_as_made_by_mcp_adapters(guard: Guard, support: Principal) -> None:
    """args_schema as a JSON schema dict, as langchain-mcp-adapters builds tools."""
    from langchain_core.tools import StructuredTool

    async def call_remote(**kwargs: Any) -> str:
        ran["refund"] += 1
        return f"remote refund {kwargs['amount']}"

    schema = {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["order_id", "amount"],
    }
    remote = StructuredTool(
        name="kit_remote", description="Refund via MCP.", args_schema=schema, coroutine=call_remote
    )
    wrapped = guard.wrap(remote)
    assert convert_to_openai_tool(wrapped) == convert_to_openai_tool(remote)
    shown = convert_to_openai_tool(guard.visible(remote, support))["function"]["parameters"]
    assert shown["properties"]["amount"]["maximum"] == 50
    async with guard.acting_as(support):
        ok = await wrapped.ainvoke(tool_call("kit_remote", {"order_id": "R", "amount": 7}))
        no = await wrapped.ainvoke(tool_call("kit_remote", {"order_id": "R", "amount": 70}))
    assert (ok.content, no.status) == ("remote refund 7", "error")
    assert ran["refund"] == 1


def test_rule_on_an_argument_the_tool_lacks_hides_it(guard: Guard, support: Principal) -> None:
    """support-refunds needs `currency`; a refund tool without one is hidden and refused."""

    @tool
    def refund(order_id: str, amount: float) -> str:
        """Refund without a currency."""
        ran["refund"] += 1
        return "done"

    assert guard.visible([refund], support) == []
    with guard.acting_as(support):
        out = guard.wrap(refund).invoke(tool_call("refund", {"order_id": "A", "amount": 1}))
    assert out.status == "error" and "argument 'currency' is given" in str(out.content)
    assert not ran
