"""Template for a guardrail framework adapter (see ../README.md). Not packaged."""

from __future__ import annotations

from typing import Any

# import my_framework  # at module top, so a framework that fails to import skips the adapter
from guardrail import Guard, GuardrailDenied, Principal
from guardrail.adapters import Adapter, GuardedWrapper, NamedArgBinder, OnDenied


class TemplateArgs(NamedArgBinder):
    """Turns the framework's call input into named arguments (what the policy sees)."""

    def bind(self, args: tuple[Any, ...], kwargs: Any) -> dict[str, Any]:
        return dict(kwargs)


class GuardedTemplateTool(GuardedWrapper[Any]):
    """One framework tool governed by a guard: translation only."""

    def __init__(self, wrapped: Any, guard: Guard, *, on_denied: OnDenied = "result") -> None:
        self.wrapped, self.guard, self.on_denied = wrapped, guard, on_denied
        guard.register(wrapped.run, name=wrapped.name, binder=TemplateArgs())

    def run(self, **arguments: Any) -> Any:
        # The framework's run context gives the principal; here: the current one.
        return self.run_guarded(
            self.wrapped.name, arguments, invoke=lambda a: self.wrapped.run(**a)
        )

    def denial(self, refusal: GuardrailDenied) -> Any:
        return f"refused: {refusal.reason}"  # the framework's error result shape


class TemplateAdapter(Adapter):
    """Replace ``object`` below with the framework's tool type."""

    name = "template"
    extra = None  # e.g. "myframework": pip install "guardrail-sdk[myframework]"
    requires = {"guardrail": "0.1"}  # e.g. {"my-framework": "2.0"}

    def supports(self, obj: Any) -> bool:
        return False  # isinstance(obj, my_framework.Tool)

    def wrap(self, obj: Any, guard: Guard) -> Any:
        return GuardedTemplateTool(obj, guard)

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        raise NotImplementedError("show guard.narrowed_schema(name, schema, principal); None hides")
