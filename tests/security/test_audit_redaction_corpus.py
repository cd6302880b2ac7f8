"""Every sample of a public secret scanner's rule set is redacted: in text, as a value
under a neutral name, inside lists and tuples, as a mapping key, in dataclasses and
pydantic models; and end to end in ChainLog records, span attributes and refusal reasons.

The corpus (``data/secret_corpus.json``) holds samples generated from each rule of
gitleaks' default configuration, as data (see ``data/make_secret_corpus.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import BaseModel
from support.redaction_fixtures import exporter, guard

from guardrail import ArgumentError, Guard, Principal
from guardrail.audit.redact import REDACTED, Redactor

__all__ = ["exporter", "guard"]  # fixtures, used by name

CORPUS = json.loads((Path(__file__).parent / "data" / "secret_corpus.json").read_text())
RULES: list[dict[str, Any]] = CORPUS["rules"]
TOKEN_RULES = [rule for rule in RULES if rule["kind"] == "token"]
KEYWORD_RULES = [rule for rule in RULES if rule["kind"] == "keyword"]
REDACTOR = Redactor(max_length=100_000)
CONTEXT_RULES = {
    "curl-auth-header", "curl-auth-user", "freemius-secret-key", "nuget-config-password",
    "sidekiq-sensitive-url", "kubernetes-secret-yaml",
}  # fmt: skip
"""Rules whose secret is known only by its context (``curl -u``, a PHP array key, a
NuGet ``<add key="Password">``, a URL's user part): their samples must be redacted in
that context; the bare value (``'sk_tJ,X1!HT...'``) carries nothing to know it by."""


@dataclass
class Envelope:
    note: str
    payload: Any


class Message(BaseModel):
    body: str
    attachments: list[str]


def keyword_samples(rule: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(text, secret): the rule's secrets in gitleaks' own sample shapes."""
    identifier = rule["keywords"][0] if rule["keywords"] else "generic"
    identifier = "".join(ch if ch.isalnum() else "_" for ch in identifier)
    for sample in rule["samples"]:
        for template in CORPUS["templates"]:
            text = template.replace("{i}", identifier).replace("{I}", identifier.upper())
            yield text.replace("{s}", sample["secret"]), sample["secret"]


def shapes(secret: str) -> list[Any]:
    """The places a secret may travel in a tool's arguments."""
    return [
        secret,
        f"see {secret} here",
        [f"x {secret}", 1],
        ("header", secret),
        {"data": secret},
        {secret: "value"},
        {"nested": {"deeper": [secret]}},
        {secret},
        Envelope(note="ok", payload=[secret]),
        Message(body=f"token follows: {secret}", attachments=[secret]),
    ]


def leaked(secret: str, redacted: Any) -> bool:
    return secret in json.dumps(redacted, ensure_ascii=False, default=repr)


def test_the_corpus_covers_the_rule_set() -> None:
    """Every rule with a pattern has samples, and each sample holds its secret."""
    assert len(RULES) > 200 and len(TOKEN_RULES) > 100 and len(KEYWORD_RULES) > 90
    for rule in RULES:
        assert rule["samples"], rule["id"]
        for sample in rule["samples"]:
            assert sample["secret"] in sample["text"] and len(sample["secret"]) >= 8


@pytest.mark.parametrize("rule", TOKEN_RULES, ids=[rule["id"] for rule in TOKEN_RULES])
def test_token_rule_samples_are_redacted_in_every_shape(rule: dict[str, Any]) -> None:
    """A service's token goes wherever it is: text, values, keys, containers, models."""
    for sample in rule["samples"]:
        secret = sample["secret"]
        assert secret not in REDACTOR.text(sample["text"]), sample["text"]
        if rule["id"] in CONTEXT_RULES:
            continue
        for shape in shapes(secret):
            out = REDACTOR.value(shape)
            assert not leaked(secret, out), (shape, out)
        assert not leaked(secret, REDACTOR.arguments({secret: 1, "v": secret}))


@pytest.mark.parametrize("rule", KEYWORD_RULES, ids=[rule["id"] for rule in KEYWORD_RULES])
def test_keyword_rule_samples_are_redacted_in_every_syntax(rule: dict[str, Any]) -> None:
    """``vendor_token = ...`` in INI, JSON, YAML, XML, Go, Java, PHP, Make...: the value goes."""
    for text, secret in keyword_samples(rule):
        out = REDACTOR.text(text)
        assert secret not in out, (text, out)
        assert REDACTED in out
    identifier = rule["keywords"][0] if rule["keywords"] else "generic"
    for sample in rule["samples"]:
        for key in (f"{identifier}_api_key", f"{identifier.upper()}_TOKEN", f"{identifier}Secret"):
            assert REDACTOR.arguments({key: sample["secret"]}) == {key: REDACTED}


def test_no_corpus_secret_reaches_a_record_or_a_span(
    guard: tuple[Guard, Path], exporter: InMemorySpanExporter
) -> None:
    """End to end: arguments, results and refusal reasons of real calls, in the ChainLog
    file and in every span attribute and status."""
    the_guard, path = guard
    secrets = [
        s["secret"] for rule in TOKEN_RULES if rule["id"] not in CONTEXT_RULES
        for s in rule["samples"]
    ]  # fmt: skip
    keyword = [(s["secret"], [t for t, x in keyword_samples(rule) if x == s["secret"]])
               for rule in KEYWORD_RULES for s in rule["samples"]]  # fmt: skip

    @the_guard.tool
    def send(payload: Any, note: str) -> Any:
        return payload

    alice = Principal(subject="alice")
    with the_guard.acting_as(alice):
        for secret in secrets:
            send(payload=shapes(secret)[2:8], note=f"see {secret} here")
            with pytest.raises(ArgumentError):
                send(payload=1, note="x", **{secret: 1})  # the name is in the reason
        for _, texts in keyword:
            send(payload=texts, note=texts[0])
    written = path.read_text()
    spans = exporter.get_finished_spans()
    seen = [written] + [
        json.dumps(dict(span.attributes or {}), default=str) + str(span.status.description)
        for span in spans
    ]
    assert len(spans) >= 2 * len(secrets) + len(keyword)
    blob = "\n".join(seen)
    missed = [secret for secret in secrets + [k for k, _ in keyword] if secret in blob]
    assert not missed
