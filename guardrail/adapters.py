"""The adapter API: everything a framework adapter needs, and nothing of the engine.

An adapter translates. It registers each framework tool with
:meth:`Guard.register <guardrail.Guard.register>` (with a :class:`NamedArgBinder`
that turns the framework's input into named arguments), runs each call through
:meth:`Guard.run <guardrail.Guard.run>` / :meth:`~guardrail.Guard.arun`, records
refusals it decides itself with :meth:`~guardrail.Guard.refuse`, and shows each
principal the schema :meth:`~guardrail.Guard.narrowed_schema` returns.

Each framework object is wrapped by a thin subclass of :class:`GuardedWrapper`
(delegating to the wrapped object everything it does not govern, like
pydantic-ai's ``WrapperToolset``), which says only what a refusal looks like in
that framework (:meth:`GuardedWrapper.denial`). ``on_denied`` is the same word in
every adapter: ``"result"`` (the framework's error result, which the model reads)
or ``"raise"`` (the :class:`~guardrail.GuardrailDenied` itself).

An :class:`Adapter` plugs a framework into ``guard.wrap`` / ``guard.visible``; it
is registered under the ``guardrail.adapters`` entry-point group.

.. versionadded:: 0.2
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from guardrail._denial import denial_details, denial_text
from guardrail._registry import Adapter, AdapterRegistry, AdapterWarning, registry
from guardrail._run_identity import (
    PRINCIPAL_KEY,
    TOKEN_KEY,
    HasPrincipal,
    principal_from_context,
)
from guardrail.auth.exchanged import ExchangedToken
from guardrail.auth.token_cache import scope_set
from guardrail.downstream import record_delegation
from guardrail.errors import ConfigurationError, GuardrailDenied
from guardrail.tools import NamedArgBinder, ToolSpec, validation_message

if TYPE_CHECKING:
    from guardrail.guard import Guard

__all__ = [
    "PRINCIPAL_KEY",
    "TOKEN_KEY",
    "Adapter",
    "AdapterRegistry",
    "AdapterWarning",
    "ExchangedToken",
    "GuardedWrapper",
    "HasPrincipal",
    "NamedArgBinder",
    "OnDenied",
    "ToolSpec",
    "denial_details",
    "denial_text",
    "principal_from_context",
    "record_delegation",
    "registry",
    "scope_set",
    "stand_in",
    "stands_in",
    "validation_message",
]

W = TypeVar("W")
OnDenied = Literal["result", "raise"]
"""What a wrapper does with a refusal: ``"result"`` returns the framework's error result
(what the model reads, so the run goes on); ``"raise"`` raises the guardrail error."""


class GuardedWrapper(Generic[W]):
    """Base of every adapter wrapper: ``wrapped`` governed by ``guard``.

    Subclasses set ``wrapped``, ``guard`` and ``on_denied`` (as attributes or
    fields) and implement :meth:`denial`. Attributes the wrapper does not define
    are the wrapped object's. The ``*_guarded`` helpers run or refuse a call
    through the guard and turn this call's refusal into :meth:`denied`.
    """

    wrapped: W
    guard: Guard
    on_denied: OnDenied

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not found normally: those are the wrapped object's.
        # Private names and ``wrapped`` itself (not set yet) are never delegated.
        if name.startswith("_") or name == "wrapped":
            parent = getattr(super(), "__getattr__", None)
            if parent is not None:
                return parent(name)
            raise AttributeError(name)
        return getattr(self.wrapped, name)

    def denial(self, refusal: GuardrailDenied) -> Any:
        """The refusal in the framework's error shape (what the model reads)."""
        raise NotImplementedError

    def denied(self, refusal: GuardrailDenied) -> Any:
        """What a caller gets for a refusal: :meth:`denial`, or the error raised."""
        if self.on_denied == "raise":
            raise refusal
        return self.denial(refusal)

    def run_guarded(
        self, tool: str, kwargs: Mapping[str, Any] | None = None, **options: Any
    ) -> Any:
        """``guard.run(tool, kwargs, **options)``, a refusal of it answered by :meth:`denied`."""
        return self.guard.run(tool, kwargs, denied=self.denied, **options)

    async def arun_guarded(
        self, tool: str, kwargs: Mapping[str, Any] | None = None, **options: Any
    ) -> Any:
        return await self.guard.arun(tool, kwargs, denied=self.denied, **options)

    def refuse_guarded(
        self,
        tool: str,
        refusal: GuardrailDenied,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        """Record a refusal the adapter decided (``guard.refuse``) and answer it."""
        return self.denied(self.guard.refuse(tool, refusal, kwargs, **options))

    async def arefuse_guarded(
        self,
        tool: str,
        refusal: GuardrailDenied,
        kwargs: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        return self.denied(await self.guard.arefuse(tool, refusal, kwargs, **options))


_STAND_IN = "__guardrail_stand_in__"


def stand_in(name: str, owner: str, message: str) -> Callable[..., Any]:
    """What ``guard.register`` keeps for a tool its framework runs (an MCP tool, an agent
    SDK's tool): the guard decides and records the calls the adapter hands it, and a
    call of the stand-in itself raises ``message``. ``owner`` names the adapter, so
    it can tell its own registrations from a local tool's (:func:`stands_in`)."""

    async def tool(**arguments: Any) -> Any:
        raise ConfigurationError(message)

    setattr(tool, _STAND_IN, owner)
    tool.__qualname__ = tool.__name__ = name.replace("/", "__")
    return tool


def stands_in(fn: object, owner: str) -> bool:
    """``fn`` is a :func:`stand_in` that ``owner`` registered."""
    return getattr(fn, _STAND_IN, None) == owner
