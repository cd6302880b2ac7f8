"""Passwords a command line gives by the option its program reads them from.

``--password VALUE`` is a secret by its name (``_Flags`` in :mod:`._shapes`); these are
options whose meaning depends on the program: ``-p`` is a port to ssh and a password to
sshpass and (glued, ``-pSECRET``) to mysql, ``-a`` a password to redis-cli, ``-w`` to the
ldap tools. So they are data: each program, then the options that carry its password.
Found in text (``mysql -uroot -pX db``, a Dockerfile ``RUN`` line) and in argument
vectors (``["sshpass", "-p", "X", "ssh", "host"]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from guardrail.audit._secrets import any_of, secret_name

_MYSQL = (
    "mysql mysqldump mysqladmin mysqlimport mysqlshow mysqlcheck mysqlpump mysqlslap "
    "mysqlbinlog mysqlsh mariadb mariadb-dump mariadb-admin mariadb-import mariadb-check"
)
_LDAP = "ldapsearch ldapadd ldapmodify ldapdelete ldapwhoami ldapcompare ldapmodrdn ldapexop"
_MONGO = "mongo mongosh mongodump mongorestore mongoexport mongoimport mongostat mongotop"
_LOGIN = "docker podman buildah nerdctl skopeo oras az cf"
_ORACLE = "sqlplus sqlldr expdp impdp dgmgrl"
OPTIONS: dict[str, str] = {
    **dict.fromkeys(_MYSQL.split(), "-p+"),  # `-p db` prompts: only a glued value is one
    **dict.fromkeys(_LDAP.split(), "-w"),
    **dict.fromkeys(_MONGO.split(), "-p"),
    **{f"{name} login": "-p" for name in _LOGIN.split()},  # `docker run -p` is a port
    **dict.fromkeys(_ORACLE.split(), "/@"),  # sqlplus user/password@db
    **dict.fromkeys(("smbclient", "rpcclient", "smbcacls", "smbget"), "-U% --user%"),
    **dict.fromkeys(("zip", "unzip", "zipcloak", "sqlcmd", "bcp", "osql", "isql"), "-P"),
    **dict.fromkeys(("redis-cli", "valkey-cli", "keydb-cli"), "-a"),
    **dict.fromkeys(("mosquitto_pub", "mosquitto_sub", "mosquitto_rr"), "-P"),
    **dict.fromkeys(("7z", "7za", "7zr"), "-p+"),
    **dict.fromkeys(("xfreerdp", "wlfreerdp", "sdl-freerdp"), "/p:"),
    "sshpass": "-p",
    "ldappasswd": "-w -a -s",
    "ipmitool": "-P -k -y",
    "psexec": "-p",
    "smbmap": "-p",
    "rdesktop": "-p",
    "lftp": "-u,",
    "curl": "-u: --user: -U: --proxy-user:",
    "keytool": "-storepass -keypass -srcstorepass -deststorepass -srckeypass -destkeypass -new",
    "openssl": "-pass -passin -passout -k=",
    "openssl passwd": "$",
    "mkpasswd": "$",
    "htpasswd": "$",  # htpasswd -b file user PASSWORD, htpasswd -nb user PASSWORD
    "rabbitmqctl add_user": "$",
    "rabbitmqctl change_password": "$",
    "vault login": "$",
    "useradd": "-p",
    "usermod": "-p",
    "nmcli": "password wifi-sec.psk 802-1x.password",
    "net use": "$",  # net use Z: \\host\share PASSWORD /user:NAME
    "net user": "$",
}
"""Program (a path and ``.exe`` may come before and after it, a subcommand after it):
its password options. ``-p`` takes a value glued or as the next argument, ``-p+`` only
glued; a longer option the next argument or ``=value``; a trailing ``%``, ``,`` or ``:``
keeps the value's part up to that separator (``-U user%PASSWORD``); ``/p:`` a Windows
option; ``-k=`` only the next argument; ``$`` the last positional argument; ``/@`` an
argument ``user/PASSWORD@db``."""


@dataclass(frozen=True)
class _Option:
    flag: str
    glued: bool
    spaced: bool
    after: str


def _option(spec: str) -> _Option:
    if spec.startswith("/"):  # /p: (Windows), glued only
        return _Option(spec, glued=True, spaced=False, after="")
    if spec.endswith("+"):
        return _Option(spec[:-1], glued=True, spaced=False, after="")
    if spec.endswith("="):  # a short option that never takes a glued value (openssl -k)
        return _Option(spec[:-1], glued=False, spaced=True, after="")
    after = spec[-1] if spec[-1] in "%,:" else ""
    flag = spec[: len(spec) - len(after)]
    return _Option(flag, glued=len(flag) == 2, spaced=True, after=after)


LITERALS = tuple(
    sorted({name if len(name.split()[0]) < 4 else name.split()[0] for name in OPTIONS})
)
"""A command line with a password option holds one of these: the program's first word
(so a list ``["docker", "login", ...]`` holds it too), its whole name when that word is
as short as ``az`` or ``net`` (which words like ``amazon`` and ``internet`` hold)."""
_ANY_PROGRAM = re.compile(any_of(frozenset(name.split()[0] for name in OPTIONS)))
"""Tried on the case-folded text first: a cheap scan that most text fails."""
_NAMES = sorted({*OPTIONS, *(name.split()[0] for name in OPTIONS)}, key=len, reverse=True)
_PROGRAM = re.compile(
    r"(?<![\w.-])("
    + "|".join(re.escape(name).replace(r"\ ", r"[ \t]+") for name in _NAMES)
    + r")(?:\.exe)?(?=[ \t]|[\"'][ \t]*,)",
    re.IGNORECASE,
)
"""A program, then its arguments: on a command line, or as the first string of a list
(``["sshpass", "-p", ...]`` in code, JSON, a Dockerfile's exec form)."""
_ARGUMENT = re.compile(r"""(?:"[^"\n]*"?|'[^'\n]*'?|\\.|[^\s"';|&()<>`\\])+""")
_ITEM = re.compile(r"""[ \t]*,[ \t\r\n]*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')""")
"""The next string of a list: ``, "-p"``."""
_GAP = re.compile(r"(?:[ \t]|\\\r?\n)*")
"""Between two arguments of one command: blanks and escaped line ends."""
_MAX_ARGUMENTS = 100
"""Arguments read after a program at most (a bound on the work per program)."""
_WINDOWS_OPTION = re.compile(r"/[A-Za-z]+(?::.*)?")
_FLAG = re.compile(r"--?([A-Za-z][\w.-]{1,60})")
_USER_SLASH = re.compile(r"[^/@\s\"'-][^/@\s]*/([^@\s]+)")


def secret_parts(
    args: list[str], program: str, options: tuple[_Option, ...] | None = None
) -> Iterator[tuple[int, int]]:
    """``(index, offset)`` for each argument whose text from ``offset`` on is a password:
    the program's own options (``program`` as in :data:`OPTIONS`; "" for none) and any
    ``--flag value`` whose flag names a secret."""
    if options is None:  # given by a caller that reads many command lines
        options = options_of(program)
    kind = options[0].flag if options else ""
    last = taken = -1
    for i, arg in enumerate(args):
        if i == taken:
            continue
        if not arg.startswith("-") and not _WINDOWS_OPTION.fullmatch(arg):
            last = i
        found = next(filter(None, (_value(args, i, option) for option in options)), None)
        if found is None and (flag := _FLAG.fullmatch(arg)) and secret_name(flag.group(1)):
            found = (i + 1, 0) if i + 1 < len(args) and args[i + 1][:1] != "-" else None
        if found is not None:
            taken = found[0]
            yield found
        elif kind == "/@" and (user := _USER_SLASH.match(arg)):
            yield i, user.start(1)
    if kind == "$" and last >= 0:
        yield last, 0


def options_of(program: str) -> tuple[_Option, ...]:
    """``program``'s password options (a few), parsed."""
    return tuple(map(_option, OPTIONS.get(program, "").split()))


def _value(args: list[str], i: int, option: _Option) -> tuple[int, int] | None:
    arg, flag = args[i], option.flag
    if flag in ("$", "/@") or not arg.startswith(flag):
        return None
    if arg == flag:
        if not option.spaced or i + 1 >= len(args):
            return None
        i, offset = i + 1, 0
    elif option.glued:
        offset = len(flag)
    elif arg[len(flag)] == "=":
        offset = len(flag) + 1
    else:
        return None
    if option.after:
        cut = args[i].find(option.after, offset)
        return None if cut < 0 else (i, cut + 1)
    return i, offset


def program_of(args: list[str]) -> str:
    """The :data:`OPTIONS` name an argument vector runs ("" when none)."""
    first = args[0].replace("\\", "/").rsplit("/", 1)[-1].casefold().removesuffix(".exe")
    if len(args) > 1 and f"{first} {args[1].casefold()}" in OPTIONS:
        return f"{first} {args[1].casefold()}"
    return first if first in OPTIONS else ""


class Commands:
    """Command lines in text: each known program's arguments, up to the end of the command
    or the next program (``sshpass -p X ssh host mysql -pY``): each argument is read once."""

    def sub(self, replacement: str, text: str) -> str:
        if _ANY_PROGRAM.search(text.casefold()) is None:
            return text
        out: list[str] = []
        done = 0
        parsed: dict[str, tuple[_Option, ...]] = {}  # options by program, for this text
        programs = list(_PROGRAM.finditer(text))
        limits = [following.start() for following in programs[1:]] + [len(text)] * bool(programs)
        for program, limit in zip(programs, limits, strict=True):
            end = program.end()
            listed = text[end] in "\"'"  # the lookahead saw a quote: a list's first item
            found = _items(text, end + 1, limit) if listed else _arguments(text, end, limit)
            spans = list(islice(found, _MAX_ARGUMENTS))
            if not spans:  # nothing to hide (``curl curl curl ...``)
                continue
            args = [text[start:stop] for start, stop in spans]
            name = program_of([" ".join(program.group(1).split()), *args])
            if name not in parsed:
                parsed[name] = options_of(name)
            for index, offset in sorted(secret_parts(args, name, parsed[name])):
                start = spans[index][0] + offset
                if start < done:  # a second part of one argument
                    continue
                out += (text[done:start], replacement)
                done = spans[index][1]
        return "".join(out) + text[done:] if out else text


def _items(text: str, pos: int, limit: int) -> Iterator[tuple[int, int]]:
    """Spans of the strings of a list after ``pos`` (inside their quotes), before ``limit``."""
    while (item := _ITEM.match(text, pos, limit)) is not None:
        yield item.span(1 if item.group(1) is not None else 2)
        pos = item.end()


def _arguments(text: str, pos: int, limit: int) -> Iterator[tuple[int, int]]:
    """Spans of the arguments after ``pos`` up to the end of the command (a line end not
    escaped, ``;``, ``|``, ``&``, a parenthesis) or ``limit``."""
    while True:
        pos = _GAP.match(text, pos).end()  # type: ignore[union-attr]
        argument = _ARGUMENT.match(text, pos, limit)
        if argument is None:
            return
        yield argument.span()
        pos = argument.end()
