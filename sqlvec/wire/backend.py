"""Encoders for every backend message: small pure functions returning the bytes to send.

    >>> ready_for_query("I")
    b'Z\\x00\\x00\\x00\\x05I'
    >>> command_complete("SELECT 1")
    b'C\\x00\\x00\\x00\\rSELECT 1\\x00'
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

from sqlvec.core.errors import SqlError
from sqlvec.core.results import Column, Notice

_HDR = struct.Struct("!ci")


def message(kind: bytes, body: bytes = b"") -> bytes:
    """One framed message: type byte, int32 length (self-inclusive), body."""
    return _HDR.pack(kind, len(body) + 4) + body


def cstr(s: str) -> bytes:
    return s.encode("utf-8") + b"\x00"


# --- authentication ----------------------------------------------------------------------

def auth_ok() -> bytes:
    return message(b"R", struct.pack("!i", 0))


def auth_cleartext_password() -> bytes:
    return message(b"R", struct.pack("!i", 3))


def auth_md5_password(salt: bytes) -> bytes:
    return message(b"R", struct.pack("!i", 5) + salt)


def auth_sasl(mechanisms: Iterable[str]) -> bytes:
    body = struct.pack("!i", 10) + b"".join(cstr(m) for m in mechanisms) + b"\x00"
    return message(b"R", body)


def auth_sasl_continue(data: bytes) -> bytes:
    return message(b"R", struct.pack("!i", 11) + data)


def auth_sasl_final(data: bytes) -> bytes:
    return message(b"R", struct.pack("!i", 12) + data)


# --- session start ---------------------------------------------------------------------------

def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(process_id: int, secret_key: int) -> bytes:
    return message(b"K", struct.pack("!ii", process_id, secret_key))


def negotiate_protocol_version(minor: int, unsupported: Sequence[str]) -> bytes:
    body = struct.pack("!ii", minor, len(unsupported)) + b"".join(cstr(o) for o in unsupported)
    return message(b"v", body)


def ready_for_query(status: str) -> bytes:
    return message(b"Z", status.encode("ascii"))


READY = {status: ready_for_query(status) for status in "ITE"}  # by transaction status


def notification_response(pid: int, channel: str, payload: str) -> bytes:
    """NotificationResponse ('A'): LISTEN/NOTIFY delivery (session/notify.py)."""
    return message(b"A", struct.pack("!i", pid) + cstr(channel) + cstr(payload))


# --- query results ---------------------------------------------------------------------------

_FIELD = struct.Struct("!ihihih")


def row_description(columns: Sequence[Column], formats: Sequence[int]) -> bytes:
    """RowDescription; `formats` holds one format code per column (0 text, 1 binary)."""
    parts = [struct.pack("!h", len(columns))]
    for col, fmt in zip(columns, formats):
        t = col.type
        parts.append(cstr(col.name))
        parts.append(_FIELD.pack(col.table_oid, col.attnum, t.oid, t.typlen, t.typmod, fmt))
    return message(b"T", b"".join(parts))


def parameter_description(oids: Sequence[int]) -> bytes:
    return message(b"t", struct.pack(f"!h{len(oids)}I", len(oids), *oids))


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


EMPTY_QUERY_RESPONSE = message(b"I")
PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
PORTAL_SUSPENDED = message(b"s")
COPY_DONE = message(b"c")


def copy_response(kind: bytes, binary: bool, ncols: int) -> bytes:
    """CopyInResponse (b'G') or CopyOutResponse (b'H') with one format for every column."""
    fmt = 1 if binary else 0
    return message(kind, struct.pack(f"!bh{ncols}h", fmt, ncols, *([fmt] * ncols)))


def copy_data(data: bytes) -> bytes:
    return message(b"d", data)


# --- errors and notices ----------------------------------------------------------------------

def _fields(pairs: Iterable[tuple[bytes, str | None]]) -> bytes:
    out = [code + cstr(value) for code, value in pairs if value is not None]
    return b"".join(out) + b"\x00"


def error_fields(err: SqlError, severity: str | None = None) -> bytes:
    """The field list of an ErrorResponse/NoticeResponse for a SqlError."""
    sev = severity or err.severity
    return _fields([
        (b"S", sev), (b"V", sev), (b"C", err.code), (b"M", err.message),
        (b"D", err.detail), (b"H", err.hint),
        (b"P", str(err.position) if err.position else None),
        (b"s", err.schema), (b"t", err.table), (b"c", err.column),
        (b"d", err.datatype), (b"n", err.constraint),
    ])


def error_response(err: SqlError, severity: str | None = None) -> bytes:
    """ErrorResponse with every field the error carries (S V C M D H P s t c d n)."""
    return message(b"E", error_fields(err, severity))


def notice_response(notice: Notice) -> bytes:
    return message(b"N", _fields([
        (b"S", notice.severity), (b"V", notice.severity), (b"C", notice.code),
        (b"M", notice.message), (b"D", notice.detail), (b"H", notice.hint),
    ]))
