"""What a secret looks like: names, token shapes and a randomness test, as data.

Used by :class:`guardrail.audit.redact.Redactor`. The token shapes follow the
families public secret scanners know (gitleaks' rules, detect-secrets' plugins);
``tests/security/data/secret_corpus.json`` holds samples of each of their rules,
and every one must be redacted.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import unicodedata
from collections import Counter

# -- names ------------------------------------------------------------------------

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
"""Words of a name: ``X-Api-Key`` -> x, api, key; ``dbPassword`` -> db, password."""
_SECRET_IN_NAME = re.compile(
    r"passw|passphrase|passcode|pwd|secret|token|apikey|accesskey|privatekey|credential|"
    r"cookie|authoriz|bearer|jwt|session|signingkey|cardnumber|creditcard|cvv|connectionstring"
)
"""Anywhere in the name with separators removed (``DB_PASSWORD``, ``xApiKey``)."""
_SECRET_WORDS = frozenset(
    {"pass", "pw", "pin", "otp", "totp", "hotp", "mfa", "cvc", "ssn", "pan", "auth", "oauth",
     "creds", "cred", "sig", "signature", "salt", "dsn", "seed", "mnemonic", "nonce"}
)  # fmt: skip
"""Whole words of a name only: ``pass`` but not ``passenger``, ``pan`` but not ``company``."""
_PLAIN_KEYS = frozenset(
    {"", "primary", "foreign", "sort", "partition", "cache", "idempotency", "public", "pub",
     "object", "bucket", "row", "hash", "range", "lookup", "dict", "map", "group", "order",
     "routing", "dedup", "dedupe", "unique", "composite", "natural", "sequence", "index",
     "hot", "short", "press", "media", "file", "ssh", "host", "s3", "redis", "kv", "record"}
)  # fmt: skip
"""Words before ``key`` that make it an ordinary key (``sort_key``); any other word
(``stripe_key``, ``signing_key``) makes it a secret."""
_COUNTS = re.compile(
    r"(?:max|min|num|total|input|output|prompt|completion|cached|reasoning|remaining|used)"
    r"tokens?|tokens?(?:count|used|limit|usage|type|budget|remaining)|tokenizer|"
    r"sessions?(?:count|length|timeout|ttl)|passengers?"
)
"""Names that carry a secret word but count things (``max_tokens``): not secrets."""


NAME_LITERALS = (
    "pass", "pw", "secret", "token", "key", "cred", "cookie", "auth", "bearer", "jwt",
    "session", "card", "cvv", "cvc", "connection", "pin", "otp", "mfa", "ssn", "pan", "sig",
    "salt", "dsn", "seed", "mnemonic", "nonce",
)  # fmt: skip
"""Every secret name holds one of these once case-folded (so text without any of them
holds no ``name = secret`` assignment)."""


@functools.lru_cache(maxsize=4096)  # argument and field names repeat from call to call
def secret_name(name: str) -> bool:
    """Whether a key, field or assignment called ``name`` holds a secret."""
    if not name.isascii():
        name = unicodedata.normalize("NFKC", name)  # a fullwidth or Kelvin-sign name
    folded = name.casefold()
    if not any(literal in folded for literal in NAME_LITERALS):
        return False
    words = [word.casefold() for word in _WORDS.findall(name)]
    joined = "".join(words)
    if _COUNTS.fullmatch(joined):
        return False
    if _SECRET_IN_NAME.search(joined) or not _SECRET_WORDS.isdisjoint(words):
        return True
    return any(word == "key" and i and words[i - 1] not in _PLAIN_KEYS for i, word in
               enumerate(words))  # fmt: skip


def any_of(words: set[str] | frozenset[str] | tuple[str, ...]) -> str:
    """A regex matching any of ``words``, as a trie: one branch per first character, so
    a search tries a handful of branches at each position instead of every word. A word
    that another starts with makes the longer one redundant (this finds, not parses)."""
    if "" in words:
        return ""
    heads = sorted({word[0] for word in words})
    branches = [re.escape(h) + any_of({w[1:] for w in words if w[0] == h}) for h in heads]
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


# -- token shapes -------------------------------------------------------------------

TOKEN_SHAPES = (
    r"sk-[\w-]{20,}",  # OpenAI and Anthropic (sk-proj-, sk-ant-api03-, ...)
    r"(?:sk|rk|pk)_(?:test|live|prod)_\w{10,}|whsec_\w{20,}",  # Stripe
    r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}|ABSK[\w+/]{40,}|bedrock-api-key-",  # AWS
    r"AIza[\w-]{30,}|ya29\.[\w-]{20,}|GOCSPX-[\w-]{20,}",  # Google
    r"gh[pousr]_\w{30,}|github_pat_\w{22,}",  # GitHub
    r"gl(?:pat|dt|ptt|rt|cbt|ffct|ft|imt|agent|oas|soat|sa|c)[-_][\w-]{16,}|GR1348941[\w-]{20}",
    r"xox[a-z]-[\w-]{8,}|xapp-\d-[\w-]{8,}|xoxe\.xox[bp]-",  # Slack
    r"A3-[A-Z0-9]{6}-|ops_eyJ|AGE-SECRET-KEY-1|p8e-\w{32}|pat\w{14}\.[a-f0-9]{64}|LTAI\w{20}",
    r"AKCp\w{40,}|cmVmd\w{40,}|(?:sc|ext|scauth|authress)_\w{5,30}\.\w{4,6}\.acc[_-]",
    r"\w{3}\dQ~[\w~.-]{31,34}|4b1d\w{38}|CLOJARS_\w{40,}|v1\.0-[a-f0-9]{24}-[a-f0-9]{100,}",
    r"dapi[a-f0-9]{32}|do[opr]_v1_[a-f0-9]{40,}|dp\.(?:pt|ct|st|sa|scim|audit)\.\w{30,}",
    r"duffel_(?:test|live)_|dt0c01\.|EZ[AT]K\w{50,}|EAA[ACM][\w-]{20,}|FLW(?:SECK|PUBK)_TEST",
    r"fo1_[\w-]{40,}|fm[12][ar]?_[\w+/]{60,}|fio-u-[\w=-]{40,}|eyJrIjoi\w{40,}|glsa_\w{32}",
    r"(?:pat|sat)\.[\w-]{22}\.\w{24}\.|\w{14}\.atlasv1\.|HRKU-\w{20,}|hf_[A-Za-z]{30,}",
    r"api_org_[A-Za-z]{30,}|ico-\w{32}|s-s4t2(?:ud|af)-|ZXlK[\w+/]{20,}|lin_api_\w{30,}",
    r"\w{6}_\w{29}_mmk|ntn_\d{11}\w{20,}|npm_\w{36}|API-[A-Z0-9]{26}|sha256~[\w-]{40,}",
    r"pplx-\w{40,}|pscale_(?:tkn|oauth|pw)_|PMAK-[a-f0-9]{24}-|pnu_\w{36}|pul-[a-f0-9]{40}",
    r"pypi-AgEIcHlwaS5vcmc|rdme_\w{60,}|rubygems_[a-f0-9]{48}|tk-us-[\w-]{40,}",
    r"SG\.[\w=.-]{60,}|xkeysib-[a-f0-9]{64}|sntry[su]_|sm_(?:aat|pat|sat)_\w{16}",
    r"shippo_(?:live|test)_|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}|sgp_(?:[a-fA-F0-9]{16}|local)_",
    r"sgp_[a-fA-F0-9]{40}|SK[0-9a-fA-F]{32}|hv[sb]\.[\w-]{80,}|s\.[A-Za-z0-9]{24}$",
    r"sq0(?:atp|csp)-[\w-]{20,}|EAAA[\w-]{20,}|key-[a-f0-9]{32}|AccountKey=|SharedAccessKey=",
    r"dckr_pat_[\w-]{20,}|figd_[\w-]{30,}|nfp_\w{30,}|oy2\w{40,}|r8_\w{30,}|tfp_\w{30,}",
    r"CFPAT-[\w-]{40,}|ATATT3[\w=-]{100,}|ATCTT3|AGPA[A-Z0-9]{16}|xai-\w{40,}|gsk_\w{40,}",
)
"""Tokens a service gives out, by the prefix or shape the service gives them."""
TOKEN = re.compile("|".join(f"(?:{shape})" for shape in TOKEN_SHAPES))
RUN = re.compile(r"[\w+/~.=-]{16,}")
"""A run of token characters long enough to be a secret: the unit tokens are checked in."""
_HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
"""Digests, UUIDs, trace and resource ids: a hex string alone is not taken for a secret."""
_ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
_OBJECT_ID = re.compile(r"[a-z]{2,8}_[A-Za-z0-9]{8,40}")
"""Typed object ids (``ch_3Mml...``, ``cus_Nff...``): random, but names of things, not
keys to them. Token shapes (``ghp_``, ``npm_``, ...) are checked before this."""
_PARTS = re.compile(r"[._:-]")
_AWS_SECRET = re.compile(r"(?=[^a-z]*[a-z])(?=[^A-Z]*[A-Z])(?=.*[0-9+/])[A-Za-z0-9+/]{40}")
"""The shape of an AWS secret access key: 40 base64 characters, both cases, a digit or
``+``/``/``; it travels without a prefix, often under a neutral name."""


def random_looking(run: str) -> bool:
    """A run of token characters that reads like key material, not like words or ids.

    What secret scanners look at: the longest part between separators is long,
    its character classes (upper, lower, digit) change often along it, as they do
    in random text and not in words, and its entropy is high. Hex strings (digests,
    UUIDs), ULIDs and typed object ids are names of things and stay.
    """
    core = run.rstrip("=")
    if len(core) < 16 or _OBJECT_ID.fullmatch(core):
        return False
    part = max(_PARTS.split(core), key=len)
    size = len(part)
    if size < 16 or _HEX.fullmatch(part) or _ULID.fullmatch(part):
        return False
    if size == 40 and _AWS_SECRET.fullmatch(part):
        return True
    switches = _switches(part)
    mixed = sum(c.isdigit() for c in part) >= 2 or switches >= 0.5 * size
    return mixed and switches >= 0.4 * size and entropy(part) >= 3.5


def _switches(text: str) -> int:
    """How often the character class (upper, lower, digit, other) changes along ``text``."""
    kinds = ["u" if c.isupper() else "l" if c.islower() else "d" if c.isdigit() else "o"
             for c in text]  # fmt: skip
    return sum(a != b for a, b in itertools.pairwise(kinds))


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())
