"""Client side, downstream: each MCP request carries the current user's exchanged token.

    http = httpx2.AsyncClient(auth=guardrail_mcp.on_behalf_of(guard, scopes=["crm.read"]))
    async with streamable_http_client(URL, http_client=http) as (read, write), \\
            ClientSession(read, write) as session:
        crm = guard.wrap(session)
        with guard.acting_as(user_token):
            await crm.call_tool("lookup_customer", {...})   # sent with alice's CRM token

The SDK's streamable HTTP transport sends each message in the context of the task
that sent it, so the hook sees the principal the guard bound for the call (or the
``acting_as`` block around ``initialize``/``list_tools``). A request made while
someone is acting never goes out with another credential: when the exchange is
refused the ``Authorization`` header is removed (the server answers 401) and the
guarded session turns the failure into the refusal's reason for the model.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncGenerator, Generator, Iterable, Iterator
from contextlib import contextmanager

import httpx2

from guardrail import ConfigurationError, DelegationRefused, Guard, current_principal
from guardrail.adapters import ExchangedToken, record_delegation, scope_set

_refusals: contextvars.ContextVar[list[DelegationRefused] | None] = contextvars.ContextVar(
    "guardrail_mcp_refusals", default=None
)


class OnBehalfOf(httpx2.Auth):
    """An ``httpx2`` auth hook: ``Authorization: Bearer <the user's token for this server>``.

    ``audience`` defaults to the request URL without query (an MCP server's
    canonical resource URI, as its ``resource_server_url``); ``scopes`` are asked
    for on every exchange. Requests made while nobody is acting (a connection set
    up by the application itself) go out as the client was configured.
    """

    def __init__(self, guard: Guard, *, audience: str | None = None, scopes: Iterable[str] = ()):
        if guard.downstream is None:
            raise ConfigurationError("on_behalf_of(guard) needs Guard(token_exchange=...)")
        self.tokens = guard.downstream
        self.audience = audience
        self.scopes = scope_set(scopes)

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        principal = current_principal()
        if principal is not None:
            audience = self._audience(request)
            try:
                token = await self.tokens.aget(principal, audience, self.scopes)
            except DelegationRefused as refusal:
                _refused(request, refusal)
            else:
                _authorize(request, token)
        yield request

    def sync_auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response]:
        principal = current_principal()
        if principal is not None:
            try:
                token = self.tokens.get(principal, self._audience(request), self.scopes)
            except DelegationRefused as refusal:
                _refused(request, refusal)
            else:
                _authorize(request, token)
        yield request

    def _audience(self, request: httpx2.Request) -> str:
        if self.audience is not None:
            return self.audience
        return str(request.url.copy_with(query=None, fragment=None))


def on_behalf_of(
    guard: Guard, *, audience: str | None = None, scopes: Iterable[str] = ()
) -> OnBehalfOf:
    """The auth hook for ``httpx2.AsyncClient(auth=...)`` of a guarded MCP session."""
    return OnBehalfOf(guard, audience=audience, scopes=scopes)


def _authorize(request: httpx2.Request, token: ExchangedToken) -> None:
    request.headers["Authorization"] = f"Bearer {token.access_token.get_secret_value()}"
    record_delegation(token)


def _refused(request: httpx2.Request, refusal: DelegationRefused) -> None:
    # Never a fallback: the client's own credential must not stand in for the user's.
    request.headers.pop("Authorization", None)
    watchers = _refusals.get()
    if watchers is not None:
        watchers.append(refusal)


@contextmanager
def watching_refusals() -> Iterator[list[DelegationRefused]]:
    """Collects the exchange refusals of the requests sent inside the block.

    The transport sends from a copy of the sender's context: the list object is
    shared, so what the hook appends there is seen here.
    """
    seen: list[DelegationRefused] = []
    token = _refusals.set(seen)
    try:
        yield seen
    finally:
        _refusals.reset(token)
