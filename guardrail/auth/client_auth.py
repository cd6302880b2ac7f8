"""Client authentication at an OAuth token endpoint: a secret or ``private_key_jwt``."""

from __future__ import annotations

import base64
import os
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import SecretStr

CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True, kw_only=True)
class ClientSecret:
    """Client authentication with a shared secret (RFC 6749 section 2.3.1)."""

    client_id: str
    """This application's client id at the token service."""
    secret: SecretStr | str = field(repr=False)
    """The client secret (a ``str`` is kept as a ``SecretStr``)."""
    method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    """HTTP Basic (the default every server must support) or form fields."""

    def __post_init__(self) -> None:
        if isinstance(self.secret, str):
            object.__setattr__(self, "secret", SecretStr(self.secret))

    def apply(self, form: dict[str, str], headers: dict[str, str], token_url: str) -> None:
        secret = self.secret
        if isinstance(secret, SecretStr):
            secret = secret.get_secret_value()
        if self.method == "client_secret_post":
            form.update(client_id=self.client_id, client_secret=secret)
            return
        # RFC 6749 2.3.1: both parts form-urlencoded before the Basic encoding.
        pair = f"{_quote(self.client_id)}:{_quote(secret)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()


@dataclass(frozen=True, kw_only=True)
class PrivateKeyJWT:
    """Client authentication with a signed assertion (``private_key_jwt``, RFC 7523)."""

    client_id: str
    key: Any
    """The private key (a ``cryptography`` key or PEM text) the token service knows."""
    kid: str | None = None
    """The key id the token service finds the public key under."""
    algorithm: str = "RS256"
    lifetime: float = 60.0
    """Seconds the assertion is valid for (one use: it carries a fresh ``jti``)."""
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def apply(self, form: dict[str, str], headers: dict[str, str], token_url: str) -> None:
        now = int(self.clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": token_url,
            "iat": now,
            "exp": now + int(self.lifetime),
            "jti": _nonce(),
        }
        import jwt  # pyjwt loads only when a client assertion is signed

        assertion = jwt.encode(
            claims,
            self.key,
            algorithm=self.algorithm,
            headers={"kid": self.kid} if self.kid else {},
        )
        form.update(
            client_id=self.client_id,
            client_assertion_type=CLIENT_ASSERTION,
            client_assertion=assertion,
        )


ClientAuth = ClientSecret | PrivateKeyJWT


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _nonce() -> str:
    return base64.urlsafe_b64encode(os.urandom(18)).decode()
