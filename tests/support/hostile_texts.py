"""Hostile texts for the redactor: each repeats a prefix that makes some pattern start a
match and read on (a name and separator, a scheme, ``curl``, a quote), so that a pattern
that reads the rest of the text at each start takes time quadratic in its length.
Used by the linear-time tests."""

from __future__ import annotations

UNITS = (
    "a=", "password=", "password= ", "password:", 'password"', '"password": "', "a:a:",
    "password='", "password=`", 'password="x', "token ", "bearer ", "Basic ", "basic QUFB",
    "curl ", "curl -u ", " -u ", "-p ", "--password ", "sshpass -p ", "mysql -p",
    '["sshpass", "-p", ', "docker login -p ", "postgres://", "x://a:", "x://a:@", "eyJ",
    "eyJaaaaa.", "a<", "a[", "password: a<", "password ", "a" * 83 + "<", "\\", "a\\:",
    "machine ", "default ", "$1$", "$1$,", "{SSHA}", "digest a=b,", "PASS ",
    "-----BEGIN PRIVATE KEY-----", "-----END", "1 ", "1-", "ABSK", "ghp_",
    "hooks.slack.com/services/", "'", '"', "`", " ", "Ab1",
)  # fmt: skip


def hostile(unit: str, size: int) -> str:
    """``unit`` repeated to ``size`` characters."""
    return (unit * (size // len(unit) + 1))[:size]
