"""How a tool function is inspected: its signature, its argument model, what calling it
runs (helpers of :mod:`guardrail.tools`)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, create_model

from guardrail._varparams import ARGS_CONFIG


def signature_of(fn: Callable[..., Any]) -> inspect.Signature:
    """The signature with string annotations (``from __future__ import annotations``)
    evaluated where possible, so ``Annotated[float, AllowInfNan()]`` is seen."""
    try:
        return inspect.signature(fn, eval_str=True)
    except Exception:  # a name only imported under TYPE_CHECKING: keep the strings
        return inspect.signature(fn)


def args_model(name: str, params: list[inspect.Parameter]) -> type[BaseModel] | None:
    fields: dict[str, Any] = {}
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = Any if param.annotation is param.empty else param.annotation
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (annotation, default)
    if not fields or all(p.annotation is p.empty for p in params):
        return None
    model: type[BaseModel] = create_model(f"{name}_args", __config__=ARGS_CONFIG, **fields)
    return model


def arity_message(name: str, duplicate: bool) -> str:
    if duplicate:
        return f"got multiple values for argument {name!r}"
    return f"unexpected argument {name!r}"


def body_kind(fn: Callable[..., Any]) -> tuple[bool, bool]:
    """``(is_async, generator)`` for what calling ``fn`` runs.

    A function, a method or a ``functools.partial`` of one is inspected itself; any
    other callable by its class's ``__call__`` (an object with ``async def __call__``
    or a generator ``__call__`` is an async or a generator tool, whose body must run
    inside the guard, not after it).
    """
    target: Any = fn
    if not (inspect.isfunction(fn) or inspect.ismethod(fn) or isinstance(fn, functools.partial)):
        target = type(fn).__call__
    asyncgen = inspect.isasyncgenfunction(target)
    generator = asyncgen or inspect.isgeneratorfunction(target)
    return asyncgen or inspect.iscoroutinefunction(target), generator
