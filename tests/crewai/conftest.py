"""Fixtures for the CrewAI adapter tests (CrewAI is required: ``pip install -e '.[all]'``)."""

from __future__ import annotations

import os

# Before crewai is imported anywhere in this process: no telemetry, no tracing, no prompt.
for _name, _value in {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_TESTING": "true",
}.items():
    os.environ.setdefault(_name, _value)

import warnings  # noqa: E402

# crewai replaces warnings.warn on import (to drop pydantic's warnings): keep the
# standard one for the rest of the test session.
_standard_warn = warnings.warn
with warnings.catch_warnings():
    # crewai 1.6.1's own import raises ImportWarning (crewai.rag / embeddings).
    warnings.simplefilter("ignore", ImportWarning)
    import crewai  # noqa: F401
warnings.warn = _standard_warn

import pytest  # noqa: E402
from crew_support import POLICY, ran  # noqa: E402

from guardrail import Guard, Policy, Principal  # noqa: E402
from guardrail.testing import make_principal  # noqa: E402


@pytest.fixture(autouse=True)
def _reset_bodies() -> None:
    ran.clear()


@pytest.fixture
def guard() -> Guard:
    return Guard(Policy.model_validate(POLICY))


@pytest.fixture
def users() -> dict[str, Principal]:
    return {
        "alice": make_principal("alice", roles=["support"]),
        "maria": make_principal("maria", roles=["manager"]),
    }
