"""Test helpers: encode frontend messages and split backend byte streams (client side)."""

from __future__ import annotations

import struct


def msg(kind: bytes, body: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(body) + 4) + body


def cstr(s: str | bytes) -> bytes:
    return (s.encode() if isinstance(s, str) else s) + b"\x00"


def startup(user: str = "alice", database: str | None = None, minor: int = 0, **params) -> bytes:
    body = struct.pack("!i", (3 << 16) | minor) + cstr("user") + cstr(user)
    if database:
        body += cstr("database") + cstr(database)
    for k, v in params.items():
        body += cstr(k) + cstr(v)
    body += b"\x00"
    return struct.pack("!i", len(body) + 4) + body


def ssl_request() -> bytes:
    return struct.pack("!ii", 8, 80877103)


def cancel_request(pid: int, key: int) -> bytes:
    return struct.pack("!iiii", 16, 80877102, pid, key)


def query(sql: str | bytes) -> bytes:
    return msg(b"Q", cstr(sql))


def parse(sql: str, name: str = "", oids: tuple[int, ...] = ()) -> bytes:
    return msg(b"P", cstr(name) + cstr(sql) + struct.pack(f"!h{len(oids)}I", len(oids), *oids))


def bind(params: list[bytes | None] = (), portal: str = "", stmt: str = "",
         formats: tuple[int, ...] = (), result_formats: tuple[int, ...] = ()) -> bytes:
    body = cstr(portal) + cstr(stmt) + struct.pack(f"!h{len(formats)}h", len(formats), *formats)
    body += struct.pack("!h", len(params))
    for p in params:
        body += struct.pack("!i", -1) if p is None else struct.pack("!i", len(p)) + p
    body += struct.pack(f"!h{len(result_formats)}h", len(result_formats), *result_formats)
    return msg(b"B", body)


def describe(kind: str, name: str = "") -> bytes:
    return msg(b"D", kind.encode() + cstr(name))


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return msg(b"E", cstr(portal) + struct.pack("!i", max_rows))


def close(kind: str, name: str = "") -> bytes:
    return msg(b"C", kind.encode() + cstr(name))


SYNC = msg(b"S")
FLUSH = msg(b"H")
TERMINATE = msg(b"X")


def split(data: bytes) -> list[tuple[str, bytes]]:
    """Backend byte stream -> [(type char, body)]."""
    out, pos = [], 0
    while pos < len(data):
        kind = chr(data[pos])
        (length,) = struct.unpack_from("!i", data, pos + 1)
        out.append((kind, data[pos + 5:pos + 1 + length]))
        pos += 1 + length
    return out


def kinds(data: bytes) -> str:
    return "".join(k for k, _ in split(data))


def error_fields(body: bytes) -> dict[str, str]:
    out = {}
    for part in body.split(b"\x00"):
        if part:
            out[chr(part[0])] = part[1:].decode()
    return out


def data_row_values(body: bytes) -> list[bytes | None]:
    (n,) = struct.unpack_from("!h", body)
    pos, vals = 2, []
    for _ in range(n):
        (ln,) = struct.unpack_from("!i", body, pos)
        pos += 4
        if ln == -1:
            vals.append(None)
        else:
            vals.append(body[pos:pos + ln])
            pos += ln
    return vals
