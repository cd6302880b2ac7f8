"""Who an ADK tool call is made as: the run's metadata, its ``user_id``, or ``acting_as``.

Identity never comes from model-supplied arguments. The application sets it:
``RunConfig(custom_metadata={"guardrail_token": SecretStr(bearer)})`` (or
``"guardrail_principal"``: a verified :class:`~guardrail.Principal`), or maps
the session's ``user_id`` to a principal with ``GuardrailPlugin(users=...)``, or
runs the agent inside ``with guard.acting_as(...)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from google.adk.agents.readonly_context import ReadonlyContext
from pydantic import SecretStr

from guardrail import AuthenticationError, ConfigurationError, Guard, Principal, current_principal

PRINCIPAL_KEY = "guardrail_principal"
"""``RunConfig.custom_metadata[PRINCIPAL_KEY]``: a verified :class:`~guardrail.Principal`."""
TOKEN_KEY = "guardrail_token"
"""``RunConfig.custom_metadata[TOKEN_KEY]``: a bearer token (a ``SecretStr``), verified
with the guard's authenticator."""

UserDirectory = Callable[[str], Principal | None]
"""Maps an ADK session's ``user_id`` to its principal (``None``: an unknown user)."""


async def principal_of(
    guard: Guard, context: ReadonlyContext, users: UserDirectory | None
) -> Principal | None:
    """The principal of this run: metadata, then ``users(user_id)``, then ``acting_as``.

    Raises :class:`~guardrail.AuthenticationError` for a token that fails
    verification or a ``user_id`` the directory does not know.
    """
    metadata: Mapping[str, Any] = context.custom_metadata
    who = metadata.get(PRINCIPAL_KEY)
    if who is not None:
        if not isinstance(who, Principal):
            raise ConfigurationError(
                f"custom_metadata[{PRINCIPAL_KEY!r}] must be a guardrail.Principal, "
                f"not {type(who).__name__}; pass a bearer token as {TOKEN_KEY!r}"
            )
        return who
    token = metadata.get(TOKEN_KEY)
    if token is not None:
        return await _verified(guard, token)
    if users is not None:
        found = users(context.user_id)
        if found is None:
            raise AuthenticationError(f"unknown user {context.user_id!r}")
        return found
    return current_principal()


async def _verified(guard: Guard, token: Any) -> Principal:
    if isinstance(token, SecretStr):
        token = token.get_secret_value()
    if not isinstance(token, str):
        raise ConfigurationError(f"custom_metadata[{TOKEN_KEY!r}] must be a str or SecretStr")
    authenticator = guard.authenticator
    verify = getattr(authenticator, "aauthenticate", None)
    if verify is not None:
        principal: Principal = await verify(token)
        return principal
    # A synchronous authenticator may fetch keys: keep it off the event loop.
    return await asyncio.to_thread(guard.authenticate, token)
