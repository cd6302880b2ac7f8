"""Template for a guardrail framework adapter (see ../README.md). Not packaged."""

from __future__ import annotations

from typing import Any

# import my_framework  # at module top, so a missing framework skips the adapter
from guardrail import Guard, Principal
from guardrail.adapters import Adapter


class TemplateAdapter(Adapter):
    """Replace ``object`` below with the framework's tool type."""

    name = "template"
    extra = None  # e.g. "myframework": pip install "guardrail[myframework]"
    requires = {"guardrail": "0.1"}  # e.g. {"my-framework": "2.0"}

    def supports(self, obj: Any) -> bool:
        return False  # isinstance(obj, my_framework.Tool)

    def wrap(self, obj: Any, guard: Guard) -> Any:
        raise NotImplementedError("register the tool, run its calls through guard.engine")

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        raise NotImplementedError("show guard.narrowed_schema(name, schema, principal); None hides")
