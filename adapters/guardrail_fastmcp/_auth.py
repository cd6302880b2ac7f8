"""FastMCP's ``TokenVerifier`` on top of a guardrail ``Authenticator``.

FastMCP checks the bearer token of every HTTP request with ``server.auth``; a
token the authenticator rejects gets HTTP 401 before any message is handled.
The verified :class:`~guardrail.Principal` rides on the access token, so the
middleware acts as exactly the user that was verified.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastmcp.server.auth import AccessToken, TokenVerifier

from guardrail import Authenticator, ConfigurationError, Guard, GuardrailError, Principal

log = logging.getLogger(__name__)


class GuardedAccessToken(AccessToken):
    """A FastMCP ``AccessToken`` carrying the guardrail principal it was verified as."""

    principal: Principal


class GuardrailVerifier(TokenVerifier):
    """``FastMCP(auth=GuardrailVerifier(guard, base_url=URL))``: tokens checked by guardrail.

    The authenticator must check the audience (``JWTAuthenticator(audience=URL)``);
    any failure, including a key source that is down, is a 401 (fail closed).
    """

    def __init__(
        self,
        authenticator: Authenticator | Guard,
        *,
        base_url: str | None = None,
        required_scopes: list[str] | None = None,
    ) -> None:
        super().__init__(base_url=base_url, required_scopes=required_scopes)
        if isinstance(authenticator, Guard):
            if authenticator.authenticator is None:
                raise ConfigurationError("GuardrailVerifier(guard) needs Guard(authenticator=...)")
            authenticator = authenticator.authenticator
        self.authenticator = authenticator

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            principal = await self._authenticate(token)
        except GuardrailError as exc:
            log.info("bearer token refused: %s", exc)
            return None
        except Exception:
            log.exception("bearer token verification failed")
            return None
        return GuardedAccessToken(
            token=token,
            client_id=_client_id(principal),
            scopes=sorted(principal.scopes),
            expires_at=int(principal.expires_at) if principal.expires_at is not None else None,
            subject=principal.subject,
            claims={"sub": principal.subject, "iss": principal.issuer},
            principal=principal,
        )

    async def _authenticate(self, token: str) -> Principal:
        native: Any = getattr(self.authenticator, "aauthenticate", None)
        if native is not None:
            principal: Principal = await native(token)
            return principal
        # A key fetch must never block the event loop.
        return await asyncio.to_thread(self.authenticator.authenticate, token)


def _client_id(principal: Principal) -> str:
    for key in ("client_id", "azp"):
        value = principal.attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return principal.subject
