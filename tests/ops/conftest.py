"""A generated audit log: 10,000 real guarded calls by 50 users under the README policy."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from guardrail import Policy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POLICY_A = EXAMPLES / "policy.yaml"
POLICY_B = EXAMPLES / "policy_candidate.yaml"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_examples_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


usage_log = _load("usage_log")


@dataclass(frozen=True)
class GeneratedLog:
    path: Path
    made: list[object]
    """``usage_log.Made`` per call, in the order made (and logged)."""
    policy: Policy


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> GeneratedLog:
    path = tmp_path_factory.mktemp("usage") / "audit.jsonl"
    made = usage_log.generate(path, calls=10_000, user_count=50, policy=POLICY_A)
    return GeneratedLog(path, made, Policy.from_file(POLICY_A))
