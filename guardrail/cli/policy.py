"""``guardrail policy check|explain``."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("policy", help="check and explain policy files")
    parser.set_defaults(func=lambda args: 0)
