"""``guardrail demo``."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("demo", help="run the quickstart demo")
    parser.set_defaults(func=lambda args: 0)
