"""Secret values by shape: token formats, credentials in URLs and headers, ``name = value``
assignments and ``--flag value`` pairs, each with ``sub(replacement, text)``.

Applied by :class:`guardrail.audit.redact.Redactor` to every text it records; the
names, token prefixes and randomness test they rely on are in
:mod:`guardrail.audit._secrets`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

from guardrail.audit._assignments import Assignments
from guardrail.audit._commands import Commands
from guardrail.audit._scans import CurlPassword, CurlQuoted, Jwt, UrlCredentials
from guardrail.audit._secrets import RUN, TOKEN, random_looking, secret_name

Replacement = Callable[[re.Match[str]], str]


class _Shape:
    """A secret pattern whose whole match goes (the ``re.Pattern.sub`` interface)."""

    def __init__(self, pattern: str, flags: int = 0, keep: int = 0, needle: str = "") -> None:
        self.pattern = re.compile(pattern, flags)
        self.keep = keep
        """Leading groups kept (``postgres://user:`` of a URL, ``curl -u user:``)."""
        self.needle = needle
        """Text every match holds: text without it is not searched (``in`` is cheaper)."""

    def sub(self, replacement: str, text: str) -> str:
        if self.needle not in text:
            return text
        return self.pattern.sub(self._replace(replacement), text)

    def _replace(self, replacement: str) -> Replacement:
        def replace(match: re.Match[str]) -> str:
            kept = "".join(match.group(i) or "" for i in range(1, self.keep + 1))
            return kept + replacement if self.secret(match) else match.group()

        return replace

    def secret(self, match: re.Match[str]) -> bool:
        return True


class _BasicCredentials(_Shape):
    """``Basic <base64>``: a secret when it decodes to ``user:password``, not prose."""

    def secret(self, match: re.Match[str]) -> bool:
        try:
            return b":" in base64.b64decode(match.group(1), validate=True)
        except (binascii.Error, ValueError):
            return False


class _Runs:
    """Runs of token characters: a service's token shape or key-like randomness."""

    def sub(self, replacement: str, text: str) -> str:
        return RUN.sub(
            lambda m: replacement if TOKEN.search(m.group()) or random_looking(m.group())
            else m.group(),
            text,
        )  # fmt: skip


class _Flags:
    """``--password VALUE`` on a command line: a flag named like a secret, then its value
    after a space (``--password=VALUE`` is an assignment)."""

    pattern = re.compile(
        r"(?<![\w-])--?([A-Za-z][\w.-]{1,60})([ \t]+)(?!-)(\"[^\"\n]*\"|'[^'\n]*'|[^\s\"']+)"
    )

    def sub(self, replacement: str, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if not secret_name(match.group(1)):
                return match.group()
            return match.group()[: match.start(3) - match.start()] + replacement

        return self.pattern.sub(replace, text)


PGPASS = r"(?m)^(?=\S{16})((?:[^:\s\\]|\\.)+:(?:\d{1,5}|\*)(?::(?:[^:\s\\]|\\.)+){2}:)\S+$"
"""A .pgpass line, ``host:port:database:user:password``, of 16 characters or more (what
the redactor's prefilter lets through): the password goes."""

SECRET_VALUES = (
    _Shape(
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|\Z)",
        re.DOTALL,
    ),
    Jwt(),
    UrlCredentials(),
    _Shape(r"(?i)\b(?:bearer|token|apikey)\s+[\w.~+/=-]{8,}"),
    _BasicCredentials(r"(?i)\bbasic\s+([A-Za-z0-9+/]{4,}={0,2})(?![\w+/=])"),
    CurlQuoted(),
    CurlPassword(),
    _Shape(r"\b\d{15,16}(?:\||%7C)[\w-]{20,}"),  # Facebook app token
    _Shape(
        r"(?i)hooks\.slack\.com/(?:services|workflows|triggers)/[\w+/]{20,}|"
        r"webhook\.office\.com/webhookb2/[^\s\"']+|discord(?:app)?\.com/api/webhooks/\d+/[\w-]+"
    ),
    # Credential files and protocol lines: netrc (`machine h login u password p`), a
    # password hash (htpasswd, shadow, Django, LDAP `{SSHA}`), .pgpass, HTTP Digest, FTP.
    _Shape(
        r"((?<![\w-])(?:machine[ \t\r\n]+\S+|default)(?:[ \t\r\n]+(?:login|account|port)"
        r"[ \t\r\n]+\S+){0,4}[ \t\r\n]+password[ \t\r\n]+)(?:\"[^\"\n]*\"|\S+)",
        keep=1,
        needle="password",
    ),
    _Shape(
        r"(?<![\w$])(?:\$(?:1|2[abxy]?|5|6|7|y|gy|md5|sha1|apr1|argon2(?:id|i|d)|pbkdf2[\w-]*|"
        r"scrypt|bcrypt[\w-]*)|(?:pbkdf2_sha(?:1|256)|argon2|bcrypt(?:_sha256)?|scrypt))"
        r"\$(?:[\w./+=,-]*\$){0,5}[\w./+=-]{16,}",
        needle="$",
    ),
    _Shape(
        r"(?i)\{(?:s?sha\d*|s?md5|crypt|pbkdf2[\w-]*|argon2\w*|bcrypt|ssha\w*|x-[\w-]+|"
        r"plain|clear(?:text)?|cram-md5|ntlm)\}[^\s\"'<>,;]+",
        needle="}",
    ),
    _Shape(PGPASS, keep=1, needle=":"),
    _Shape(
        r"(?i)(\bdigest[ \t]+(?:[\w-]+[ \t]*=[ \t]*(?:\"[^\"\n]*\"|[^\s,\"]*)[ \t]*,[ \t]*){0,20}"
        r"response[ \t]*=[ \t]*)(?:\"[^\"\n]*\"|[^\s,\"]+)",
        keep=1,
        needle="=",
    ),
    _Shape(r"(?m)^(PASS[ \t]+)\S[^\r\n]*", keep=1, needle="PASS"),  # FTP, POP3
    Commands(),
    _Flags(),
    _Runs(),
)
"""Applied in order to text; each has ``sub(REDACTED, text)``."""
ASSIGNED = Assignments()
