"""Which parallel features have landed, and guards built from whatever has.

Budgets (``Guard(ledger=...)``, ``MemoryLedger``/``RedisLedger``), audit
(``ChainLog``, ``Guard(tracer_provider=...)``) and ``JWTAuthenticator`` land on
main separately. Each is detected by name, so the same runner fills in the
missing rows once they merge.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guardrail import Guard, Policy, Principal

NOT_LANDED = "n/a (not landed)"


def _find(name: str, modules: Sequence[str]) -> Any:
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found = getattr(module, name, None)
        if found is not None:
            return found
    return None


_GUARD_PARAMS = inspect.signature(Guard.__init__).parameters
HAS_LEDGER = "ledger" in _GUARD_PARAMS
HAS_TRACER = "tracer_provider" in _GUARD_PARAMS
ChainLog: Any = _find("ChainLog", ("guardrail", "guardrail.audit", "guardrail.audit.chain"))
JWTAuthenticator: Any = _find("JWTAuthenticator", ("guardrail", "guardrail.auth"))
MemoryLedger: Any = _find("MemoryLedger", ("guardrail", "guardrail.budgets"))
RedisLedger: Any = _find("RedisLedger", ("guardrail", "guardrail.budgets"))
HAS_MEMORY_LEDGER = HAS_LEDGER and MemoryLedger is not None
HAS_REDIS_LEDGER = HAS_LEDGER and RedisLedger is not None


def landed() -> dict[str, bool]:
    return {
        "Guard(ledger=) + MemoryLedger": HAS_MEMORY_LEDGER,
        "RedisLedger": HAS_REDIS_LEDGER,
        "ChainLog": ChainLog is not None,
        "Guard(tracer_provider=)": HAS_TRACER,
        "JWTAuthenticator": JWTAuthenticator is not None,
    }


# -- the workload -------------------------------------------------------------------------

SUPPORT = Principal(
    subject="alice", org="acme", teams=("support-eu",), roles=frozenset({"support"})
)
CONTRACTOR = Principal(
    subject="carol",
    org="acme",
    teams=("support-eu",),
    roles=frozenset({"support"}),
    attributes={"employment": "contractor"},
)

LIMITS: list[dict[str, Any]] = [
    # Far above anything a benchmark reaches: the cost measured is the check and charge.
    {"id": "user-rate", "per": "user", "calls": 10**12, "window": "1m"},
    {"id": "team-spend", "per": "team", "cost": 1e15, "period": "day"},
    {"id": "org-spend", "per": "org", "cost": 1e15, "period": "month"},
]


def policy_rules(count: int = 20) -> list[dict[str, Any]]:
    """The realistic small policy: the design's three rules plus ``count - 3`` others."""
    rules: list[dict[str, Any]] = [
        {
            "id": "support-refunds",
            "allow": ["refund", "arefund", "lookup_*"],
            "when": {"roles": ["support"]},
            "args": {"amount": {"max": 100}},
        },
        {
            "id": "own-orders-only",
            "allow": ["get_order"],
            "when": {"roles": ["customer"]},
            "args": {"customer_id": {"eq": "$principal.subject"}},
        },
        {
            "id": "no-contractor-refunds",
            "deny": ["refund", "arefund"],
            "when": {"attributes": {"employment": "contractor"}},
        },
    ]
    for i in range(count - 3):
        glob = i % 4 == 0
        rules.append(
            {
                "id": f"filler-{i}",
                "allow": [f"ns{i}_*" if glob else f"tool_{i}"],
                "when": {"roles": [f"role-{i % 7}"]},
                **({"args": {"limit": {"max": 50 + i}}} if i % 3 == 0 else {}),
            }
        )
    return rules


def policy(*, limits: bool) -> Policy:
    data: dict[str, Any] = {"rules": policy_rules()}
    if limits:
        data["limits"] = LIMITS
    return Policy.from_dict(data)


def refund(order_id: str, amount: float) -> str:
    """The tool every variant guards: does nothing but return."""
    return order_id


async def arefund(order_id: str, amount: float) -> str:
    return order_id


# -- guards ---------------------------------------------------------------------------------


@dataclass
class Built:
    """A guard and its two guarded tools, or why it could not be built."""

    guard: Guard | None = None
    sync: Callable[..., Any] | None = None
    async_: Callable[..., Any] | None = None
    missing: list[str] = field(default_factory=list)
    """Parts of the variant that have not landed (the figure is then partial)."""
    error: str | None = None


def build(
    *,
    ledger: str | None = None,
    chain_path: Path | None = None,
    tracer_provider: Any = None,
    authenticator: Any = None,
    rules: Policy | None = None,
    read_only: bool = False,
) -> Built:
    """A guard with the given ingredients; ledger is ``"memory://"`` or a redis URL.
    ``read_only``: the tools are declared read-only (one audit record per call)."""
    built = Built()
    kwargs: dict[str, Any] = {}
    ledgers: list[Any] = []
    if ledger is not None:
        if ledger.startswith("redis") and not HAS_REDIS_LEDGER:
            built.missing.append("RedisLedger")
        elif ledger.startswith("memory") and not HAS_MEMORY_LEDGER:
            built.missing.append("MemoryLedger")
        else:
            ledgers = _ledger_spellings(ledger)
    if chain_path is not None:
        if ChainLog is None:
            built.missing.append("ChainLog")
        else:
            kwargs["audit"] = [_chain_log(chain_path)]
    if tracer_provider is not None:
        if HAS_TRACER:
            kwargs["tracer_provider"] = tracer_provider
        else:
            built.missing.append("tracer_provider")
    if authenticator is not None:
        kwargs["authenticator"] = authenticator
    guard = None
    for make_ledger in ledgers:
        try:
            with_ledger = {**kwargs, "ledger": make_ledger()}
            guard = Guard(rules if rules is not None else policy(limits=True), **with_ledger)
            break
        except Exception as exc:  # another spelling may fit: try it, then go without
            built.error = f"{type(exc).__name__}: {exc}"
    if guard is None:
        if ledgers:
            built.missing.append(f"ledger ({built.error})")
        try:
            guard = Guard(rules if rules is not None else policy(limits=False), **kwargs)
        except Exception as exc:  # a landed feature with another signature: say so, go on
            built.error = f"{type(exc).__name__}: {exc}"
            return built
    built.error = None
    built.guard = guard
    options: dict[str, Any] = {"read_only": True} if read_only else {}
    try:
        built.sync = guard.tool(cost=1, **options)(refund)
        built.async_ = guard.tool(cost=1, **options)(arefund)
    except TypeError:  # no read_only= yet
        built.error = NOT_LANDED + ": @guard.tool(read_only=)"
    return built


def _ledger_spellings(uri: str) -> list[Callable[[], Any]]:
    """Ways to hand ``Guard`` a ledger, in order: the design's URI, then an instance."""
    if uri.startswith("memory"):
        return [lambda: uri, lambda: MemoryLedger()]
    return [
        lambda: uri,
        lambda: RedisLedger.from_url(uri),
        lambda: RedisLedger(url=uri),
        lambda: RedisLedger(uri),
    ]


def _chain_log(path: Path) -> Any:
    """The audit log as production would run it: group commit, fsync batched."""
    return ChainLog(path, fsync="batch")


def chain_fsync_mode(log: Any) -> str:
    """How the chain log syncs, as far as its attributes tell."""
    for attr in ("fsync", "_fsync", "fsync_mode"):
        if hasattr(log, attr):
            return f"fsync={getattr(log, attr)!r}"
    return "fsync=default"
