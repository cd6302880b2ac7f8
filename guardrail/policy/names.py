"""Tool names: NFKC-normalised and restricted to the MCP tool-name alphabet.

Globs are matched on the normalised name, so look-alikes cannot slip past a
deny glob: ``crm\u2024delete`` (one dot leader) and ``crm\uff0edelete`` (a
fullwidth dot) are ``crm.delete``; a zero-width space or any other character
outside ASCII letters, digits, ``_``, ``-``, ``.`` and ``/`` (server
qualification) is refused, as is a name longer than 128 characters.
"""

from __future__ import annotations

import re
import unicodedata
from fnmatch import fnmatchcase

from guardrail.errors import ConfigurationError

MAX_LENGTH = 128
_NAME = re.compile(r"[A-Za-z0-9_\-./]{1,128}")
_GLOB = re.compile(r"[A-Za-z0-9_\-./*?\[\]!]+")


def normalize(name: str) -> str:
    """The NFKC form of ``name`` (no check: see :func:`tool_name`)."""
    return unicodedata.normalize("NFKC", name)


def is_valid(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def tool_name(name: str) -> str:
    """``name`` normalised; raises ``ConfigurationError`` when it is not a valid tool name."""
    if not isinstance(name, str):
        raise ConfigurationError(f"a tool name must be a string, not {type(name).__name__}")
    normal = normalize(name)
    if not is_valid(normal):
        raise ConfigurationError(
            f"invalid tool name {name!r}: use 1-{MAX_LENGTH} ASCII letters, digits, "
            "'_', '-', '.' and '/' (MCP tool names; checked after NFKC normalisation)"
        )
    return normal


def check_glob(pattern: str) -> str:
    """A policy tool glob, normalised; raises ``ValueError`` for characters no name has."""
    normal = normalize(pattern)
    if not _GLOB.fullmatch(normal):
        raise ValueError(
            f"tool glob {pattern!r} has characters no tool name can have "
            "(names use ASCII letters, digits, '_', '-', '.', '/'; globs add * ? [ ] !)"
        )
    return normal


def covers(glob: str, name: str, *, ignore_case: bool = False) -> bool:
    """Whether ``glob`` matches the (normalised) tool ``name``.

    Globs that restrict (deny and approve rules, limits) ignore case, so a name that
    differs only by case (``CRM.Delete``) cannot slip past them; allow globs are exact.
    """
    if ignore_case:
        return fnmatchcase(name.lower(), glob.lower())
    return fnmatchcase(name, glob)
