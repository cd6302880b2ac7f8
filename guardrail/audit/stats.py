"""Usage figures from audit events: one summary behind ``audit stats`` and ``audit report``.

Both commands print from :func:`summarize`, so the numbers in the HTML report are
the numbers ``guardrail audit stats --json`` gives for the same files.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LEVELS = ("user", "team", "org", "tool")
PERCENTILES = (50, 90, 99)
BUCKETS = 24
"""Time buckets of the spend-over-time series (sized to the log's time span)."""
NO_TEAM = "(no team)"
NO_ORG = "(no org)"
APPROVAL_EVENTS = ("requested", "granted", "denied", "refused", "consumed")
"""Approval notices counted per tool (``refused``: an approve/deny attempt turned down)."""


@dataclass
class _Tally:
    calls: set[str] = field(default_factory=set)
    tool_calls: Counter[str] = field(default_factory=Counter)
    decisions: Counter[str] = field(default_factory=Counter)
    denials: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: Counter[str] = field(default_factory=Counter)
    spend: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    durations: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    charges: list[tuple[float, float, dict[str, list[str]]]] = field(default_factory=list)
    """(time, cost, level -> keys) of each settled cost, for the series over time."""
    approvals: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, event: Mapping[str, Any]) -> None:
        phase = event.get("phase")
        tool = str(event.get("tool"))
        # A read-only tool's allowed call is its outcome alone (no intent record).
        if phase in ("intent", "outcome", "refusal") and event.get("call_id") not in self.calls:
            self.calls.add(str(event.get("call_id")))
            self.tool_calls[tool] += 1
        if phase == "refusal":
            self._refusal(event, tool)
        elif phase == "outcome":
            self._outcome(event, tool)
        elif phase == "notice":
            self._notice(event, tool)

    def _notice(self, event: Mapping[str, Any], tool: str) -> None:
        detail = event.get("detail")
        name = str(detail.get("event", "")) if isinstance(detail, Mapping) else ""
        if name.startswith("approval.") and name[9:] in APPROVAL_EVENTS:
            self.approvals[tool][name[9:]] += 1

    def _refusal(self, event: Mapping[str, Any], tool: str) -> None:
        decision = str(event.get("decision"))
        self.decisions[decision] += 1
        why = event.get("rule") or event.get("limit") or "(default deny)"
        self.denials["rule"][f"{decision}: {why}"] += 1
        self.denials["user"][_subject(event)] += 1
        self.denials["tool"][tool] += 1

    def _outcome(self, event: Mapping[str, Any], tool: str) -> None:
        outcome = str(event.get("outcome"))
        self.decisions["allowed" if outcome == "ok" else "error"] += 1
        if outcome != "ok":
            self.errors[f"{tool}: {outcome}"] += 1
        duration = event.get("duration_ms")
        if isinstance(duration, int | float) and _number(duration):
            self.durations[tool].append(float(duration))
        cost = event.get("cost_settled")
        if not _number(cost) or not cost:
            return
        keys = {
            "user": [_subject(event)],
            "team": [str(t) for t in event.get("teams") or ()] or [NO_TEAM],
            "org": [str(event.get("org") or NO_ORG)],
            "tool": [tool],
        }
        for level, names in keys.items():
            for name in names:
                self.spend[level][name] += cost
        when = _timestamp(event.get("time"))
        if when is not None:
            self.charges.append((when, float(cost), keys))


def summarize(events: Iterable[Mapping[str, Any]], limits: Iterable[Any] = ()) -> dict[str, Any]:
    """Calls, decisions, denials (by rule, user, tool), errors, spend, latency, series,
    and the approval requests, grants, denials and uses per tool.

    ``limits`` (a policy's :class:`~guardrail.budgets.Limit` objects) adds the cost limits
    the spend is measured against.
    """
    tally = _Tally()
    for event in events:
        tally.add(event)
    everything = [d for durations in tally.durations.values() for d in durations]
    return {
        "calls": len(tally.calls),
        "decisions": _sorted(tally.decisions),
        "denials": {by: _ranked(tally.denials[by]) for by in ("rule", "user", "tool")},
        "errors": _ranked(tally.errors),
        "tools": _ranked(tally.tool_calls),
        "spend": {level: _ranked(tally.spend[level]) for level in LEVELS},
        "latency_ms": {
            "all": percentiles(everything),
            "by_tool": {tool: percentiles(d) for tool, d in sorted(tally.durations.items())},
        },
        "spend_over_time": _series(tally.charges),
        "limits": [_limit(limit) for limit in limits if limit.measure == "cost"],
        "approvals": {
            tool: {kind: counts[kind] for kind in APPROVAL_EVENTS}
            for tool, counts in sorted(tally.approvals.items())
        },
    }


def percentiles(values: list[float]) -> dict[str, float]:
    """Count, nearest-rank p50/p90/p99 and max, in ms rounded to 3 decimals."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    found: dict[str, float] = {"count": len(ordered)}
    for p in PERCENTILES:
        rank = max(1, math.ceil(p / 100 * len(ordered)))
        found[f"p{p}"] = round(ordered[rank - 1], 3)
    found["max"] = round(ordered[-1], 3)
    return found


def _series(charges: list[tuple[float, float, dict[str, list[str]]]]) -> dict[str, Any]:
    """Cumulative spend per key at the end of each of ``BUCKETS`` equal time buckets."""
    if not charges:
        return {"start": None, "bucket_seconds": 0, "buckets": 0, "series": {}}
    start = min(c[0] for c in charges)
    span = max(c[0] for c in charges) - start
    width = span / BUCKETS if span > 0 else 1.0
    per_bucket: dict[str, dict[str, list[float]]] = {
        level: defaultdict(lambda: [0.0] * BUCKETS) for level in ("user", "team", "org")
    }
    for when, cost, keys in charges:
        index = min(BUCKETS - 1, int((when - start) / width))
        for level, bucket in per_bucket.items():
            for name in keys[level]:
                bucket[name][index] += cost
    series = {
        level: {name: _cumulative(values) for name, values in sorted(bucket.items())}
        for level, bucket in per_bucket.items()
    }
    return {
        "start": datetime.fromtimestamp(start, UTC).isoformat(),
        "bucket_seconds": width,
        "buckets": BUCKETS,
        "series": series,
    }


def _cumulative(values: list[float]) -> list[float]:
    total, out = 0.0, []
    for value in values:
        total += value
        out.append(round(total, 6))
    return out


def _limit(limit: Any) -> dict[str, Any]:
    return {
        "id": limit.id,
        "per": limit.per,
        "maximum": limit.maximum,
        "period": limit.period,
        "window": limit.window,
    }


def _ranked(counts: Counter[str]) -> dict[str, float]:
    """Most first, ties by name: the order the report and the text output use."""
    return {name: _plain(n) for name, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))}


def _sorted(counts: Counter[str]) -> dict[str, float]:
    return {name: _plain(n) for name, n in sorted(counts.items())}


def _plain(value: float) -> float:
    return int(value) if float(value).is_integer() else round(value, 6)


def _subject(event: Mapping[str, Any]) -> str:
    return str(event.get("subject") or "-")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == value


def _timestamp(value: Any) -> float | None:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
