"""The HTML usage report: one self-contained file, charts drawn as inline SVG.

Everything it shows comes from :func:`guardrail.audit.stats.summarize` (the same
figures as ``guardrail audit stats --json``). Each figure is also carried as a
``data-figure`` name and an exact ``data-value``, so a test (or a script) can
check the page against the summary. No script, no stylesheet or font from the
network: the file opens offline and can be mailed or archived as is.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

TOP = 12
"""Rows per bar chart; the tables under them list every row."""
SERIES = 8
"""Lines per spend-over-time chart (the biggest spenders)."""
COLOURS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777")
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;
max-width:1100px;color:#1f2937;background:#f8fafc;padding:0 16px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #cbd5e1}
h3{font-size:15px;margin:16px 0 6px}.muted{color:#64748b}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:24px}.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
.panel{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px}
table{border-collapse:collapse;width:100%;font-size:13px}td,th{padding:3px 8px;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even){background:#f1f5f9}
svg text{font:11px system-ui,sans-serif;fill:#334155}details{margin-top:6px}
"""


def render(summary: Mapping[str, Any], *, title: str = "guardrail usage report") -> str:
    """The report page for ``summary`` (:func:`~guardrail.audit.stats.summarize`)."""
    parts = [
        _header(summary, title),
        _spend_over_time(summary),
        _spend_tables(summary),
        _denials(summary),
        _tools(summary),
        _latency(summary),
        _errors(summary),
        _approvals(summary),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(parts)
        + "</body></html>\n"
    )


def _header(summary: Mapping[str, Any], title: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    cards = [_card("calls", "calls", summary["calls"])]
    for decision, count in summary["decisions"].items():
        cards.append(_card(decision.replace("_", " "), f"decisions.{decision}", count))
    spent = sum(summary["spend"]["tool"].values())
    cards.append(_card("total spend", "spend.total", spent))
    return (
        f"<h1>{_e(title)}</h1><div class='muted'>generated {now}</div>"
        f"<div class='cards'>{''.join(cards)}</div>"
    )


def _card(label: str, name: str, value: float) -> str:
    return f"<div class='card'>{_e(label)}{_figure(name, value, tag='b')}</div>"


def _spend_over_time(summary: Mapping[str, Any]) -> str:
    over_time = summary["spend_over_time"]
    if not over_time["series"]:
        return "<h2>Spend over time</h2><p class='muted'>No settled cost in these records.</p>"
    limits = summary.get("limits") or []
    panels = []
    for level in ("user", "team", "org"):
        series = over_time["series"].get(level, {})
        biggest = sorted(series, key=lambda name: (-series[name][-1], name))[:SERIES]
        caps = [limit for limit in limits if limit["per"] == level]
        chart = _line_chart({name: series[name] for name in biggest}, caps)
        panels.append(f"<div class='panel'><h3>per {level}</h3>{chart}</div>")
    note = (
        f"Cumulative cost from {_e(over_time['start'])} over "
        f"{_duration(over_time['bucket_seconds'] * over_time['buckets'])}, in "
        f"{over_time['buckets']} steps; dashed lines are the policy's cost limits."
    )
    return (
        f"<h2>Spend over time</h2><p class='muted'>{note}</p>"
        f"<div class='grid'>{''.join(panels)}</div>"
    )


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} seconds"


def _line_chart(series: Mapping[str, Sequence[float]], caps: Sequence[Mapping[str, Any]]) -> str:
    width, height, left, bottom = 500, 220, 48, 20
    top = max([v[-1] for v in series.values()] + [c["maximum"] for c in caps] + [1.0])
    steps = max(len(v) for v in series.values())
    plot_w, plot_h = width - left - 120, height - bottom - 10

    def xy(i: int, value: float) -> str:
        x = left + plot_w * (i + 1) / steps
        return f"{x:.1f},{10 + plot_h * (1 - value / top):.1f}"

    axis = 10 + plot_h
    shapes = [
        f"<line x1='{left}' y1='{axis}' x2='{left + plot_w}' y2='{axis}' stroke='#94a3b8'/>",
        f"<line x1='{left}' y1='10' x2='{left}' y2='{axis}' stroke='#94a3b8'/>",
        f"<text x='{left - 4}' y='14' text-anchor='end'>{_num(top)}</text>",
        f"<text x='{left - 4}' y='{10 + plot_h}' text-anchor='end'>0</text>",
    ]
    for cap in caps:
        y = 10 + plot_h * (1 - cap["maximum"] / top)
        shapes.append(
            f"<line x1='{left}' y1='{y:.1f}' x2='{left + plot_w}' y2='{y:.1f}' "
            "stroke='#ef4444' stroke-dasharray='6 4'/>"
            f"<text x='{left + 4}' y='{y - 3:.1f}'>{_e(cap['id'])} {_num(cap['maximum'])}</text>"
        )
    for n, (name, values) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join([f"{left},{10 + plot_h}"] + [xy(i, v) for i, v in enumerate(values)])
        shapes.append(
            f"<polyline fill='none' stroke='{colour}' stroke-width='2' points='{points}'/>"
            f"<text x='{left + plot_w + 8}' y='{18 + 14 * n}' fill='{colour}'>"
            f"{_e(_short(name))} {_num(values[-1])}</text>"
        )
    return _svg(width, height, shapes)


