"""Budgets and rate limits: the ``Limit`` model, the ``Ledger`` backends and the
``BudgetKeeper`` pipeline step. The Redis backend imports redis only when built."""

from guardrail.budgets.keeper import BudgetKeeper, LedgerUnavailable, Usage
from guardrail.budgets.ledger import (
    Charge,
    Held,
    Ledger,
    Reading,
    Refusal,
    Reservation,
    ledger_from_uri,
    register_scheme,
)
from guardrail.budgets.limit import Limit
from guardrail.budgets.memory import MemoryLedger
from guardrail.budgets.session import SessionScope, current_session

__all__ = [
    "BudgetKeeper",
    "Charge",
    "Held",
    "Ledger",
    "LedgerUnavailable",
    "Limit",
    "MemoryLedger",
    "Reading",
    "Refusal",
    "Reservation",
    "SessionScope",
    "Usage",
    "current_session",
    "ledger_from_uri",
    "register_scheme",
]


def __getattr__(name: str) -> object:
    # RedisLedger on demand, so `import guardrail` never imports redis.
    if name == "RedisLedger":
        from guardrail.budgets.redis_ledger import RedisLedger

        return RedisLedger
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
