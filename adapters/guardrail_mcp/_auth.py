"""The SDK's ``TokenVerifier`` on top of a guardrail ``Authenticator``.

The MCP SDK checks bearer tokens before any message reaches the server: a token
the authenticator rejects gets HTTP 401. The verified :class:`Principal` travels
with the SDK's ``AccessToken`` so :func:`protect` uses exactly what was verified.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import anyio.to_thread
from mcp.server.auth.provider import AccessToken
from pydantic import SecretStr

from guardrail import Authenticator, ConfigurationError, Guard, GuardrailError, Principal

log = logging.getLogger(__name__)


class GuardedAccessToken(AccessToken):
    """An ``AccessToken`` that carries the guardrail principal it was verified as."""

    principal: Principal


class GuardrailTokenVerifier:
    """Implements ``mcp.server.auth.provider.TokenVerifier`` with a guardrail authenticator.

    ``resource`` is this server's resource URL (``AuthSettings.resource_server_url``):
    the authenticator must check the token's audience against it (e.g.
    ``JWTAuthenticator(audience=resource)``); when the authenticator exposes an
    ``audience`` this is checked once here. The verified token is reported as
    issued for ``resource`` so ``validate_token_resource=True`` holds.
    An authenticator with ``aauthenticate`` (``JWTAuthenticator``) is awaited;
    otherwise ``offload`` runs ``authenticate`` on a worker thread so a key fetch
    never blocks the event loop.
    """

    def __init__(
        self,
        authenticator: Authenticator | Guard,
        *,
        resource: str | None = None,
        offload: bool = True,
    ) -> None:
        if isinstance(authenticator, Guard):
            if authenticator.authenticator is None:
                raise ConfigurationError("token_verifier(guard) needs Guard(authenticator=...)")
            authenticator = authenticator.authenticator
        self.authenticator = authenticator
        self.resource = resource
        self.offload = offload
        _check_audience(authenticator, resource)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = await self._authenticate(token)
        except GuardrailError as exc:
            log.info("bearer token refused: %s", exc)
            return None
        except Exception:
            # A broken key source must fail closed (401), never open.
            log.exception("bearer token verification failed")
            return None
        if principal.token is None:
            principal = principal.model_copy(update={"token": SecretStr(token)})
        return GuardedAccessToken(
            token=token,
            client_id=_client_id(principal),
            scopes=sorted(principal.scopes),
            expires_at=int(principal.expires_at) if principal.expires_at is not None else None,
            resource=self.resource,
            subject=principal.subject,
            claims={"iss": principal.issuer} if principal.issuer else None,
            principal=principal,
        )

    async def _authenticate(self, token: str) -> Principal:
        # JWTAuthenticator.aauthenticate answers cache hits inline, misses on a thread.
        native = getattr(self.authenticator, "aauthenticate", None)
        if native is not None:
            principal: Principal = await native(token)
            return principal
        if self.offload:
            return await anyio.to_thread.run_sync(self.authenticator.authenticate, token)
        return self.authenticator.authenticate(token)


def token_verifier(
    authenticator: Authenticator | Guard, *, resource: str | None = None, offload: bool = True
) -> GuardrailTokenVerifier:
    """A ``TokenVerifier`` for ``MCPServer(token_verifier=..., auth=AuthSettings(...))``."""
    return GuardrailTokenVerifier(authenticator, resource=resource, offload=offload)


def _client_id(principal: Principal) -> str:
    for key in ("client_id", "azp"):
        value = principal.attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return principal.subject


def _check_audience(authenticator: Authenticator, resource: str | None) -> None:
    audience = getattr(authenticator, "audience", None)
    if resource is None or audience is None:
        return
    accepted = {audience} if isinstance(audience, str) else set(_strings(audience))
    normalized = {a.rstrip("/") for a in accepted}
    if resource.rstrip("/") not in normalized:
        raise ConfigurationError(
            f"the authenticator accepts audience {sorted(accepted)} but this server's resource "
            f"is {resource!r}: tokens for another service would be accepted, or none would"
        )


def _strings(value: object) -> Iterable[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, Iterable) else []
