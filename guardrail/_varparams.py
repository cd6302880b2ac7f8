"""``*args`` and ``**kwargs`` of a tool: flattened for the policy and validated.

``**kwargs`` entries become top-level arguments (the policy sees ``{"amount": 5}``,
not ``{"kwargs": {"amount": 5}}``); a key that shadows a named parameter is refused.
``*args`` stay one tuple under their parameter's name. Each value is validated
against the parameter's annotation, and made plain where the annotation leaves it
open (see :mod:`guardrail.values`).
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import ConfigDict, PydanticUserError, TypeAdapter, ValidationError

from guardrail.errors import ArgumentError
from guardrail.values import is_loose, plain_arguments

ARGS_CONFIG = ConfigDict(arbitrary_types_allowed=True, allow_inf_nan=False)
"""How tool arguments are validated: NaN and infinity refused unless a field says
``Annotated[float, AllowInfNan()]``."""


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one ``ArgumentError`` message (``"invalid arguments: a: ...; ..."``)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    return "invalid arguments: " + "; ".join(parts)


class VarParams:
    """``*args`` and ``**kwargs`` of a signature: flattened for the policy, validated
    against their annotation (each value), made plain where it leaves them open."""

    def __init__(self, params: list[inspect.Parameter], *, validate: bool) -> None:
        found = {p.kind: p for p in params if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        self.positional = found.get(inspect.Parameter.VAR_POSITIONAL)
        self.keyword = found.get(inspect.Parameter.VAR_KEYWORD)
        self.present = bool(found)
        self._adapters = {
            p.kind: _adapter(p.annotation)
            for p in found.values()
            if validate and not is_loose(p.annotation)
        }

    def flatten(self, arguments: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
        """``**kwargs`` entries as top-level arguments (refused if one shadows a name)."""
        if self.keyword is None:
            return arguments
        extra: dict[str, Any] = arguments.pop(self.keyword.name, {})
        for key, value in extra.items():
            if key in names:
                raise ArgumentError(
                    f"argument {key!r} is both a parameter and a **{self.keyword.name} key"
                )
            arguments[key] = value
        return arguments

    def validate(
        self, bound: dict[str, Any], names: tuple[str, ...], inf_nan: frozenset[str]
    ) -> dict[str, Any]:
        out = dict(bound)
        if self.positional is not None and self.positional.name in out:
            name = self.positional.name
            values = tuple(out[name])
            adapter = self._adapters.get(inspect.Parameter.VAR_POSITIONAL)
            if adapter is not None:
                values = tuple(_checked(adapter, v, f"{name}[{i}]") for i, v in enumerate(values))
            out[name] = values
            if adapter is None:
                out = plain_arguments(out, loose=(name,), allow_inf_nan=inf_nan)
        if self.keyword is not None:
            extras = [key for key in out if key not in names]
            adapter = self._adapters.get(inspect.Parameter.VAR_KEYWORD)
            if adapter is not None:
                out.update({key: _checked(adapter, out[key], key) for key in extras})
            else:
                allowed = frozenset(extras) if self.keyword.name in inf_nan else frozenset()
                out = plain_arguments(out, loose=extras, allow_inf_nan=allowed)
        return out


def _adapter(annotation: Any) -> TypeAdapter[Any]:
    try:
        return TypeAdapter(annotation, config=ARGS_CONFIG)
    except PydanticUserError:  # a BaseModel or dataclass carries its own config
        return TypeAdapter(annotation)


def _checked(adapter: TypeAdapter[Any], value: Any, where: str) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        message = validation_message(exc)
        raise ArgumentError(message.replace(": arguments:", f": {where}:", 1)) from None
