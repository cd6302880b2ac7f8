"""A real OAuth token endpoint on 127.0.0.1 for token-exchange tests (a small ASGI app).

It does what an authorization server does for RFC 8693 token exchange and Entra's
on-behalf-of grant, with its own rules:

- authenticates the client (``client_secret_basic``, ``client_secret_post`` or
  ``private_key_jwt`` against the client's public key, one use per assertion ``jti``);
- verifies the subject token against the IdP's JWKS (issuer, audience, expiry);
- issues tokens only for the audiences it knows, with the scopes each allows and
  each user consented to (``invalid_target`` / ``invalid_scope`` otherwise);
- mints RS256 JWTs (``iss``, ``sub``, ``aud``, ``scope``, ``jti``, ``act``) whose
  keys it serves at ``/jwks.json``.

    with TokenService(idp_jwks_url, idp_issuer, idp_audience) as service:
        service.add_client("agent", secret="s3cret")
        service.add_audience("https://crm.test/", scopes={"crm.read"})
        service.consent("alice", "https://crm.test/", {"crm.read"})
        ...  service.token_url, service.jwks_url, service.exchanges
"""

from __future__ import annotations

import base64
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from support.asgi import ServedApp
from support.jwks import SigningKey, rsa_key

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ISSUER = "https://sts.test.invalid/"


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass
class Client:
    secret: str | None = None
    public_key: Any = None
    seen_jti: set[str] = field(default_factory=set)


