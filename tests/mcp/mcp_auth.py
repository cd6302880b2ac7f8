"""RS256 keys, signed JWTs, a JWKS endpoint on 127.0.0.1 and a pyjwt verifier.

The verifier implements guardrail's ``Authenticator`` protocol; it stands in for
``guardrail.auth.jwt.JWTAuthenticator`` until that lands (swap it at merge).
Used both by the tests and by the server scripts they start.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from pydantic import SecretStr

from guardrail import AuthenticationError, Principal

ISSUER = "https://idp.test.invalid/"


class KeyPair:
    """An RS256 signing key with a key id; ``jwks`` is its public JWK set."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or uuid.uuid4().hex[:8]
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        self.jwks = {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def sign(
        self,
        subject: str,
        *,
        audience: str,
        roles: Iterable[str] = (),
        scope: str = "",
        issuer: str = ISSUER,
        ttl: float = 300,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        payload = {
            "iss": issuer,
            "sub": subject,
            "aud": audience,
            "iat": now,
            "exp": now + int(ttl),
            "roles": list(roles),
            "scope": scope,
            **claims,
        }
        return jwt.encode(payload, self.private, algorithm="RS256", headers={"kid": self.kid})


@contextmanager
def serve_jwks(keys: KeyPair) -> Iterator[str]:
    """Serve ``keys.jwks`` at ``http://127.0.0.1:PORT/jwks.json`` for the block."""
    body = json.dumps(keys.jwks).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json"
    finally:
        httpd.shutdown()
        httpd.server_close()


class PyJWTVerifier:
    """An ``Authenticator``: verifies RS256 JWTs against a JWKS URL (or a key) with pyjwt."""

    def __init__(
        self, *, audience: str, jwks_url: str | None = None, key: Any = None, issuer: str = ISSUER
    ) -> None:
        self.audience = audience
        self.issuer = issuer
        self._key = key
        self._jwks = jwt.PyJWKClient(jwks_url, timeout=5) if jwks_url else None

    def authenticate(self, token: str) -> Principal:
        try:
            key = self._jwks.get_signing_key_from_jwt(token).key if self._jwks else self._key
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(f"invalid token: {exc}") from None
        return Principal(
            subject=claims["sub"],
            org=claims.get("org"),
            roles=frozenset(claims.get("roles", ())),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            issuer=claims["iss"],
            token=SecretStr(token),
            expires_at=float(claims["exp"]),
        )
