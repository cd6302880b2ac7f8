"""Budgets and rate limits.

``limits:`` in a policy are :class:`Limit` objects. The :class:`BudgetKeeper` step
(inserted by ``Guard`` right after the policy check) turns each call into one
*charge* per applicable limit and key, and a :class:`Ledger` reserves all of
them in ONE atomic operation: every charge fits (``used + amount <= maximum``)
and all are charged, or none is and :class:`~guardrail.errors.BudgetExceeded`
names the first limit that did not fit, its level and key, and ``retry_after``.

Keys: ``user`` (subject; calls without a principal share ``anonymous``), ``team``
(one key per team of the principal: each is charged), ``org``, ``tool``,
``user+tool``, ``session`` (calls inside ``guard.session(id)``, charged to every
enclosing session; calls outside a session are not counted) and ``global``. A
caller without the key is never skipped: every principal without a team shares the
team key ``(no team)``, without an org the org key ``(no org)``, and calls without
a principal the user key ``anonymous``. A tool without a declared cost is admitted
by a cost limit only while the budget has something left.

Lifecycle: the declared ``cost`` (``@guard.tool(cost=...)``) is reserved before
the tool runs and settled after it to what the tool reported with
:func:`guardrail.report_cost`; when the tool raises or is cancelled and the limit
has ``refund_on_error``, it is released. ``calls`` stay counted even when the tool
fails (a failing loop is still a loop). ``concurrent`` slots are always released.
A call refused by a later step never ran and keeps nothing.

Runaway control: a ``per: session`` calls limit caps the steps of one agent run;
``identical: true`` on a calls limit counts only calls of the same tool with the
same arguments (key = tool + SHA-256 of the canonical JSON arguments), so
``{id: loop, per: session, calls: 3/minute, identical: true}`` refuses the 4th
identical call with a message telling the model to change course.

Sliding windows are exact and bounded: each window keeps one entry per
reservation (time, amount; Redis also the id) plus a running sum; entries older
than the window are trimmed on every reservation of that key, so a key holds only
what is inside its window. Calendar ``period`` keys are counters per UTC day or month that
expire after the period; a refusal reports the seconds until the reset.

Backends: :class:`MemoryLedger` (default, one lock, keys in a dict with an expiry
heap that drops them when they can no longer count) and ``RedisLedger`` (one Lua
script, ``guardrail/resources/redis/ledger.lua``, one round trip per reservation
covering every key, time from Redis ``TIME``).

Hot path: the keeper plans each shape of call (tool, cost, sessions, principal
object; :mod:`guardrail.budgets.plan`) once and reuses the plan and its charges;
a call whose charges stand as reserved (no reported cost, no error, no concurrency
slot) is not settled at all, so with Redis it is one round trip.

Choose a backend by object or URI with :func:`ledger_from_uri`. ``RedisLedger``
imports redis only when built.
"""

from guardrail.budgets.keeper import SHARED_KEYS, BudgetKeeper, Usage
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
from guardrail.budgets.redis_ledger import RedisLedger
from guardrail.budgets.session import SessionScope, current_session

__all__ = [
    "SHARED_KEYS",
    "BudgetKeeper",
    "Charge",
    "Held",
    "Ledger",
    "Limit",
    "MemoryLedger",
    "Reading",
    "RedisLedger",
    "Refusal",
    "Reservation",
    "SessionScope",
    "Usage",
    "current_session",
    "ledger_from_uri",
    "register_scheme",
]
