"""Calls of tools a user was not shown: refused by pydantic-ai, recorded by the guard.

A tool :class:`~guardrail_pydantic_ai.GuardedToolset` leaves out of a user's
``get_tools`` is unknown to the run, so a model that calls it anyway never reaches
the toolset: pydantic-ai answers the call itself ("Unknown tool name", a retry).
That answer is in the run's history when the run next asks the toolset for its
tools (before its next model request), so ``get_tools`` records each such call of
a tool it hid as a refusal: an audit record and span, like every other refusal.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.messages import ModelRequest, ModelResponse, ToolCallPart, ToolReturnPart

from guardrail import AuthenticationError, Guard, GuardrailDenied, PermissionDenied, Principal

_REMEMBERED = 4096
"""Calls recorded lately (a step may list its tools more than once): never twice."""


class HiddenCalls:
    """Records the calls of hidden tools that a run's latest request answered as unknown."""

    def __init__(self) -> None:
        self._recorded: dict[tuple[str | None, str], None] = {}

    async def record(
        self,
        guard: Guard,
        ctx: RunContext[Any],
        hidden: Collection[str],
        who: Principal | None,
        failure: AuthenticationError | None = None,
    ) -> None:
        """Refuse (audit) each call of a ``hidden`` tool pydantic-ai just answered as unknown."""
        for call_id, name, args in _unknown_calls(ctx, hidden):
            key = (ctx.run_id, call_id)
            if key in self._recorded:
                continue
            self._remember(key)
            refusal: GuardrailDenied = failure or PermissionDenied(
                f"{name!r} is not a tool this user may call (it was not shown)", principal=who
            )
            await guard.arefuse(name, refusal, args, principal=who, tool_call_id=call_id)

    def _remember(self, key: tuple[str | None, str]) -> None:
        self._recorded[key] = None
        if len(self._recorded) > _REMEMBERED:
            del self._recorded[next(iter(self._recorded))]


def _unknown_calls(
    ctx: RunContext[Any], hidden: Collection[str]
) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(call id, tool, arguments) of the calls of ``hidden`` tools answered as unknown.

    Only the run's latest request is read: it answers the latest response, and a
    history passed in from an earlier run was recorded by that run.
    """
    messages = ctx.messages
    if len(messages) < 2 or not isinstance(latest := messages[-1], ModelRequest):
        return
    if ctx.run_id is not None and latest.run_id not in (None, ctx.run_id):
        return
    asked = messages[-2]
    calls = {
        p.tool_call_id: p
        for p in (asked.parts if isinstance(asked, ModelResponse) else ())
        if isinstance(p, ToolCallPart)
    }
    for part in latest.parts:
        if not isinstance(part, ToolReturnPart) or part.tool_name not in hidden:
            continue
        if part.retry is None or part.retry.cause != "unknown_tool":
            continue
        call = calls.get(part.tool_call_id)
        yield part.tool_call_id, part.tool_name, _arguments(call)


def _arguments(call: ToolCallPart | None) -> dict[str, Any] | None:
    if call is None:
        return None
    try:
        return call.args_as_dict()
    except ValueError:  # not a JSON object: the refusal is recorded without them
        return None
