"""Fixtures for the LangChain adapter tests."""

from __future__ import annotations

import pytest

pytest.importorskip("langchain_core")

from lc_support import POLICY, ran

from guardrail import Guard, Policy, Principal
from guardrail.testing import make_principal


@pytest.fixture(autouse=True)
def _reset_bodies() -> None:
    ran.clear()


@pytest.fixture
def guard() -> Guard:
    return Guard(Policy.model_validate(POLICY))


@pytest.fixture
def support() -> Principal:
    """May refund up to 100 EUR/USD and look orders up."""
    return make_principal("alice", roles=["support"])


@pytest.fixture
def manager() -> Principal:
    """May call anything."""
    return make_principal("maria", roles=["manager"])


@pytest.fixture
def stranger() -> Principal:
    """May call nothing."""
    return make_principal("sam")
