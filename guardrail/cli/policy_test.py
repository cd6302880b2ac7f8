"""``guardrail policy test SUITE``: run a policy's test cases; exit 1 when one fails."""

from __future__ import annotations

import argparse
import json

from guardrail.cli._errors import say
from guardrail.errors import ConfigurationError
from guardrail.policy.policy import Policy
from guardrail.policy.suite import Result, load_suite, run_suite


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    test = commands.add_parser("test", help="run a suite of expected decisions against a policy")
    test.add_argument("suite", help="YAML file with 'cases' (and 'policy', 'principals')")
    test.add_argument("--policy", help="the policy to test (default: the suite's 'policy')")
    test.add_argument("--json", action="store_true", help="one JSON object per case, then a total")
    test.set_defaults(func=test_command)


def test_command(args: argparse.Namespace) -> int:
    suite = load_suite(args.suite)
    path = args.policy or suite.policy_path
    if path is None:
        raise ConfigurationError(f"{args.suite}: no 'policy' in the suite; pass --policy FILE")
    results = run_suite(Policy.from_file(path), suite.cases)
    failed = [r for r in results if not r.passed]
    if args.json:
        for result in results:
            print(json.dumps(_as_json(suite.source, result)))
    else:
        for result in failed:
            for failure in result.failures:
                say(f"{suite.source}:{result.case.line}: {result.case.name}: {failure}")
    summary = f"{len(results) - len(failed)} passed, {len(failed)} failed ({path})"
    say(
        json.dumps({"passed": len(results) - len(failed), "failed": len(failed)})
        if args.json
        else summary
    )
    return 1 if failed else 0


def _as_json(source: str, result: Result) -> dict[str, object]:
    return {
        "file": source,
        "line": result.case.line,
        "name": result.case.name,
        "passed": result.passed,
        "decision": result.outcome.decision,
        "rule": result.outcome.rule,
        "limit": result.outcome.limit,
        "failures": list(result.failures),
    }
