"""Start-up packet handling: the parameters reported to clients and the ones they send.

PostgreSQL 15 reports 13 ParameterStatus values after authentication; clients send
settings in the StartupMessage, some spelled loosely (asyncpg's client_encoding
'utf-8', JDBC's DateStyle=ISO) or packed into `options` as `-c name=value`.
"""

from __future__ import annotations

from sqlvec import __version__
from sqlvec.core.errors import InvalidParameterValue, ProtocolViolation


def server_version(pg_version: str) -> str:
    """The ParameterStatus server_version: PostgreSQL's number, then ours, the way
    distributions brand theirs ('15.4 (Debian 15.4-1)'). libpq (psql, psycopg), asyncpg,
    JDBC and node-postgres read the leading number; version() names sqlvec on its own.

    >>> server_version("15.0")
    '15.0 (sqlvec 0.1.0)'
    """
    return pg_version if "(" in pg_version else f"{pg_version} (sqlvec {__version__})"


SERVER_VERSION = server_version("15.0")


def default_parameters(user: str, params: dict[str, str]) -> dict[str, str]:
    """The ParameterStatus values PostgreSQL 15 reports at start-up (13 of them)."""
    return {
        "application_name": params.get("application_name", ""),
        "client_encoding": "UTF8",
        "DateStyle": "ISO, MDY",
        "default_transaction_read_only": "off",
        "in_hot_standby": "off",
        "integer_datetimes": "on",
        "IntervalStyle": "postgres",
        "is_superuser": "on",
        "server_encoding": "UTF8",
        "server_version": SERVER_VERSION,
        "session_authorization": user,
        "standard_conforming_strings": "on",
        "TimeZone": "UTC",
    }


def _split_options(options: str) -> list[str]:
    """Split the startup 'options' string on unescaped whitespace (libpq's rules)."""
    words, cur, escaped = [], [], False
    for ch in options:
        if escaped:
            cur.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        words.append("".join(cur))
    return words


def normalize_startup_params(params: dict[str, str]) -> dict[str, str]:
    """Expand `options=-c a=b --c=d` into settings; canonical client_encoding and DateStyle.

    >>> normalize_startup_params({"client_encoding": "'utf-8'", "options": "-c search_path=x"})
    {'client_encoding': 'UTF8', 'search_path': 'x'}
    """
    out = {k: v for k, v in params.items() if k != "options"}
    words = _split_options(params.get("options", ""))
    i = 0
    while i < len(words):
        word = words[i]
        setting = None
        if word == "-c" and i + 1 < len(words):
            setting, i = words[i + 1], i + 2
        elif word.startswith("-c"):
            setting, i = word[2:], i + 1
        elif word.startswith("--"):
            setting, i = word[2:], i + 1
        else:
            raise ProtocolViolation(f"invalid command-line argument for server process: {word}")
        name, eq, value = setting.partition("=")
        if not eq:
            raise ProtocolViolation(f"-c {setting} requires a value")
        out[name.replace("-", "_")] = value
    enc = out.get("client_encoding")
    if enc is not None:
        norm = enc.strip().strip("'\"").replace("-", "").replace("_", "").upper()
        if norm in ("UTF8", "UNICODE", "AUTO", "SQLASCII"):
            out["client_encoding"] = "UTF8"
        else:
            raise InvalidParameterValue(
                f'invalid value for parameter "client_encoding": "{enc}"',
                detail="sqlvec supports only the UTF8 client encoding.")
    style = out.get("DateStyle")
    if style is not None and "," not in style:
        word = style.strip()
        out["DateStyle"] = f"ISO, {word.upper()}" if word.upper() in ("DMY", "MDY", "YMD") \
            else f"{word}, MDY"
    return out
