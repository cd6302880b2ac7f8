"""The printed table and the targets (printed with PASS/MISS, never asserted)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from benchmarks._context import Env
from benchmarks._harness import Stats

LABEL_WIDTH = 50


@dataclass(frozen=True)
class Target:
    id: str
    text: str
    measure: Callable[[Env], tuple[float, float] | str]
    """(figure, limit), or why it cannot be measured yet."""
    unit: str
    shown_on: tuple[str, ...] = ()
    """Case keys whose rows carry this target's mark."""
    at_least: bool = False
    """The figure must be >= the limit (default: <=)."""


def _median(env: Env, key: str) -> float | None:
    """The figure a target judges: CPU time for in-process work, wall time across sockets.

    On a shared machine the wall clock of in-process work grows with everyone else's
    load; this process's CPU time does not. A socket round trip is waiting, which only
    the wall clock sees.
    """
    stats = env.harness.stats(key)
    if stats is None:
        return None
    if env.harness.cases[key].waits or stats.cpu is None:
        return stats.median
    return stats.cpu


def _na(*keys: str) -> str:
    return "n/a: no figure for " + ", ".join(keys)


def _at_most(key: str, limit: float) -> Callable[[Env], tuple[float, float] | str]:
    def measure(env: Env) -> tuple[float, float] | str:
        value = _median(env, key)
        return _na(key) if value is None else (value, limit)

    return measure


def _ratio(num: str, den: str, limit: float) -> Callable[[Env], tuple[float, float] | str]:
    """num / den <= limit."""

    def measure(env: Env) -> tuple[float, float] | str:
        a, b = _median(env, num), _median(env, den)
        if a is None or b is None:
            return _na(*(k for k, v in ((num, a), (den, b)) if v is None))
        return (a / b if b > 0 else float("inf"), limit)

    return measure


def _cheaper(hop: str, key: str, factor: float) -> Callable[[Env], tuple[float, float] | str]:
    """hop / key >= factor."""

    def measure(env: Env) -> tuple[float, float] | str:
        a, b = _median(env, hop), _median(env, key)
        if a is None or b is None:
            return _na(*(k for k, v in ((hop, a), (key, b)) if v is None))
        return (a / b if b > 0 else float("inf"), factor)

    return measure


def _redis_vs_evalsha(env: Env) -> tuple[float, float] | str:
    """What the Redis ledger adds to a call (the redis variant minus the same variant
    without it; wall time, both wait on sockets or files) over one raw EVALSHA."""
    redis, evalsha = env.harness.stats("redis.sync"), env.harness.stats("redis.evalsha")
    if redis is None or evalsha is None:
        return _na(*(k for k, v in (("redis.sync", redis), ("redis.evalsha", evalsha)) if not v))
    for key in ("full.sync", "audited.sync", "lean.sync"):
        same = env.harness.stats(key)
        if same is not None:
            return ((redis.median - same.median) / evalsha.median, 1.3)
    return _na("full.sync")


def _async_vs_sync(env: Env) -> tuple[float, float] | str:
    a, s = _median(env, "lean.async"), _median(env, "lean.sync")
    if a is None or s is None:
        return _na("lean.async", "lean.sync")
    return (a, s + 0.5)


def _largest_policy(env: Env) -> tuple[float, float] | str:
    sizes = sorted(int(k.split(".")[1]) for k in env.harness.cases if k.count(".") == 1
                   and k.startswith("policy."))  # fmt: skip
    if len(sizes) < 2:
        return _na("policy sizes")
    return _ratio(f"policy.{sizes[-1]}", f"policy.{sizes[0]}", 1.5)(env)


def _extra(name: str, limit: float) -> Callable[[Env], tuple[float, float] | str]:
    def measure(env: Env) -> tuple[float, float] | str:
        value = env.extra.get(name)
        return f"n/a: {name} not measured" if value is None else (value, limit)

    return measure


