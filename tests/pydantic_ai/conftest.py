"""Fixtures for the pydantic-ai adapter tests."""

from __future__ import annotations

import pytest
from pa_support import POLICY, ran

from guardrail import Guard, Policy, Principal
from guardrail.testing import make_principal


@pytest.fixture(autouse=True)
def _reset_bodies() -> None:
    ran.clear()


@pytest.fixture
def guard() -> Guard:
    return Guard(Policy.model_validate(POLICY))


@pytest.fixture
def alice() -> Principal:
    """Support: refunds up to 100 and order lookups."""
    return make_principal("alice", roles=["support"])


@pytest.fixture
def maria() -> Principal:
    """Manager: anything."""
    return make_principal("maria", roles=["manager"])
