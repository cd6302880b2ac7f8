"""The adapter registry: adapters found through the ``guardrail.adapters`` entry-point group.

The loader imports each registered adapter lazily, so ``import guardrail`` never
imports a framework, and ``guard.wrap`` imports only the adapters of frameworks
the application has imported: an adapter whose entry point is also named in
``guardrail.adapter_frameworks`` (``adk = "google.adk"``) is loaded once that
module is in ``sys.modules`` (no object it wraps can exist before). An adapter
not named there is loaded at the first ``guard.wrap``, as before.

An adapter whose framework is not installed is skipped quietly (the error for an
object nobody supports says what to install); one whose framework is installed
but fails to import (any ``ImportError``, e.g. a version it does not support) is
skipped with an :class:`AdapterWarning` naming the package and the version it
needs. The other adapters keep working.
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, Any, ClassVar

from guardrail._adapter_hints import (
    DISTRIBUTION,
    _absent,
    _install_hint,
    _needs,
    _too_old,
    _version,
)
from guardrail.errors import ConfigurationError

if TYPE_CHECKING:
    from guardrail.guard import Guard
    from guardrail.identity import Principal

__all__ = ["DISTRIBUTION", "FRAMEWORKS", "GROUP", "Adapter", "AdapterRegistry", "AdapterWarning"]

GROUP = "guardrail.adapters"
FRAMEWORKS = "guardrail.adapter_frameworks"
"""Optional second group: adapter entry-point name -> the module of its framework."""
log = logging.getLogger(__name__)


class AdapterWarning(UserWarning):
    """An installed adapter was skipped: its framework is installed but fails to import."""


class Adapter(ABC):
    """Base class for framework adapters.

    Subclasses set ``name`` and ``extra`` (the pip extra that installs the
    framework) and implement :meth:`supports` and :meth:`wrap`; :meth:`visible`
    is optional (filters and narrows what a principal is shown).
    """

    name: ClassVar[str] = ""
    extra: ClassVar[str | None] = None
    requires: ClassVar[Mapping[str, str]] = {}
    """Distribution name -> lowest supported version, e.g. ``{"langchain-core": "1.0"}``.

    Checked when the adapter is loaded from its entry point; an adapter whose
    framework is older is skipped with a hint, like one whose framework is missing.
    """

    @abstractmethod
    def supports(self, obj: Any) -> bool:
        """True when this adapter knows how to wrap ``obj``."""

    @abstractmethod
    def wrap(self, obj: Any, guard: Guard) -> Any:
        """Return ``obj`` governed by ``guard``."""

    def visible(self, obj: Any, guard: Guard, principal: Principal | None) -> Any:
        """What of ``obj`` ``principal`` may see (tools filtered, schemas narrowed)."""
        raise ConfigurationError(f"the {self.name} adapter does not filter objects")


class _Slot:
    """One ``guardrail.adapters`` entry point, loaded at most once."""

    __slots__ = ("adapter", "entry_point", "framework", "tried")

    def __init__(self, entry_point: EntryPoint, framework: str | None) -> None:
        self.entry_point, self.framework = entry_point, framework
        self.adapter: Adapter | None = None
        self.tried = False

    def needed(self) -> bool:
        """Its framework is imported (a submodule's import imports it too), or unknown."""
        return self.framework is None or sys.modules.get(self.framework) is not None


class AdapterRegistry:
    """Adapters loaded from entry points, plus any registered in code."""

    def __init__(self, entry_point_source: Iterable[EntryPoint] | None = None) -> None:
        """``entry_point_source``: entry points of both groups (default: the installed ones)."""
        self._source = entry_point_source
        self._slots: list[_Slot] | None = None
        self._missing: dict[str, str] = {}
        self._extra: list[Adapter] = []
        self._lock = threading.Lock()

    def register(self, adapter: Adapter) -> None:
        """Add an adapter in code (tried before those from entry points)."""
        self._extra.insert(0, adapter)

    def adapters(self) -> list[Adapter]:
        """Every adapter, each loaded now (this imports every installed framework)."""
        return self._loaded(everything=True)

    def _loaded(self, *, everything: bool) -> list[Adapter]:
        """The adapters loaded so far, after loading those now needed (or all)."""
        with self._lock:
            if self._slots is None:
                self._slots = self._entry_points()
            for slot in self._slots:
                if not slot.tried and (everything or slot.needed()):
                    slot.tried = True
                    slot.adapter = self._load(slot.entry_point)
            return [*self._extra, *(s.adapter for s in self._slots if s.adapter is not None)]

    def _entry_points(self) -> list[_Slot]:
        if self._source is not None:
            found: Iterable[EntryPoint] = self._source
        else:
            installed = entry_points()  # one scan of the installed metadata for both groups
            found = [*installed.select(group=GROUP), *installed.select(group=FRAMEWORKS)]
        found = list(found)
        frameworks = {_key(ep): ep.value.strip() for ep in found if ep.group == FRAMEWORKS}
        return [_Slot(ep, frameworks.get(_key(ep))) for ep in found if ep.group != FRAMEWORKS]

    def _load(self, ep: EntryPoint) -> Adapter | None:
        try:
            adapter_cls = ep.load()
        except ImportError as exc:
            # Skip it, remember what to install; the other adapters keep working.
            self._missing[ep.name] = self._skipped(ep, exc)
            return None
        too_old = _too_old(getattr(adapter_cls, "requires", {}))
        if too_old:
            self._missing[ep.name] = too_old
            return None
        adapter = adapter_cls()
        if not isinstance(adapter, Adapter):
            raise ConfigurationError(f"entry point {ep.value!r} is not a guardrail Adapter")
        return adapter

    @staticmethod
    def _skipped(ep: EntryPoint, exc: ImportError) -> str:
        needs = _needs(ep)
        installed = [f"{name} {found}" for name, _ in needs if (found := _version(name))]
        if _absent(exc):
            return _install_hint(ep, str(exc.name))  # not installed at all: no warning
        wanted = ", ".join(requirement for _, requirement in needs) or "its framework"
        found = f" (installed: {', '.join(installed)})" if installed else ""
        message = (
            f"the {ep.name!r} adapter is installed but cannot be imported "
            f"({type(exc).__name__}: {exc}); it needs {wanted}{found}"
        )
        warnings.warn(f"guardrail: {message}; skipped", AdapterWarning, stacklevel=4)
        log.warning("%s; skipped", message)
        return f"cannot be imported ({type(exc).__name__}: {exc}): it needs {wanted}{found}"

    def for_object(self, obj: Any) -> Adapter:
        """The first adapter that supports ``obj``, loading only those of imported frameworks."""
        for adapter in self._loaded(everything=False):
            if adapter.supports(obj):
                return adapter
        # None of them: load the rest before saying so (a framework module an adapter
        # did not name, and every install hint).
        for adapter in self._loaded(everything=True):
            if adapter.supports(obj):
                return adapter
        hint = "".join(
            f"\n  - the {name!r} adapter is installed but {missing}"
            for name, missing in self._missing.items()
        )
        raise ConfigurationError(
            f"no guardrail adapter supports {type(obj).__module__}.{type(obj).__qualname__}; "
            f"wrap plain functions with @guard.tool, or install an adapter extra "
            f'(pip install "{DISTRIBUTION}[langchain]" or "{DISTRIBUTION}[mcp]").{hint}'
        )


def _key(ep: EntryPoint) -> tuple[str | None, str]:
    """An entry point's name within its distribution (both groups come from the same one)."""
    return (ep.dist.name if ep.dist is not None else None, ep.name)


registry = AdapterRegistry()
