"""Fixtures for the skills tests: the repository root on the path (``examples.scheduling``),
the MCP tests' helpers (``mcp_auth``, ``mcp_support``), keys and a JWKS endpoint."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "tests", ROOT / "tests" / "mcp"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from mcp_auth import KeyPair, serve_jwks  # noqa: E402


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return KeyPair(kid="skills-rsa-1")


@pytest.fixture(scope="session")
def jwks_url(keys: KeyPair) -> Iterator[str]:
    with serve_jwks(keys) as url:
        yield url
