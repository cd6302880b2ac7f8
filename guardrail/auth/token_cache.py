"""``DownstreamTokens``: exchanged tokens, cached per user, audience and scopes, one
exchange in flight per key for threads and asyncio tasks alike."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Hashable, Iterable
from concurrent.futures import Future
from typing import cast

from guardrail.auth.exchange import TokenExchange
from guardrail.auth.exchanged import ExchangedToken
from guardrail.errors import DelegationRefused
from guardrail.identity import Principal

Key = tuple[str, str, frozenset[str], bytes]
"""(subject, audience, scopes, SHA-256 of the subject token)."""
Scopes = Iterable[str] | str
_HASHABLE = (tuple, frozenset, str)
Spelled = tuple[int, str, Hashable]
"""(id of the principal object, audience, scopes as the caller spelled them). The
entry keeps that principal alive, so the id is not reused while the entry is there;
a principal is frozen, so the same object always has the same subject and token
(authenticators hand back the same object for the same token from their cache)."""
Hit = tuple[float, ExchangedToken, str, Principal]
"""(fresh until, the token, its bearer string, the principal it was asked for)."""


class DownstreamTokens:
    """Exchanged tokens, cached, with one exchange in flight per key.

    A token is reused until ``refresh_before`` seconds (at most a quarter of its
    lifetime) before it expires. Failures are not cached: the next call asks again.
    """

    def __init__(
        self, exchange: TokenExchange, *, refresh_before: float = 30.0, max_entries: int = 10_000
    ) -> None:
        self.exchange = exchange
        self.refresh_before = refresh_before
        self.max_entries = max_entries
        self._clock = exchange.clock
        self._tokens: dict[Key, tuple[float, ExchangedToken]] = {}
        self._flights: dict[Key, Future[ExchangedToken]] = {}
        self._digests: dict[str, bytes] = {}
        self._spellings: dict[Spelled, Hit] = {}
        self._lock = threading.Lock()

    def get(self, principal: Principal, audience: str, scopes: Scopes = ()) -> ExchangedToken:
        """The token, from the cache or by one exchange (blocking: sync callers only).

        ``scopes``: any spelling (a list, a set, a space-separated string).
        """
        hit = self.cached(principal, audience, scopes)
        if hit is not None:
            return hit
        spelled = _spelled(principal, audience, scopes)
        wanted = scope_set(spelled[2])  # type: ignore[arg-type]
        key = self._key(principal, audience, wanted)
        flight, leader = self._join(key)
        if leader:
            self._lead(key, flight, principal, audience, wanted)
        return self._remember(principal, spelled, key, _outcome(flight))

    async def aget(
        self, principal: Principal, audience: str, scopes: Scopes = ()
    ) -> ExchangedToken:
        """``get`` for event loops: the exchange runs on a worker thread."""
        hit = self.cached(principal, audience, scopes)
        if hit is not None:
            return hit
        spelled = _spelled(principal, audience, scopes)
        wanted = scope_set(spelled[2])  # type: ignore[arg-type]
        key = self._key(principal, audience, wanted)
        flight, leader = self._join(key)
        loop = asyncio.get_running_loop()
        if leader:
            # On a thread, so a cancelled caller still finishes the exchange for the others.
            loop.run_in_executor(None, self._lead, key, flight, principal, audience, wanted)
        await _finished(flight, loop)
        return self._remember(principal, spelled, key, _outcome(flight))

    def cached(
        self, principal: Principal, audience: str, scopes: Scopes = ()
    ) -> ExchangedToken | None:
        """The cached token for this request as the caller spells it, if still fresh."""
        hit = self.hit(principal, audience, scopes)
        return hit[1] if hit is not None else None

    def hit(self, principal: Principal, audience: str, scopes: Scopes = ()) -> Hit | None:
        """The hot path of every tool call that uses a downstream token: one tuple,
        one dict lookup, one clock read; the bearer string comes with the token."""
        kind = type(scopes)
        spelling: Hashable = (
            tuple(scopes)
            if kind is list
            else frozenset(scopes)
            if kind is set
            else cast(Hashable, scopes)
        )
        try:
            hit = self._spellings.get((id(principal), audience, spelling))
        except TypeError:  # an unhashable spelling: the slow path reads it once
            return None
        if hit is not None and hit[0] > self._clock():
            return hit
        return None

    def _remember(
        self, principal: Principal, spelled: Spelled, key: Key, token: ExchangedToken
    ) -> ExchangedToken:
        # The cache hit path looks the token up by the principal object and the
        # caller's own spelling of the request (no subject token read or hashed, no
        # frozenset per call).
        entry = self._tokens.get(key)
        if entry is not None and entry[1] is token:
            hit = (entry[0], token, token.access_token.get_secret_value(), principal)
            with self._lock:
                if len(self._spellings) >= self.max_entries:
                    self._spellings.clear()
                self._spellings[spelled] = hit
        return token

    def forget(self, principal: Principal | None = None) -> None:
        """Drop cached tokens (of ``principal``, or all), e.g. after a sign-out."""
        with self._lock:
            self._spellings.clear()
            if principal is None:
                self._tokens.clear()
            else:
                for key in [k for k in self._tokens if k[0] == principal.subject]:
                    del self._tokens[key]

    def _key(self, principal: Principal, audience: str, scopes: frozenset[str]) -> Key:
        secret = principal.token
        if secret is None:
            raise DelegationRefused(
                f"{principal.describe()} has no verified token to exchange for {audience}",
                audience=audience,
                scopes=scopes,
                error="no_subject_token",
                principal=principal,
            )
        raw = secret.get_secret_value()
        digest = self._digests.get(raw)
        if digest is None:
            digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).digest()
            with self._lock:
                if len(self._digests) >= self.max_entries:
                    self._digests.clear()
                self._digests[raw] = digest
        return (principal.subject, audience, scopes, digest)

    def _join(self, key: Key) -> tuple[Future[ExchangedToken], bool]:
        """The exchange in flight for ``key``, or a new one this caller leads."""
        with self._lock:
            entry = self._tokens.get(key)
            if entry is not None and entry[0] > self._clock():
                done: Future[ExchangedToken] = Future()
                done.set_result(entry[1])
                return done, False
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = self._flights[key] = Future()
            flight.set_running_or_notify_cancel()  # no waiter can cancel it for the others
            return flight, True

    def _lead(
        self,
        key: Key,
        flight: Future[ExchangedToken],
        principal: Principal,
        audience: str,
        scopes: frozenset[str],
    ) -> None:
        try:
            token = self.exchange.exchange(principal, audience, scopes)
        except BaseException as exc:
            with self._lock:
                del self._flights[key]
            flight.set_exception(_as_refusal(exc, principal, audience, scopes))
            return
        with self._lock:
            self._store(key, token)
            del self._flights[key]
        flight.set_result(token)

    def _store(self, key: Key, token: ExchangedToken) -> None:
        now = self._clock()
        margin = min(self.refresh_before, max(token.expires_at - now, 0.0) / 4)
        if len(self._tokens) >= self.max_entries:
            for old in [k for k, (until, _) in self._tokens.items() if until <= now]:
                del self._tokens[old]
            if len(self._tokens) >= self.max_entries:  # still full: drop the oldest half
                for old in list(self._tokens)[: self.max_entries // 2]:
                    del self._tokens[old]
        self._tokens[key] = (token.expires_at - margin, token)


async def _finished(flight: Future[ExchangedToken], loop: asyncio.AbstractEventLoop) -> None:
    """Wait for ``flight`` without raising its error here; a cancelled waiter leaves it be."""
    done: asyncio.Future[None] = loop.create_future()

    def wake(_: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(_resolve, done)

    flight.add_done_callback(wake)
    await done


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def _outcome(flight: Future[ExchangedToken]) -> ExchangedToken:
    error = flight.exception()
    if isinstance(error, DelegationRefused):
        # A copy per waiter: one exception object must not be raised in many threads.
        raise error.again() from error.__cause__
    return flight.result()


def _as_refusal(
    exc: BaseException, principal: Principal, audience: str, scopes: frozenset[str]
) -> BaseException:
    if isinstance(exc, DelegationRefused) or not isinstance(exc, Exception):
        return exc
    refusal = DelegationRefused(
        f"the token exchange for {audience} failed ({type(exc).__name__}: {exc})",
        audience=audience,
        scopes=scopes,
        error="internal_error",
        principal=principal,
    )
    refusal.__cause__ = exc
    return refusal


def scope_set(scopes: Scopes) -> frozenset[str]:
    """Scopes as a frozenset; a string is space-separated scopes (OAuth's own form)."""
    if type(scopes) is frozenset:
        return scopes
    if isinstance(scopes, str):
        return frozenset(scopes.split())
    return frozenset(scopes)


def _spelled(principal: Principal, audience: str, scopes: Scopes) -> Spelled:
    """The caller's spelling of the request (a list becomes a tuple, a set a frozenset)."""
    kind = type(scopes)
    spelling: Hashable
    if kind is list:
        spelling = tuple(scopes)
    elif kind is set:
        spelling = frozenset(scopes)
    elif kind in _HASHABLE:
        spelling = cast(Hashable, scopes)
    else:  # a set, a generator, ...: read once, here
        spelling = frozenset(scope_set(scopes))
    return (id(principal), audience, spelling)
