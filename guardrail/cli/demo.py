"""``guardrail demo``: run the quickstart (two users, real JWTs, a JWKS on 127.0.0.1)."""

from __future__ import annotations

import argparse
import runpy
from pathlib import Path

from guardrail.errors import ConfigurationError

_PACKAGE = Path(__file__).resolve().parent.parent


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="run the quickstart demo (offline)")
    parser.set_defaults(func=demo_command)


def quickstart_path() -> Path:
    # Installed wheels carry a copy inside the package; a source checkout has examples/.
    for candidate in (
        _PACKAGE / "_examples" / "quickstart.py",
        _PACKAGE.parent / "examples" / "quickstart.py",
    ):
        if candidate.is_file():
            return candidate
    raise ConfigurationError("the quickstart example is not installed with this copy")


def demo_command(args: argparse.Namespace) -> int:
    runpy.run_path(str(quickstart_path()), run_name="__main__")
    return 0
