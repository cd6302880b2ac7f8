"""Typed argparse converters: a bad value is refused while parsing, in one line.

Pass them as ``type=``; each raises :class:`argparse.ArgumentTypeError` with a
message that names what was expected, which :class:`~guardrail.cli._errors.CommandParser`
turns into ``error: guardrail audit show: argument --since: ...``. Files are
checked when the command runs (:func:`require_files`, :func:`read_key_file`), not
while parsing, so that a command line parses on any machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from guardrail.cli._errors import UsageError

_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_AGO_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def readable_file(text: str) -> str:
    """A path that exists, is not a directory and can be opened for reading."""
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"is a directory, not a file: {text}")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"cannot read {text}: permission denied")
    return text


def require_files(paths: Iterable[str | None], option: str = "FILE") -> None:
    """Each of ``paths`` (``None`` skipped) is a readable file, else a :class:`UsageError`."""
    for path in paths:
        if path is None:
            continue
        try:
            readable_file(path)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"argument {option}: {exc}") from None


def read_key_file(path: str, option: str = "--key-file") -> bytes:
    """The bytes of a key file (as is); it must exist, be readable and not be empty."""
    require_files([path], option)
    try:
        key = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"argument {option}: cannot read {path}: {exc.strerror}") from None
    if not key:
        raise UsageError(f"argument {option}: key file {path} is empty")
    return key


def key_text(text: str) -> bytes:
    """A key given inline; it must not be empty."""
    if not text:
        raise argparse.ArgumentTypeError("the key is empty")
    return text.encode()


def json_object(text: str) -> dict[str, Any]:
    """A JSON object (``{...}``)."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, not {type(value).__name__}")
    return value


def since(text: str, now: datetime | None = None) -> datetime:
    """An ISO time (``2026-11-25T10:00``, UTC unless it says) or an age (``30m``, ``2d``)."""
    match = _AGO.match(text.strip())
    if match:
        seconds = float(match.group(1)) * _AGO_UNITS[match.group(2)]
        try:
            return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
        except OverflowError:
            raise argparse.ArgumentTypeError(f"age out of range: {text!r}") from None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO time (2026-11-25T10:00) or an age (30m, 2h, 1d), not {text!r}"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def positive_float(text: str) -> float:
    """A finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above zero, not {text!r}")
    return value


def http_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host."""
    if not re.match(r"^https?://[^/\s]+", text):
        raise argparse.ArgumentTypeError(f"expected an http:// or https:// URL, not {text!r}")
    return text
