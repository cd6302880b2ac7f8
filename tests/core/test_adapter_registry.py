"""An adapter whose framework fails to import is skipped; the others keep working."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardrail import ConfigurationError
from guardrail.adapters import AdapterRegistry, AdapterWarning

_DIST = "guardrail_broken-1.0.dist-info"


def _write(site: Path) -> None:
    """Write what pip would: an adapter distribution needing fakeframework>=2.0, and
    fakeframework 1.0 installed (importable, but without what the adapter imports)."""
    dist = site / _DIST
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: guardrail-broken\nVersion: 1.0\n"
        "Requires-Dist: guardrail\nRequires-Dist: fakeframework>=2.0\n",
        encoding="utf-8",
    )
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [guardrail.adapters]
            broken = guardrail_broken:BrokenAdapter
            working = guardrail_working:WorkingAdapter
            """
        ),
        encoding="utf-8",
    )
    framework = site / "fakeframework-1.0.dist-info"
    framework.mkdir()
    (framework / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fakeframework\nVersion: 1.0\n", encoding="utf-8"
    )
    (site / "fakeframework.py").write_text("class OldClient: ...\n", encoding="utf-8")
    (site / "guardrail_broken.py").write_text(
        "from fakeframework import Client  # only in fakeframework 2\n", encoding="utf-8"
    )
    (site / "guardrail_working.py").write_text(
        textwrap.dedent(
            """\
            from guardrail.adapters import Adapter

            class WorkingAdapter(Adapter):
                name = "working"

                def supports(self, obj):
                    return obj == "working"

                def wrap(self, obj, guard):
                    return "wrapped"
            """
        ),
        encoding="utf-8",
    )


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    _write(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in (
        "guardrail_broken",
        "guardrail_working",
        "fakeframework",
        "fakens",
        "fakens.other",
    ):
        sys.modules.pop(name, None)


def test_an_adapter_failing_with_import_error_is_skipped_with_a_warning(site: Path) -> None:
    """ImportError (not ModuleNotFoundError): warned with package and version, others load."""
    registry = AdapterRegistry()
    with pytest.warns(AdapterWarning) as caught:
        names = [adapter.name for adapter in registry.adapters()]
    assert "working" in names and "langchain" in names and "broken" not in names
    (message,) = [str(w.message) for w in caught if "broken" in str(w.message)]
    assert "fakeframework>=2.0" in message and "installed: fakeframework 1.0" in message
    assert "cannot import name 'Client'" in message
    assert registry.for_object("working").name == "working"
    with pytest.raises(ConfigurationError, match=r"'broken' adapter.*fakeframework>=2.0"):
        registry.for_object(object())


def test_a_missing_framework_is_skipped_quietly(site: Path) -> None:
    """A framework that is not installed at all: no warning, a hint when asked."""
    (site / "guardrail_broken.py").write_text("import fakeframework_v2_not_installed\n")
    registry = AdapterRegistry()
    names = [adapter.name for adapter in registry.adapters()]  # filterwarnings=error
    assert "working" in names and "broken" not in names
    with pytest.raises(ConfigurationError, match="fakeframework_v2_not_installed"):
        registry.for_object(object())


def test_a_framework_missing_under_a_shared_namespace_is_skipped_quietly(site: Path) -> None:
    """``google.adk`` missing while other ``google.*`` distributions are installed: not broken."""
    (site / "fakens").mkdir()  # a namespace package (no __init__), as "google" is
    (site / "fakens" / "other.py").write_text("VALUE = 1\n")
    (site / "guardrail_broken.py").write_text("import fakens.framework_not_installed\n")
    registry = AdapterRegistry()
    names = [adapter.name for adapter in registry.adapters()]  # filterwarnings=error
    assert "working" in names and "broken" not in names
    with pytest.raises(ConfigurationError, match=r"fakens\.framework_not_installed"):
        registry.for_object(object())
