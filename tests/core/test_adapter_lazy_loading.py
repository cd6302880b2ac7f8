"""guard.wrap loads only the adapters of frameworks the application imported.

The first ``guard.wrap`` used to import every installed adapter, and with it every
framework (seconds with Google ADK). An adapter named in ``guardrail.adapter_frameworks``
is loaded once its framework module is imported; one not named there (a third
party's written before that group existed) is loaded at the first ``guard.wrap``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardrail import Guard, Policy
from guardrail.adapters import AdapterRegistry

FRAMEWORKS = ("google.adk", "agents", "pydantic_ai", "fastmcp", "crewai", "mcp")

REAL_FRAMEWORKS = f"""
import sys
from langchain_core.tools import tool
from guardrail import Guard, Policy

@tool
def lookup(q: str) -> str:
    '''Look something up.'''
    return q

guard = Guard(Policy.model_validate({{"rules": [{{"id": "all", "allow": ["*"]}}]}}))
guard.wrap(lookup)
imported = [name for name in {FRAMEWORKS!r} if name in sys.modules]
assert not imported, f"guard.wrap(langchain tool) imported {{imported}}"
assert "guardrail_adk" not in sys.modules and "guardrail_openai_agents" not in sys.modules

# A framework imported later: its adapter is loaded by the next guard.wrap.
from pydantic_ai.toolsets import FunctionToolset
from guardrail_pydantic_ai import GuardedToolset

def add(a: int, b: int) -> int:
    return a + b

wrapped = guard.wrap(FunctionToolset([add]))
assert isinstance(wrapped, GuardedToolset), type(wrapped)
assert "google.adk" not in sys.modules and "agents" not in sys.modules
print("ok")
"""


def test_wrap_imports_only_the_frameworks_the_application_imported() -> None:
    """Real LangChain and pydantic-ai in a fresh interpreter; ADK, OpenAI Agents, ... untouched."""
    done = subprocess.run(
        [sys.executable, "-c", REAL_FRAMEWORKS], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


ADAPTER = """
import sys
from guardrail.adapters import Adapter

LOADED = sys.modules.setdefault("lazy_probe_loads", type(sys)("lazy_probe_loads"))
LOADED.count = getattr(LOADED, "count", 0) + 1


class LazyAdapter(Adapter):
    name = "lazy"

    def supports(self, obj):
        return type(obj).__name__ == "Widget"

    def wrap(self, obj, guard):
        return ("wrapped by", self.name, obj)
"""


def _install(site: Path, frameworks: str) -> None:
    """What ``pip install guardrail-lazy`` would write: both entry-point groups."""
    dist = site / "guardrail_lazy-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: guardrail-lazy\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        "[guardrail.adapters]\nlazy = guardrail_lazy:LazyAdapter\n"
        "eager = guardrail_lazy_eager:LazyAdapter\n\n"
        f"[guardrail.adapter_frameworks]\n{frameworks}",
        encoding="utf-8",
    )
    (site / "guardrail_lazy.py").write_text(ADAPTER, encoding="utf-8")
    (site / "guardrail_lazy_eager.py").write_text(ADAPTER.replace('"lazy"', '"eager"'))
    (site / "lazyframework").mkdir()
    (site / "lazyframework" / "__init__.py").write_text("")
    (site / "lazyframework" / "widgets.py").write_text(
        textwrap.dedent(
            """\
            class Widget:
                pass
            """
        )
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("guardrail_lazy", "guardrail_lazy_eager", "lazy_probe_loads"):
        sys.modules.pop(name, None)
    for name in [m for m in sys.modules if m.split(".")[0] == "lazyframework"]:
        sys.modules.pop(name)


def _loads() -> int:
    probe = sys.modules.get("lazy_probe_loads")
    return 0 if probe is None else int(probe.count)


def _guard() -> Guard:
    return Guard(Policy.model_validate({"rules": [{"id": "all", "allow": ["*"]}]}))


def test_an_adapter_with_a_framework_module_loads_once_that_module_is_imported(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(site, "lazy = lazyframework\n")
    registry = AdapterRegistry()
    monkeypatch.setattr("guardrail.adapters.registry", registry)
    guard = _guard()
    first = registry.for_object(object.__new__(_local_widget_type()))
    assert first.name == "eager"  # not named in adapter_frameworks: loaded at first use
    assert "guardrail_lazy" not in sys.modules and "guardrail_lazy_eager" in sys.modules
    from lazyframework.widgets import Widget  # type: ignore[import-not-found]

    assert guard.wrap(Widget())[:2] == ("wrapped by", "lazy")  # loaded now, first in order
    assert "guardrail_lazy" in sys.modules
    assert [a.name for a in registry.adapters() if a.name in ("lazy", "eager")] == [
        "lazy",
        "eager",
    ]
    assert _loads() == 2  # each adapter module imported once


def test_a_wrong_framework_module_still_finds_the_adapter(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module that is never imported: the adapter is loaded before saying none supports it."""
    _install(site, "lazy = not_the_framework_module\neager = not_this_one_either\n")
    registry = AdapterRegistry()
    from lazyframework.widgets import Widget

    assert "guardrail_lazy" not in sys.modules
    assert registry.for_object(Widget()).name in ("lazy", "eager")
    assert "guardrail_lazy" in sys.modules and "guardrail_lazy_eager" in sys.modules


def _local_widget_type() -> type:
    class Widget:  # not lazyframework's: its module is not imported
        pass

    return Widget
