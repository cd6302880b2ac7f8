"""``guardrail policy check FILE`` and ``guardrail policy explain FILE ...``."""

from __future__ import annotations

import argparse
import json
from typing import Any

from guardrail.cli import policy_test
from guardrail.errors import ConfigurationError
from guardrail.identity import Principal
from guardrail.policy.policy import Policy


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("policy", help="check and explain policy files")
    commands = parser.add_subparsers(dest="policy_command", required=True)

    check = commands.add_parser("check", help="validate a policy file and list its rules")
    check.add_argument("file")
    check.set_defaults(func=check_command)

    explain = commands.add_parser("explain", help="show the decision for one call")
    explain.add_argument("file")
    who = explain.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--principal", help='JSON, e.g. \'{"subject": "alice", "roles": ["support"]}\''
    )
    who.add_argument("--token", help="a bearer JWT, verified with --issuer/--audience/--jwks-url")
    who.add_argument("--anonymous", action="store_true", help="a call with no principal")
    explain.add_argument("--issuer")
    explain.add_argument("--audience")
    explain.add_argument("--jwks-url")
    explain.add_argument("--tool", required=True)
    explain.add_argument("--args", default="{}", help="the call's arguments as a JSON object")
    explain.set_defaults(func=explain_command)

    policy_test.add_command(commands)


def check_command(args: argparse.Namespace) -> int:
    policy = Policy.from_file(args.file)
    print(f"{args.file}: OK ({len(policy.rules)} rules, {len(policy.limits)} limits)")
    print(f"digest {policy.digest[:16]}")
    for rule in policy.rules:
        when = rule.when.model_dump(exclude_defaults=True)
        constraints = {name: c.operators() for name, c in rule.args.items()}
        print(f"  {rule.effect:5} {rule.id}: {', '.join(rule.tools)}", end="")
        print(f"  when {_compact(when)}" if when else "", end="")
        print(f"  args {_compact(constraints)}" if constraints else "")
    for limit in policy.limits:
        print(f"  limit {limit.id}: {limit.maximum:g} {limit.measure} per {limit.per}", end="")
        span = f"{limit.window:g}s window" if limit.window else limit.period or ""
        print(f" ({span})" if span else "")
    return 0


def explain_command(args: argparse.Namespace) -> int:
    policy = Policy.from_file(args.file)
    principal = _principal(args)
    try:
        call_args = json.loads(args.args)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"--args is not valid JSON: {exc}") from None
    if not isinstance(call_args, dict):
        raise ConfigurationError("--args must be a JSON object")
    decision = policy.decide(args.tool, principal, call_args)
    who = principal.describe() if principal else "anonymous"
    print(f"{'ALLOW' if decision.allowed else 'DENY'}  {who} -> {args.tool}")
    print(f"rule:   {decision.rule or '(none: default deny)'}")
    print(f"reason: {decision.reason}")
    return 0 if decision.allowed else 1


def _principal(args: argparse.Namespace) -> Principal | None:
    if args.anonymous:
        return None
    if args.principal:
        try:
            return Principal.model_validate_json(args.principal)
        except ValueError as exc:
            raise ConfigurationError(f"--principal is not a valid principal: {exc}") from None
    if not (args.issuer and args.audience and args.jwks_url):
        raise ConfigurationError("--token needs --issuer, --audience and --jwks-url to verify it")
    from guardrail.auth.jwt import JWTAuthenticator

    authenticator = JWTAuthenticator(
        issuer=args.issuer, audience=args.audience, jwks_url=args.jwks_url
    )
    return authenticator.authenticate(args.token)


def _compact(value: Any) -> str:
    return json.dumps(value, default=sorted, separators=(",", ":"))
