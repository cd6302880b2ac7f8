"""Group 1: what guarding costs per call, over the raw function, sync and async."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import jwt
from cachetools import TTLCache
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from benchmarks import _features as F
from benchmarks._context import Env
from benchmarks._harness import Case
from guardrail import AuthenticationError, PermissionDenied, Principal

GROUP = "1 overhead over raw (us/call)"
ISSUER = "https://idp.bench.local/"
AUDIENCE = "support-agent"


def _variant(
    env: Env, name: str, label: str, built: F.Built, note: str = "", *, waits: bool = False
) -> None:
    """Sync and async rows of one guard variant (allowed calls, as ``alice``)."""
    for mode in ("sync", "async"):
        title = f"{label} [{mode}]"
        if built.error is not None:
            env.na(GROUP, title, f"build failed: {built.error}")
            continue
        guard = built.guard
        assert guard is not None
        missing = f"without {', '.join(built.missing)} (not landed)" if built.missing else ""
        case = Case(
            key=f"{name}.{mode}",
            group=GROUP,
            label=title,
            baseline=f"raw.{mode}",
            waits=waits,
            around=functools.partial(guard.acting_as, F.SUPPORT),
            note="; ".join(n for n in (note, missing) if n),
        )
        if mode == "sync":
            assert built.sync is not None
            case.sync = _caller(built.sync)
        else:
            assert built.async_ is not None
            case.async_ = _acaller(built.async_)
        env.case(case)


# Every timed call, raw or guarded, allowed or denied, goes through one small Python
# function of the same shape, so subtracting the raw call removes exactly the loop and
# that frame.


def _caller(fn: Callable[..., Any]) -> Callable[[], Any]:
    def call() -> Any:
        return fn("A-17", 40.0)

    return call


def _acaller(fn: Callable[..., Any]) -> Callable[[], Awaitable[Any]]:
    async def call() -> Any:
        return await fn("A-17", 40.0)

    return call


def _denied(env: Env, name: str, label: str, built: F.Built) -> None:
    guard, fn, afn = built.guard, built.sync, built.async_
    if guard is None or fn is None or afn is None:
        env.na(GROUP, label, f"build failed: {built.error}")
        return

    def attempt() -> None:
        try:
            fn("A-17", 40.0)
        except PermissionDenied:
            return

    async def aattempt() -> None:
        try:
            await afn("A-17", 40.0)
        except PermissionDenied:
            return

    for mode, sync, async_ in (("sync", attempt, None), ("async", None, aattempt)):
        env.case(
            Case(
                key=f"{name}.{mode}",
                group=GROUP,
                label=f"{label} [{mode}]",
                baseline=f"raw.{mode}",
                sync=sync,
                async_=async_,
                around=lambda: guard.acting_as(F.CONTRACTOR),
                note="deny rule hit: PermissionDenied raised and caught",
            )
        )


def add(env: Env) -> None:
    workdir = env.workdir
    env.case(Case(key="raw.sync", group=GROUP, label="raw function [sync] (absolute)",
                  sync=_caller(F.refund)))  # fmt: skip
    env.case(Case(key="raw.async", group=GROUP, label="raw function [async] (absolute)",
                  async_=_acaller(F.arefund)))  # fmt: skip

    lean = F.build(ledger="memory://")
    _variant(env, "lean", "lean", lean, "20 rules, OTel API only, no audit sink")
    _denied(env, "denied", "denied (lean)", lean)

    events = F.build(ledger="memory://")
    if events.guard is not None:
        events.guard.audit.add(_NullSink())
    _variant(env, "events", "audit events -> null sink", events, "AuditEvent built, not written")

    if F.ChainLog is None:
        for mode in ("sync", "async"):
            env.na(GROUP, f"audited [{mode}]", F.NOT_LANDED + ": ChainLog")
    else:
        audited = F.build(ledger="memory://", chain_path=workdir / "audited.jsonl")
        _variant(env, "audited", "audited", audited, "ChainLog intent+outcome, fsync batched")
        _denied(env, "denied_audited", "denied (audited)", audited)
        one_line = F.build(ledger="memory://", chain_path=workdir / "read-only.jsonl",
                           read_only=True)  # fmt: skip
        _variant(env, "audited_read_only", "audited, read-only tool", one_line,
                 "ChainLog outcome only (@guard.tool(read_only=True)), fsync batched")  # fmt: skip

    provider = sdk_tracer_provider(env)
    if not F.HAS_TRACER or provider is None:
        for mode in ("sync", "async"):
            env.na(GROUP, f"full [{mode}]", F.NOT_LANDED + ": Guard(tracer_provider=)")
    else:
        full = F.build(ledger="memory://", chain_path=workdir / "full.jsonl",
                       tracer_provider=provider)  # fmt: skip
        _variant(env, "full", "full", full, "+ OTel SDK, batch span processor")

    redis_url = env.redis_url
    if not F.HAS_REDIS_LEDGER:
        for mode in ("sync", "async"):
            env.na(GROUP, f"redis [{mode}]", F.NOT_LANDED + ": RedisLedger")
    elif redis_url is None:
        for mode in ("sync", "async"):
            env.na(GROUP, f"redis [{mode}]", env.redis_error)
    else:
        redis = F.build(ledger=redis_url, chain_path=workdir / "redis.jsonl",
                        tracer_provider=provider if F.HAS_TRACER else None)  # fmt: skip
        _variant(env, "redis", "redis", redis, "full, Redis ledger", waits=True)

    _jwt(env)


class _NullSink:
    def write(self, event: Any) -> None:
        pass


def sdk_tracer_provider(env: Env) -> Any:
    """An SDK provider with a batch processor exporting nowhere; never the global one."""
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
    except ImportError:
        return None

    class NullExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NullExporter()))
    env.cleanups.append(provider.shutdown)
    return provider


# -- identity: a fresh JWT vs the cached path ---------------------------------------------------


class PyJWTAuthenticator:
    """Stand-in until ``JWTAuthenticator`` lands: pyjwt verify, principal cached by token."""

    def __init__(self, key: Any, algorithm: str) -> None:
        self.key = key
        self.algorithms = [algorithm]
        self.cache: TTLCache[str, Principal] = TTLCache(maxsize=100_000, ttl=300)

    def authenticate(self, token: str) -> Principal:
        principal = self.cache.get(token)
        if principal is not None:
            return principal
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=self.algorithms,
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(str(exc)) from None
        principal = Principal(
            subject=claims["sub"],
            org=claims.get("org"),
            roles=frozenset(claims.get("roles", ())),
            issuer=claims["iss"],
            expires_at=float(claims["exp"]),
        )
        self.cache[token] = principal
        return principal


def _authenticator(public_key: Any, algorithm: str) -> tuple[Any, str]:
    if F.JWTAuthenticator is None:
        return PyJWTAuthenticator(public_key, algorithm), "pyjwt direct (JWTAuthenticator n/a)"
    return (
        F.JWTAuthenticator(
            issuer=ISSUER, audience=AUDIENCE, key=public_key, algorithms=[algorithm]
        ),
        "JWTAuthenticator",
    )


def _tokens(private_key: Any, algorithm: str, count: int) -> Iterator[str]:
    now = int(time.time())
    for _ in range(count):
        claims = {
            "sub": "alice",
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
            "org": "acme",
            "roles": ["support"],
        }
        yield jwt.encode(claims, private_key, algorithm=algorithm)


def _jwt(env: Env) -> None:
    per_round = 3 if env.quick else 40
    needed = per_round * (env.harness.rounds + 1)
    keys: list[tuple[str, Any]] = [
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
    ]
    for algorithm, private in keys:
        try:
            authenticator, how = _authenticator(private.public_key(), algorithm)
            built = F.build(ledger="memory://", authenticator=authenticator)
        except Exception as exc:
            env.na(GROUP, f"first call, fresh {algorithm} JWT", f"{type(exc).__name__}: {exc}")
            continue
        guard, fn = built.guard, built.sync
        if guard is None or fn is None:
            env.na(GROUP, f"first call, fresh {algorithm} JWT", f"build failed: {built.error}")
            continue
        fresh = iter(list(_tokens(private, algorithm, needed)))
        env.case(
            Case(
                key=f"jwt.{algorithm.lower()}.fresh",
                group=GROUP,
                label=f"first call, fresh {algorithm} JWT [sync]",
                baseline="raw.sync",
                sync=_with_token(guard, fn, functools.partial(next, fresh)),
                fixed_n=per_round,
                note=f"acting_as(new token) + call; {how}",
            )
        )
        if algorithm == "RS256":
            token = next(_tokens(private, algorithm, 1))
            env.case(
                Case(
                    key="jwt.cached",
                    group=GROUP,
                    label="same JWT again, cached [sync]",
                    baseline="raw.sync",
                    sync=_with_token(guard, fn, functools.partial(str, token)),
                    note=f"acting_as(seen token) + call; {how}",
                )
            )


def _with_token(guard: Any, fn: Callable[..., Any], token: Callable[[], str]) -> Callable[[], Any]:
    def call() -> Any:
        with guard.acting_as(token()):
            return fn("A-17", 40.0)

    return call
