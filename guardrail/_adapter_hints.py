"""Why an adapter was skipped, and what to install: hints built from installed metadata."""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections.abc import Mapping
from importlib.metadata import EntryPoint, PackageNotFoundError, version

DISTRIBUTION = "guardrail-sdk"
"""This project on PyPI (the import package is ``guardrail``; that name was taken)."""


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
