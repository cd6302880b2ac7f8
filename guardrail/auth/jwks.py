"""``JWKSCache``: an issuer's public signing keys, fetched over HTTP and cached.

Unlike ``jwt.PyJWKClient`` it keeps the last good key set when a refresh fails,
and every fetch after the first is rate-limited by one cooldown, whatever the
reason (stale set, unknown ``kid``, failing endpoint).
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from guardrail.auth._redirects import NoRedirects
from guardrail.auth.compact import shown
from guardrail.auth.keys import VerificationKey, usable_algorithms
from guardrail.errors import AuthenticationError, ConfigurationError

log = logging.getLogger("guardrail.auth")


_OPENER = urllib.request.build_opener(NoRedirects)

MAX_JWKS_BYTES = 512 * 1024


@dataclass(frozen=True)
class _KeySet:
    keys: Mapping[str | None, VerificationKey]
    fetched_at: float


class JWKSCache:
    """The keys at ``url``, refreshed after ``ttl`` seconds, at most once per ``cooldown``.

    ``algorithms`` is the verifier's allow-list: keys that can serve none of them
    (and symmetric ``oct`` keys, which a public endpoint must never hold) are dropped.
    """

    def __init__(
        self,
        url: str,
        *,
        algorithms: frozenset[str],
        ttl: float = 300.0,
        cooldown: float = 30.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ConfigurationError(f"jwks_url must be an http(s) URL, got {url!r}")
        self.url = url
        self.algorithms = algorithms
        self.ttl = ttl
        self.cooldown = cooldown
        self.timeout = timeout
        self._clock = clock
        self._set: _KeySet | None = None
        self._last_attempt: float | None = None
        self._last_error = "never fetched"
        self._lock = threading.Lock()

    def key(self, kid: str | None) -> VerificationKey:
        """The key for ``kid``, refreshing the set if it is stale or lacks ``kid``."""
        current = self._set
        found = self._pick(current, kid)
        if found is not None and current is not None and not self._stale(current):
            return found
        if found is not None and not self._lock.acquire(blocking=False):
            return found  # stale but known: serve it while another thread refreshes
        if found is None:
            self._lock.acquire()
        try:
            # Another thread may have refreshed while this one waited.
            current = self._set
            if current is None or self._stale(current) or self._pick(current, kid) is None:
                self._refresh_if_allowed()
                current = self._set
        finally:
            self._lock.release()
        if current is None:
            raise AuthenticationError(f"signing keys unavailable ({self._last_error})")
        found = self._pick(current, kid)
        if found is None:
            raise AuthenticationError(
                f"unknown signing key {shown(kid)}" if kid else "token has no 'kid' header"
            )
        return found

    def refresh(self) -> None:
        """Fetch now, ignoring TTL and cooldown; raise ``AuthenticationError`` on failure."""
        with self._lock:
            self._last_attempt = self._clock()
            self._set = _KeySet(self._fetch(), self._clock())

    def _stale(self, current: _KeySet) -> bool:
        return self._clock() - current.fetched_at >= self.ttl

    @staticmethod
    def _pick(current: _KeySet | None, kid: str | None) -> VerificationKey | None:
        if current is None:
            return None
        if kid is None and len(current.keys) == 1:
            return next(iter(current.keys.values()))
        return current.keys.get(kid) if kid is not None else None

    def _refresh_if_allowed(self) -> None:
        now = self._clock()
        last = self._last_attempt
        # A clock that jumped backwards must not block refreshes until it catches up.
        if last is not None and 0 <= now - last < self.cooldown:
            return
        self._last_attempt = now
        try:
            self._set = _KeySet(self._fetch(), now)
        except AuthenticationError as exc:
            self._last_error = exc.reason
            kept = "keeping the last good keys" if self._set is not None else "no keys yet"
            log.warning("JWKS refresh from %s failed: %s; %s", self.url, exc, kept)

    def _fetch(self) -> dict[str | None, VerificationKey]:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                body = response.read(MAX_JWKS_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            note = " (redirects are not followed)" if 300 <= exc.code < 400 else ""
            raise AuthenticationError(f"JWKS fetch failed: HTTP {exc.code}{note}") from exc
        except (OSError, ValueError, http.client.HTTPException) as exc:
            raise AuthenticationError(f"JWKS fetch failed: {type(exc).__name__}") from exc
        if len(body) > MAX_JWKS_BYTES:
            raise AuthenticationError(f"JWKS fetch failed: response over {MAX_JWKS_BYTES} bytes")
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise AuthenticationError("JWKS fetch failed: response is not JSON") from exc
        keys = self._parse(document)
        if not keys:
            raise AuthenticationError("JWKS fetch failed: no usable signing keys")
        return keys

    def _parse(self, document: Any) -> dict[str | None, VerificationKey]:
        entries = document.get("keys") if isinstance(document, dict) else None
        keys: dict[str | None, VerificationKey] = {}
        for entry in entries if isinstance(entries, list) else []:
            key = self._parse_key(entry)
            if key is not None:
                keys[key.kid] = key
        return keys

    def _parse_key(self, entry: Any) -> VerificationKey | None:
        if not isinstance(entry, dict) or entry.get("kty") == "oct":
            return None
        if entry.get("use", "sig") != "sig":
            return None
        from jwt import PyJWK  # pyjwt loads only when keys are fetched
        from jwt.exceptions import PyJWTError

        try:
            public = PyJWK(entry).key
        except (PyJWTError, ValueError, TypeError, KeyError):
            return None  # one malformed entry must not discard the whole set
        kid = entry.get("kid")
        pinned = entry.get("alg")
        algorithms = usable_algorithms(public, self.algorithms)
        if isinstance(pinned, str):
            algorithms &= {pinned}
        if not algorithms:
            return None
        return VerificationKey(public, algorithms, kid if isinstance(kid, str) else None)
