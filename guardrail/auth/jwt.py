"""``JWTAuthenticator``: bearer JWT -> verified :class:`Principal`, with PyJWT."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import jwt
from cachetools import TLRUCache
from jwt import exceptions as jwt_errors

from guardrail.auth import compact
from guardrail.auth.claims import ClaimMap
from guardrail.auth.jwks import JWKSCache
from guardrail.auth.keys import (
    VerificationKey,
    check_algorithms,
    load_key,
    reject_hmac_for_jwks,
)
from guardrail.errors import AuthenticationError, ConfigurationError
from guardrail.identity import Principal

REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]

# Most specific first: several of these subclass DecodeError / InvalidTokenError.
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt_errors.ExpiredSignatureError, "token expired"),
    (jwt_errors.InvalidAudienceError, "wrong audience"),
    (jwt_errors.InvalidIssuerError, "wrong issuer"),
    (jwt_errors.InvalidSubjectError, "'sub' claim must be a string"),
    (jwt_errors.InvalidIssuedAtError, "'iat' claim must be a number"),
    (jwt_errors.InvalidSignatureError, "invalid signature"),
    (jwt_errors.InvalidAlgorithmError, "algorithm not allowed for this key"),
    (jwt_errors.InvalidKeyError, "signing key rejected (too weak or wrong type)"),
    (jwt_errors.DecodeError, "malformed token"),
)


def _reason(exc: jwt_errors.PyJWTError) -> str:
    if isinstance(exc, jwt_errors.MissingRequiredClaimError):
        return f"token has no '{exc.claim}' claim"
    if isinstance(exc, jwt_errors.ImmatureSignatureError):
        return "token issued in the future (iat)" if "(iat)" in str(exc) else "token not yet valid"
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "invalid token"


class JWTAuthenticator:
    """Verifies JWTs from one issuer, with a static ``key`` or the keys at ``jwks_url``.

    ``algorithms`` is the allow-list (``none`` is never allowed, HS* only with an
    HMAC secret). ``exp``, ``iss``, ``aud`` and ``sub`` are required. Verified
    tokens are cached by SHA-256 for up to ``cache_ttl`` seconds, never past their
    ``exp``. ``clock`` (epoch seconds) is injectable for tests.
    """

    def __init__(
        self,
        issuer: str,
        audience: str | Sequence[str],
        *,
        jwks_url: str | None = None,
        key: Any = None,
        algorithms: Sequence[str] = ("RS256", "ES256"),
        leeway: float = 30.0,
        claims: ClaimMap | None = None,
        max_token_bytes: int = compact.MAX_TOKEN_BYTES,
        cache_ttl: float = 300.0,
        cache_size: int = 10_000,
        jwks_ttl: float = 300.0,
        jwks_cooldown: float = 30.0,
        jwks_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (jwks_url is None) == (key is None):
            raise ConfigurationError("JWTAuthenticator needs exactly one of jwks_url= or key=")
        self.issuer = issuer
        self.audience = audience if isinstance(audience, str) else list(audience)
        self.algorithms = check_algorithms(algorithms)
        self.leeway = leeway
        self.claims = claims if claims is not None else ClaimMap()
        self.max_token_bytes = max_token_bytes
        self.cache_ttl = cache_ttl
        self._clock = clock
        self._key: VerificationKey | None = None
        self.jwks: JWKSCache | None = None
        if key is not None:
            self._key = load_key(key, self.algorithms)
        else:
            assert jwks_url is not None
            reject_hmac_for_jwks(self.algorithms)
            self.jwks = JWKSCache(
                jwks_url,
                algorithms=self.algorithms,
                ttl=jwks_ttl,
                cooldown=jwks_cooldown,
                timeout=jwks_timeout,
                clock=clock,
            )
        self._lock = threading.Lock()
        self._cache: TLRUCache[bytes, Principal] = TLRUCache(
            maxsize=cache_size, ttu=self._expires, timer=clock
        )

    def authenticate(self, token: str) -> Principal:
        """The principal ``token`` proves, from the cache when already verified."""
        digest = self._digest(token)
        cached = self._cached(digest)
        if cached is not None:
            return cached
        principal = self.claims.principal(self.verify(token), token)
        if digest is not None:
            with self._lock:
                self._cache[digest] = principal
        return principal

    async def aauthenticate(self, token: str) -> Principal:
        """``authenticate`` for event loops: cache hits inline, misses on a worker thread."""
        cached = self._cached(self._digest(token))
        if cached is not None:
            return cached
        return await asyncio.to_thread(self.authenticate, token)

    def verify(self, token: str) -> dict[str, Any]:
        """Fully verify ``token`` (no cache) and return its claims."""
        parsed = compact.parse(token, self.max_token_bytes)
        alg = self._check_alg(parsed.header)
        kid = parsed.header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise AuthenticationError("malformed token header ('kid' must be a string)")
        key = self._key_for(kid)
        if alg not in key.algorithms:
            raise AuthenticationError(
                f"algorithm {compact.shown(alg)} does not fit the signing key"
            )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=sorted(key.algorithms),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS, "enforce_minimum_key_length": True},
            )
        except jwt_errors.PyJWTError as exc:
            raise AuthenticationError(_reason(exc)) from exc
        # PyJWT checks exp against the system clock; this applies the injectable one too.
        if float(claims["exp"]) + self.leeway <= self._clock():
            raise AuthenticationError("token expired")
        return claims

    def refresh_keys(self) -> None:
        """Fetch the JWKS now (e.g. at start-up); no-op with a static key."""
        if self.jwks is not None:
            self.jwks.refresh()

    def _check_alg(self, header: dict[str, Any]) -> str:
        alg = header.get("alg")
        if not isinstance(alg, str) or not alg:
            raise AuthenticationError("token header has no 'alg'")
        if alg.lower() == "none":
            raise AuthenticationError("algorithm 'none' not allowed")
        if alg not in self.algorithms:
            raise AuthenticationError(f"algorithm {compact.shown(alg)} not allowed")
        return alg

    def _key_for(self, kid: str | None) -> VerificationKey:
        if self._key is not None:
            return self._key
        assert self.jwks is not None
        return self.jwks.key(kid)

    def _cached(self, digest: bytes | None) -> Principal | None:
        if digest is None:
            return None
        with self._lock:
            cached = self._cache.get(digest)
        if cached is not None and (cached.expires_at or 0) > self._clock():
            return cached
        return None

    def _digest(self, token: object) -> bytes | None:
        if self.cache_ttl <= 0 or not isinstance(token, str) or len(token) > self.max_token_bytes:
            return None
        return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()

    def _expires(self, _digest: bytes, principal: Principal, now: float) -> float:
        # Never keep a token past its own expiry, whatever cache_ttl says.
        return min(now + self.cache_ttl, principal.expires_at or now)

    def __repr__(self) -> str:
        source = self.jwks.url if self.jwks is not None else "static key"
        return f"JWTAuthenticator(issuer={self.issuer!r}, keys={source})"
