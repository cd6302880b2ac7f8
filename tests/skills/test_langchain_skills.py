"""The clinic's skill as a LangChain tool (``guardrail_langchain.from_guard``), driven by
LangChain's scripted chat model in the usual agent loop."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from guardrail_langchain import ServedTool, from_guard
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import SecretStr

from examples.scheduling.clinic import Clinic
from examples.scheduling.skill import build_guard
from guardrail import Guard, PermissionDenied, StaticAuthenticator
from guardrail.testing import capture_audit, make_principal

SAM = make_principal("sam", roles=["scheduler"])
BILL = make_principal("bill", roles=["billing"])
ANA = {"patient": "Silva, Ana", "reason": "knee pain", "window": "2026-12-07"}


def scripted_model() -> GenericFakeChatModel:
    """Books through the skill, then (as a retry) books the same again, then stops."""
    calls = [{"name": "schedule_appointment", "args": ANA, "id": f"call_{n}"} for n in (1, 2)]
    replies = [AIMessage("", tool_calls=[call]) for call in calls]
    return GenericFakeChatModel(messages=iter([*replies, AIMessage("Done.")]))


def agent_loop(
    model: GenericFakeChatModel, tools: Sequence[BaseTool], config: RunnableConfig
) -> list[BaseMessage]:
    by_name = {t.name: t for t in tools}
    messages: list[BaseMessage] = [HumanMessage("Book Ana Silva for her knee on Monday.")]
    for _ in range(5):
        reply = model.invoke(messages, config=config)
        messages.append(reply)
        if not isinstance(reply, AIMessage) or not reply.tool_calls:
            break
        for call in reply.tool_calls:
            messages.append(by_name[call["name"]].invoke(call, config=config))
    return messages


def tool_messages(messages: Sequence[BaseMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def clinic_guard(clinic: Clinic) -> Guard:
    tokens = {"t-sam": SAM, "t-bill": BILL}
    return build_guard(clinic, authenticator=StaticAuthenticator(tokens))


def test_only_the_skill_becomes_a_tool_with_its_own_schema() -> None:
    """The thirteen steps are not tools; the skill's schema is its signature's."""
    guard = clinic_guard(Clinic())
    tools = from_guard(guard)
    assert [t.name for t in tools] == ["schedule_appointment"]
    params = convert_to_openai_tool(tools[0])["function"]["parameters"]
    assert set(params["properties"]) == {"patient", "reason", "window"}
    assert [t.name for t in guard.visible(tools, SAM)] == ["schedule_appointment"]
    assert guard.visible(tools, BILL) == []
    assert all(isinstance(t, ServedTool) for t in guard.wrap(tools))


@pytest.mark.parametrize("who", ["principal", "token"])
def test_scripted_agent_books_once_as_the_configured_user(who: str) -> None:
    """The user comes from the run config; the retry returns the same appointment."""
    clinic = Clinic()
    guard = clinic_guard(clinic)
    configurable: dict[str, Any] = {"guardrail_principal": SAM}
    if who == "token":
        configurable = {"guardrail_token": SecretStr("t-sam")}
    with capture_audit(guard) as events:
        messages = agent_loop(scripted_model(), from_guard(guard), {"configurable": configurable})
    first, second = tool_messages(messages)
    assert first.status == second.status == "success"
    assert json.loads(str(first.content)) == json.loads(str(second.content))
    assert json.loads(str(first.content))["provider"] == "Dr. Chavez"
    assert len(clinic.appointments()) == 1
    skill_calls = [e for e in events if e.tool == "schedule_appointment" and e.phase == "intent"]
    assert [(e.subject, e.tool_call_id) for e in skill_calls] == [
        ("sam", "call_1"),
        ("sam", "call_2"),
    ]
    steps = [e for e in events if e.skill == "schedule_appointment"]
    assert steps and {e.parent_call_id for e in steps} <= {e.call_id for e in skill_calls}


async def test_async_agent_gets_the_same_answers() -> None:
    """ainvoke goes through the same pipeline (the sync skill on LangChain's executor)."""
    clinic = Clinic()
    guard = clinic_guard(clinic)
    (tool,) = from_guard(guard)
    config: RunnableConfig = {"configurable": {"guardrail_principal": SAM}}
    call = {"name": "schedule_appointment", "args": ANA, "id": "call_a", "type": "tool_call"}
    message = await tool.ainvoke(call, config=config)
    assert message.status == "success" and json.loads(message.content)["status"] == "booked"
    refused = await tool.ainvoke(call, config={"configurable": {"guardrail_principal": BILL}})
    assert refused.status == "error" and "default deny" in refused.content


def test_other_user_is_refused_with_a_message_and_a_record() -> None:
    """A user without the rule, or with a bad token, gets an error ToolMessage; nothing runs."""
    clinic = Clinic()
    guard = clinic_guard(clinic)
    tools = from_guard(guard)
    with capture_audit(guard) as events:
        bill = agent_loop(scripted_model(), tools, {"configurable": {"guardrail_principal": BILL}})
        forged = agent_loop(
            scripted_model(), tools, {"configurable": {"guardrail_token": SecretStr("t-forged")}}
        )
    for message in tool_messages(bill) + tool_messages(forged):
        assert message.status == "error" and "refused by guardrail" in str(message.content)
    assert "default deny" in str(tool_messages(bill)[0].content)
    assert clinic.appointments() == []
    assert [(e.phase, e.decision, e.subject) for e in events] == [
        ("refusal", "denied", "bill"),
        ("refusal", "denied", "bill"),
        ("refusal", "auth_failed", None),
        ("refusal", "auth_failed", None),
    ]


def test_on_denied_raise_raises_the_guardrail_error() -> None:
    """With on_denied="raise" the application gets PermissionDenied itself."""
    (tool,) = from_guard(clinic_guard(Clinic()), on_denied="raise")
    with pytest.raises(PermissionDenied):
        tool.invoke(ANA, config={"configurable": {"guardrail_principal": BILL}})


def test_a_plain_guarded_function_is_served_too() -> None:
    """Not only skills: any agent-facing @guard.tool function becomes a tool."""
    guard = clinic_guard(Clinic())

    @guard.tool
    def clinic_hours(day: str) -> str:
        """When the clinic is open."""
        return f"{day}: 08:00-18:00"

    tools = {t.name: t for t in from_guard(guard)}
    assert set(tools) == {"schedule_appointment", "clinic_hours"}
    refused = tools["clinic_hours"].invoke(
        {"name": "clinic_hours", "args": {"day": "Mon"}, "id": "c1", "type": "tool_call"},
        config={"configurable": {"guardrail_principal": SAM}},
    )
    assert refused.status == "error"  # the policy has no rule for it: default deny
    params = convert_to_openai_tool(tools["clinic_hours"])["function"]["parameters"]
    assert set(params["properties"]) == {"day"}
