"""OAuth token exchange: the user's verified token -> a token a downstream system accepts.

Two dialects: RFC 8693 token exchange and Entra ID on-behalf-of (the jwt-bearer
grant). The client authenticates with a secret (``client_secret_basic`` or
``client_secret_post``) or a signed assertion (``private_key_jwt``, RFC 7523).
Requests go through the standard library (as :class:`~guardrail.auth.JWKSCache`
does): an exchange happens once per user, audience and scopes until the token
nears its expiry, so a pooled HTTP client would buy nothing, and ``import
guardrail`` stays light. Every failure is a :class:`DelegationRefused` whose
reason the model can relay; nothing here ever falls back to another credential.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from pydantic import SecretStr

from guardrail.auth._redirects import NoRedirects
from guardrail.auth.client_auth import ClientAuth
from guardrail.auth.exchange_errors import oauth_refusal, unusable
from guardrail.auth.exchanged import (
    ExchangedToken,
    actor_of,
    granted_scopes,
    text,
    token_id,
    unverified_claims,
)
from guardrail.errors import ConfigurationError, DelegationRefused
from guardrail.identity import Principal

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
MAX_RESPONSE_BYTES = 256 * 1024

Dialect = Literal["rfc8693", "entra_obo"]


class TokenExchange:
    """Exchanges a principal's token at ``token_url`` for one meant for ``audience``.

    ``dialect="rfc8693"`` sends a token-exchange grant with the audience as
    ``resource`` (RFC 8707) when it is an absolute URI, else as ``audience``;
    ``"entra_obo"`` sends Entra ID's on-behalf-of request, whose scopes name the
    resource (``api://crm/Orders.Read``; bare scope names are prefixed with the
    audience, no scopes ask for ``{audience}/.default``). ``actor_token`` (a string
    or a function returning one) identifies the agent acting, RFC 8693 only.
    ``default_lifetime`` is assumed for a token whose response says nothing of its
    expiry. ``timeout`` bounds each request, in seconds.
    """

    def __init__(
        self,
        token_url: str,
        *,
        client: ClientAuth,
        dialect: Dialect = "rfc8693",
        actor_token: str | Callable[[], str] | None = None,
        subject_token_type: str = ACCESS_TOKEN,
        timeout: float = 5.0,
        default_lifetime: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        scheme = urllib.parse.urlsplit(token_url).scheme
        if scheme not in ("https", "http"):
            raise ConfigurationError(f"token_url must be an http(s) URL, not {token_url!r}")
        if dialect not in ("rfc8693", "entra_obo"):
            raise ConfigurationError(f"unknown token exchange dialect {dialect!r}")
        if dialect == "entra_obo" and actor_token is not None:
            raise ConfigurationError("Entra on-behalf-of takes no actor_token")
        self.token_url = token_url
        self.client = client
        self.dialect = dialect
        self.actor_token = actor_token
        self.subject_token_type = subject_token_type
        self.timeout = timeout
        self.default_lifetime = default_lifetime
        self.clock = clock
        handlers: list[Any] = [NoRedirects]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    # -- the request ----------------------------------------------------------------

    def form(self, subject_token: str, audience: str, scopes: Iterable[str]) -> dict[str, str]:
        """The grant's form fields, without client authentication."""
        wanted = sorted(scopes)
        if self.dialect == "entra_obo":
            return {
                "grant_type": JWT_BEARER,
                "requested_token_use": "on_behalf_of",
                "assertion": subject_token,
                "scope": " ".join(_entra_scopes(audience, wanted)),
            }
        form = {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": subject_token,
            "subject_token_type": self.subject_token_type,
            "requested_token_type": ACCESS_TOKEN,
            "resource" if _absolute(audience) else "audience": audience,
        }
        if wanted:
            form["scope"] = " ".join(wanted)
        if self.actor_token is not None:
            actor = self.actor_token() if callable(self.actor_token) else self.actor_token
            form.update(actor_token=actor, actor_token_type=ACCESS_TOKEN)
        return form

    def request(
        self, subject_token: str, audience: str, scopes: Iterable[str]
    ) -> urllib.request.Request:
        form = self.form(subject_token, audience, scopes)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        }
        self.client.apply(form, headers, self.token_url)
        body = urllib.parse.urlencode(form).encode()
        return urllib.request.Request(self.token_url, data=body, headers=headers, method="POST")

    # -- the exchange ---------------------------------------------------------------

    def exchange(
        self, principal: Principal, audience: str, scopes: frozenset[str]
    ) -> ExchangedToken:
        """One exchange (blocking I/O: async callers run it on a worker thread)."""
        if principal.token is None:
            raise DelegationRefused(
                f"{principal.describe()} has no verified token to exchange for {audience}",
                audience=audience,
                scopes=scopes,
                error="no_subject_token",
                principal=principal,
            )
        request = self.request(principal.token.get_secret_value(), audience, scopes)
        status, body = self._send(request, audience, scopes, principal)
        return self.read(status, body, principal, audience, scopes)

    def _send(
        self,
        request: urllib.request.Request,
        audience: str,
        scopes: frozenset[str],
        principal: Principal,
    ) -> tuple[int, bytes]:
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return int(response.status), response.read(MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            with exc:
                return int(exc.code), exc.read(MAX_RESPONSE_BYTES)
        except OSError as exc:  # URLError, refused connections, timeouts
            host = urllib.parse.urlsplit(self.token_url).netloc
            raise DelegationRefused(
                f"the token service at {host} is unreachable ({_cause(exc)}), so there is no "
                f"token for {audience} as {principal.describe()}; try again later",
                audience=audience,
                scopes=scopes,
                error="unavailable",
                principal=principal,
            ) from exc

    def read(
        self,
        status: int,
        body: bytes,
        principal: Principal,
        audience: str,
        scopes: frozenset[str],
    ) -> ExchangedToken:
        """The token in a token-service response, or the refusal it amounts to."""
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if status != 200:
            raise oauth_refusal(status, data, principal, audience, scopes)
        if not isinstance(data, dict):
            raise unusable("its response is not a JSON object", principal, audience, scopes)
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise unusable("its response has no access_token", principal, audience, scopes)
        kind = data.get("token_type")
        if not isinstance(kind, str) or kind.lower() not in ("bearer", "n_a"):
            raise unusable(f"token_type {kind!r} is not Bearer", principal, audience, scopes)
        claims = unverified_claims(token)
        granted = granted_scopes(data, claims, scopes)
        missing = self._missing(scopes, granted, audience)
        if missing:
            raise oauth_refusal(
                200, {"error": "insufficient_scope"}, principal, audience, scopes, missing
            )
        return ExchangedToken(
            access_token=SecretStr(token),
            audience=audience,
            scopes=granted,
            expires_at=self._expiry(data, claims),
            subject=text(claims.get("sub")) or principal.subject,
            actor=actor_of(claims) or self.client.client_id,
            token_id=token_id(token, claims),
        )

    def _missing(
        self, asked: frozenset[str], granted: frozenset[str], audience: str
    ) -> frozenset[str]:
        if self.dialect == "entra_obo":  # Entra names scopes short (scp) or in full (scope)
            full = {_entra_scope(audience, scope) for scope in granted}
            return frozenset(s for s in asked if _entra_scope(audience, s) not in full)
        return asked - granted

    def _expiry(self, data: Mapping[str, Any], claims: Mapping[str, Any]) -> float:
        now = self.clock()
        candidates = []
        expires_in = data.get("expires_in")
        if isinstance(expires_in, int | float | str) and str(expires_in).isdigit():
            candidates.append(now + float(expires_in))
        exp = claims.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool):
            candidates.append(float(exp))
        return min(candidates) if candidates else now + self.default_lifetime

    def __repr__(self) -> str:
        return f"TokenExchange({self.token_url!r}, dialect={self.dialect!r})"


def _absolute(audience: str) -> bool:
    parts = urllib.parse.urlsplit(audience)
    return bool(parts.scheme and parts.netloc) and not parts.fragment


def _entra_scopes(audience: str, scopes: list[str]) -> list[str]:
    if not scopes:
        return [_entra_scope(audience, ".default")]
    return [_entra_scope(audience, scope) for scope in scopes]


def _entra_scope(audience: str, scope: str) -> str:
    if "://" in scope or scope.startswith(audience):
        return scope
    return f"{audience.rstrip('/')}/{scope}"


def _cause(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc) or type(exc).__name__
