"""Policy files: YAML 1.2 numbers, empty files, and errors that say where (file, line, rule)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from guardrail import Policy, PolicyError
from guardrail.policy.loader import parse_yaml, yaml_error
from guardrail.testing import make_principal


def test_yaml_numbers_follow_yaml_1_2() -> None:
    """0o/0x are octal/hex, a leading zero is decimal; upper-case prefixes stay text."""
    assert parse_yaml("a: 0x1F\nb: 0o17\nc: 017\nd: 0xff\ne: -12\nf: 0X1F\ng: 0O17") == {
        "a": 31, "b": 15, "c": 17, "d": 255, "e": -12, "f": "0X1F", "g": "0O17",
    }  # fmt: skip


def test_a_hex_limit_in_a_rule_is_the_number_it_reads_as() -> None:
    policy = Policy.from_yaml("rules: [{id: r, allow: [t], args: {n: {max: 0x10}}}]")
    alice = make_principal("alice")
    assert policy.decide("t", alice, {"n": 16}).allowed
    assert not policy.decide("t", alice, {"n": 17}).allowed


def test_an_empty_file_is_an_empty_policy(tmp_path: Path) -> None:
    for name in ("p.yaml", "p.yml"):
        (tmp_path / name).write_text("")
        assert Policy.from_file(tmp_path / name).rules == ()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("p.yaml", "rules: [\n  {id: x\n", "line 3, column 1: YAML syntax error: "),
        ("p.json", '{"rules": [}', "line 1, column 12: JSON syntax error: Expecting value"),
        ("p.toml", "rules = [", "TOML syntax error: "),
        ("p.yaml", "- just\n- a list\n", "the policy must be a mapping with 'rules' and 'limits'"),
        ("p.ini", "", "unknown policy format '.ini' (use .yaml, .yml, .toml or .json)"),
    ],
)
def test_file_errors_name_the_file_and_where(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(PolicyError) as raised:
        Policy.from_file(path)
    assert str(raised.value).startswith(f"file {path}: {message}"), str(raised.value)
    assert raised.value.source == str(path)


def test_an_unreadable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(PolicyError) as raised:
        Policy.from_file(path)
    assert str(raised.value) == f"file {path}: cannot read policy: No such file or directory"


def test_yaml_text_errors_are_located_and_name_the_source() -> None:
    with pytest.raises(PolicyError) as raised:
        Policy.from_yaml("rules: [\n  {id: x\n", source="inline.yaml")
    assert str(raised.value).startswith("file inline.yaml: line 3, column 1: YAML syntax error")
    with pytest.raises(PolicyError) as raised:
        Policy.from_yaml("- a list", source="inline.yaml")
    assert str(raised.value) == (
        "file inline.yaml: the policy must be a mapping with 'rules' and 'limits'"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": ["just text"]}, "rule '#1': "),
        (
            {"rules": [{"id": "r", "allow": ["t"], "when": {"roles": []}}]},
            "rule 'r', field 'when.roles': an empty list matches nobody; remove the field",
        ),
        (
            {"rules": [{"id": "r", "allow": ["t"], "args": {"n": {"maxx": 1}}}]},
            "rule 'r', field 'args.n.maxx': unknown operator 'maxx' (use eq, ne, in, not_in,",
        ),
        ({"rules": [{"id": "r", "allow": ["t"], "whenn": {}}]}, "unknown field 'whenn'"),
        ({"rulez": []}, "field 'rulez': unknown field 'rulez'"),
        ({"limits": [{"per": "user", "calls": "1/minute"}]}, "limit '#1', field 'id': "),
    ],
)
def test_validation_errors_are_located_without_pydantic_prefixes(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        Policy.from_dict(data)
    assert message in str(raised.value), str(raised.value)
    assert "Value error" not in str(raised.value)


def test_a_yaml_error_without_a_position_still_reads_well() -> None:
    error = yaml.MarkedYAMLError(problem="something odd")
    assert str(yaml_error(error, "p.yaml")) == "file p.yaml: YAML syntax error: something odd"


def test_policies_with_the_same_content_hash_alike() -> None:
    """A policy is a value: equal digests are equal policies, in sets and as dict keys."""
    text = "rules: [{id: r, allow: [t]}]"
    one, two = Policy.from_yaml(text), Policy.from_yaml(text, source="elsewhere.yaml")
    other = Policy.from_yaml("rules: [{id: r, allow: [u]}]")
    assert one == two and hash(one) == hash(two) and len({one, two, other}) == 2
    assert hash(one) != hash(other)  # distinct policies do not all collide
