"""Group 6 row: the redactor on 100 KB of hostile text, the worst of several shapes.

Each text repeats a prefix that starts a secret pattern's match (a name and ``=``, a
URL scheme, ``curl``, ``eyJ``, a quote): a pattern that read the rest of the text from
every start would take seconds to minutes here (quadratic); the redactor reads each
stretch a bounded number of times, so this is its per-character cost times 100 KB.
"""

from __future__ import annotations

import statistics
import time

from benchmarks._context import Env, Row
from guardrail.audit import Redactor

GROUP = "6 targets measured outside the harness"
SIZE = 100 * 1024
UNITS = (
    "a=", "password=", "password:", 'password"', '"password": "', "a:a:", "curl ",
    "curl -u ", "sshpass -p ", "postgres://", "x://a:", "eyJ", "eyJaaaaa.", "-----END",
    "a" * 83 + "<", "1-",
)  # fmt: skip


def add(env: Env) -> None:
    redactor = Redactor()
    runs = 1 if env.quick else 3
    size = SIZE // 10 if env.quick else SIZE
    times = {
        unit: _cpu_ms(redactor, (unit * (size // len(unit) + 1))[:size], runs) for unit in UNITS
    }
    worst = max(times, key=lambda unit: times[unit])
    label = "redaction of a 100 KB hostile text (worst shape, CPU)"
    note = (
        f"worst {worst[:16]!r}; median of all {statistics.median(times.values()):.0f} ms; no target"
    )
    env.rows.append(Row(group=GROUP, label=label, value=f"{times[worst]:.0f} ms", note=note))


def _cpu_ms(redactor: Redactor, text: str, runs: int) -> float:
    spent = []
    for _ in range(runs):
        start = time.process_time()
        redactor.text(text)
        spent.append((time.process_time() - start) * 1000)
    return min(spent)
