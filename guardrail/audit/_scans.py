"""Secret shapes that one pattern would find by reading the same text again and again:
a JWT, a URL's credentials, ``curl -u``. Each is found here with scans that read each
stretch of text a bounded number of times, so hostile text (``eyJeyJeyJ...``,
``x://a:x://a:...``, ``curl curl curl ...``) costs time linear in its length. Each
gives what its one-pattern form gave (kept in the docstrings), through ``sub(replacement,
text)``.
"""

from __future__ import annotations

import bisect
import re

_JWT = re.compile(r"eyJ[\w-]{5,}+\.[\w-]{5,}+\.[\w-]*+")
_JWT_RUN = re.compile(r"[\w-]*+")


class Jwt:
    """``eyJ[\\w-]{5,}\\.[\\w-]{5,}\\.[\\w-]*``. Every ``eyJ`` in one run of word characters
    shares what follows the run, and a later one has fewer characters before the dot:
    when one fails, the rest of its run is skipped."""

    def sub(self, replacement: str, text: str) -> str:
        out: list[str] = []
        done = 0
        pos = text.find("eyJ")
        while pos >= 0:
            token = _JWT.match(text, pos)
            if token is None:
                pos = text.find("eyJ", _JWT_RUN.match(text, pos + 3).end())  # type: ignore[union-attr]
                continue
            out += (text[done:pos], replacement)
            done = token.end()
            pos = text.find("eyJ", done)
        return "".join(out) + text[done:] if out else text


_SCHEME = re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,30}://[^\s/:@?#\[\]]*:")
_URL_END = re.compile(r"[\s\"'<>]")


class UrlCredentials:
    """A URL's password: ``scheme://user:`` stays, the password up to the *last* ``@``
    of the URL goes, as URL parsers read it (``postgres://u:p@ss@host``); it may hold
    ``/ ? #`` (unencoded, as people write them). The one-pattern form was
    ``(?i)\\b([a-z][a-z0-9+.-]{1,30}://[^\\s/:@?#\\[\\]]*:)[^\\s@\\"'<>]*(?:@[^\\s@\\"'<>]*)*?``
    ``(?=@[^\\s@\\"'<>]*(?![^\\s\\"'<>]))``: the URL (up to a blank, quote or angle bracket)
    and its last ``@`` are found once per URL, not once per ``scheme://`` in it."""

    def sub(self, replacement: str, text: str) -> str:
        if "://" not in text:
            return text
        out: list[str] = []
        done = pos = 0
        url_end = last_at = -1
        while (scheme := _SCHEME.search(text, pos)) is not None:
            colon = scheme.end()
            if colon >= url_end:  # past the URL seen last: find this one's end and last `@`
                end = _URL_END.search(text, colon)
                url_end = end.start() if end is not None else len(text)
                last_at = text.rfind("@", colon, url_end)
            if last_at < colon:
                pos = scheme.start() + 1
                continue
            out += (text[done:colon], replacement)
            done = pos = last_at
        return "".join(out) + text[done:] if out else text


_CURL = re.compile(r"(?i)\bcurl\b")
_CURL_REACH = 300
"""How far after ``curl`` its ``-u`` may stand."""


class Curl:
    r"""``curl ... -u VALUE``: the value goes, what comes before it (from ``curl``, and
    what ``flags`` keeps after the flag) stays. The one-pattern forms were
    ``(?is)(\bcurl\b.{0,300}?\s(?:-u|--user)(?:=|\s+)KEPT)VALUE``, which read up to
    300 characters after every ``curl``. Whether a ``-u`` has a value does not depend on
    where the ``curl`` before it is, so the flags with values are found once, and each
    ``curl`` takes the first of them within its reach."""

    flags: re.Pattern[str]
    """Zero-width at each flag with a value: group 1 the flag (and what stays), 2 the value."""

    def sub(self, replacement: str, text: str) -> str:
        curl = _CURL.search(text)
        if curl is None:
            return text
        flags = [(m.start(), m.end(1), m.end(2)) for m in self.flags.finditer(text)]
        starts = [flag[0] for flag in flags]
        out: list[str] = []
        done = 0
        while curl is not None:
            at = bisect.bisect_left(starts, curl.end())
            if at == len(flags) or flags[at][0] > curl.end() + _CURL_REACH:
                curl = _CURL.search(text, curl.start() + 1)
                continue
            _, kept_end, value_end = flags[at]
            out += (text[done:kept_end], replacement)
            done = value_end
            curl = _CURL.search(text, done)
        return "".join(out) + text[done:] if out else text


class CurlQuoted(Curl):
    """``curl -u 'user:password'``: the whole quoted value goes."""

    flags = re.compile(r"(?is)(?=(\s(?:-u|--user)(?:=|\s+))((?:'[^'\n]*'|\"[^\"\n]*\")))")


class CurlPassword(Curl):
    """``curl -u user:password``: the password goes, ``user:`` stays."""

    flags = re.compile(r"(?is)(?=(\s(?:-u|--user)(?:=|\s+)[^\s\"':]*:)([^\s\"']+))")
