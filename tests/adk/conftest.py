"""Fixtures for the Google ADK adapter tests (ADK is required: ``pip install -e '.[all]'``)."""

from __future__ import annotations

import pytest
from adk_support import POLICY, ran

from guardrail import Guard, Policy, Principal
from guardrail.testing import make_principal


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
