"""How every ``guardrail`` command fails: one ``error: ...`` line on stderr, exit status 2.

:func:`report_errors` runs a command and turns whatever stops it (a usage
mistake, a :class:`~guardrail.errors.GuardrailError`, a file that cannot be
read, Ctrl-C, a bug) into that line, so no command prints a traceback
(``GUARDRAIL_DEBUG=1`` shows it). :class:`CommandParser` makes argparse's own
errors go the same way. :func:`printable` escapes what a terminal would
interpret, so text read from a log cannot forge output rows.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata
from collections.abc import Callable
from typing import NoReturn

from guardrail.errors import GuardrailError

EXIT_USAGE = 2
"""Exit status of every error (as argparse uses for usage errors)."""
DEBUG_ENV = "GUARDRAIL_DEBUG"
_DOCS_LINK = "For further information visit"

_PLAIN = re.compile(r"[\x20-\x5b\x5d-\x7e]*")
"""Printable ASCII but the backslash: nothing to escape."""
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Controls (C0, DEL, C1), format characters (bidi overrides, zero-width), surrogates,
private use, unassigned, and line/paragraph separators."""


class UsageError(Exception):
    """A command was called wrongly (a bad option value, a missing argument)."""


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise :class:`UsageError` instead of exiting.

    Sub-parsers made with ``add_subparsers`` are of the same class, so this covers
    every sub-command.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def printable(text: str) -> str:
    """``text`` with control, format and separator characters (and ``\\``) escaped."""
    if _PLAIN.fullmatch(text):
        return text
    return "".join(_escape(ch) for ch in text)


def say(line: str) -> None:
    """Print one output line with what a terminal would interpret escaped: values from
    a policy, a log or a server (ids, subjects, tool names) cannot forge other lines."""
    print(printable(line))


def _escape(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch == " " or unicodedata.category(ch) not in _UNSAFE_CATEGORIES:
        return ch
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def one_line(message: str) -> str:
    """A message (maybe several lines, as pydantic's are) as one printable line."""
    parts = [part.strip() for part in message.splitlines()]
    # pydantic ends each error with a link to its docs: noise on a command line
    kept = [part for part in parts if part and not part.startswith(_DOCS_LINK)]
    return printable("; ".join(kept)) or "(no message)"


def describe(exc: BaseException) -> str:
    """What went wrong, in words, for one ``error:`` line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, UsageError | GuardrailError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename is not None else ""
        return f"{exc.strerror}{where}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"unexpected {type(exc).__name__}: {exc} (set {DEBUG_ENV}=1 for the traceback)"


def fail(message: str) -> int:
    """Print ``error: message`` as one line on stderr; return :data:`EXIT_USAGE`."""
    print(f"error: {one_line(message)}", file=sys.stderr, flush=True)
    return EXIT_USAGE


def report_errors(command: Callable[[], int]) -> int:
    """Run ``command``; any failure becomes one ``error:`` line and exit status 2."""
    try:
        return command()
    except BrokenPipeError:
        # The reader went away (``| head``): nothing left to say, and nowhere to say it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except SystemExit:
        raise  # --help and --version exit 0 on their own
    except BaseException as exc:  # Ctrl-C too: one line, not a traceback
        if os.environ.get(DEBUG_ENV) and not isinstance(exc, UsageError):
            raise
        return fail(describe(exc))
