"""No text stalls the redactor: hostile text (a prefix that starts a match, repeated)
is redacted in time linear in its length, and the linear forms of the patterns give what
their one-pattern forms gave.

Time is never asserted. The hostile texts run in a child process under a per-text
guard (``signal.alarm``, whose default action ends the process, 10 s): 256 KB of them takes a
quadratic pattern minutes and the linear redactor well under a second, so the generous
guard only trips on a stall. The parity tests compare outputs, deterministically."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.hostile_texts import UNITS, hostile

from guardrail.audit import Redactor
from guardrail.audit._assignments import SPAN, _Ahead
from guardrail.audit._scans import CurlPassword, CurlQuoted, Jwt, UrlCredentials
from guardrail.audit._shapes import ASSIGNED

EXAMPLES = int(os.environ.get("GUARDRAIL_EXAMPLES", "200"))
CORPUS = Path(__file__).parent / "data" / "secret_corpus.json"
GUARD_SECONDS = 10
SIZE = 256 * 1024

_CHILD = """
import json, signal, sys
from guardrail.audit import Redactor
redactor = Redactor(max_length=10**9)
for index, text in enumerate(json.load(sys.stdin)):
    signal.alarm({guard})  # no handler: the process ends if one text takes this long
    out = redactor.text(text)
    signal.alarm(0)
    print(index, len(text), len(out), flush=True)
"""


def _run_guarded(texts: list[str]) -> list[str]:
    """Redact ``texts`` in a child process; the lines it printed, one per text done."""
    child = subprocess.run(
        [sys.executable, "-c", _CHILD.format(guard=GUARD_SECONDS)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=False,
    )
    done = child.stdout.splitlines()
    assert child.returncode == 0, (
        f"redacting hostile text {len(done)} ({texts[len(done)][:40]!r}...) stalled "
        f"or failed: {child.returncode} {child.stderr[-500:]}"
    )
    return done


def test_every_hostile_text_is_redacted_without_a_stall() -> None:
    done = _run_guarded([hostile(unit, SIZE) for unit in UNITS])
    assert len(done) == len(UNITS)


def _corpus_fragments(seed: int, count: int) -> list[str]:
    """Random short pieces of the secret corpus and of its samples' surroundings."""
    samples = [str(s) for s in json.loads(CORPUS.read_text()).values() for s in _flat(s)]
    rng = random.Random(seed)
    fragments = []
    for _ in range(count):
        sample = rng.choice(samples)
        start = rng.randrange(len(sample))
        fragments.append(sample[start : start + rng.randint(1, 12)])
    return fragments


def _flat(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _flat(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _flat(item)]
    return [value]


def test_repeated_corpus_fragments_are_redacted_without_a_stall() -> None:
    fragments = _corpus_fragments(seed=15, count=24)
    rng = random.Random(16)
    texts = [hostile(f, 64 * 1024) for f in fragments]
    texts += [hostile("".join(rng.sample(fragments, 3)), 64 * 1024) for _ in range(8)]
    assert len(_run_guarded(texts)) == len(texts)


# -- the linear forms give what the one-pattern forms gave -------------------------------

_JWT = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*")
_URL = re.compile(
    r"(?i)\b([a-z][a-z0-9+.-]{1,30}://[^\s/:@?#\[\]]*:)[^\s@\"'<>]*(?:@[^\s@\"'<>]*)*?"
    r"(?=@[^\s@\"'<>]*(?![^\s\"'<>]))"
)
_CURL_QUOTED = re.compile(
    r"(?is)(\bcurl\b.{0,300}?\s(?:-u|--user)(?:=|\s+))(?:'[^'\n]*'|\"[^\"\n]*\")"
)
_CURL_PLAIN = re.compile(r"(?is)(\bcurl\b.{0,300}?\s(?:-u|--user)(?:=|\s+)[^\s\"':]*:)[^\s\"']+")
_ASSIGNMENT = re.compile(  # as before, but for the type annotation's bound
    r"(?<![\w$@.])(?<![\w$@.]-)([$@]?[^\W\d][\w.$-]{0,79})"
    r"(?=((?:[\"'`]?(?:[ \t]*:?[ \t]*[A-Za-z_][\w.<>\[\]]{0,63}+)?[ \t]*"
    r"(?::{1,3}=|\?=|\.=|\+=|=>|==?|:|>)|[\"'`][ \t]*,)[ \t\r\n\"'`=]{0,12}?)"
    r"((?i:(?:bearer|basic|digest|token|negotiate|ntlm|apikey)[ \t]+)?"
    r"(?:\"+[^\"\n]*\"+|'+[^'\n]*'+|`[^`]*`|[^\s,;&\"'`<)}\]]+)))"
)


def _one_pattern(pattern: re.Pattern[str], keep: bool) -> Callable[[str], str]:
    return lambda text: pattern.sub(lambda m: (m.group(1) if keep else "") + "[R]", text)


def _assigned_before(text: str) -> str:
    from guardrail.audit._secrets import secret_name

    out: list[str] = []
    done = 0
    for match in _ASSIGNMENT.finditer(text):
        if match.start() < done or not secret_name(match.group(1)):
            continue
        out += (text[done : match.start()], f"{match.group(1)}{match.group(2)}[R]")
        done = match.end(3)
    return "".join(out) + text[done:] if out else text


_PIECES = (
    "a", "password", "token", "api_key", "secret", "x", "Q1", "=", ":", " ", "\t", "\n", ",",
    ";", '"', "'", "`", "@", "-", "<", ">", "[", "]", "$", ".", "eyJ", "eyJhbGciOi", "curl",
    " -u ", "--user=", "u:p", "x://", "postgres://", "bearer ", "q" * SPAN, "w" * (SPAN - 1),
    "z" * (SPAN + 1), "k" * 90,
)  # fmt: skip
_TEXTS = st.lists(st.sampled_from(_PIECES), max_size=24).map("".join)


@settings(max_examples=EXAMPLES, deadline=None)
@given(_TEXTS)
def test_linear_forms_give_what_the_one_pattern_forms_gave(text: str) -> None:
    assert Jwt().sub("[R]", text) == _one_pattern(_JWT, keep=False)(text)
    assert UrlCredentials().sub("[R]", text) == _one_pattern(_URL, keep=True)(text)
    assert CurlQuoted().sub("[R]", text) == _one_pattern(_CURL_QUOTED, keep=True)(text)
    assert CurlPassword().sub("[R]", text) == _one_pattern(_CURL_PLAIN, keep=True)(text)
    mine = ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}[R]", text)
    assert mine == _assigned_before(text)