TARGETS = (
    Target("T1", "lean <= 2 us over raw (sync)", _at_most("lean.sync", 2.0), "us", ("lean.sync",)),
    Target("T2", "audited <= 8 us over raw", _at_most("audited.sync", 8.0), "us",
           ("audited.sync",)),
    Target("T3", "full <= 30 us over raw", _at_most("full.sync", 30.0), "us", ("full.sync",)),
    Target("T4", "lean >= 100x cheaper than the HTTP hop", _cheaper("http.hop", "lean.sync", 100),
           "x", ("http.hop",), at_least=True),
    Target("T5", "audited >= 25x cheaper than the HTTP hop",
           _cheaper("http.hop", "audited.sync", 25), "x", at_least=True),
    Target("T6", "full <= 1/3 of off-the-shelf", _ratio("full.sync", "ots.sync", 1 / 3), "ratio",
           ("ots.sync",)),
    Target("T7", "Redis ledger per-call <= 1.3x raw EVALSHA", _redis_vs_evalsha,
           "ratio", ("redis.sync", "redis.evalsha")),
    Target("T8", "deny <= allow (lean, sync)", _ratio("denied.sync", "lean.sync", 1.0), "ratio",
           ("denied.sync",)),
    Target("T8b", "deny <= allow (lean, async)", _ratio("denied.async", "lean.async", 1.0),
           "ratio", ("denied.async",)),
    Target("T9", "async <= sync + 0.5 us (lean)", _async_vs_sync, "us", ("lean.async",)),
    Target("T10", "largest-policy decision <= 1.5x the 10-rule one", _largest_policy, "ratio",
           ("policy.100000", "policy.1000")),
    Target("T11", "cached downstream_token <= 1 us", _at_most("downstream.sync", 1.0), "us",
           ("downstream.sync", "downstream.async")),
    Target("T12", "fsync=always, 16 callers: >= 8 records per fdatasync",
           _extra("records_per_fsync", 8), "records", at_least=True),
    Target("T13", "1,000 async calls: no loop stall over 100 us", _extra("loop_stall_us", 100),
           "us"),
    Target("T14", "import guardrail <= 100 ms", _extra("import_ms", 100), "ms"),
    Target("T15", "MCP server CPU/call, protect()+audit+Redis <= +5% over plain",
           _extra("mcp_cpu_over_pct", 5), "%"),
    Target("T16", "MCP server loop-lag p99, protected <= 1.2x plain", _extra("mcp_lag_ratio", 1.2),
           "ratio"),
)  # fmt: skip


def evaluate(env: Env) -> list[tuple[Target, str, str]]:
    """Each target with its figure text and PASS / MISS / n/a."""
    out = []
    for target in TARGETS:
        measured = target.measure(env)
        if isinstance(measured, str):
            out.append((target, measured, "n/a"))
            continue
        value, limit = measured
        ok = value >= limit if target.at_least else value <= limit
        op = ">=" if target.at_least else "<="
        figure = f"{value:.3g} {target.unit} (want {op} {limit:.3g})"
        out.append((target, figure, "PASS" if ok else "MISS"))
    return out


def _figures(stats: Stats) -> str:
    cpu = "" if stats.cpu is None else f"{stats.cpu:.2f}"
    return f"{stats.median:>9.2f} {stats.low:>9.2f} {stats.high:>9.2f} {cpu:>9}"


def render(env: Env) -> str:
    verdicts = evaluate(env)
    marks: dict[str, list[str]] = {}
    for target, _, verdict in verdicts:
        for key in target.shown_on:
            marks.setdefault(key, []).append(f"{target.id} {verdict}")
    lines: list[str] = []
    group = None
    head = f"{'':<{LABEL_WIDTH}} {'median':>9} {'min':>9} {'max':>9} {'cpu':>9}  {'target':<9} note"
    for row in env.rows:
        if row.group != group:
            group = row.group
            lines += ["", group, head]
        note = row.note
        if row.key is not None:
            stats = env.harness.stats(row.key)
            figure = "n/a" if stats is None else _figures(stats)
            mark = ", ".join(marks.get(row.key, []))
            case = env.harness.cases[row.key]
            note = f"n/a: failed: {case.error}" if case.error else note
            mark = f"*{mark}" if case.waits else mark
        else:
            figure, mark = row.value or "", ""
        lines.append(f"{row.label:<{LABEL_WIDTH}} {figure:>39}  {mark:<9} {note}".rstrip())
    lines += [
        "",
        "targets (printed, not asserted; judged on the median CPU time of in-process work and "
        "the median wall time of socket round trips, marked *)",
    ]
    for target, figure, verdict in verdicts:
        lines.append(f"  {target.id:<4} {verdict:<4}  {target.text:<50} {figure}")
    return "\n".join(lines)