class TokenService:
    """The token endpoint and its JWKS, served by uvicorn from a daemon thread."""

    def __init__(
        self,
        idp_jwks_url: str,
        idp_issuer: str,
        idp_audience: str | list[str],
        *,
        lifetime: int = 300,
        key: SigningKey | None = None,
    ) -> None:
        self.idp = jwt.PyJWKClient(idp_jwks_url, cache_jwk_set=True, lifespan=300)
        self.idp_issuer = idp_issuer
        self.idp_audience = idp_audience
        self.lifetime = lifetime
        self.key = key or rsa_key("sts-1")
        self.clients: dict[str, Client] = {}
        self.audiences: dict[str, set[str]] = {}
        self.consents: dict[tuple[str, str], set[str]] = {}
        self.grant_fewer: set[str] = set()
        """Scopes granted silently less (a 200 without them), to test short-changed tokens."""
        self.delay = 0.0
        self.status: int | None = None
        self.exchanges = 0
        self.requests: list[dict[str, str]] = []
        self._lock = threading.Lock()
        app = Starlette(
            routes=[
                Route("/token", self._token, methods=["POST"]),
                Route("/jwks.json", self._jwks, methods=["GET"]),
            ]
        )
        self._served = ServedApp(app)
        self.port = self._served.port

    # -- set-up ---------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks.json"

    def add_client(self, client_id: str, *, secret: str | None = None, key: Any = None) -> None:
        self.clients[client_id] = Client(secret=secret, public_key=key)

    def add_audience(self, audience: str, scopes: set[str]) -> None:
        self.audiences[audience] = set(scopes)

    def consent(self, subject: str, audience: str, scopes: set[str]) -> None:
        self.consents[(subject, audience)] = set(scopes)

    def fail(self, status: int | None) -> None:
        """Answer every request with ``status`` (``None``: work normally)."""
        self.status = status

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> TokenService:
        self._served.start()
        return self

    def stop(self) -> None:
        """Stop serving: the port refuses connections from now on."""
        self._served.stop()

    def __enter__(self) -> TokenService:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the endpoint ---------------------------------------------------------------

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.jwk]})

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in urllib.parse.parse_qs((await request.body()).decode()).items()}
        with self._lock:
            self.requests.append(
                {**form, "authorization": request.headers.get("authorization", "")}
            )
        if self.delay:
            await _sleep(self.delay)
        if self.status is not None:
            return JSONResponse({"detail": "unavailable"}, status_code=self.status)
        try:
            body = self._exchange(form, request.headers.get("authorization"))
        except OAuthError as exc:
            error = {"error": exc.error, "error_description": exc.description}
            return JSONResponse(error, status_code=exc.status)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    def _exchange(self, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
        client_id = self._client(form, authorization)
        grant = form.get("grant_type")
        if grant == TOKEN_EXCHANGE:
            subject_token = form.get("subject_token", "")
            audience = form.get("resource") or form.get("audience") or ""
            scopes = set(form.get("scope", "").split())
        elif grant == JWT_BEARER and form.get("requested_token_use") == "on_behalf_of":
            return self._on_behalf_of(form, client_id)
        else:
            raise OAuthError("unsupported_grant_type", f"grant {grant!r} is not supported")
        subject = self._verify_subject(subject_token)
        granted = self._granted(subject["sub"], audience, scopes)
        actor = self._actor(form, client_id)
        return self._mint(subject, audience, granted, actor)

    def _on_behalf_of(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        audience, scopes = _entra_target(form.get("scope", ""))
        subject = self._verify_subject(form.get("assertion", ""))
        try:
            granted = self._granted(subject["sub"], audience, scopes)
        except OAuthError as exc:
            if exc.error != "consent_required":
                raise
            raise OAuthError(  # what Entra ID answers
                "invalid_grant",
                f"AADSTS65001: The user or administrator has not consented to use the "
                f"application with ID '{client_id}'. Send an interactive authorization request.",
            ) from None
        return self._mint(subject, audience, granted, {"sub": client_id})

    def _client(self, form: dict[str, str], authorization: str | None) -> str:
        if authorization and authorization.startswith("Basic "):
            raw = base64.b64decode(authorization[6:]).decode()
            client_id, _, secret = raw.partition(":")
            client_id, secret = urllib.parse.unquote(client_id), urllib.parse.unquote(secret)
            return self._check_secret(client_id, secret)
        if form.get("client_assertion_type") == CLIENT_ASSERTION:
            return self._check_assertion(form.get("client_assertion", ""))
        return self._check_secret(form.get("client_id", ""), form.get("client_secret"))

    def _check_secret(self, client_id: str, secret: str | None) -> str:
        client = self.clients.get(client_id)
        if client is None or client.secret is None or secret != client.secret:
            raise OAuthError("invalid_client", "client authentication failed", 401)
        return client_id

    def _check_assertion(self, assertion: str) -> str:
        try:
            client_id = jwt.decode(assertion, options={"verify_signature": False})["iss"]
            client = self.clients[client_id]
            claims = jwt.decode(
                assertion,
                client.public_key,
                algorithms=["RS256", "ES256"],
                audience=self.token_url,
                issuer=client_id,
                options={"require": ["exp", "jti", "sub"]},
            )
        except (jwt.PyJWTError, KeyError) as exc:
            raise OAuthError("invalid_client", f"bad client assertion ({exc})", 401) from None
        if claims["sub"] != client_id or claims["jti"] in client.seen_jti:
            raise OAuthError("invalid_client", "client assertion replayed or mismatched", 401)
        client.seen_jti.add(claims["jti"])
        return str(client_id)

    def _verify_subject(self, token: str) -> dict[str, Any]:
        try:
            key = self.idp.get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256", "ES256"],
                audience=self.idp_audience,
                issuer=self.idp_issuer,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise OAuthError("invalid_grant", f"subject token rejected: {exc}") from None
        return claims

    def _granted(self, subject: str, audience: str, scopes: set[str]) -> set[str]:
        allowed = self.audiences.get(audience)
        if allowed is None:
            raise OAuthError("invalid_target", f"unknown audience {audience}")
        unknown = scopes - allowed
        if unknown:
            raise OAuthError("invalid_scope", f"scope(s) {' '.join(sorted(unknown))} not offered")
        agreed = self.consents.get((subject, audience), set())
        lacking = scopes - agreed
        if lacking:
            raise OAuthError(
                "consent_required",
                f"user {subject} has not consented to {' '.join(sorted(lacking))}",
            )
        return (scopes or agreed) - self.grant_fewer

    def _actor(self, form: dict[str, str], client_id: str) -> dict[str, Any]:
        actor_token = form.get("actor_token")
        if not actor_token:
            return {"sub": client_id}
        claims = self._verify_subject(actor_token)  # the agent's own IdP-issued token
        return {"sub": claims["sub"], "client_id": client_id}

    def _mint(
        self, subject: dict[str, Any], audience: str, scopes: set[str], actor: dict[str, Any]
    ) -> dict[str, Any]:
        if "act" in subject:  # a delegation chain keeps the earlier actors (RFC 8693 4.1)
            actor = {**actor, "act": subject["act"]}
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject["sub"],
            "aud": audience,
            "scope": " ".join(sorted(scopes)),
            "iat": now,
            "exp": now + self.lifetime,
            "jti": uuid.uuid4().hex,
            "act": actor,
        }
        for name in ("roles", "org", "teams"):
            if name in subject:
                claims[name] = subject[name]
        with self._lock:
            self.exchanges += 1
        return {
            "access_token": self.key.sign(claims),
            "issued_token_type": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": " ".join(sorted(scopes)),
        }


def _entra_target(scope: str) -> tuple[str, set[str]]:
    """Entra scopes name their resource: ``api://crm/Orders.Read`` -> (api://crm, {Orders.Read})."""
    resources, names = set(), set()
    for item in scope.split():
        resource, _, name = item.rpartition("/")
        resources.add(resource)
        if name != ".default":
            names.add(name)
    if len(resources) != 1:
        raise OAuthError("invalid_scope", "scopes must name exactly one resource")
    return resources.pop(), names


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
