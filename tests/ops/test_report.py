"""`guardrail audit report`: one self-contained HTML file, opened in headless Chromium.

The page is rendered by a real browser; its screenshot must not be blank and every
figure in the rendered DOM must equal what `guardrail audit stats --json` says.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from guardrail import ChainLog, Guard, PermissionDenied, Policy, Principal
from guardrail.cli import main

from .conftest import POLICY_A, GeneratedLog

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium(page: Path, profile: Path, *extra: str) -> str:
    """Run Debian's chromium headless on ``page`` with a fresh profile; its stdout."""
    binary = shutil.which("chromium")
    assert binary, "chromium is required (apt-get install chromium)"
    result = subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class _Figures(HTMLParser):
    """``data-figure`` name -> (exact ``data-value``, the text the page shows)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, tuple[float, str]] = {}
        self._open: tuple[str, float] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("data-figure") is not None:
            self._open = (str(values["data-figure"]), float(str(values["data-value"])))

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            name, value = self._open
            assert name not in self.found, f"figure {name} appears twice"
            self.found[name] = (value, data)
            self._open = None


def _expected(stats: dict[str, Any]) -> dict[str, float]:
    """Every figure the report must show, named the way the page names them."""
    want: dict[str, float] = {"calls": stats["calls"]}
    want |= {f"decisions.{k}": v for k, v in stats["decisions"].items()}
    want["spend.total"] = sum(stats["spend"]["tool"].values())
    for level, table in stats["spend"].items():
        want |= {f"spend.{level}.{k}": v for k, v in table.items()}
    for by, table in stats["denials"].items():
        want |= {f"denials.{by}.{k}": v for k, v in table.items()}
    want |= {f"tools.{k}": v for k, v in stats["tools"].items()}
    want |= {f"errors.{k}": v for k, v in stats["errors"].items()}
    latency = stats["latency_ms"]
    want |= {f"latency_ms.all.{k}": v for k, v in latency["all"].items()}
    for tool, figures in latency["by_tool"].items():
        want |= {f"latency_ms.by_tool.{tool}.{k}": v for k, v in figures.items()}
        want[f"latency_p99.{tool}"] = figures["p99"]
    return want


def _shown(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def _stats(capsys: pytest.CaptureFixture[str], log: Path) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["audit", "stats", "--json", str(log)]) == 0
    stats: dict[str, Any] = json.loads(capsys.readouterr().out)
    return stats


@pytest.fixture(scope="module")
def report(generated: GeneratedLog, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    code = main(["audit", "report", str(generated.path), "-o", str(out), "--policy", str(POLICY_A)])
    assert code == 0
    return out


def test_the_report_is_self_contained(report: Path) -> None:
    """No script, stylesheet, image or font is fetched: nothing points off the page."""
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(|src=", page, flags=re.I)
    assert set(re.findall(r"https?://[^'\"\s)]+", page)) == {"http://www.w3.org/2000/svg"}
    assert page.count("<svg") >= 10


def test_chromium_renders_the_figures_of_audit_stats(
    report: Path, generated: GeneratedLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every figure in the DOM Chromium renders equals `audit stats --json`, and none is missing."""
    stats = _stats(capsys, generated.path)
    dom = chromium(report, tmp_path / "profile", "--dump-dom")
    parser = _Figures()
    parser.feed(dom)
    expected = _expected(stats)
    assert set(parser.found) == set(expected)
    for name, want in expected.items():
        value, text = parser.found[name]
        assert value == pytest.approx(want, rel=1e-9, abs=1e-9), name
        assert text == _shown(want), name
    assert stats["calls"] == 10_000 and len(stats["denials"]["user"]) >= 40


def test_chromium_screenshot_is_not_blank(
    report: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """A real screenshot of the page has charts on it: many colours, much ink, the chart hues."""
    shot = tmp_path / "report.png"
    chromium(report, tmp_path / "profile", "--window-size=1200,2400", f"--screenshot={shot}")
    keep = request.config.getoption("basetemp", None)
    with Image.open(shot) as image:
        pixels = image.convert("RGB")
        assert pixels.size == (1200, 2400)
        colours = pixels.getcolors(maxcolors=1 << 20) or []
        background = max(colours)[1]
        ink = sum(n for n, colour in colours if colour != background)
        hues = {colour for _, colour in colours}
    assert len(colours) > 200
    assert ink / (1200 * 2400) > 0.1
    for hex_colour in ("#2563eb", "#dc2626"):  # spend bars, refusal bars
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in hues
    if keep:
        shutil.copy(shot, Path(str(keep)) / "report.png")


def test_names_from_the_log_are_escaped(tmp_path: Path) -> None:
    """A subject or rule id is text on the page, never markup."""
    log, out = tmp_path / "audit.jsonl", tmp_path / "report.html"
    weird = Principal(subject="<img src=x onerror=alert(1)>")
    rules = [
        {"id": "<b>", "deny": ["ping"], "when": {"subjects": [weird.subject]}},
        {"id": "all", "allow": ["ping"]},
    ]
    with ChainLog(log, fsync="never") as sink:
        guard = Guard(Policy.from_dict({"rules": rules}), audit=[sink])

        @guard.tool
        def ping() -> str:
            return "pong"

        with guard.acting_as(weird), pytest.raises(PermissionDenied):
            ping()
        with guard.acting_as(Principal(subject="eve")):
            ping()
    assert main(["audit", "report", str(log), "-o", str(out)]) == 0
    page = out.read_text()
    assert "<img" not in page and "<b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "denied: &lt;b&gt;" in page
