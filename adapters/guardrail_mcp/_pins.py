"""Tool pinning: the rug-pull defence.

Each MCP tool definition (name, title, description, input and output schema,
annotations) is hashed as SHA-256 of its canonical JSON. The first listing of a
server pins every tool it shows (trust on first use), or the pins come from a
reviewed pin file. A tool whose definition later differs from its pin, or that
appears after its server was pinned, is refused until someone re-pins it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mcp_types import Tool

from guardrail import ConfigurationError

PIN_FILE_VERSION = 1
SEPARATOR = "/"
PINNED_FIELDS = ("name", "title", "description", "inputSchema", "outputSchema", "annotations")
"""Wire names of the parts of a tool definition a pin covers (``_meta``, icons excluded)."""

PinStatus = Literal["pinned", "changed", "new"]


def qualify(server: str, tool: str) -> str:
    """The name policies and audit records use: ``crm/lookup_customer``."""
    return f"{server}{SEPARATOR}{tool}"


def tool_definition(tool: Tool) -> dict[str, Any]:
    """The pinned part of ``tool`` in its wire form (camelCase keys, no nulls)."""
    wire = tool.model_dump(by_alias=True, mode="json", exclude_none=True)
    return {key: wire[key] for key in PINNED_FIELDS if key in wire}


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def tool_digest(tool: Tool | Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a tool's definition."""
    definition = tool_definition(tool) if isinstance(tool, Tool) else dict(tool)
    return hashlib.sha256(canonical_json(definition)).hexdigest()


def changed_fields(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """Which pinned fields differ (all of them when the old definition is unknown)."""
    if old is None:
        return sorted(new)
    return sorted(key for key in PINNED_FIELDS if old.get(key) != new.get(key))


@dataclass(frozen=True, slots=True)
class Pin:
    sha256: str
    definition: Mapping[str, Any] | None = None


class PinStore:
    """Pinned tool digests by server-qualified name, optionally backed by a pin file.

    Without a ``path`` the store trusts the first listing of each server
    (``tofu=True``). With a path the file is the reviewed truth: by default a tool
    it does not list is refused (``tofu=False``), and only an explicit
    :meth:`pin` (``GuardedSession.repin()`` or ``guardrail mcp pin``) changes it.
    One store may be shared by several sessions to the same servers.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, tofu: bool | None = None):
        self.path = Path(path) if path is not None else None
        self.tofu = tofu if tofu is not None else self.path is None
        self._pins: dict[str, Pin] = {}
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        if self.path is not None and self.path.exists():
            self._pins = _read(self.path)
            self._seen = {name.split(SEPARATOR, 1)[0] for name in self._pins}

    def __contains__(self, name: object) -> bool:
        return name in self._pins

    def __len__(self) -> int:
        return len(self._pins)

    def get(self, name: str) -> Pin | None:
        return self._pins.get(name)

    def names(self, server: str | None = None) -> list[str]:
        prefix = qualify(server, "") if server is not None else ""
        return sorted(n for n in self._pins if n.startswith(prefix))

    def knows(self, server: str) -> bool:
        """Whether ``server`` was pinned already (listed once, or present in the pin file)."""
        return server in self._seen

    def status(self, name: str, digest: str, *, first_sight: bool) -> PinStatus:
        """``pinned``, ``changed`` or ``new`` for a tool listed with ``digest``."""
        pin = self._pins.get(name)
        if pin is None:
            return "pinned" if first_sight and self.tofu else "new"
        return "pinned" if pin.sha256 == digest else "changed"

    def pin(self, name: str, definition: Mapping[str, Any], *, save: bool = True) -> str:
        """Accept ``definition`` for ``name``; writes the pin file when there is one."""
        digest = tool_digest(definition)
        with self._lock:
            self._pins[name] = Pin(digest, dict(definition))
            self._seen.add(name.split(SEPARATOR, 1)[0])
        if save:
            self.save()
        return digest

    def mark_seen(self, server: str) -> None:
        with self._lock:
            self._seen.add(server)

    def forget(self, names: Iterable[str], *, save: bool = True) -> None:
        with self._lock:
            for name in names:
                self._pins.pop(name, None)
        if save:
            self.save()

    def save(self) -> None:
        """Write the pin file atomically (sorted, indented: it is reviewed like a lock file)."""
        if self.path is None:
            return
        with self._lock:
            document = {
                "version": PIN_FILE_VERSION,
                "tools": {
                    name: {"sha256": pin.sha256, "definition": pin.definition}
                    for name, pin in sorted(self._pins.items())
                },
            }
        text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _read(path: Path) -> dict[str, Pin]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read MCP pin file {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("version") != PIN_FILE_VERSION:
        raise ConfigurationError(f"{path}: not a version {PIN_FILE_VERSION} MCP pin file")
    tools = document.get("tools")
    if not isinstance(tools, dict):
        raise ConfigurationError(f"{path}: 'tools' must be an object")
    pins: dict[str, Pin] = {}
    for name, entry in tools.items():
        if SEPARATOR not in name or not isinstance(entry, dict):
            raise ConfigurationError(f"{path}: bad entry {name!r} (want 'server/tool': {{...}})")
        digest, definition = entry.get("sha256"), entry.get("definition")
        if not isinstance(digest, str) or len(digest) != 64:
            raise ConfigurationError(f"{path}: {name!r} has no sha256")
        if definition is not None and tool_digest(definition) != digest:
            # An edited definition with a stale hash would mislead a reviewer.
            raise ConfigurationError(f"{path}: {name!r}: definition does not match its sha256")
        pins[name] = Pin(digest, definition)
    return pins
