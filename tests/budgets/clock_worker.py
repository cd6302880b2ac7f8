"""A separate OS process using one shared Redis ledger with its app clock skewed."""

from __future__ import annotations

import time
from typing import Any

POLICY = {
    "rules": [{"id": "everyone", "allow": ["*"]}],
    # With a 45 s window, clocks 60 s apart would trim each other's entries
    # if the ledger trusted the application's clock.
    "limits": [{"id": "fleet", "per": "global", "calls": 40, "window": "45s"}],
}


def run(url: str, offset: float, attempts: int, barrier: Any, results: Any) -> None:
    real = time.time
    time.time = lambda: real() + offset  # this process's app-side clock is off by `offset`

    from guardrail import BudgetExceeded, Guard, Policy
    from guardrail.testing import make_principal

    guard = Guard(Policy.model_validate(POLICY), ledger=url)

    @guard.tool
    def act() -> None:
        return None

    admitted = 0
    barrier.wait(timeout=60)
    with guard.acting_as(make_principal(f"worker{offset:+g}")):
        for _ in range(attempts):
            try:
                act()
            except BudgetExceeded:
                continue
            admitted += 1
    results.put((offset, admitted, round(time.time() - real())))
