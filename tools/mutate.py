"""Mutation testing of the fail-closed core (issue 16): `make mutate` or
`.venv/bin/python tools/mutate.py [GROUP ...] [--jobs N] [--keep]`.

Each group mutates a few modules and runs only the tests that exercise them. mutmut writes a
`mutants/` tree and reads its own config, so every group runs in a scratch copy of the work tree
(tracked and untracked files, not the venv): the repository and `make test` never see mutmut.
The score printed is mutmut's own: (killed + timeout) / (all mutants not skipped), so a mutant
no selected test reaches counts as a survivor.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = Path(os.environ.get("MUTATE_DIR", "/tmp/guardrail-mutate"))
TIMEOUT_MULTIPLIER = 3.0
TIMEOUT_CONSTANT = 10.0


@dataclass(frozen=True)
class Group:
    mutate: tuple[str, ...]
    tests: tuple[str, ...]
    deselect: str = ""


GROUPS = {
    "conditions": Group(
        mutate=("guardrail/conditions.py",),
        tests=(
            "tests/policy/test_conditions.py",
            "tests/policy/test_evaluator.py",
            "tests/security/test_policy_semantics.py",
            "tests/security/test_policy_validation.py",
            "tests/security/test_policy_mutants.py",
        ),
    ),
    "policy": Group(
        mutate=("guardrail/policy/*.py",),
        tests=(
            "tests/policy",
            "tests/security/test_policy_semantics.py",
            "tests/security/test_policy_validation.py",
            "tests/security/test_policy_mutants.py",
            "tests/security/test_policy_listing_exact.py",
            "tests/security/test_policy_listing_bounds.py",
            "tests/security/test_skill_step_denials.py",
            "tests/security/test_policy_claim_fields.py",
            "tests/security/test_policy_names_and_issuers.py",
            "tests/security/test_policy_approvals_and_refs.py",
            "tests/security/test_policy_findings_text.py",
            "tests/security/test_policy_reasons_and_refs.py",
            "tests/security/test_policy_operand_kinds.py",
            "tests/security/test_policy_unreadable_yaml.py",
            "tests/security/test_policy_reference_findings.py",
            "tests/security/test_policy_findings_scope.py",
            "tests/security/test_policy_never_met.py",
            "tests/security/test_policy_glob_case.py",
            "tests/security/test_policy_loading_more.py",
            "tests/security/test_tool_name_case.py",
            "tests/security/test_narrowed_schema_types.py",
            "tests/approvals/test_approve_rules.py",
            "tests/core/test_narrowed_schema.py",
            "tests/ops/test_policy_suite.py",
            "tests/ops/test_policy_suite_edges.py",
        ),
    ),
    "redact": Group(
        mutate=(
            "guardrail/audit/redact.py",
            "guardrail/audit/_shapes.py",
            "guardrail/audit/_secrets.py",
            "guardrail/audit/_commands.py",
            "guardrail/audit/_assignments.py",
            "guardrail/audit/_scans.py",
        ),
        tests=(
            "tests/audit/test_audit_redact.py",
            "tests/security/test_audit_redaction_families.py",
            "tests/security/test_audit_redaction_corpus.py",
            "tests/security/test_audit_redaction_more.py",
            "tests/security/test_audit_redaction_commands.py",
            "tests/security/test_audit_redact_mutants.py",
            "tests/security/test_audit_redact_builders.py",
            "tests/security/test_audit_redact_linear.py",
        ),
        # the hostile texts run in a child process (no coverage, ~20 s a run)
        deselect="not without_a_stall",
    ),
    "verify": Group(
        mutate=("guardrail/audit/verify.py",),
        tests=(
            "tests/audit/test_audit_tamper.py",
            "tests/audit/test_audit_chain.py",
            "tests/security/test_audit_recovery_visible.py",
            "tests/security/test_audit_verify_more.py",
            "tests/security/test_audit_verify_located.py",
        ),
        deselect="not reaches_a_record and not cli_verify and not exits_0 and not exits_1",
    ),
    "memory": Group(
        mutate=("guardrail/budgets/memory.py", "guardrail/budgets/_memory_state.py"),
        tests=(
            "tests/budgets/test_memory_ledger.py",
            "tests/budgets/test_memory_ledger_edges.py",
            "tests/budgets/test_memory_ledger_behaviour.py",
            "tests/budgets/test_ledger_contract.py",
        ),
        deselect="not redis and not cluster",
    ),
}


def copy_tree(scratch: Path) -> None:
    """Copy the work tree as git sees it (tracked + untracked, not ignored) into `scratch`."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = scratch / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def mutmut_config(group: Group) -> str:
    args = ["-p", "no:cacheprovider", "-q"]
    selection = " and ".join(filter(None, [group.deselect]))
    if selection:
        args += ["-k", selection]
    return "\n".join(
        [
            "",
            "[tool.mutmut]",
            'source_paths = ["guardrail"]',
            f"only_mutate = {json.dumps(list(group.mutate))}",
            'also_copy = ["adapters", "examples", "benchmarks", "README.md"]',
            f"pytest_add_cli_args = {json.dumps(args)}",
            f"pytest_add_cli_args_test_selection = {json.dumps(list(group.tests))}",
            # A mutant that loops forever (`while f"{key}#{n}" in taken` with `in` -> `not in`)
            # is stopped after (its tests' measured time + constant) * multiplier seconds of
            # wall time; mutmut's default 15x let one such mutant hold a --jobs 1 run for
            # half an hour. 3x plus 10 s still covers a test run slowed by a loaded machine.
            f"timeout_multiplier = {TIMEOUT_MULTIPLIER}",
            f"timeout_constant = {TIMEOUT_CONSTANT}",
            "",
        ]
    )


