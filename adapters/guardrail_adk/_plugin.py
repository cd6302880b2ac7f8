"""``GuardrailPlugin``: every tool call of an ADK runner governed, one line in the ``App``.

``App(root_agent=agent, plugins=[GuardrailPlugin(guard)])``. The plugin

- narrows what the model is shown per user (``before_model_callback``): tools the
  user may not call are left out of the request, argument schemas narrowed;
- answers each tool call itself (``before_tool_callback``): the call goes through
  ``guard.arun`` and the tool's own ``run_async``, so a refusal is an ADK
  ``{"error": ...}`` response the model reads, and every call (a hidden tool's, an
  unknown name's) is audited. ``after_tool_callback``s still see the result.

Its place among the plugins does not matter, except that a plugin with its own
``before_tool_callback`` must not come before it (refused when a run starts):
see :mod:`guardrail_adk._order`.
"""

from __future__ import annotations

import inspect
from typing import Any

from google.adk.agents.callback_context import CallbackContext
from google.adk.agents.invocation_context import InvocationContext
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.plugins.base_plugin import BasePlugin
from google.adk.tools.base_tool import BaseTool
from google.adk.tools.tool_context import ToolContext
from google.genai import types

from guardrail import AuthenticationError, Guard, GuardrailDenied, PermissionDenied, Principal
from guardrail.adapters import OnDenied
from guardrail_adk._denial import denial
from guardrail_adk._identity import UserDirectory, principal_of
from guardrail_adk._order import before_tool_of_later, check_order
from guardrail_adk._tool import GuardedTool, json_schema, same_tool


class GuardrailPlugin(BasePlugin):
    """Governs every tool call of the runner it is added to (first among plugins, or anywhere
    after plugins that have no ``before_tool_callback``).

    ``users`` maps a session's ``user_id`` to its :class:`~guardrail.Principal`
    (see :mod:`guardrail_adk._identity` for the other identity sources).
    ``on_denied="raise"`` ends the run with the guardrail error instead of
    answering the model. ``flat=True`` keeps ``anyOf``/``allOf`` off schema roots.
    """

    def __init__(
        self,
        guard: Guard,
        *,
        users: UserDirectory | None = None,
        on_denied: OnDenied = "result",
        flat: bool = False,
        name: str = "guardrail",
    ) -> None:
        super().__init__(name=name)
        self.guard, self.users, self.on_denied, self.flat = guard, users, on_denied, flat
        self._guarded: dict[str, GuardedTool] = {}  # by tool name

    async def before_run_callback(
        self, *, invocation_context: InvocationContext
    ) -> types.Content | None:
        check_order(self, invocation_context.plugin_manager.plugins)
        return None

    # -- what the model is shown ----------------------------------------------------

    async def before_model_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest
    ) -> LlmResponse | None:
        try:
            principal = await principal_of(self.guard, callback_context, self.users)
        except AuthenticationError:
            principal, hide_all = None, True
        else:
            hide_all = False
        for tool in llm_request.config.tools or ():
            declarations = getattr(tool, "function_declarations", None)
            if isinstance(tool, types.Tool) and declarations:
                shown = (None if hide_all else self._shown(d, principal) for d in declarations)
                tool.function_declarations = [d for d in shown if d is not None]
        return None

    def _shown(
        self, declaration: types.FunctionDeclaration, principal: Principal | None
    ) -> types.FunctionDeclaration | None:
        schema = json_schema(declaration)
        name = declaration.name or ""
        narrowed = self.guard.narrowed_schema(name, schema, principal, flat=self.flat)
        if narrowed is None:
            return None
        if narrowed == schema:
            return declaration
        update = {"parameters_json_schema": narrowed, "parameters": None}
        return declaration.model_copy(update=update)

    # -- running a call ---------------------------------------------------------------

    async def before_tool_callback(
        self, *, tool: BaseTool, tool_args: dict[str, Any], tool_context: ToolContext
    ) -> dict[str, Any] | None:
        if isinstance(tool, GuardedTool) and tool.guard is self.guard:
            tool = tool.wrapped  # guard.wrap(tool) in the agent's tools: check it once, here
        if type(tool) is BaseTool:  # ADK's stand-in for a name the agent does not have
            return await self._unknown(tool.name, tool_args, tool_context)
        if await _waits_for_a_human(tool, tool_args, tool_context):
            return None  # ADK asks (or reports the rejection); the tool does not run
        governed = self._governed(tool)
        try:
            result = await governed.run_guarded_call(tool_args, tool_context, self._hooks)
        except Exception as error:
            recovered = await _recovered(tool, tool_args, tool_context, error)
            if recovered is None:
                raise
            return recovered
        answer: dict[str, Any] = _answer(tool, result)
        return answer

    async def _hooks(self, tool: BaseTool, args: dict[str, Any], context: ToolContext) -> Any:
        """What ADK skips once this plugin answers: later plugins', then the agent's callbacks."""
        answer = await before_tool_of_later(self, tool, args, context)
        return answer if answer is not None else await _agent_hooks(tool, args, context)

    def _governed(self, tool: BaseTool) -> GuardedTool:
        governed = self._guarded.get(tool.name)
        if governed is None or not same_tool(governed.wrapped, tool):
            governed = GuardedTool(tool, self.guard, on_denied=self.on_denied, users=self.users)
            self._guarded[tool.name] = governed
        return governed

    async def _unknown(
        self, name: str, args: dict[str, Any], context: ToolContext
    ) -> dict[str, Any]:
        refusal: GuardrailDenied = PermissionDenied(
            f"this agent has no tool named {name!r}", tool=name
        )
        try:
            principal = await principal_of(self.guard, context, self.users)
        except AuthenticationError as exc:
            principal, refusal = None, exc
        await self.guard.arefuse(
            name, refusal, args, principal=principal, tool_call_id=context.function_call_id
        )
        if self.on_denied == "raise":
            raise refusal
        return denial(refusal)


