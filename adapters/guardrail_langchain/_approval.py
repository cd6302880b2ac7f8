"""Pausing a LangGraph run on a held call: ``GuardrailMiddleware(guard, approvals="interrupt")``.

A call an ``approve`` rule holds is refused by the guard with an approval request
id. Instead of handing the model that refusal, the run pauses with a LangGraph
``interrupt`` shaped like LangChain's own per-call ``ToolApprovalRequest`` plus the
request id. An approver decides through ``guard.approvals`` (never through the
resume value: resuming is not approving); the run then goes on with
``Command(resume={"type": "approve"})`` and the call goes through the guard again,
which runs it once on the grant, or pauses again while it is still held. An
``edit`` answer re-asks with the edited arguments (a different call: a new
request), a ``reject`` answer tells the model the call did not run.

When LangGraph resumes, it runs the tool step again from the start: the
reviewer's answer must be read before the call is tried, or a granted call would
run before an ``edit`` or ``reject`` is known. The first ``interrupt`` is therefore
asked before anything else; the first time through it pauses, the guard is asked
then, and the pause is raised with the request's details in its place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from langchain_core.messages import ToolMessage
from langgraph.errors import GraphInterrupt
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command, Interrupt, interrupt

from guardrail import ApprovalRequired

ToolResult = ToolMessage | Command[Any]
Govern = Callable[[ToolCallRequest], "ToolResult | ApprovalRequired"]
AGovern = Callable[[ToolCallRequest], Awaitable["ToolResult | ApprovalRequired"]]
ANSWERS = ("approve", "edit", "reject")
_ASKING = {"type": "guardrail_approval_pending"}  # replaced before any client sees it


def paused(request: ToolCallRequest, govern: Govern) -> ToolResult:
    """Run a call an approve rule covers; pause while the guard holds it."""
    answer = ask_first()
    if not isinstance(answer, Mapping):  # the first time through: ask the guard
        result = govern(request)
        if isinstance(result, ApprovalRequired):
            raise repause(answer, result, request)
        return result
    while not isinstance(step := answered(request, answer), ToolMessage):
        request = step
        result = govern(request)
        if not isinstance(result, ApprovalRequired):
            return result
        answer = ask_again(result, request)
    return step


async def apaused(request: ToolCallRequest, govern: AGovern) -> ToolResult:
    """:func:`paused` for an async run."""
    answer = ask_first()
    if not isinstance(answer, Mapping):
        result = await govern(request)
        if isinstance(result, ApprovalRequired):
            raise repause(answer, result, request)
        return result
    while not isinstance(step := answered(request, answer), ToolMessage):
        request = step
        result = await govern(request)
        if not isinstance(result, ApprovalRequired):
            return result
        answer = ask_again(result, request)
    return step


def ask_first() -> Mapping[str, Any] | GraphInterrupt:
    """The reviewer's answer when resuming; the first time through, the pause to raise."""
    try:
        return _checked(interrupt(_ASKING))
    except GraphInterrupt as first:
        return first


def repause(first: GraphInterrupt, held: ApprovalRequired, request: ToolCallRequest) -> Exception:
    """``first`` (the pause ``ask_first`` caught) with the held call's request as its value."""
    return GraphInterrupt((Interrupt(value=approval_request(held, request), id=_id(first)),))


def ask_again(held: ApprovalRequired, request: ToolCallRequest) -> Mapping[str, Any]:
    """Pause for ``held`` (still held after an answer); on a later resume, the answer."""
    return _checked(interrupt(approval_request(held, request)))


def approval_request(held: ApprovalRequired, request: ToolCallRequest) -> dict[str, Any]:
    """The interrupt's value: LangChain's ``ToolApprovalRequest`` plus the request."""
    call = request.tool_call
    return {
        "type": "tool_approval",
        "tool_call_id": call.get("id") or "",
        "name": call["name"],
        "args": dict(call.get("args") or {}),
        "description": (
            f"{call['name']} waits for guardrail approval request {held.request_id}. "
            "An approver grants or denies it (guard.approvals / guardrail approvals "
            "approve); then resume with {'type': 'approve'} to make the call."
        ),
        "request_id": held.request_id,
        "digest": held.digest,
        "expires": held.expires,
        "rule": held.rule,
    }


def answered(request: ToolCallRequest, answer: Mapping[str, Any]) -> ToolCallRequest | ToolMessage:
    """The call to try after ``answer``: the same, the edited one, or a rejection message."""
    call = request.tool_call
    if answer["type"] == "approve":
        return request
    if answer["type"] == "edit":
        edited = answer.get("edited_action")
        if not isinstance(edited, Mapping) or edited.get("name") != call["name"]:
            raise ValueError(f"an edit of {call['name']!r} must keep the tool's name")
        args = edited.get("args")
        if not isinstance(args, Mapping):
            raise ValueError("an edit needs edited_action.args, a mapping")
        return request.override(tool_call={**call, "args": dict(args)})
    reason = answer.get("message")
    because = f": {reason}" if reason else ""
    return ToolMessage(
        content=f"The user stopped waiting for approval of {call['name']}{because}. "
        "The tool was not executed.",
        tool_call_id=call.get("id") or "",
        name=call["name"],
        status="error",
    )


def _id(pause: GraphInterrupt) -> str:
    interrupts: tuple[Interrupt, ...] = pause.args[0]
    return interrupts[0].id


def _checked(answer: Any) -> Mapping[str, Any]:
    if not isinstance(answer, Mapping) or answer.get("type") not in ANSWERS:
        raise ValueError(
            f"resume a guardrail approval pause with a decision of type {', '.join(ANSWERS)}; "
            f"got {answer!r}"
        )
    return answer