def prepare(name: str, keep: bool) -> Path:
    scratch = SCRATCH / name
    if scratch.exists() and not keep:
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    copy_tree(scratch)  # a kept scratch gets the current tests; mutmut reruns what changed
    with (scratch / "pyproject.toml").open("a") as config:
        config.write(mutmut_config(GROUPS[name]))
    return scratch


def mutmut(scratch: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = Path(sys.executable).parent / "mutmut"
    # Property tests run fewer examples per mutant (GUARDRAIL_EXAMPLES, see tests/security).
    env = {**os.environ, "GUARDRAIL_EXAMPLES": os.environ.get("GUARDRAIL_EXAMPLES", "60")}
    return subprocess.run(
        [str(binary), *args], cwd=scratch, env=env, text=True, capture_output=True, check=False
    )


def report(name: str, scratch: Path) -> dict[str, int]:
    mutmut(scratch, "export-cicd-stats")
    stats: dict[str, int] = json.loads((scratch / "mutants" / "mutmut-cicd-stats.json").read_text())
    tested = stats["total"] - stats["skipped"]
    caught = stats["killed"] + stats["timeout"]
    score = 100.0 * caught / tested if tested else 0.0
    print(
        f"{name}: {score:.1f}% = {caught}/{tested} "
        f"(killed {stats['killed']}, timeout {stats['timeout']}, survived {stats['survived']}, "
        f"no tests {stats['no_tests']}, suspicious {stats['suspicious']})"
    )
    survivors = mutmut(scratch, "results").stdout
    for line in survivors.splitlines():
        if line.strip():
            print("   ", line.strip())
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=f"some of {', '.join(GROUPS)} (default: all)")
    parser.add_argument("--jobs", type=int, default=2, help="mutmut --max-children")
    parser.add_argument("--keep", action="store_true", help="reuse the scratch copy's results")
    parser.add_argument(
        "--only", action="append", default=[], help="mutant name glob (mutmut run NAMES...)"
    )
    options = parser.parse_args()
    unknown = set(options.groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    for name in options.groups or list(GROUPS):
        scratch = prepare(name, options.keep)
        print(f"== {name}: mutmut in {scratch}", flush=True)
        done = mutmut(scratch, "run", "--max-children", str(options.jobs), *options.only)
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
            return done.returncode
        report(name, scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
