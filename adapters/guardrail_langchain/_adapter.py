"""The ``langchain`` adapter: ``guard.wrap`` and ``guard.visible`` for tools and toolkits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.tools import BaseTool, BaseToolkit

from guardrail import ConfigurationError, Guard, Principal, current_principal
from guardrail.adapters import Adapter, OnDenied
from guardrail_langchain._serve import ServedTool
from guardrail_langchain._tool import GuardedTool


class GuardedToolkit(BaseToolkit):
    """A toolkit whose ``get_tools()`` are guarded (a snapshot taken when wrapped)."""

    wrapped: BaseToolkit | None = None
    tools: list[BaseTool]

    def get_tools(self) -> list[BaseTool]:
        return list(self.tools)


def wrap(guard: Guard, obj: Any, *, on_denied: OnDenied = "result") -> Any:
    """Guard a tool, a toolkit (-> :class:`GuardedToolkit`), or a list/tuple of them."""
    if isinstance(obj, list | tuple):
        return type(obj)(wrap(guard, item, on_denied=on_denied) for item in obj)
    if isinstance(obj, BaseToolkit):
        inner = obj.wrapped if isinstance(obj, GuardedToolkit) else obj
        tools = [wrap(guard, tool, on_denied=on_denied) for tool in obj.get_tools()]
        return GuardedToolkit(wrapped=inner, tools=tools)
    if isinstance(obj, ServedTool) and obj.guard is guard:
        same = obj.on_denied == on_denied
        return obj if same else obj.model_copy(update={"on_denied": on_denied})
    if isinstance(obj, GuardedTool) and obj.guard is guard:
        return (
            obj if obj.on_denied == on_denied else obj.model_copy(update={"on_denied": on_denied})
        )
    if isinstance(obj, BaseTool):
        return GuardedTool.around(obj, guard, on_denied=on_denied)
    raise ConfigurationError(f"not a LangChain tool or toolkit: {type(obj).__name__}")


def visible(
    guard: Guard,
    obj: Any,
    principal: Principal | None = None,
    *,
    on_denied: OnDenied = "result",
    flat: bool = False,
) -> Any:
    """What ``principal`` may call: tools filtered, schemas narrowed, all guarded.

    A tool comes back as a :class:`GuardedTool` (narrowed when rules constrain its
    arguments) or ``None``; a toolkit as a :class:`GuardedToolkit` of the visible
    tools; a list or tuple with the hidden tools left out. ``flat=True`` keeps
    ``anyOf``/``allOf`` off schema roots, for model APIs that reject them.
    """
    who = principal if principal is not None else current_principal()
    if isinstance(obj, list | tuple):
        shown = (visible(guard, item, who, on_denied=on_denied, flat=flat) for item in obj)
        return type(obj)(item for item in shown if item is not None)
    if isinstance(obj, BaseToolkit):
        guarded = wrap(guard, obj, on_denied=on_denied)
        tools: Sequence[BaseTool] = visible(
            guard, guarded.get_tools(), who, on_denied=on_denied, flat=flat
        )
        return GuardedToolkit(wrapped=guarded.wrapped, tools=list(tools))
    tool: GuardedTool | ServedTool = wrap(guard, obj, on_denied=on_denied)
    if isinstance(tool, ServedTool):
        return tool.narrowed_for(who)
    return tool.narrowed_for(who, flat=flat)


class LangChainAdapter(Adapter):
    """Registered under the ``guardrail.adapters`` entry point ``langchain``.

    For other defaults, register your own instance (tried before entry points):
    ``guardrail.adapters.registry.register(LangChainAdapter(on_denied="raise", flat=True))``.
    """

    name = "langchain"
    extra = "langchain"
    requires = {"langchain-core": "1.0"}

    def __init__(self, *, on_denied: OnDenied = "result", flat: bool = False) -> None:
        self.on_denied: OnDenied = on_denied
        self.flat = flat

    def supports(self, obj: Any) -> bool:
        return isinstance(obj, BaseTool | BaseToolkit)

    def wrap(self, obj: Any, guard: Guard, *, on_denied: OnDenied | None = None) -> Any:
        return wrap(guard, obj, on_denied=on_denied or self.on_denied)

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        return visible(guard, obj, principal, on_denied=self.on_denied, flat=self.flat)
