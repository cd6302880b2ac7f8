"""``guardrail policy check FILE`` and ``guardrail policy explain FILE ...``."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import warnings
from typing import Any

from guardrail.cli import policy_test
from guardrail.cli._errors import printable, say
from guardrail.errors import ArgumentError, ConfigurationError
from guardrail.identity import Principal
from guardrail.policy.names import normalize
from guardrail.policy.params import tool_params
from guardrail.policy.policy import Policy
from guardrail.policy.regex import SEMANTICS
from guardrail.policy.validate import PolicyWarning, findings_for, policy_findings


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("policy", help="check and explain policy files")
    commands = parser.add_subparsers(dest="policy_command", required=True)

    check = commands.add_parser("check", help="validate a policy file and list its rules")
    check.add_argument("file")
    check.add_argument(
        "--tools",
        metavar="MODULE:GUARD",
        help="also check every rule and limit against the tools registered with this Guard",
    )
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
    explain.add_argument(
        "--tools",
        metavar="MODULE:GUARD",
        help="bind --args through the registered tool, exactly as the guard does",
    )
    explain.set_defaults(func=explain_command)

    policy_test.add_command(commands)


def check_command(args: argparse.Namespace) -> int:
    policy = Policy.from_file(args.file)
    say(f"{args.file}: OK ({len(policy.rules)} rules, {len(policy.limits)} limits)")
    print(f"digest {policy.digest[:16]}")
    print(SEMANTICS)
    for rule in policy.rules:
        when = rule.when.model_dump(exclude_defaults=True)
        constraints = {name: c.operators() for name, c in rule.args.items()}
        line = printable(f"  {rule.effect:5} {rule.id}: {', '.join(rule.tools)}")
        line += f"  when {_compact(when)}" if when else ""  # JSON: already escaped
        print(line + (f"  args {_compact(constraints)}" if constraints else ""))
    for limit in policy.limits:
        span = f"{limit.window:g}s window" if limit.window else limit.period or ""
        say(
            f"  limit {limit.id}: {limit.maximum:g} {limit.measure} per {limit.per}"
            + (f" ({span})" if span else "")
        )
    general = policy_findings(policy)
    for finding in general:
        say(f"warning: {finding}")
    if args.tools is None:
        return 1 if general else 0
    guard = load_guard(args.tools)
    found = [
        finding
        for spec in guard.tools.values()
        for finding in findings_for(policy, spec, guard.authenticator)
    ]
    for finding in found:
        say(f"warning: {finding}")
    tools = len(guard.tools)
    found += general
    if found:
        say(f"{len(found)} finding(s) for {tools} tool(s) of {args.tools}")
        return 1
    print(f"no findings: every rule and limit can apply as written to the {tools} tool(s)")
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
    who = principal.describe() if principal else "anonymous"
    if args.tools is not None:
        try:
            call_args = _bound(policy, load_guard(args.tools), args.tool, call_args)
        except ArgumentError as exc:
            say(f"DENY  {who} -> {args.tool}")
            say(f"reason: invalid arguments, refused before the policy: {exc}")
            return 1
    decision = policy.decide(args.tool, principal, call_args)
    say(f"{'ALLOW' if decision.allowed else 'DENY'}  {who} -> {args.tool}")
    say(f"rule:   {decision.rule or '(none: default deny)'}")
    say(f"reason: {decision.reason}")
    if args.tools is None:
        print(
            "note:   --args were checked as given; the guard first binds them to the tool's "
            'parameters (e.g. "50" -> 50.0 for a float): pass --tools MODULE:GUARD for that'
        )
    return 0 if decision.allowed else 1


def _bound(policy: Policy, guard: Any, tool: str, call_args: dict[str, Any]) -> dict[str, Any]:
    spec = guard.tools.get(normalize(tool))
    if spec is None or spec.binder is None:
        raise ConfigurationError(f"{tool!r} is not registered with that guard")
    policy.evaluator.declare(spec.name, tool_params(spec))
    bound: dict[str, Any] = spec.binder.bind((), call_args)
    return bound


def load_guard(target: str) -> Any:
    """The ``Guard`` at ``module:attribute`` (the module imported from the current directory)."""
    from guardrail.guard import Guard

    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--tools {target!r}: use MODULE:ATTRIBUTE, e.g. app.tools:guard")
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    with warnings.catch_warnings():
        # The module registers its tools against its own policy; the report below covers it.
        warnings.simplefilter("ignore", PolicyWarning)
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigurationError(f"--tools: cannot import {module_name!r}: {exc}") from None
    guard: Any = module
    for part in attribute.split("."):
        guard = getattr(guard, part, None)
    if not isinstance(guard, Guard):
        raise ConfigurationError(f"--tools: {target!r} is not a guardrail Guard")
    return guard


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
