"""A third-party adapter, installed as a real distribution, is picked up by guard.wrap."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import guardrail.adapters
from guardrail import ConfigurationError, Guard, PermissionDenied, Policy
from guardrail.adapters import AdapterRegistry
from guardrail.testing import make_principal

ADAPTER_MODULE = '''
"""A toy framework and its guardrail adapter, shipped by a third party."""

from guardrail.adapters import Adapter


class Gadget:
    name = "gadget"

    def run(self, level: int) -> str:
        return f"gadget at {level}"


class GadgetAdapter(Adapter):
    name = "gadget"
    extra = None

    def supports(self, obj):
        return isinstance(obj, Gadget)

    def wrap(self, obj, guard):
        return guard.tool(name=obj.name)(obj.run)


class GizmoAdapter(GadgetAdapter):
    name = "gizmo"
    requires = {"guardrail": "99.0"}  # newer than what is installed: must be skipped
'''


def _install(site: Path) -> None:
    """Write what `pip install guardrail-gadget` would: a .dist-info plus the modules."""
    dist = site / "guardrail_gadget-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: guardrail-gadget\nVersion: 1.0\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [guardrail.adapters]
            gadget = guardrail_gadget:GadgetAdapter
            widget = guardrail_widget:WidgetAdapter
            gizmo = guardrail_gadget:GizmoAdapter
            """
        ),
        encoding="utf-8",
    )
    (site / "guardrail_gadget.py").write_text(ADAPTER_MODULE, encoding="utf-8")
    # An adapter whose framework is not installed: the loader must skip it.
    (site / "guardrail_widget.py").write_text("import widget_framework_not_installed\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    _install(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("guardrail_gadget", "guardrail_widget"):
        sys.modules.pop(name, None)


def test_registry_loads_the_entry_point(site: Path) -> None:
    """AdapterRegistry() finds the new adapter next to langchain and skips the broken one."""
    names = [adapter.name for adapter in AdapterRegistry().adapters()]
    assert "gadget" in names and "langchain" in names
    assert "widget" not in names and "gizmo" not in names


def test_guard_wrap_uses_the_third_party_adapter(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """guard.wrap(gadget) goes through the plugin; its calls are checked by the policy."""
    registry = AdapterRegistry()
    monkeypatch.setattr(guardrail.adapters, "registry", registry)
    from guardrail_gadget import Gadget  # type: ignore[import-not-found]

    guard = Guard(
        Policy.model_validate(
            {"rules": [{"id": "ops", "allow": ["gadget"], "when": {"roles": ["ops"]}}]}
        )
    )
    run = guard.wrap(Gadget())
    with guard.acting_as(make_principal("olga", roles=["ops"])):
        assert run(3) == "gadget at 3"
    with guard.acting_as(make_principal("sam")), pytest.raises(PermissionDenied):
        run(3)
    with pytest.raises(ConfigurationError, match=r"'gizmo' adapter.*needs guardrail>=99.0, found"):
        guard.wrap(object())
    with pytest.raises(
        ConfigurationError,
        match=r"'widget' adapter.*widget_framework_not_installed.*guardrail-gadget",
    ):
        guard.wrap(object())


def test_template_adapter_is_a_valid_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    """adapters/_template loads, subclasses Adapter, and supports nothing until filled in."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "adapters" / "_template"))
    from guardrail_template import TemplateAdapter  # type: ignore[import-not-found]

    adapter = TemplateAdapter()
    assert isinstance(adapter, guardrail.adapters.Adapter)
    assert not adapter.supports(object())
    sys.modules.pop("guardrail_template", None)
