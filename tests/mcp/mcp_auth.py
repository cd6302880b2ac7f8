"""Bearer JWTs for the MCP tests, on top of ``support.jwks`` and ``JWTAuthenticator``.

Used by the tests and by the server scripts they start (``script_env()`` puts
``tests/`` and this directory on their ``PYTHONPATH``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from support.jwks import JWKSServer, SigningKey, mint, rsa_key

from guardrail import JWTAuthenticator

ISSUER = "https://idp.test.invalid/"


class KeyPair:
    """An RS256 signing key; ``sign`` mints a token for a user."""

    def __init__(self, kid: str = "mcp-rsa-1") -> None:
        self.kid = kid
        self.key: SigningKey = rsa_key(kid)

    @property
    def public_key(self) -> Any:
        return self.key.public_key

    def sign(
        self,
        subject: str,
        *,
        audience: str,
        roles: Iterable[str] = (),
        ttl: float = 300,
        **claims: Any,
    ) -> str:
        return mint(
            self.key,
            issuer=ISSUER,
            audience=audience,
            subject=subject,
            lifetime=ttl,
            roles=list(roles),
            **claims,
        )


@contextmanager
def serve_jwks(keys: KeyPair) -> Iterator[str]:
    """Serve the public key as a JWKS on 127.0.0.1 for the block; yields its URL."""
    with JWKSServer([keys.key]) as server:
        yield server.url


def authenticator(audience: str, *, jwks_url: str | None = None, key: Any = None) -> Any:
    """The authenticator the servers and client guards use."""
    return JWTAuthenticator(ISSUER, audience, jwks_url=jwks_url, key=key)
