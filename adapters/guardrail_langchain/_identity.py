"""Who a LangChain tool call is made as: the run config, else the guard context.

Identity never comes from model-supplied arguments: only from
``config["configurable"]`` (set by the application) or ``guard.acting_as``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

from guardrail import ConfigurationError, Guard, Principal

PRINCIPAL_KEY = "guardrail_principal"
"""``config["configurable"][PRINCIPAL_KEY]``: a verified :class:`~guardrail.Principal`."""
TOKEN_KEY = "guardrail_token"
"""``config["configurable"][TOKEN_KEY]``: a bearer token, verified with ``guard.authenticate``.

Pass it as a :class:`pydantic.SecretStr`: LangChain copies plain ``str`` values of
``configurable`` into run metadata, where tracers would see the token.
"""


def claimed_identity(context: Any, config: Mapping[str, Any] | None) -> Principal | str | None:
    """Who the run says it is: a :class:`Principal`, a bearer token to verify, or ``None``.

    LangGraph's ``Runtime.context`` first (a ``Principal``, a mapping with
    :data:`PRINCIPAL_KEY` / :data:`TOKEN_KEY`, or an object with those attributes),
    then ``config["configurable"]``. ``None``: use ``guard.acting_as``.
    """
    if isinstance(context, Principal):
        return context
    for source in (context, (config or {}).get("configurable")):
        found = _claim(source)
        if found is not None:
            return found
    return None


def _claim(source: Any) -> Principal | str | None:
    if source is None:
        return None
    read = source.get if isinstance(source, Mapping) else _attribute_reader(source)
    who, token = read(PRINCIPAL_KEY), read(TOKEN_KEY)
    if who is not None:
        if not isinstance(who, Principal):
            raise ConfigurationError(
                f"{PRINCIPAL_KEY!r} must be a guardrail.Principal, not {type(who).__name__}; "
                f"pass a bearer token as {TOKEN_KEY!r}"
            )
        return who
    if token is None:
        return None
    if isinstance(token, SecretStr):
        token = token.get_secret_value()
    if not isinstance(token, str):
        raise ConfigurationError(f"{TOKEN_KEY!r} must be a str or SecretStr")
    return token


def _attribute_reader(source: Any) -> Any:
    return lambda key: getattr(source, key, None)


def principal_from_config(guard: Guard, config: Mapping[str, Any] | None) -> Principal | None:
    """The principal the run config names, or ``None`` to use the guard context.

    A principal in the config wins over a token; both win over ``guard.acting_as``.
    Raises :class:`~guardrail.AuthenticationError` for a token that fails verification.
    """
    configurable = (config or {}).get("configurable") or {}
    who = configurable.get(PRINCIPAL_KEY)
    if who is not None:
        if not isinstance(who, Principal):
            raise ConfigurationError(
                f"configurable[{PRINCIPAL_KEY!r}] must be a guardrail.Principal, "
                f"not {type(who).__name__}; pass a bearer token as {TOKEN_KEY!r}"
            )
        return who
    token = configurable.get(TOKEN_KEY)
    if token is None:
        return None
    if isinstance(token, SecretStr):
        token = token.get_secret_value()
    if not isinstance(token, str):
        raise ConfigurationError(f"configurable[{TOKEN_KEY!r}] must be a str or SecretStr")
    return guard.authenticate(token)
