"""``GuardedToolset``: any pydantic-ai toolset, listed and called per user through a guard.

A ``WrapperToolset`` (so it composes with pydantic-ai's own: prefixed, filtered,
MCP servers, ...): ``get_tools`` shows the run's user only the tools they may
call, with schemas narrowed to what the policy allows them; ``call_tool`` runs
each call through ``guard.arun`` as that user. A refusal raises ``ToolFailed``:
the model gets a failed tool result saying why, without using up retries. A call of
a tool the user was not shown is answered by pydantic-ai ("Unknown tool name") and
recorded as a refusal when the run next lists its tools (``_hidden.py``).

With ``approvals="defer"`` a call an ``approve`` rule holds raises pydantic-ai's own
``ApprovalRequired`` instead (metadata: the guardrail request), so the run ends
with ``DeferredToolRequests``. An approver decides through ``guard.approvals``; the
next run passes ``DeferredToolResults(approvals={call_id: True})`` and the call
goes through the guard again: it runs once on the grant. Approving the deferred
call is not an approval: still held, it is refused (``ToolFailed``) naming the
request; edited arguments (``ToolApproved(override_args=...)``) are a new request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic_ai import RunContext, ToolFailed
from pydantic_ai.exceptions import ApprovalRequired as DeferForApproval
from pydantic_ai.toolsets import AbstractToolset, ToolsetTool, WrapperToolset

from guardrail import (
    ApprovalRequired,
    AuthenticationError,
    Guard,
    GuardrailDenied,
    Principal,
)
from guardrail.adapters import (
    GuardedWrapper,
    NamedArgBinder,
    OnDenied,
    denial_text,
    principal_from_context,
    stand_in,
    stands_in,
)
from guardrail_pydantic_ai._hidden import HiddenCalls, Listing

_OWNER = "guardrail_pydantic_ai"
Approvals = Literal["refuse", "defer"]


class ToolArgs(NamedArgBinder):
    """A toolset tool's arguments: the dict pydantic-ai validated, as the policy sees it."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        properties = schema.get("properties")
        super().__init__(properties if isinstance(properties, Mapping) else ())

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        return dict(kwargs)


@dataclasses.dataclass
class GuardedToolset(WrapperToolset[Any], GuardedWrapper[AbstractToolset[Any]]):
    """``wrapped`` governed by ``guard``. The user is read from ``RunContext.deps``."""

    guard: Guard = dataclasses.field(kw_only=True, repr=False)
    on_denied: OnDenied = dataclasses.field(kw_only=True, default="result")
    approvals: Approvals = dataclasses.field(kw_only=True, default="refuse")
    # Shared by the copies pydantic-ai makes per run and step (``replace`` carries it).
    hidden_calls: HiddenCalls = dataclasses.field(
        kw_only=True, default_factory=HiddenCalls, repr=False, compare=False
    )
    # One per run (``for_run``), carried into the run's step copies.
    listing: Listing = dataclasses.field(
        kw_only=True, default_factory=Listing, repr=False, compare=False
    )

    async def for_run(self, ctx: RunContext[Any]) -> GuardedToolset:
        """This run's copy: it keeps what the run's latest listing hid."""
        inner = await self.wrapped.for_run(ctx)
        return dataclasses.replace(self, wrapped=inner, listing=Listing())

    async def __aexit__(self, *exc: Any) -> bool | None:
        """A run may end at a hidden tool's call, never listed again: record it."""
        try:
            await self.hidden_calls.record_last(self.guard, self.listing)
        finally:
            exited = await super().__aexit__(*exc)
        return exited

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        """The tools the run's user may call; calls of those hidden before are recorded."""
        tools = await self.wrapped.get_tools(ctx)
        try:
            who = principal_from_context(self.guard, ctx.deps)
        except AuthenticationError as exc:
            self.listing.saw(ctx, tools.keys(), None, exc)
            await self.hidden_calls.record(self.guard, ctx, tools, None, exc)
            return {}  # no verified user: nothing to show
        shown = self.visible_to(tools, who)
        hidden = tools.keys() - shown.keys()
        self.listing.saw(ctx, hidden, who)
        await self.hidden_calls.record(self.guard, ctx, hidden, who)
        return shown

    def visible_to(
        self, tools: Mapping[str, ToolsetTool[Any]], who: Principal | None
    ) -> dict[str, ToolsetTool[Any]]:
        """``tools`` as ``who`` is shown them: hidden ones left out, schemas narrowed."""
        shown = {}
        for name, tool in tools.items():
            schema = tool.tool_def.parameters_json_schema
            register_tool(self.guard, name, tool.tool_def.description or "", schema)
            narrowed = self.guard.narrowed_schema(name, schema, who)
            if narrowed is None:
                continue
            if narrowed != schema:
                tool_def = dataclasses.replace(tool.tool_def, parameters_json_schema=narrowed)
                tool = dataclasses.replace(tool, tool_def=tool_def)
            shown[name] = tool
        return shown

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        try:
            who = principal_from_context(self.guard, ctx.deps)
        except AuthenticationError as exc:
            return await self.arefuse_guarded(name, exc, tool_args, tool_call_id=ctx.tool_call_id)
        return await self.guard.arun(
            name,
            tool_args,
            principal=who,
            tool_call_id=ctx.tool_call_id,
            invoke=lambda _: self.wrapped.call_tool(name, tool_args, ctx, tool),
            denied=lambda refusal: self._denied_in(refusal, ctx),
        )

    def _denied_in(self, refusal: GuardrailDenied, ctx: RunContext[Any]) -> Any:
        # A held call defers the run, unless this is the resumed call: approving the
        # deferred call is not a grant, so then the refusal is what the model reads.
        held = isinstance(refusal, ApprovalRequired) and refusal.request_id is not None
        if held and self.approvals == "defer" and not ctx.tool_call_approved:
            assert isinstance(refusal, ApprovalRequired)
            raise DeferForApproval(metadata={"guardrail": _request_of(refusal)}) from refusal
        return self.denied(refusal)

    def denial(self, refusal: GuardrailDenied) -> ToolFailed:
        """The failed tool result the model reads: why, and whether to retry."""
        failed = ToolFailed(denial_text(refusal))
        failed.__cause__ = refusal
        return failed

    def denied(self, refusal: GuardrailDenied) -> Any:
        if self.on_denied == "raise":
            raise refusal
        raise self.denial(refusal)


def _request_of(held: ApprovalRequired) -> dict[str, Any]:
    return {
        "request_id": held.request_id,
        "digest": held.digest,
        "expires": held.expires,
        "rule": held.rule,
    }


def register_tool(guard: Guard, name: str, description: str, schema: Mapping[str, Any]) -> None:
    """Register ``name`` with ``guard`` (a newer listing from this adapter replaces an older)."""
    known = guard.tools.get(name)
    ours = known is not None and stands_in(known.fn, _OWNER)
    if ours and known is not None and known.description == description:
        return
    guard.register(
        _placeholder(name),
        name=name,
        description=description,
        binder=ToolArgs(schema),
        replace=ours,
    )


def _placeholder(name: str) -> Callable[..., Any]:
    return stand_in(name, _OWNER, f"{name!r} is a pydantic-ai tool: an agent run calls it")
