"""Passwords on command lines and in credential files never reach a record or a span
(issue 16, audit, the shapes left after test_audit_redaction_more).

Found on main at 8687eb8: ``mysql -pSECRET``, ``sshpass -p SECRET``, ``redis-cli -a``,
``ldapsearch -w``, ``zip -P``, ``docker login -p``, ``smbclient -U user%SECRET``,
``htpasswd -b file user SECRET``, argument vectors (``["sshpass", "-p", SECRET]``), netrc
``machine h login u password SECRET``, htpasswd/shadow/LDAP password hashes, .pgpass lines,
HTTP Digest ``response=``, FTP ``PASS``. The option tables follow what public scanners
flag as passwords given on a command line (SonarSource's secrets rules, gitleaks'
generic-password rule) and each program's own manual.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.redaction_fixtures import exporter, guard

from guardrail import Guard, Principal
from guardrail.audit.redact import REDACTED, Redactor

__all__ = ["exporter", "guard"]  # fixtures, used by name

S = "Zq7pW3x"
"""Not random-looking and no token shape: only the command or file shape gives it away."""

COMMAND_LINES = [
    f"mysql -u root -p{S} shop",
    f"mysqldump -uroot -p{S} --all-databases > all.sql",
    f"mariadb -h db -p'{S} x' app",
    f'mysqladmin -p"{S}" status',
    f"/usr/bin/mysql -p{S} -e 'select 1'",
    f"C:\\tools\\mysql.exe -p{S}",
    f"mysql --password={S} shop",
    f"mysql --password {S} shop",
    f"sshpass -p {S} ssh deploy@host uptime",
    f"sshpass -p{S} scp f host:",
    f"sshpass -p '{S} y' ssh host",
    f"redis-cli -h cache -a {S} ping",
    f"ldapsearch -x -D cn=admin,dc=x -w {S} -b dc=x",
    f"ldappasswd -x -D cn=admin -w secretone -s {S} uid=bob",
    f"zip -P {S} out.zip notes.txt",
    f"7z a -p{S} -mhe=on x.7z dir",
    f"sqlcmd -S db -U sa -P {S} -Q 'select 1'",
    f"mongosh -u admin -p {S} --authenticationDatabase admin",
    f"docker login -u bot -p {S} registry.example.com",
    f"podman login --password {S} quay.io",
    f"smbclient //fs/share -U alice%{S}",
    f"keytool -list -keystore ks.jks -storepass {S}",
    f"openssl pkcs12 -export -passout pass:{S} -out a.p12",
    f"openssl enc -aes256 -k {S} -in f",
    f"openssl passwd -6 {S}",
    f"htpasswd -b -c /etc/nginx/.htpasswd alice {S}",
    f"htpasswd -nb alice {S}",
    f"sqlplus system/{S}@//db:1521/ORCL",
    f"xfreerdp /v:host /u:admin /p:{S}",
    f"curl -U bob:{S} -x proxy:3128 https://example.com",
    f"lftp -u bob,{S} ftp.example.com",
    f"ipmitool -I lanplus -H bmc -U admin -P {S} power status",
    f"nmcli dev wifi connect Home password {S}",
    f"net use Z: \\\\fs\\share {S} /user:CORP\\alice",
    f"rabbitmqctl add_user app {S}",
    f"mysql -uroot \\\n  -p{S} shop",
    f'bash -c "sshpass -p {S} ssh host uptime"',
    f"cd /srv && mysql -p{S} app < dump.sql",
    f'subprocess.run(["sshpass", "-p", "{S}", "ssh", "host"])',
    f"CMD ['mysql', '-uroot', '-p{S}']",
    f'{{"command": ["docker", "login", "-p", "{S}"]}}',
]


@pytest.mark.parametrize("text", COMMAND_LINES)
def test_a_password_option_of_a_command_is_redacted(text: str) -> None:
    out = Redactor(max_length=10_000).text(text)
    assert S not in out, out
    assert REDACTED in out


CREDENTIAL_FILES = [
    (f"machine api.example.com login bot password {S}", S),
    (f"machine example.com\n  login alice\n  password {S}\n", S),
    (f"default login anonymous password {S}", S),
    (f"machine h password {S} login u", S),
    (f'machine h login u password "{S} y"', S),
    ("alice:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/", "HqJZimcKQFAMYayBlzkrA"),
    ("bob:$2y$05$c4WoMPo3SXsafkva.HHa6uXQZWr7oboPiC2bT/r7q1BB8I2s0BRqC", "c4WoMPo3SXsafkva"),
    ("carol:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "W6ph5Mm5Pz8GgiULbPgzG37mj9g"),
    ("dave:{SSHA}DkMTwBl+a/3DQTxCYEApdUtNXGgdUac3", "DkMTwBl+a/3DQTxCYEApdUtNXGgdUac3"),
    ("root:$6$xyzsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq"
     ":19000:0:99999:7:::", "qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5"),
    ("erin:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$X3DX6M94c7o.9agCG9G317fhZg9SqC.5i5rd.RhAtQ7",
     "X3DX6M94c7o"),
    ("pbkdf2_sha256$600000$Jl0uE3VR9jqQ$fR0eTVq7i3ld4H6aX6ne8mXcGmG/IQxK7Ux0yM8h4WI=",
     "fR0eTVq7i3"),
    ("$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aW4gYSBoYXNoIHRoYXQgbG9va3M", "aW4gYSBoYXNo"),
    (f"user1:{{PLAIN}}{S}", S),
    (f"db.example.com:5432:orders:app:{S}", S),
    (f"*:*:*:replicator:{S}-{S}", S),
    ('Authorization: Digest username="bob", realm="api", nonce="abc", uri="/x", '
     'response="6629fae49393a05397450978507c4ef1", qop=auth', "6629fae49393a05397450978507c4ef1"),
    (f'Proxy-Authorization: Digest username="bob", response="{S}"', S),
    (f"USER bob\r\nPASS {S}\r\n", S),
    ("Authorization: NTLM TlRMTVNTUAADAAAAGAAYAEAAAAAYABgAWAAAAAAAAAB", "TlRMTVNTUAADAAAAGAAY"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "secret"), CREDENTIAL_FILES)
def test_a_credential_file_line_loses_its_secret(text: str, secret: str) -> None:
    out = Redactor(max_length=10_000).text(text)
    assert secret not in out, out
    assert REDACTED in out


ARGV = [
    ["sshpass", "-p", S, "ssh", "host"],
    ("/usr/bin/mysql", "-uroot", f"-p{S}"),
    ["docker", "login", "-u", "bot", "-p", S],
    ["deploy", "--db-password", S, "--env", "prod"],
    ["smbclient", "//fs/share", "-U", f"bob%{S}"],
    ["htpasswd", "-nb", "bob", S],
    ["redis-cli", "-a", S, "ping"],
    ["C:\\Tools\\SQLCMD.EXE", "-S", "db", "-P", S],
    ["curl", "--user", f"bob:{S}", "https://example.com"],
]


@pytest.mark.parametrize("argv", ARGV)
def test_an_argument_vector_loses_its_password(argv: list[str]) -> None:
    out = Redactor().value(argv)
    assert S not in repr(out), out
    assert out[0] == argv[0]  # the program stays readable


@pytest.mark.parametrize(
    "text",
    [
        "ssh -p 2222 deploy@host",
        "docker run -p 8080:80 nginx",
        "mysql -u root -p shop",  # -p then a space: mysql prompts, `shop` is the database
        "openssl req -newkey rsa:2048 -keyout key.pem -nodes",
        "zip -r out.zip src",
        "redis-cli -h cache ping",
        "git log -p -3",
        "echo $HOME$PATH",
        "the zip code is 12345",
        "machine learning models",
        "Send a Digest of the week to bob",
        "2024-01-01T10:00:00+00:00",
    ],
)
def test_commands_and_text_without_a_password_are_kept(text: str) -> None:
    assert Redactor().text(text) == text


@pytest.mark.parametrize(
    "argv",
    [
        ["ssh", "-p", "2222", "host"],
        ["docker", "run", "-p", "8080:80", "img"],
        ["mysql", "-u", "root", "-p", "shop"],
        ["ls", "-la", "/tmp"],
        ["red", "green", "blue"],
    ],
)
def test_argument_vectors_without_a_password_are_kept(argv: list[str]) -> None:
    assert Redactor().value(argv) == argv


def test_no_command_or_file_secret_reaches_a_record_or_a_span(
    guard: tuple[Guard, Path], exporter: InMemorySpanExporter
) -> None:
    """End to end: each shape as an argument of a real call, in the ChainLog file and in
    every span attribute."""
    the_guard, path = guard

    @the_guard.tool
    def run(command: Any, note: str = "") -> None:
        return None

    with the_guard.acting_as(Principal(subject="alice")):
        for text in COMMAND_LINES:
            run(command=text)
        for text, _ in CREDENTIAL_FILES:
            run(command="x", note=text)
        for argv in ARGV:
            run(command=list(argv))
    spans = exporter.get_finished_spans()
    assert len(spans) == len(COMMAND_LINES) + len(CREDENTIAL_FILES) + len(ARGV)
    blob = path.read_text() + "".join(json.dumps(dict(s.attributes or {})) for s in spans)
    secrets = [S, *(secret for _, secret in CREDENTIAL_FILES)]
    assert [secret for secret in secrets if secret in blob] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"sshpass -p {S} ssh host", f"sshpass -p {REDACTED} ssh host"),
        (f"xfreerdp /v:host /p:{S}", f"xfreerdp /v:host /p:{REDACTED}"),
        ("xfreerdp /p: /v:host", "xfreerdp /p: /v:host"),  # an empty /p: takes nothing after
        ("sqlplus /@orcl", "sqlplus /@orcl"),  # wallet login: no password in it
        ("sshpass -p", "sshpass -p"),  # an option with no value left
        (f"smbclient //fs/share -U alice%{S}%x", f"smbclient //fs/share -U alice%{REDACTED}"),
        ("smbclient //fs/share -U alice", "smbclient //fs/share -U alice"),  # no password
        (f"smbclient //fs/share -U %{S}", f"smbclient //fs/share -U %{REDACTED}"),
        (f"smbclient //fs/share --user=alice%{S}", f"smbclient //fs/share --user=alice%{REDACTED}"),
        (f"keytool -list -storepass={S}", f"keytool -list -storepass={REDACTED}"),
        (f"lftp -u bob,{S},x ftp.example.com", f"lftp -u bob,{REDACTED} ftp.example.com"),
        # each program's arguments end where the next program starts: the last positional
        # of `openssl passwd` is its own, not one of mysql's
        (f"openssl passwd -6 {S} mysql -p{S}", f"openssl passwd -6 {REDACTED} mysql -p{REDACTED}"),
        ("run mysql ", "run mysql "),  # a program with no argument after it
        ("htpasswd -nb", "htpasswd -nb"),  # options only: no positional to take
        (f"openssl passwd {S} -6", f"openssl passwd {REDACTED} -6"),  # options are not positional
        (f"mkpasswd {S}", f"mkpasswd {REDACTED}"),  # the only positional is the last
        # a value is never read as an option: the password `-s` is not ldappasswd's -s
        ("ldappasswd -x -w -s uid=bob", f"ldappasswd -x -w {REDACTED} uid=bob"),
        (
            f'["rabbitmqctl", "add_user", "app", "{S}", "mysql", "-p{S}"]',
            f'["rabbitmqctl", "add_user", "app", "{REDACTED}", "mysql", "-p{REDACTED}"]',
        ),
    ],
)
def test_exactly_the_password_goes(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["mysql", f"-p{S}"], ["mysql", f"-p{REDACTED}"]),  # two items are a vector too
        (["sshpass", "-p"], ["sshpass", "-p"]),
        (["mkpasswd", S], ["mkpasswd", REDACTED]),
        (["rabbitmqctl", "add_user", "app", S], ["rabbitmqctl", "add_user", "app", REDACTED]),
        (["deploy", "-v", "--db-password", S], ["deploy", "-v", "--db-password", REDACTED]),
        (["deploy", "--password"], ["deploy", "--password"]),  # no value after the flag
        (["deploy", "--password", "--force"], ["deploy", "--password", "--force"]),
        (["smbclient", "-U", f"bob%{S}"], ["smbclient", "-U", f"bob%{REDACTED}"]),
    ],
)
def test_exactly_the_password_of_a_vector_goes(argv: list[str], expected: list[str]) -> None:
    assert Redactor().value(argv) == expected


def test_a_pair_is_named_by_a_secret_name_of_up_to_80_characters() -> None:
    """("...password", value) pairs: the name is read up to 80 characters (a bound on the
    work per value); a longer first item is a value like any other."""
    at_bound = "x" * 71 + "_password"
    assert len(at_bound) == 80
    assert Redactor().value([(at_bound, S)]) == [[at_bound, REDACTED]]
    assert Redactor().value([("x" + at_bound, S)]) == [["x" + at_bound, S]]