def _spend_tables(summary: Mapping[str, Any]) -> str:
    panels = [
        f"<div class='panel'><h3>by {level}</h3>"
        + _bars(summary["spend"][level], f"spend.{level}")
        + "</div>"
        for level in ("user", "team", "org", "tool")
    ]
    return f"<h2>Spend</h2><div class='grid'>{''.join(panels)}</div>"


def _denials(summary: Mapping[str, Any]) -> str:
    panels = [
        f"<div class='panel'><h3>by {by}</h3>"
        + _bars(summary["denials"][by], f"denials.{by}", colour="#dc2626")
        + "</div>"
        for by in ("rule", "user", "tool")
    ]
    return f"<h2>Refusals</h2><div class='grid'>{''.join(panels)}</div>"


def _tools(summary: Mapping[str, Any]) -> str:
    return f"<h2>Top tools</h2><div class='panel'>{_bars(summary['tools'], 'tools')}</div>"


def _bars(counts: Mapping[str, float], name: str, colour: str = "#2563eb") -> str:
    """A horizontal bar chart of the top rows, then a table of every row with its figure."""
    if not counts:
        return "<p class='muted'>none</p>"
    top = list(counts.items())[:TOP]
    biggest = max(v for _, v in top) or 1
    width, row = 500, 18
    shapes = []
    for i, (label, value) in enumerate(top):
        length = 230 * value / biggest
        y = i * row
        shapes.append(
            f"<text x='196' y='{y + 13}' text-anchor='end'>{_e(_short(label, 32))}</text>"
            f"<rect x='202' y='{y + 3}' width='{length:.1f}' height='{row - 5}' fill='{colour}'/>"
            f"<text x='{206 + length:.1f}' y='{y + 13}'>{_num(value)}</text>"
        )
    rows = "".join(
        f"<tr><td>{_e(label)}</td>{_figure(f'{name}.{label}', value, tag='td')}</tr>"
        for label, value in counts.items()
    )
    table = f"<details><summary>all {len(counts)}</summary><table>{rows}</table></details>"
    return _svg(width, row * len(top) + 4, shapes) + table


def _latency(summary: Mapping[str, Any]) -> str:
    latency = summary["latency_ms"]
    columns = ("count", "p50", "p90", "p99", "max")
    head = "".join(f"<th class='n'>{c}</th>" for c in columns)
    rows = [("all tools", "all", latency["all"])]
    rows += [(tool, f"by_tool.{tool}", p) for tool, p in latency["by_tool"].items()]
    body = "".join(
        f"<tr><td>{_e(label)}</td>"
        + "".join(
            _figure(f"latency_ms.{key}.{c}", p[c], tag="td") if c in p else "<td></td>"
            for c in columns
        )
        + "</tr>"
        for label, key, p in rows
    )
    chart = _bars(
        {tool: p["p99"] for tool, p in latency["by_tool"].items() if "p99" in p},
        "latency_p99",
        colour="#9333ea",
    )
    return (
        "<h2>Latency (ms, tool calls that ran)</h2><div class='grid'><div class='panel'>"
        f"<table><tr><th>tool</th>{head}</tr>{body}</table></div>"
        f"<div class='panel'><h3>p99 by tool</h3>{chart}</div></div>"
    )


def _errors(summary: Mapping[str, Any]) -> str:
    if not summary["errors"]:
        return ""
    return f"<h2>Tool errors</h2><div class='panel'>{_bars(summary['errors'], 'errors')}</div>"


def _approvals(summary: Mapping[str, Any]) -> str:
    approvals: Mapping[str, Mapping[str, float]] = summary.get("approvals", {})
    if not approvals:
        return ""
    kinds = list(next(iter(approvals.values())))
    head = "".join(f"<th class='n'>{_e(kind)}</th>" for kind in kinds)
    body = "".join(
        f"<tr><td>{_e(tool)}</td>"
        + "".join(_figure(f"approvals.{tool}.{k}", counts[k], tag="td") for k in kinds)
        + "</tr>"
        for tool, counts in approvals.items()
    )
    return (
        "<h2>Human approvals</h2><div class='panel'>"
        f"<table><tr><th>tool</th>{head}</tr>{body}</table></div>"
    )


def _figure(name: str, value: float, *, tag: str) -> str:
    css = " class='n'" if tag == "td" else ""
    return f"<{tag}{css} data-figure='{_e(name)}' data-value='{value!r}'>{_num(value)}</{tag}>"


def _num(value: float) -> str:
    """Integers as they are, other numbers to two decimals (the page's display form)."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def _short(text: str, length: int = 20) -> str:
    return text if len(text) <= length else text[: length - 1] + "\u2026"


def _svg(width: int, height: int, shapes: Sequence[str]) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img'>{''.join(shapes)}</svg>"
    )


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
