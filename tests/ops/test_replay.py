"""`guardrail audit replay`: a log recorded under policy A decided again under policy B."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guardrail import ArgumentError, ChainLog, Guard, PermissionDenied, Policy, Principal
from guardrail.audit.replay import replay
from guardrail.cli import main
from guardrail.cli.audit import read_events

from .conftest import POLICY_A, POLICY_B, GeneratedLog


def _direct(generated: GeneratedLog, candidate: Policy) -> dict[int, tuple[str, Any, Any]]:
    """Index -> (change, before, after) for each call, decided directly from what was made."""
    expected: dict[int, tuple[str, Any, Any]] = {}
    for index, made in enumerate(generated.made):
        a = generated.policy.decide(made.tool, made.principal, made.args)  # type: ignore[attr-defined]
        b = candidate.decide(made.tool, made.principal, made.args)  # type: ignore[attr-defined]
        budget = made.result == "budget_exceeded"  # type: ignore[attr-defined]
        if a.allowed != b.allowed:
            expected[index] = ("newly_allowed" if b.allowed else "newly_denied", a, b)
        elif a.rule != b.rule and not budget:  # a budget refusal does not record its rule
            expected[index] = ("rule_changed", a, b)
    return expected


def _call_order(path: Path) -> dict[str, int]:
    ids = (e["call_id"] for e in read_events([str(path)]) if e.get("phase") != "notice")
    return {call_id: i for i, call_id in enumerate(dict.fromkeys(ids))}


def test_the_log_records_what_policy_a_decided(generated: GeneratedLog) -> None:
    """Sanity: 10,000 calls by 50 users, each call's record agrees with deciding it under A."""
    order = _call_order(generated.path)
    assert len(order) == len(generated.made) == 10_000
    assert len({m.principal.subject for m in generated.made}) == 50  # type: ignore[attr-defined]
    same = replay(read_events([str(generated.path)]), generated.policy)
    counts = same.counts()
    assert counts["calls"] == 10_000 and counts["decided"] == 10_000
    assert same.changed == [] and same.undecidable == []


def test_replay_lists_exactly_the_calls_whose_decisions_differ(generated: GeneratedLog) -> None:
    """Every change replay reports is a real difference, and every real difference is reported
    (or is undecidable because the argument B reads was redacted in the log)."""
    candidate = Policy.from_file(POLICY_B)
    result = replay(read_events([str(generated.path)]), candidate)
    order = _call_order(generated.path)
    expected = _direct(generated, candidate)
    undecidable = {order[item.call_id] for item in result.undecidable}
    found = {order[item.call_id]: item for item in result.changed}
    assert set(found) == set(expected) - undecidable
    for index, item in found.items():
        change, a, b = expected[index]
        assert item.change == change
        assert item.before is not None and item.before.allowed == a.allowed
        assert item.after is not None and (item.after.allowed, item.after.rule) == (
            b.allowed,
            b.rule,
        )
    # B reads new_password, which the log redacts: exactly support staff's resets are undecidable.
    resets = {
        i
        for i, m in enumerate(generated.made)
        if m.tool == "reset_password" and "support" in m.principal.roles  # type: ignore[attr-defined]
    }
    assert undecidable == resets and resets
    assert all("new_password" in (item.why_not or "") for item in result.undecidable)
    kinds = {item.change for item in result.changed}
    assert kinds == {"newly_denied", "newly_allowed", "rule_changed"}


