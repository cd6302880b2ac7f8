"""Calls of tools a user was not shown: refused by pydantic-ai, recorded by the guard.

A tool :class:`~guardrail_pydantic_ai.GuardedToolset` leaves out of a user's
``get_tools`` is unknown to the run, so a model that calls it anyway never reaches
the toolset: pydantic-ai answers the call itself ("Unknown tool name", a retry).
That answer is in the run's history when the run next asks the toolset for its
tools (before its next model request), so ``get_tools`` records each such call of
a tool it hid as a refusal: an audit record and span, like every other refusal.

A run that ends at such a call (pydantic-ai raising ``UnexpectedModelBehavior``
once the model used up the unknown tool's retries) never lists its tools again:
the run's own copy of the toolset (``for_run``) keeps its latest :class:`Listing`,
and when the run exits, the calls of hidden tools its last messages hold are
recorded then (each call once, whichever way it is seen).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterator
from itertools import chain
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.messages import (
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    ToolCallPart,
    ToolReturnPart,
)

from guardrail import AuthenticationError, Guard, GuardrailDenied, PermissionDenied, Principal

_REMEMBERED = 4096
"""Calls recorded lately (a step may list its tools more than once): never twice."""


@dataclasses.dataclass
class Listing:
    """What one run's latest ``get_tools`` hid, and from whom."""

    ctx: RunContext[Any] | None = None
    hidden: Collection[str] = ()
    who: Principal | None = None
    failure: AuthenticationError | None = None

    def saw(
        self,
        ctx: RunContext[Any],
        hidden: Collection[str],
        who: Principal | None,
        failure: AuthenticationError | None = None,
    ) -> None:
        self.ctx, self.hidden, self.who, self.failure = ctx, hidden, who, failure


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
        await self._refuse(guard, ctx, _unknown_calls(ctx, hidden), who, failure)

    async def record_last(self, guard: Guard, listing: Listing) -> None:
        """At the run's end: refuse (audit) each call of a tool its latest listing hid
        that the run answered as unknown, or, ending there, never answered."""
        ctx = listing.ctx
        if ctx is not None:
            calls = chain(_unknown_calls(ctx, listing.hidden), _unanswered(ctx, listing.hidden))
            await self._refuse(guard, ctx, calls, listing.who, listing.failure)

    async def _refuse(
        self,
        guard: Guard,
        ctx: RunContext[Any],
        calls: Iterator[tuple[str, str, dict[str, Any] | None]],
        who: Principal | None,
        failure: AuthenticationError | None,
    ) -> None:
        for call_id, name, args in calls:
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


def _unanswered(
    ctx: RunContext[Any], hidden: Collection[str]
) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(call id, tool, arguments) of the calls of ``hidden`` tools in the run's last
    response that no later message answers (the run ended there)."""
    answered: set[str] = set()
    for message in reversed(ctx.messages):
        if isinstance(message, ModelRequest):
            answered.update(
                p.tool_call_id
                for p in message.parts
                if isinstance(p, ToolReturnPart | RetryPromptPart)
            )
            continue
        if ctx.run_id is not None and message.run_id not in (None, ctx.run_id):
            return  # an earlier run's response, passed in as history
        for part in message.parts:
            if not isinstance(part, ToolCallPart) or part.tool_call_id in answered:
                continue
            if part.tool_name in hidden:
                yield part.tool_call_id, part.tool_name, _arguments(part)
        return


def _arguments(call: ToolCallPart | None) -> dict[str, Any] | None:
    if call is None:
        return None
    try:
        return call.args_as_dict()
    except ValueError:  # not a JSON object: the refusal is recorded without them
        return None
