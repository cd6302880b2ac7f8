"""Who a framework run acts for: the one protocol every adapter reads its run context with.

A framework hands each tool call an application object (OpenAI Agents
``RunContextWrapper.context``, pydantic-ai ``RunContext.deps``, ...). guardrail
reads the caller's identity from it, never from model-supplied arguments:

- the object is a :class:`~guardrail.Principal`; or
- it has a ``guardrail_principal`` attribute or key holding one (:class:`HasPrincipal`); or
- it has a ``guardrail_token`` attribute or key: a bearer token (``str`` or
  ``SecretStr``) verified with ``guard.authenticate``.

Otherwise (``None``, or neither present) the call runs as ``guard.acting_as(...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pydantic import SecretStr

from guardrail.errors import ConfigurationError
from guardrail.identity import Principal

if TYPE_CHECKING:
    from guardrail.guard import Guard

PRINCIPAL_KEY = "guardrail_principal"
TOKEN_KEY = "guardrail_token"


@runtime_checkable
class HasPrincipal(Protocol):
    """A run context that names its user: ``guardrail_principal`` (``None``: ``acting_as``)."""

    @property
    def guardrail_principal(self) -> Principal | None: ...


def principal_from_context(guard: Guard, context: object) -> Principal | None:
    """The principal ``context`` names (see the module docs), or ``None`` for the current one.

    Raises :class:`~guardrail.AuthenticationError` for a token that fails
    verification and :class:`~guardrail.ConfigurationError` for a value of the
    wrong type (fail closed: a misconfigured context never runs as someone else).
    """
    if context is None or isinstance(context, Principal):
        return context
    who = _field(context, PRINCIPAL_KEY)
    if who is not None:
        if not isinstance(who, Principal):
            raise ConfigurationError(
                f"the run context's {PRINCIPAL_KEY!r} must be a guardrail.Principal, "
                f"not {type(who).__name__}; pass a bearer token as {TOKEN_KEY!r}"
            )
        return who
    token = _field(context, TOKEN_KEY)
    if token is None:
        return None
    if isinstance(token, SecretStr):
        token = token.get_secret_value()
    if not isinstance(token, str):
        raise ConfigurationError(f"the run context's {TOKEN_KEY!r} must be a str or SecretStr")
    return guard.authenticate(token)


def _field(context: object, name: str) -> Any:
    if isinstance(context, Mapping):
        return context.get(name)
    return getattr(context, name, None)
