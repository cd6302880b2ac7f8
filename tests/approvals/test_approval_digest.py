"""RFC 8785 canonical JSON and the approval digest: what it binds and what it ignores."""

from __future__ import annotations

import json
import math

import pytest

from guardrail import Guard, Policy, Principal
from guardrail.approvals import call_digest, canonical, definition_hash


def test_rfc8785_example() -> None:
    """The RFC's own example (section 3.2.3) comes out byte for byte."""
    text = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical(json.loads(text)).decode() == expected


def test_rfc8785_key_order_is_utf16() -> None:
    """Keys sort by UTF-16 code units (an astral character before U+FB33)."""
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    order = list(json.loads(canonical(dict.fromkeys(keys, 0))))
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (0.1, "0.1"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (1.2345678901234568e20, "123456789012345680000"),
        (0.000001, "0.000001"),
        (1e-7, "1e-7"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (123.456, "123.456"),
        (2**53, "9007199254740992"),
    ],
)
def test_numbers_as_ecmascript_prints_them(number: float, text: str) -> None:
    assert canonical(number).decode() == text


@pytest.mark.parametrize("bad", [math.nan, math.inf, 2**53 + 1, "\ud800", {1: "x"}, object()])
def test_what_has_no_canonical_form_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        canonical(bad)


def _guard() -> Guard:
    return Guard(Policy.from_dict({"rules": [{"id": "r", "allow": "*"}]}))


def test_digest_binds_subject_issuer_tool_definition_arguments_and_policy() -> None:
    """Changing any bound part changes the digest; key order and int-vs-float spelling do not."""
    guard = _guard()

    @guard.tool
    def refund(order: str, amount: float) -> str:
        return order

    spec = guard.tools["refund"]
    alice = Principal(subject="alice", issuer="https://idp/")
    base = call_digest(alice, spec, {"order": "A", "amount": 500.0}, "p1")
    assert call_digest(alice, spec, {"amount": 500, "order": "A"}, "p1") == base
    variants = [
        call_digest(alice, spec, {"order": "A", "amount": 500.5}, "p1"),
        call_digest(alice, spec, {"order": "B", "amount": 500.0}, "p1"),
        call_digest(alice, spec, {"order": "A", "amount": 500.0}, "p2"),
        call_digest(Principal(subject="bob", issuer="https://idp/"), spec, {"order": "A"}, "p1"),
        call_digest(Principal(subject="alice", issuer="https://other/"), spec, {}, "p1"),
    ]
    assert base not in variants and len(set(variants)) == len(variants)


def test_definition_hash_prefers_the_mcp_pin() -> None:
    """A registered ``definition`` (an MCP pin) is the definition hash; else the signature."""
    guard = _guard()

    def tool(x: int) -> int:
        return x

    local = guard.register(tool, name="a")
    pinned = guard.register(tool, name="b", definition="ab" * 32)
    assert definition_hash(pinned) == "ab" * 32
    assert len(definition_hash(local)) == 64 and definition_hash(local) != "ab" * 32
