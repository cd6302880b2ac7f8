"""Build ``secret_corpus.json``: sample secrets for every rule of a public secret scanner.

The rules are gitleaks' default configuration (``config/gitleaks.toml``, MIT
License, Copyright (c) 2019 Zachary Rice), read as data: each rule's regex,
keywords, entropy threshold, allowlists and stopwords. No gitleaks code is used.
For each rule, hypothesis generates strings the rule's regex matches in full;
a sample is kept only when gitleaks itself would report it (the secret group
reaches the rule's entropy, is not allowlisted and holds no stopword). Rules
that need a keyword next to the secret (``adafruit_token = ...``) get their
secret embedded in the sample shapes gitleaks' own generator tests with
(``{i}Token = "{s}"``, JSON, YAML, Go, Makefile, ...).

Run again when the rules move::

    python tests/security/data/make_secret_corpus.py gitleaks.toml COMMIT > secret_corpus.json
"""

from __future__ import annotations

import json
import math
import re
import sys
import tomllib
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SAMPLES_PER_RULE = 3
ASCII = st.characters(min_codepoint=32, max_codepoint=126)
KEYWORD_OPERATOR = r"(?:=|>|:{1,3}=|\|\||:|=>|\?=|,)"
# The shapes gitleaks' sample generator (cmd/generate/config/utils) writes a
# keyword secret in: {i} the identifier, {I} upper-cased, {s} the secret.
TEMPLATES = (
    '{i}Token="{s}"',
    '{i}Token = "{s}"',
    "{i}Token={s}",
    "{i}Token = {s}",
    '{\n    "{i}_token": "{s}"\n}',
    '{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}',
    "<{i}Token>\n    {s}\n</{i}Token>",
    "{i}_token: {s}",
    "{i}_token: '{s}'",
    '{i}_token: "{s}"',
    'string {i}Token = "{s}";',
    'var {i}Token string = "{s}"',
    '{i}Token := "{s}"',
    "{i}Token := `{s}`",
    'String {i}Token = "{s}";',
    'var {i}Token = "{s}"',
    '${i}Token .= "{s}"',
    "{i}Token = '{s}'",
    '{i}Token = "{s}"',
    'System.setProperty("{I}_TOKEN", "{s}")',
    '  "{i}Token" => "{s}"',
    '{i}_TOKEN = "{s}"',
    '{i}_TOKEN := "{s}"',
    '{i}_TOKEN ::= "{s}"',
    '{i}_TOKEN :::= "{s}"',
    '{i}_TOKEN ?= "{s}"',
)


def python_regex(go: str, *, generate: bool) -> re.Pattern[str]:
    """Go RE2 syntax in Python's: POSIX classes, ``\\z``, and ``(?i)`` past the start
    (dropped when generating: a lower-case sample still matches; a flag when matching)."""
    text = go.replace("[[:alnum:]]", "[0-9A-Za-z]").replace("[:alnum:]", "0-9A-Za-z")
    text = text.replace("\\z", "\\Z")
    flags = 0
    if "(?i)" in text:
        text = text.replace("(?i)", "")
        flags = 0 if generate else re.IGNORECASE
    return re.compile(text, flags)


def entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def secret_of(rule: dict[str, Any], match: re.Match[str]) -> str:
    group = rule.get("secretGroup")
    if group:
        return match.group(group) or ""
    if match.re.groups and match.group(1) and len(match.group(1)) >= 8:
        return match.group(1)
    return match.group(0)


def reported(rule: dict[str, Any], secret: str, match: str, common: dict[str, Any]) -> bool:
    """Would gitleaks report this? (entropy, allowlists, stopwords)."""
    if len(secret) < 8 or secret.strip() != secret:
        return False
    if entropy(secret) < float(rule.get("entropy", 0)):
        return False
    allowlists = [*rule.get("allowlists", []), common]
    for allow in allowlists:
        target = match if allow.get("regexTarget") == "match" else secret
        for pattern in allow.get("regexes", []):
            try:
                if python_regex(pattern, generate=False).search(target):
                    return False
            except re.error:
                continue
        if any(word.lower() in secret.lower() for word in allow.get("stopwords", [])):
            return False
    return not any(word.lower() in secret.lower() for word in rule.get("stopwords", []))


def samples_for(rule: dict[str, Any], common: dict[str, Any]) -> list[dict[str, str]]:
    generate = python_regex(rule["regex"], generate=True)
    check = python_regex(rule["regex"], generate=False)
    found: dict[str, dict[str, str]] = {}

    @settings(
        max_examples=400,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.from_regex(generate, fullmatch=True, alphabet=ASCII))
    def collect(text: str) -> None:
        match = check.search(text)
        if match is None or len(text) > 600:
            return
        secret = secret_of(rule, match)
        if reported(rule, secret, match.group(0), common) and secret not in found:
            found[secret] = {"text": text, "secret": secret}

    collect()
    ranked = sorted(found.values(), key=lambda s: -entropy(s["secret"]))
    return ranked[:SAMPLES_PER_RULE]


def main(path: str, commit: str) -> None:
    with open(path, "rb") as handle:
        config = tomllib.load(handle)
    common = config.get("allowlist", {})
    rules = []
    for rule in config["rules"]:
        if "regex" not in rule:
            continue  # a file-name rule (pkcs12-file): nothing to redact in text
        keyword = KEYWORD_OPERATOR in rule["regex"]
        samples = samples_for(rule, common)
        print(f"{rule['id']}: {len(samples)}", file=sys.stderr)
        rules.append(
            {
                "id": rule["id"],
                "regex": rule["regex"],
                "keywords": rule.get("keywords", []),
                "kind": "keyword" if keyword else "token",
                "samples": samples,
            }
        )
    corpus = {
        "source": f"gitleaks config/gitleaks.toml at {commit} (MIT License, (c) 2019 Zachary Rice)",
        "templates": list(TEMPLATES),
        "rules": rules,
    }
    json.dump(corpus, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
