"""Who a call is made as: :class:`Principal` and the current-principal context."""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from guardrail._context import ContextBinding
from guardrail._frozen import frozen

P = ParamSpec("P")
R = TypeVar("R")


class Principal(BaseModel):
    """A verified user (or workload) on whose behalf a tool runs.

    ``token`` keeps the raw bearer token so a tool can call downstream systems as
    the user; it is a ``SecretStr`` and never appears in audit records or spans.
    ``attributes`` are read-only (nested dicts and lists too): a changed principal
    is a new one (``model_copy(update=...)``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    subject: str = Field(min_length=1)
    org: str | None = None
    teams: tuple[str, ...] = ()
    roles: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    attributes: Mapping[str, Any] = Field(default_factory=dict)
    issuer: str | None = None
    actor: str | None = None
    """Who acts for ``subject``: the ``act.sub`` claim of a delegated token (RFC 8693),
    e.g. the agent a token service exchanged the user's token for."""
    token: SecretStr | None = Field(default=None, repr=False)
    expires_at: float | None = None

    @field_validator("attributes", mode="after")
    @classmethod
    def _read_only(cls, attributes: Mapping[str, Any]) -> Mapping[str, Any]:
        # Copied read-only: decisions and budget plans are memoised per principal
        # object, so what they were decided on must not change in place afterwards.
        read_only: Mapping[str, Any] = frozen(dict(attributes))
        return read_only

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy; with ``update``, validated like a new principal (so its attributes are
        read-only too: pydantic's own copy would take them as given)."""
        if update:
            return type(self)(**{**dict(self), **update})
        return super().model_copy(deep=deep)

    def __hash__(self) -> int:
        return hash((self.subject, self.org, self.issuer, self.teams))

    def describe(self) -> str:
        """A short human form for error messages: ``alice (org acme)``."""
        return f"{self.subject} (org {self.org})" if self.org else self.subject


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "guardrail_principal", default=None
)


def bind_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    """Make ``principal`` current (the pipeline does this while a tool body runs)."""
    return _current.set(principal)


def unbind_principal(token: contextvars.Token[Principal | None]) -> None:
    _current.reset(token)


def current_principal() -> Principal | None:
    """The principal bound by the innermost ``acting_as`` in this context, if any."""
    return _current.get()


class ActingAs(ContextBinding[Principal]):
    """Binds a principal for a ``with`` or ``async with`` block.

    The binding lives in a ContextVar: asyncio tasks created inside the block see
    it; threads do not unless the callable is wrapped with :func:`carry_principal`.
    """

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        super().__init__(_current, principal)


def carry_principal(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap ``fn`` so it runs with the current principal, e.g. in a thread pool.

    ``executor.submit(carry_principal(work), ...)``: the context is captured now,
    when the wrapper is made, not when the worker thread runs it.
    """
    principal = _current.get()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        token = _current.set(principal)
        try:
            return fn(*args, **kwargs)
        finally:
            _current.reset(token)

    return run