def test_values_longer_than_the_span_are_read_to_their_end() -> None:
    long = "v" * (SPAN * 3)
    redactor = Redactor(max_length=10**6)
    for text in (
        f"password={long} rest",
        f'password="{long} with spaces" rest',
        f"password='{long} x' rest",
        f"password=`{long}\nx` rest",
        f'password=""{long}""" rest',
    ):
        assert redactor.text(text).endswith("[REDACTED] rest"), text


def test_an_open_quote_falls_back_as_the_unbounded_pattern_did() -> None:
    long = "v" * (SPAN * 3)
    redactor = Redactor(max_length=10**6)
    # never closed: the separator takes the quote and the bare value after it goes
    assert redactor.text(f'password="{long} tail') == 'password="[REDACTED] tail'
    assert redactor.text(f"password='{long} tail\n'") == "password='[REDACTED] tail\n'"
    assert redactor.text(f"password=`{long} tail") == "password=`[REDACTED] tail"
    # two quotes open at the bound: the run of them is the value
    assert redactor.text(f'password=""{long} tail') == f"password=[REDACTED]{long} tail"


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(alphabet="ab\n", max_size=40), st.lists(st.integers(0, 41), max_size=12))
def test_ahead_finds_what_str_find_finds(text: str, positions: list[int]) -> None:
    ahead = _Ahead(text)
    for pos in positions:
        for char in "ab\n":
            assert ahead.find(char, pos) == text.find(char, pos)


def test_a_text_over_the_read_limit_is_not_recorded_and_says_so() -> None:
    redactor = Redactor(max_read=64)
    secret = "password=" + "hunter2" * 8  # 65 characters
    assert redactor.text(secret) == "[65 chars not recorded: over the 64 redaction reads]"
    assert redactor.text(secret[:64]) == "password=[REDACTED]"
    assert Redactor().max_read == 1 << 20
    assert redactor.value({"note": secret}) == {"note": redactor.text(secret)}


class _CountingText(str):
    """A text that counts the searches made in it."""

    searches = 0

    def find(self, *args: Any) -> int:  # type: ignore[override]
        type(self).searches += 1
        return super().find(*args)


def test_ahead_never_searches_a_stretch_twice() -> None:
    _CountingText.searches = 0
    text = _CountingText("a" * 200 + '"' + "a" * 200 + '"')
    ahead = _Ahead(text)
    assert [ahead.find('"', pos) for pos in range(0, 201)] == [200] * 201
    assert _CountingText.searches == 1  # from 0; every later position reuses it
    assert [ahead.find('"', pos) for pos in range(201, 402)] == [401] * 201
    assert _CountingText.searches == 2  # past the first: one search on from there
    assert [ahead.find("`", pos) for pos in range(0, 402, 7)] == [-1] * 58
    assert _CountingText.searches == 3  # none from 0: none from anywhere later


