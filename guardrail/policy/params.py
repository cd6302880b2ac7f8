"""A registered tool's parameters and their JSON types, as the policy sees them."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from guardrail.policy.regions import ToolParams

if TYPE_CHECKING:
    from guardrail.tools import ToolSpec

_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def tool_params(spec: ToolSpec) -> ToolParams | None:
    """The tool's parameters, or ``None`` when its binder does not say (then nothing is assumed).

    A Python function gives its signature, typed by its argument model; a framework
    tool gives its declared names (``NamedArgBinder.names``) or, when the binder
    has one, its ``input_schema``.
    """
    binder = spec.binder
    if binder is None:
        return None
    schema = getattr(binder, "input_schema", None)
    if isinstance(schema, Mapping):
        return _from_schema(schema)
    params = getattr(binder, "params", None)
    if isinstance(params, list):
        return _from_signature(params, getattr(binder, "model", None))
    names = tuple(getattr(binder, "names", ()) or ())
    if not names:
        return None
    return ToolParams(dict.fromkeys(names, None), open="kwargs" in names)


def _from_signature(params: list[inspect.Parameter], model: Any) -> ToolParams:
    named = [p.name for p in params if p.kind not in _VARIADIC]
    open_ = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)
    properties: Mapping[str, Any] = {}
    if model is not None:
        try:
            properties = model.model_json_schema().get("properties", {})
        except Exception:  # an argument type pydantic cannot describe: types stay unknown
            properties = {}
    types = {name: _types(properties.get(name)) for name in named}
    return ToolParams(types, open=open_)


def _from_schema(schema: Mapping[str, Any]) -> ToolParams | None:
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return None
    # Undeclared names count as not taken unless the schema says otherwise: a rule
    # on an argument a tool's schema does not list is almost always a mistake.
    extra = schema.get("additionalProperties")
    open_ = extra is True or isinstance(extra, Mapping)
    return ToolParams({name: _types(prop) for name, prop in properties.items()}, open=open_)


def _types(prop: Any) -> tuple[str, ...] | None:
    """The JSON types a property schema admits (``None``: any, or not known)."""
    if not isinstance(prop, Mapping):
        return None
    declared = prop.get("type")
    if isinstance(declared, str):
        return (declared,)
    if isinstance(declared, list) and all(isinstance(t, str) for t in declared):
        return tuple(declared)
    branches = prop.get("anyOf") or prop.get("oneOf")
    if isinstance(branches, list) and branches:
        found: list[str] = []
        for branch in branches:
            types = _types(branch)
            if types is None:
                return None
            found.extend(t for t in types if t not in found)
        return tuple(found)
    return None
