"""A call an ``approve`` rule holds pauses the run with the SDK's own tool approval.

A :class:`~guardrail_openai_agents.GuardedFunctionTool`'s ``needs_approval`` asks the
guard (:meth:`guardrail.Guard.approval_for`, which runs nothing): a held call with
no grant yet files (or finds) its approval request, is recorded as refused with
decision ``approval_required``, and interrupts the run (``result.interruptions``).
An approver decides through ``guard.approvals``; the application then approves the
SDK's item (``state.approve(item)``) and resumes (``Runner.run(agent, state)``).
The tool call then goes through the guard as any call does: it runs once on the
grant, and a call whose arguments changed meanwhile is a new request, not run.
Approving the SDK item is not an approval: without a grant the call is refused.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import TYPE_CHECKING, Any

from agents import RunContextWrapper
from agents.items import ToolApprovalItem

from guardrail import ApprovalRequired, AuthenticationError, Guard
from guardrail.adapters import principal_from_context
from guardrail.approvals import ApprovalRequest

if TYPE_CHECKING:
    from agents import FunctionTool


async def needs_approval(
    guard: Guard,
    tool: FunctionTool,
    run_context: RunContextWrapper[Any],
    params: dict[str, Any],
    call_id: str,
) -> bool:
    """The tool's own ``needs_approval``, or: the guard holds this call and has no grant."""
    if await _own(tool, run_context, params, call_id):
        return True
    try:
        who = principal_from_context(guard, run_context.context)
    except AuthenticationError:
        return False  # the call itself is refused and recorded
    if not guard.check(tool.name, params, who).approval:
        return False  # decided with no I/O: no approve rule holds it
    found = await asyncio.to_thread(guard.approval_for, tool.name, params, who)
    if found is None or found.status == "granted":
        return False  # not held, or granted: the call goes through the guard (and runs)
    held = ApprovalRequired(
        f"{tool.name!r} waits for approval request {found.id}",
        request_id=found.id,
        digest=found.digest,
        expires=found.expires,
        tool=tool.name,
        principal=who,
        rule=found.rule,
    )
    await guard.arefuse(tool.name, held, params, principal=who, tool_call_id=call_id)
    return True


def approval_request(guard: Guard, item: ToolApprovalItem, context: Any) -> ApprovalRequest:
    """The guardrail request an interruption waits for (``result.interruptions``), to show
    an approver; ``context`` is the run's context. Runs nothing."""
    raw = item.raw_item
    arguments = raw.get("arguments") if isinstance(raw, dict) else getattr(raw, "arguments", None)
    args = json.loads(arguments or "{}")
    found = guard.approval_for(str(item.tool_name), args, principal_from_context(guard, context))
    if found is None:
        raise LookupError(f"guardrail holds no approval for this call of {item.tool_name!r}")
    return found


async def _own(
    tool: FunctionTool, run_context: RunContextWrapper[Any], params: dict[str, Any], call_id: str
) -> bool:
    own = tool.needs_approval
    if not callable(own):
        return bool(own)
    answer = own(run_context, params, call_id)
    return bool(await answer if inspect.isawaitable(answer) else answer)