def test_ahead_looks_back_only_into_the_gap() -> None:
    ahead = _Ahead("xxxxxxxxxb..b")
    assert ahead.find("b", 5) == 9
    assert ahead.find("b", 2) == 9  # nothing in 2..5: what was found from 5
    assert ahead.find("x", 3) == 3
    assert ahead.find("x", 1) == 1  # found in the gap before 3
    assert ahead.find("b", 10) == 12


def test_an_argument_vector_of_no_known_program_keeps_its_arguments() -> None:
    assert Redactor().value(["ls", "-l", "XXXX", "value"]) == ["ls", "-l", "XXXX", "value"]


_JWT_TEXTS = (
    "eyJhbGciOi.eyJzdWIiOi.c2ln",  # at the very start
    "x eyJhbGciOi.eyJzdWIiOi.c2ln and eyJhbGciOi.eyJzdWIiOi.c2ln y",
    "eyJeyJeyJab.cdefg.h",  # several in one run: the first with five after it
    "eyJab.cdefgh.i eyJabcde.fghij.k",  # too short, then one
    "aeyJhbGci-Oi.eyJzdWIiOi.",  # inside a word, an empty third part
    "EYJhbGciOi.eyJzdWIiOi.c2ln eyjhbGciOi.eyJzdWIiOi.c2ln",  # case matters
    "eyJhbGciOi.eyJz.c2ln eyJhbGciOi",
    "eyJ.eyJhbGciOi.eyJzdWIiOi.c2ln",  # a failed one's run ends at once: the next is near
)


def test_jwt_finds_what_its_one_pattern_form_found() -> None:
    for text in _JWT_TEXTS:
        assert Jwt().sub("[R]", text) == _one_pattern(_JWT, keep=False)(text), text
    assert Jwt().sub("[R]", _JWT_TEXTS[1]) == "x [R] and [R] y"


def test_a_program_without_arguments_does_not_end_the_command_scan() -> None:
    redactor = Redactor()
    assert redactor.text("curl sshpass -p hunter2 ssh h") == "curl sshpass -p [REDACTED] ssh h"


def test_a_command_is_read_up_to_its_hundredth_argument() -> None:
    redactor = Redactor(max_length=10**6)
    within = "sshpass " + " ".join(f"a{i}" for i in range(97)) + " -p hunter2"
    assert redactor.text(within).endswith(" -p [REDACTED]")
    beyond = "sshpass " + " ".join(f"a{i}" for i in range(99)) + " -p hunter2"
    assert redactor.text(beyond) == beyond  # the bound on the work per program


def test_an_int_enum_is_kept_as_a_number() -> None:
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    assert Redactor().value(Level.HIGH) is Level.HIGH


_URL_TEXTS = (
    "postgres://u:p@host",
    "x postgres://u:p@ss@host/db y",
    "http://a:b c",
    "https://user:pw@h:5432/x?y#z@w more",
    "a://b:c@d x://e:f@g",
    "POSTGRES://u:p@h xhttp://u:p@h",
    "x://a:x://b:c@d",
    "ftp://u:@h",
    's://u:p@h"q@r s://u:p@h<x@y',
    "s://u:p@h s://u:p",
)
_CURL_TEXTS = (
    "curl -u user:pass http://x",
    "curl -u 'a:b' x",
    'curl --user="a:b" x',
    "CURL -U u:p x",
    "curl " + "x" * 290 + " -u a:b",
    "curl " + "x" * 310 + " -u a:b",
    "curl a -u 'x curl -u u:p",
    "curl -u a:b curl -u c:d",
    "curl\t-u a:b",
    "-u a:b curl",
    "curly -u a:b curl",
)


def test_url_and_curl_scans_find_what_their_one_pattern_forms_found() -> None:
    for text in _URL_TEXTS:
        assert UrlCredentials().sub("[R]", text) == _one_pattern(_URL, keep=True)(text), text
    for text in _CURL_TEXTS:
        assert CurlQuoted().sub("[R]", text) == _one_pattern(_CURL_QUOTED, keep=True)(text)
        assert CurlPassword().sub("[R]", text) == _one_pattern(_CURL_PLAIN, keep=True)(text)
    assert UrlCredentials().sub("[R]", _URL_TEXTS[1]) == "x postgres://u:[R]@host/db y"
    assert CurlPassword().sub("[R]", _CURL_TEXTS[7]) == "curl -u a:[R] curl -u c:[R]"
