"""``GuardrailHooks``: CrewAI's tool-call hooks, so every tool call of every crew is governed.

CrewAI calls each ``before_tool_call`` hook with a ``ToolCallHookContext`` (the
tool, its input, the agent, task and crew) before it runs a tool. The hook

- hands the call its identity from that context (``users(context)``) when the
  tool is guarded (``guard.wrap`` / ``guard.visible``): the guarded tool runs the
  call through the guard and answers a refusal with text the model reads;
- makes each guarded call's input unique, so CrewAI's result cache never answers
  a call the guard did not see;
- blocks a tool that is not guarded (``govern_all=True``, the default) and
  records the refusal, so no tool of a crew escapes the guard.

A hook that raises is logged by CrewAI and the tool runs anyway: this hook never
raises; when it fails it blocks the call.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from types import TracebackType
from typing import Any

from crewai.hooks import (
    register_after_tool_call_hook,
    register_before_tool_call_hook,
    unregister_after_tool_call_hook,
    unregister_before_tool_call_hook,
)
from crewai.hooks.tool_hooks import ToolCallHookContext

from guardrail import AuthenticationError, Guard, PermissionDenied, Principal
from guardrail_crewai._tool import GuardedTool, hand_off, policy_name, take_handoff

log = logging.getLogger("guardrail.crewai")

CALL_KEY = "guardrail_call"
"""Added to each guarded call's input by the hook (never reaches the tool or the policy)."""

CrewUsers = Callable[[ToolCallHookContext], Principal | None]
"""Who a call is made as, from CrewAI's hook context (its crew, agent or task)."""


class GuardrailHooks:
    """Installs guardrail's ``before_tool_call``/``after_tool_call`` hooks (process-wide).

    ``with GuardrailHooks(guard, users=...):`` or ``hooks.install()`` /
    ``hooks.uninstall()``. CrewAI's hooks are global, so install one per process.
    """

    def __init__(
        self, guard: Guard, *, users: CrewUsers | None = None, govern_all: bool = True
    ) -> None:
        self.guard, self.users, self.govern_all = guard, users, govern_all

    def install(self) -> GuardrailHooks:
        register_before_tool_call_hook(self.before_tool_call)
        register_after_tool_call_hook(self.after_tool_call)
        return self

    def uninstall(self) -> None:
        unregister_before_tool_call_hook(self.before_tool_call)
        unregister_after_tool_call_hook(self.after_tool_call)

    def __enter__(self) -> GuardrailHooks:
        return self.install()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.uninstall()

    def before_tool_call(self, context: ToolCallHookContext) -> bool | None:
        try:
            return self._before(context)
        except Exception:
            log.exception("guardrail hook failed: blocking %r", context.tool_name)
            return False

    def after_tool_call(self, context: ToolCallHookContext) -> None:
        guarded = _guarded(context)
        if guarded is not None:
            take_handoff(guarded)  # the call is over: nothing may carry its identity on
        return None

    def _before(self, context: ToolCallHookContext) -> bool | None:
        guarded = _guarded(context)
        if guarded is None:
            return self._block(context) if self.govern_all else None
        # CrewAI 1.6.1 answers a repeated input from its cache without running the tool
        # (and ignores the tool's cache_function there): a unique input reaches the guard.
        # The key is not in the tool's schema, so CrewAI drops it before the call.
        context.tool_input[CALL_KEY] = uuid.uuid4().hex
        if self.users is not None and guarded.guard is self.guard:
            try:
                hand_off(guarded, self.users(context))
            except AuthenticationError as exc:
                hand_off(guarded, exc)
        return None

    def _block(self, context: ToolCallHookContext) -> bool:
        name = policy_name(context.tool_name)
        refusal = PermissionDenied(
            f"tool {context.tool_name!r} is not governed by guardrail (wrap it with guard.wrap)",
            tool=name,
        )
        try:
            who = self.users(context) if self.users is not None else None
        except AuthenticationError:
            who = None
        self.guard.refuse(name, refusal, dict(context.tool_input), principal=who)
        return False


def _guarded(context: ToolCallHookContext) -> GuardedTool | None:
    # CrewAI runs a CrewStructuredTool whose func is the tool's bound ``_run``.
    owner: Any = getattr(getattr(context.tool, "func", None), "__self__", None)
    return owner if isinstance(owner, GuardedTool) else None
