"""Framework adapters as plugins, found through the ``guardrail.adapters`` entry-point group.

An adapter says whether it ``supports`` an object (a LangChain tool, an MCP
session, ...) and ``wrap``s it so its calls go through a guard. The loader
imports each registered adapter lazily and skips one whose framework is not
installed, so ``import guardrail`` never imports a framework.
"""

from __future__ import annotations

import itertools
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, PackageNotFoundError, entry_points, version
from typing import TYPE_CHECKING, Any, ClassVar

from guardrail.errors import ConfigurationError

if TYPE_CHECKING:
    from guardrail.guard import Guard
    from guardrail.identity import Principal

GROUP = "guardrail.adapters"
log = logging.getLogger(__name__)


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


class AdapterRegistry:
    """Adapters loaded from entry points, plus any registered in code."""

    def __init__(self, entry_point_source: Iterable[EntryPoint] | None = None) -> None:
        self._source = entry_point_source
        self._adapters: list[Adapter] | None = None
        self._missing: dict[str, str] = {}
        self._extra: list[Adapter] = []
        self._lock = threading.Lock()

    def register(self, adapter: Adapter) -> None:
        """Add an adapter in code (tried before those from entry points)."""
        self._extra.insert(0, adapter)

    def adapters(self) -> list[Adapter]:
        with self._lock:
            if self._adapters is None:
                self._adapters = self._load()
            return [*self._extra, *self._adapters]

    def _load(self) -> list[Adapter]:
        found: list[Adapter] = []
        source = self._source if self._source is not None else entry_points(group=GROUP)
        for ep in source:
            try:
                adapter_cls = ep.load()
            except ModuleNotFoundError as exc:
                # The framework is not installed: skip, remember what to install.
                self._missing[ep.name] = _install_hint(ep, str(exc.name))
                continue
            too_old = _too_old(getattr(adapter_cls, "requires", {}))
            if too_old:
                self._missing[ep.name] = too_old
                continue
            adapter = adapter_cls()
            if not isinstance(adapter, Adapter):
                raise ConfigurationError(f"entry point {ep.value!r} is not a guardrail Adapter")
            found.append(adapter)
        return found

    def for_object(self, obj: Any) -> Adapter:
        for adapter in self.adapters():
            if adapter.supports(obj):
                return adapter
        hint = "".join(
            f"\n  - the {name!r} adapter is installed but {missing}"
            for name, missing in self._missing.items()
        )
        raise ConfigurationError(
            f"no guardrail adapter supports {type(obj).__module__}.{type(obj).__qualname__}; "
            f"wrap plain functions with @guard.tool, or install an adapter extra "
            f'(pip install "guardrail[langchain]" or "guardrail[mcp]").{hint}'
        )


def _install_hint(ep: EntryPoint, module: str) -> str:
    """What to install for an adapter whose import failed on ``module``."""
    dist = ep.dist.name if ep.dist is not None else None
    if dist is None or dist == "guardrail":
        return f'its framework ({module}) is not: pip install "guardrail[{ep.name}]"'
    return f"its framework ({module}) is not: install what {dist} needs ({module})"


def _too_old(requires: Mapping[str, str]) -> str | None:
    """Why the installed frameworks do not meet ``requires``, or ``None`` when they do."""
    for dist, lowest in requires.items():
        try:
            found = version(dist)
        except PackageNotFoundError:
            return (
                f"it needs {dist}>={lowest}, which is not installed: pip install '{dist}>={lowest}'"
            )
        if _release(found) < _release(lowest):
            return f"it needs {dist}>={lowest}, found {found}: pip install -U '{dist}>={lowest}'"
    return None


def _release(text: str) -> tuple[int, ...]:
    """``"1.8.3"`` -> ``(1, 8, 3)``; pre-release and local suffixes are ignored."""
    parts: list[int] = []
    for part in text.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


registry = AdapterRegistry()
