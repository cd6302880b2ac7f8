"""Many logs at once: one per process or host, each its own hash chain.

A fleet writes one ``ChainLog`` per process; rotation splits each chain over
several files. :func:`verify_each` groups the files by the chain id their first
record names (the ``start`` or ``rotate`` record), so a rotated set is checked as
one chain and independent chains are checked apart, each with its own report.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from guardrail.audit.verify import VerifyReport, verify

_SIDECARS = (".checkpoints", ".lock", ".torn")


def chains(paths: Iterable[str | os.PathLike[str]]) -> list[list[Path]]:
    """The files of ``paths`` grouped by chain, in the order each chain is first named.

    A file whose first line names no chain (damaged, empty, not a chain log) is a
    group of its own, so its problems are reported against it alone.
    """
    groups: dict[str, list[Path]] = {}
    for raw in paths:
        path = Path(raw)
        if path.name.endswith(_SIDECARS):
            continue
        groups.setdefault(_chain_id(path) or f"file:{path}", []).append(path)
    return list(groups.values())


def verify_each(
    paths: Sequence[str | os.PathLike[str]], **options: Any
) -> list[tuple[list[Path], VerifyReport]]:
    """:func:`~guardrail.audit.verify.verify` once per chain among ``paths``."""
    return [(group, verify(group, **options)) for group in chains(paths)]


def _chain_id(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            first = json.loads(handle.readline())
    except (OSError, ValueError):
        return None
    data = first.get("data") if isinstance(first, dict) else None
    chain = data.get("chain") if isinstance(data, dict) else None
    return chain if isinstance(chain, str) and chain else None
