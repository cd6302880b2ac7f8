"""Loading policy files: three formats, and malformed files located precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from guardrail import Policy, PolicyError

YAML = """
rules:
  - id: support-refunds
    allow: ["refund", "lookup_*"]
    when: {roles: [support]}
    args:
      amount: {max: 100}
limits:
  - {id: user-rate, per: user, calls: 60/minute}
"""
TOML = """
[[rules]]
id = "support-refunds"
allow = ["refund", "lookup_*"]
when = { roles = ["support"] }
args = { amount = { max = 100 } }

[[limits]]
id = "user-rate"
per = "user"
calls = "60/minute"
"""
JSON = """{"rules": [{"id": "support-refunds", "allow": ["refund", "lookup_*"],
  "when": {"roles": ["support"]}, "args": {"amount": {"max": 100}}}],
  "limits": [{"id": "user-rate", "per": "user", "calls": "60/minute"}]}"""


@pytest.mark.parametrize(("suffix", "text"), [(".yaml", YAML), (".toml", TOML), (".json", JSON)])
def test_three_formats_load_the_same_policy(tmp_path: Path, suffix: str, text: str) -> None:
    """YAML, TOML and JSON files describing one policy give equal policies."""
    path = tmp_path / f"policy{suffix}"
    path.write_text(text)
    loaded = Policy.from_file(path)
    assert loaded.digest == Policy.from_file(_write(tmp_path, ".yml", YAML)).digest
    assert loaded.limits[0].calls == 60 and loaded.limits[0].window == 60


def _write(tmp_path: Path, suffix: str, text: str) -> Path:
    path = tmp_path / f"other{suffix}"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules:\n  - id: r\n    allow: a: b\n", ["line 3", "YAML syntax error"]),
        (
            "rules:\n  - id: r\n    allow: [a]\n    colour: red\n",
            ["rule 'r'", "field 'colour'", "unknown field"],
        ),
        (
            "rules:\n  - id: r\n    allow: [a]\n    args: {n: {max: ten}}\n",
            ["rule 'r'", "args.n.max", "number"],
        ),
        (
            "rules:\n  - id: r\n    allow: [a]\n    args: {n: {between: 3}}\n",
            ["rule 'r'", "unknown operator 'between'"],
        ),
        (
            "rules:\n  - id: r\n    allow: [a]\n    args: {n: {regex: '('}}\n",
            ["rule 'r'", "regular expression"],
        ),
        ("rules:\n  - id: r\n", ["rule 'r'", "exactly one of 'allow' or 'deny'"]),
        ("rules:\n  - allow: [a]\n", ["rule '#1'", "field 'id'"]),
        ("rules:\n  - {id: r, allow: a}\n  - {id: r, allow: b}\n", ["duplicate rule id 'r'"]),
        ("limits:\n  - {id: l, calls: lots}\n", ["limit 'l'", "calls"]),
        ("- just\n- a list\n", ["must be a mapping"]),
    ],
)
def test_malformed_files_name_file_rule_and_field(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    """Each kind of mistake raises PolicyError saying where it is."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        Policy.from_file(path)
    message = str(caught.value)
    assert str(path) in message
    for part in expected:
        assert part in message


def test_json_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    """A JSON syntax error reports line and column."""
    path = tmp_path / "bad.json"
    path.write_text('{"rules": [\n  {"id": "r",, }]}')
    with pytest.raises(PolicyError, match=r"line 2, column \d+"):
        Policy.from_file(path)


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    """Unsupported formats and unreadable files are PolicyErrors too."""
    with pytest.raises(PolicyError, match="unknown policy format"):
        Policy.from_file(_write(tmp_path, ".ini", "x"))
    with pytest.raises(PolicyError, match="cannot read"):
        Policy.from_file(tmp_path / "nope.yaml")


def test_policy_buildable_in_python() -> None:
    """Rules and constraints are plain pydantic models."""
    from guardrail.policy import Constraint, Rule

    p = Policy(rules=(Rule(id="r", allow=("t",), args={"n": Constraint(max=3)}),))
    assert p.decide("t", None, {"n": 1}).allowed is False  # no principal, no anonymous rule
