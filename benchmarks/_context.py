"""What every benchmark group gets: the harness, the services, the scale, the table rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._harness import Case, Harness
from benchmarks._services import RedisServer


@dataclass(kw_only=True)
class Row:
    """One line of the table: a timed case, or a figure measured otherwise, or n/a."""

    group: str
    label: str
    key: str | None = None
    """A harness case key; its stats are the figure."""
    value: str | None = None
    """A figure measured outside the harness (calls/s, MB), already formatted."""
    note: str = ""


@dataclass(kw_only=True)
class Env:
    quick: bool
    workdir: Path
    harness: Harness
    redis: RedisServer | None
    rows: list[Row] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)
    """Figures measured outside the harness that targets may read (e.g. calls/s)."""
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    only: tuple[str, ...] = ()
    """Case key prefixes to time (``raw.`` always); empty: all."""

    def wanted(self, key: str) -> bool:
        return not self.only or key.startswith(("raw.", *self.only))

    def case(self, case: Case, *, row: bool = True) -> None:
        if not self.wanted(case.key):
            return
        self.harness.add(case)
        if row:
            self.rows.append(Row(group=case.group, label=case.label, key=case.key, note=case.note))

    def na(self, group: str, label: str, why: str) -> None:
        self.rows.append(Row(group=group, label=label, value="n/a", note=why))

    @property
    def redis_error(self) -> str:
        error = self.redis.error if self.redis is not None else None
        return error or "redis-server not running"

    @property
    def redis_url(self) -> str | None:
        return self.redis.url if self.redis is not None and self.redis.proc else None