async def _waits_for_a_human(tool: BaseTool, args: dict[str, Any], context: ToolContext) -> bool:
    if await tool.check_require_confirmation(args, context) is not True:
        return False
    confirmation = context.tool_confirmation
    return confirmation is None or not confirmation.confirmed


async def _agent_hooks(tool: BaseTool, args: dict[str, Any], context: ToolContext) -> Any:
    """The agent's own ``before_tool_callback``s (skipped by ADK once a plugin answers).

    They run after the guard allowed the call; the first that answers is the result.
    """
    return await _agent_callbacks("before_tool_callback", context, tool=tool, args=args)


async def _agent_callbacks(field: str, context: ToolContext, **arguments: Any) -> Any:
    """The agent's callbacks in ``field`` (one or a list), as ADK calls them: first answer wins."""
    agent = context.get_invocation_context().agent
    hooks: Any = getattr(agent, field, None)
    for hook in hooks if isinstance(hooks, list) else [hooks] if hooks else []:
        answer = hook(tool_context=context, **arguments)
        answer = await answer if inspect.isawaitable(answer) else answer
        if answer is not None:
            return answer
    return None


async def _recovered(
    tool: BaseTool, args: dict[str, Any], context: ToolContext, error: Exception
) -> dict[str, Any] | None:
    """What the runner's ``on_tool_error_callback`` plugins, then the agent's own, make of a
    failed tool (ADK's order; it skips both once a plugin answered the call)."""
    plugins = context.get_invocation_context().plugin_manager
    answer: dict[str, Any] | None = await plugins.run_on_tool_error_callback(
        tool=tool, tool_args=args, tool_context=context, error=error
    )
    if answer is None:
        answer = await _agent_callbacks(
            "on_tool_error_callback", context, tool=tool, args=args, error=error
        )
    return answer


def _answer(tool: BaseTool, result: Any) -> Any:
    # ``None`` would tell ADK to run the tool itself; answer with what ADK would build.
    if result is None:
        return {} if tool.is_long_running else {"result": None}
    return result
