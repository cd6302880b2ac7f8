"""A policy (or suite) file holding a character YAML does not allow (a control
character, an ANSI escape) is a located ``PolicyError`` like any other syntax
error: a hot reload reports it (log + audit notice) and keeps the old policy;
it never escapes as PyYAML's own exception."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from guardrail import ConfigurationError, Guard, Policy, PolicyError
from guardrail.policy.loader import yaml_error
from guardrail.policy.suite import load_suite
from guardrail.testing import MemorySink, make_principal

BELL = "unacceptable character #x0007: special characters are not allowed"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("rules:\n  - {id: a, allow: [t\x07]}\n", "line 2"),
        ("\x07rules: []\n", "line 1"),
        ("rules: []\n\n\n# \x1b[31m red\n", "line 4"),
        ("\n\n\x07rules: []\n", "line 3"),  # counted from the very first line
    ],
)
def test_a_forbidden_character_is_a_located_policy_error(
    tmp_path: Path, text: str, where: str
) -> None:
    char = "#x0007" if "\x07" in text else "#x001b"
    expected = f"file p.yaml: {where}: YAML syntax error: unacceptable character {char}: "
    with pytest.raises(PolicyError) as from_text:
        Policy.from_yaml(text, source="p.yaml")
    assert str(from_text.value) == expected + "special characters are not allowed"
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as from_file:
        Policy.from_file(path)
    problem = str(from_text.value).split(": ", 2)[2]
    assert str(from_file.value) == f"file {path}: {where}: {problem}"


def test_a_yaml_error_with_neither_mark_nor_position_reads_as_one_line() -> None:
    error = yaml_error(yaml.YAMLError("odd\n  in <stream>"), "p.yaml")
    assert str(error) == "file p.yaml: YAML syntax error: odd"


def test_a_hot_reload_of_such_a_file_is_reported_and_keeps_the_old_policy(
    tmp_path: Path,
) -> None:
    sink = MemorySink()
    old = Policy.from_yaml("rules: [{id: a, allow: [work]}]")
    guard = Guard(old, audit=[sink])

    @guard.tool()
    def work(n: int) -> int:
        return n

    path = tmp_path / "next.yaml"
    path.write_text("rules: [{id: b, deny: [work\x07]}]\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=f"line 1: YAML syntax error: {BELL}"):
        guard.reload(path)
    assert guard.policy is old
    (notice,) = sink.events
    assert (notice.phase, notice.decision) == ("notice", "error")
    with guard.acting_as(make_principal("p")):
        assert work(3) == 3


def test_a_suite_with_a_forbidden_character_says_which_file(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text("cases:\n  - {tool: t\x07, expect: deny}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as error:
        load_suite(path)
    assert str(error.value).startswith(f"{path}: not valid YAML: {BELL}")


def test_a_duplicate_key_is_located_at_its_second_occurrence() -> None:
    text = "rules:\n- id: r\n  deny: [t]\n  args: {x: {max: 1, max: 2}}\n"
    with pytest.raises(PolicyError) as error:
        Policy.from_yaml(text, source="p.yaml")
    assert (
        str(error.value) == "file p.yaml: line 4, column 22: YAML syntax error: duplicate key 'max'"
    )


MERGED = "rules:\n- &base {id: a, allow: [t]}\n- <<: *base\n  id: b\n"


def test_a_merge_key_may_be_overridden_but_later_keys_stay_unique() -> None:
    """`<<: *base` then `id: b` is how merges are meant; a key given twice after it is not."""
    assert [r.id for r in Policy.from_yaml(MERGED).rules] == ["a", "b"]
    twice = MERGED + "  when: {roles: [x]}\n  when: {roles: [y]}\n"
    with pytest.raises(
        PolicyError, match="line 6, column 3: YAML syntax error: duplicate key 'when'"
    ):
        Policy.from_yaml(twice)
