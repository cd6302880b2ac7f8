"""What a budget refusal says: which limit, which key, how much is used, when to retry."""

from __future__ import annotations

from guardrail.budgets.ledger import Refusal
from guardrail.budgets.limit import Limit
from guardrail.budgets.plan import SHARED_KEYS, Planned


def span_text(limit: Limit) -> str:
    if limit.concurrent is not None:
        return "in flight"
    if limit.window is not None:
        return f"in the last {limit.window:g}s"
    return {"day": "today (UTC)", "month": "this month (UTC)"}.get(limit.period or "", "in total")


def refusal_message(tool: str, planned: Planned, refusal: Refusal) -> str:
    limit, charge = planned.limit, planned.charge
    maximum = limit.maximum
    span = span_text(limit)
    if refusal.retry_after is not None:
        when = f" Retry after {refusal.retry_after:.0f}s."
    elif charge.amount > maximum:
        when = f" This call needs {charge.amount:g}, more than the whole limit."
    else:
        when = ""
    if limit.identical:
        return (
            f"{tool!r} was already called {refusal.used:g} times with these exact arguments "
            f"{span} (limit {limit.id!r} allows {maximum:g}): the same call keeps "
            f"repeating. Change the arguments or stop calling it.{when}"
        )
    unit = {"calls": "calls", "cost": "cost", "concurrent": "concurrent calls"}[limit.measure]
    shared = ""
    if SHARED_KEYS.get(limit.per) == planned.value:
        shared = f" (every caller without a {limit.per} shares this key)"
    return (
        f"budget exceeded for {tool!r}: {limit.per} {planned.value!r}{shared} has used "
        f"{refusal.used:g} of {maximum:g} {unit} {span} (limit {limit.id!r}).{when}"
    )
