"""``guardrail mcp pin``: pin an MCP server's tool definitions into a reviewed pin file.

The MCP SDK is imported only when the command runs, so the CLI works without it.
"""

from __future__ import annotations

import argparse

from guardrail.cli import _args
from guardrail.cli._errors import say
from guardrail.errors import ConfigurationError


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("mcp", help="MCP tool pinning")
    commands = parser.add_subparsers(dest="mcp_command", metavar="COMMAND", required=True)
    pin = commands.add_parser(
        "pin",
        help="list a server's tools and write their SHA-256 pins (re-pins changed tools)",
        description=(
            "Connect to an MCP server (a command over stdio after '--', or --url over "
            "streamable HTTP), list its tools and write their pins into the pin file. "
            "Review the file's diff like a lock file."
        ),
    )
    pin.add_argument("--pins", default="mcp-pins.json", help="pin file (default: %(default)s)")
    pin.add_argument("--server", help="server name in policies (default: the server's own name)")
    pin.add_argument(
        "--url",
        type=_args.http_url,
        help="streamable HTTP endpoint, e.g. http://127.0.0.1:8000/mcp",
    )
    pin.add_argument(
        "--token-env",
        default="GUARDRAIL_MCP_TOKEN",
        help="environment variable holding the bearer token for --url (default: %(default)s)",
    )
    pin.add_argument(
        "--timeout", type=_args.positive_float, default=30.0, help="seconds (default: %(default)s)"
    )
    pin.add_argument("command", nargs=argparse.REMAINDER, help="-- server command and arguments")
    pin.set_defaults(func=_pin)


def _pin(args: argparse.Namespace) -> int:
    try:
        from guardrail_mcp._cli import run_pin
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f'guardrail mcp needs the MCP SDK ({exc.name}): pip install "guardrail-sdk[mcp]"'
        ) from None
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    return run_pin(
        pins=args.pins,
        server=args.server,
        url=args.url,
        command=command,
        token_env=args.token_env,
        timeout=args.timeout,
        say=say,
    )
