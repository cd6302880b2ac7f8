"""The adapter registry: adapters found through the ``guardrail.adapters`` entry-point group.

The loader imports each registered adapter lazily, so ``import guardrail`` never
imports a framework. An adapter whose framework is not installed is skipped
quietly (the error for an object nobody supports says what to install); one
whose framework is installed but fails to import (any ``ImportError``, e.g. a
version it does not support) is skipped with an :class:`AdapterWarning` naming
the package and the version it needs. The other adapters keep working.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import re
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from importlib.metadata import EntryPoint, PackageNotFoundError, entry_points, version
from typing import TYPE_CHECKING, Any, ClassVar

from guardrail.errors import ConfigurationError

if TYPE_CHECKING:
    from guardrail.guard import Guard
    from guardrail.identity import Principal

GROUP = "guardrail.adapters"
DISTRIBUTION = "guardrail-sdk"
"""This project on PyPI (the import package is ``guardrail``; that name was taken)."""
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
            except ImportError as exc:
                # Skip it, remember what to install; the other adapters keep working.
                self._missing[ep.name] = self._skipped(ep, exc)
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
            f'(pip install "{DISTRIBUTION}[langchain]" or "{DISTRIBUTION}[mcp]").{hint}'
        )


def _install_hint(ep: EntryPoint, module: str) -> str:
    """What to install for an adapter whose import failed on ``module``."""
    dist = ep.dist.name if ep.dist is not None else None
    if dist is None or _own(dist):
        return f'its framework ({module}) is not: pip install "{DISTRIBUTION}[{ep.name}]"'
    return f"its framework ({module}) is not: install what {dist} needs ({module})"


_EXTRA = re.compile(r"""extra\s*==\s*['"]([^'"]+)['"]""")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _needs(ep: EntryPoint) -> list[tuple[str, str]]:
    """(distribution, requirement) pairs the adapter needs: guardrail's extra named after
    it, or what a third-party adapter's distribution requires."""
    if ep.dist is None:
        return []
    own = _own(ep.dist.name)
    found = []
    for text in ep.dist.requires or ():
        requirement, _, marker = text.partition(";")
        name = _NAME.match(requirement.strip())
        if name is None or _own(name.group()):
            continue
        extra = _EXTRA.search(marker)
        if (extra is None and not own and not marker.strip()) or (
            extra is not None and extra.group(1) == ep.name
        ):
            found.append((name.group(), requirement.strip()))
    return found


def _own(dist: str) -> bool:
    """``dist`` names this project (compared normalized: ``guardrail_sdk`` is ``guardrail-sdk``)."""
    # "guardrail": what this project was installed as before the rename.
    return re.sub(r"[-_.]+", "-", dist).lower() in (DISTRIBUTION, "guardrail")


def _absent(exc: ImportError) -> bool:
    """The import failed because the framework's package is not installed at all.

    That is its top-level package, or, under a namespace package shared by many
    distributions (``google.adk`` under ``google``), the first regular one.
    """
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return False
    parts = exc.name.split(".")
    for depth in range(1, len(parts) + 1):
        try:
            spec = importlib.util.find_spec(".".join(parts[:depth]))
        except (ImportError, ValueError):  # e.g. blocked with sys.modules[name] = None
            return True
        if spec is None:
            return True
        if spec.origin is not None:  # a regular package or module: installed, so broken
            return False
    return False


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _too_old(requires: Mapping[str, str]) -> str | None:
    """Why the installed frameworks do not meet ``requires``, or ``None`` when they do."""
    for dist, lowest in requires.items():
        # "guardrail" is the import name adapters know this project by; PyPI's is DISTRIBUTION.
        install = DISTRIBUTION if dist == "guardrail" or _own(dist) else dist
        try:
            found = version(install)
        except PackageNotFoundError:
            return (
                f"it needs {dist}>={lowest}, which is not installed: "
                f"pip install '{install}>={lowest}'"
            )
        if _release(found) < _release(lowest):
            return f"it needs {dist}>={lowest}, found {found}: pip install -U '{install}>={lowest}'"
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
