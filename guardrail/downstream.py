"""``downstream_token``: the current user's token for a downstream system, by exchange.

Inside a guarded tool::

    @guard.tool
    def lookup(customer_id: str) -> dict:
        token = guardrail.downstream_token(audience="https://crm.example", scopes=["crm.read"])
        return crm.get(customer_id, headers={"Authorization": f"Bearer {token}"})

The guard's :class:`~guardrail.auth.exchange.TokenExchange` trades the principal's
verified token for one meant for ``audience``. Tokens are cached per (subject,
audience, scopes, subject-token hash) until shortly before they expire, and one
exchange at a time runs per key: a hundred concurrent calls by one user, in
threads or asyncio tasks, make one exchange. A failure raises
:class:`~guardrail.errors.DelegationRefused`; there is never a fallback credential.
Each token a call uses is recorded (subject, actor, audience, scopes, a hash of
its id, never the token) in that call's audit records.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guardrail.auth.exchanged import ExchangedToken
from guardrail.auth.token_cache import DownstreamTokens, scope_set
from guardrail.call import (
    Call,
    _current_call,  # the hot path reads it without a call
    current_call,
)
from guardrail.errors import ConfigurationError, DelegationRefused
from guardrail.identity import Principal, current_principal
from guardrail.identity import _current as _current_principal


@dataclass(frozen=True, kw_only=True)
class Downstream:
    """A downstream system a tool calls as the user (``@guard.tool(downstream=...)``)."""

    audience: str
    """Its audience or resource URI, as the token service knows it."""
    scopes: frozenset[str] = frozenset()
    """The scopes the tool needs there; a token with fewer is a refusal."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes", scope_set(self.scopes))


# -- in a tool body ----------------------------------------------------------------------


def downstream_token(audience: str, scopes: Iterable[str] | str = ()) -> str:
    """The current principal's bearer token for ``audience`` with ``scopes``.

    Call it inside a tool guarded by a ``Guard(token_exchange=...)``. Raises
    :class:`~guardrail.errors.DelegationRefused` when no such token can be had.

    .. versionadded:: 0.1
    """
    cached = _cached(audience, scopes)
    if cached is not None:
        return cached
    tokens, principal, call = _context(audience)
    token = tokens.get(principal, audience, scopes)
    if call is not None:
        record(call, token)
    return token.access_token.get_secret_value()


async def adownstream_token(audience: str, scopes: Iterable[str] | str = ()) -> str:
    """:func:`downstream_token` for async tools: never blocks the event loop."""
    cached = _cached(audience, scopes)
    if cached is not None:
        return cached
    tokens, principal, call = _context(audience)
    token = await tokens.aget(principal, audience, scopes)
    if call is not None:
        record(call, token)
    return token.access_token.get_secret_value()


def _cached(audience: str, scopes: Iterable[str] | str) -> str | None:
    """The bearer string of a fresh cached token, noted on the call; else ``None``.

    The path every call of such a tool takes, so it does little: the context
    variables read directly, one cache probe, ``record`` inlined.
    """
    call = _current_call.get()
    if call is None:
        return None
    tokens, principal = call.downstream, _current_principal.get()
    if tokens is None or principal is None:
        return None
    hit = tokens.hit(principal, audience, scopes)
    if hit is None:
        return None
    used = call.delegations
    if used is None:
        call.delegations = [hit[1]]
    elif hit[1] not in used:  # identity first: the cached token is the same object
        used.append(hit[1])
    return hit[2]


def record(call: Call, token: ExchangedToken) -> None:
    """Note on ``call`` that it used ``token`` (its audit records list each one once)."""
    used = call.delegations
    if used is None:
        call.delegations = [token]
    elif token not in used:  # identity first: the cached token is the same object
        used.append(token)


def record_delegation(token: ExchangedToken) -> None:
    """Note that the running guarded call used ``token`` (an adapter whose transport
    fetched it, e.g. an HTTP auth hook); outside a guarded call this does nothing."""
    call = current_call()
    if call is not None:
        record(call, token)


def delegations(call: Call) -> list[dict[str, Any]] | None:
    """The audit form of the tokens ``call`` used, or ``None``."""
    used = call.delegations
    return [token.delegation() for token in used] if used else None


def _context(audience: str) -> tuple[DownstreamTokens, Principal, Call | None]:
    call = current_call()
    tokens = call.downstream if call is not None else None
    if tokens is None:
        raise ConfigurationError(
            "downstream_token() works inside a tool guarded by Guard(token_exchange=...)"
        )
    principal = current_principal()
    if principal is None:
        raise _no_principal(audience)
    return tokens, principal, call


def _no_principal(audience: str, tool: str | None = None) -> DelegationRefused:
    return DelegationRefused(
        f"no user to act for at {audience}: the call has no principal",
        audience=audience,
        error="no_principal",
        tool=tool,
    )


DownstreamSpec = Downstream | Mapping[str, Any] | Sequence[Downstream | Mapping[str, Any]]
"""What ``downstream=`` takes: one target or a list of them."""


def targets(value: Downstream | Mapping[str, Any] | Iterable[Any]) -> tuple[Downstream, ...]:
    """``@guard.tool(downstream=...)``: one target (a ``Downstream`` or a mapping with
    ``audience`` and ``scopes``) or a list of them."""
    if isinstance(value, Downstream):
        return (value,)
    if isinstance(value, Mapping):
        return (Downstream(**value),)
    found = tuple(item for target in value for item in targets(target))
    if not found:
        raise ConfigurationError("downstream= names no downstream system")
    return found


class DownstreamBinder:
    """The pipeline step that makes the guard's tokens available to the tool body.

    It also fetches the tokens a tool declared (``@guard.tool(downstream=...)``)
    before the audit step writes the intent: a refused exchange refuses the call
    like a policy would (its span, one refusal record with the relayable reason,
    the budget given back), and the body never runs. The body then gets the same
    tokens from the cache.
    """

    def __init__(self, tokens: DownstreamTokens) -> None:
        self.tokens = tokens

    def enter(self, call: Call) -> None:
        call.downstream = self.tokens
        for target in call.tool.downstream:
            principal = _acting(call, target)
            with _naming(call):
                record(call, self.tokens.get(principal, target.audience, target.scopes))

    async def aenter(self, call: Call) -> None:
        call.downstream = self.tokens
        for target in call.tool.downstream:
            principal = _acting(call, target)
            with _naming(call):
                record(call, await self.tokens.aget(principal, target.audience, target.scopes))

    def exit(self, call: Call) -> None:
        pass


def _acting(call: Call, target: Downstream) -> Principal:
    if call.principal is None:
        raise _no_principal(target.audience, call.tool.name)
    return call.principal


@contextlib.contextmanager
def _naming(call: Call) -> Iterator[None]:
    """A refusal raised while fetching names the tool it refuses."""
    try:
        yield
    except DelegationRefused as refusal:
        if refusal.tool is None:
            refusal.tool = call.tool.name
        raise