def test_replay_cli_gates_a_deploy(
    generated: GeneratedLog, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 when B changes decisions, 0 under A itself; --json carries per user and per tool."""
    log = str(generated.path)
    assert main(["audit", "replay", log, "--policy", str(POLICY_A)]) == 0
    assert "newly denied: 0, newly allowed: 0, rule changed: 0" in capsys.readouterr().out
    assert main(["audit", "replay", log, "--policy", str(POLICY_B), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    counts = data["counts"]
    assert counts["calls"] == 10_000
    assert len(data["changes"]) == sum(
        counts[k] for k in ("newly_denied", "newly_allowed", "rule_changed")
    )
    per_user = sum(sum(v.values()) for v in data["by_user"].values())
    per_tool = sum(sum(v.values()) for v in data["by_tool"].values())
    assert per_user == per_tool == len(data["changes"])
    assert data["digest"] == Policy.from_file(POLICY_B).digest


def test_rule_changes_fail_only_under_strict(
    generated: GeneratedLog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Renaming a rule changes no effect: exit 0, but 1 with --strict."""
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(POLICY_A.read_text().replace("own-orders-only", "customers-own-orders"))
    log = str(generated.path)
    assert main(["audit", "replay", log, "--policy", str(renamed)]) == 0
    out = capsys.readouterr().out
    assert "newly denied: 0, newly allowed: 0, rule changed: " in out
    assert "rule changed: 0" not in out
    assert main(["audit", "replay", log, "--policy", str(renamed), "--strict"]) == 1


def test_redacted_attributes_and_old_records_are_undecidable(tmp_path: Path) -> None:
    """A principal attribute the candidate reads but the log redacted, or a record without the
    principal's claims, is reported undecidable rather than guessed."""
    log = tmp_path / "audit.jsonl"
    policy = Policy.from_dict({"rules": [{"id": "all", "allow": ["ping"]}]})
    candidate = Policy.from_dict(
        {"rules": [{"id": "keyed", "allow": ["ping"], "when": {"attributes": {"api_key": "k1"}}}]}
    )
    with ChainLog(log, fsync="never") as sink:
        guard = Guard(policy, audit=[sink])

        @guard.tool
        def ping() -> str:
            return "pong"

        with guard.acting_as(Principal(subject="ann", attributes={"api_key": "k1"})):
            ping()
    events = list(read_events([str(log)]))
    result = replay(events, candidate)
    assert [item.why_not for item in result.undecidable] == [
        "principal attribute(s) api_key were redacted"
    ]
    stripped = [{k: v for k, v in e.items() if k != "roles"} for e in events]
    old = replay(stripped, policy)
    assert old.counts()["undecidable"] == 1


def test_cut_arguments_are_undecidable_and_early_refusals_not_policy(tmp_path: Path) -> None:
    """Arguments the redactor shortened (a long string, a long list) are undecidable when the
    candidate reads them and decided when it does not; refusals before the policy (arguments
    that do not bind, a missing tool scope) are not policy decisions."""
    log = tmp_path / "audit.jsonl"
    policy = Policy.from_dict({"rules": [{"id": "all", "allow": ["*"]}]})
    with ChainLog(log, fsync="never") as sink:
        guard = Guard(policy, audit=[sink])

        @guard.tool
        def note(text: str, tags: list[str]) -> int:
            return len(text) + len(tags)

        @guard.tool(scopes=["admin"])
        def wipe() -> None:
            return None

        with guard.acting_as(Principal(subject="ann")):
            note("x" * 300, ["a"])  # text cut by the redactor
            note("short", [str(i) for i in range(60)])  # tags cut to 50 items
            note("short", ["a"])
            with pytest.raises(ArgumentError):
                note("short")  # type: ignore[call-arg]
            with pytest.raises(PermissionDenied):
                wipe()
    reads_text = Policy.from_dict(
        {"rules": [{"id": "t", "allow": ["note"], "args": {"text": {"max_length": 1000}}}]}
    )
    reads_tags = Policy.from_dict(
        {"rules": [{"id": "g", "allow": ["note"], "args": {"tags": {"max_length": 1000}}}]}
    )
    events = list(read_events([str(log)]))
    by_text = replay(events, reads_text)
    by_tags = replay(events, reads_tags)
    assert [i.why_not for i in by_text.undecidable] == ["argument(s) text were redacted in the log"]
    assert [i.why_not for i in by_tags.undecidable] == ["argument(s) tags were redacted in the log"]
    for result in (by_text, by_tags):
        assert result.counts()["decided"] == 2
        assert sorted(i.tool for i in result.not_policy) == ["note", "wipe"]
        assert all(i.change == "rule_changed" for i in result.changed)
