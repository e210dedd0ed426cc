"""Binary COPY FROM STDIN decoded with numpy: layouts, NULLs, pieces, constraints, errors."""

from __future__ import annotations

import struct

import pytest

from sqlvec.core.errors import (
    BadCopyFileFormat,
    InvalidBinaryRepresentation,
    NotNullViolation,
    UniqueViolation,
)
from sqlvec.session import Database, Session
from sqlvec.wire.copy import BINARY_SIGNATURE, CopyIn, parse_copy
from tests.support.rows import run

HEADER = BINARY_SIGNATURE + b"\x00" * 8
TRAILER = b"\xff\xff"


@pytest.fixture
def session():
    db = Database.open(None)
    s = Session(db)
    yield s
    s.close()
    db.close()


def field(v: bytes | None) -> bytes:
    return b"\xff\xff\xff\xff" if v is None else struct.pack("!i", len(v)) + v


def row(*vals: bytes | None) -> bytes:
    return struct.pack("!h", len(vals)) + b"".join(field(v) for v in vals)


def f4array(xs: list[float]) -> bytes:
    head = struct.pack("!iiiii", 1, 0, 700, len(xs), 1)
    return head + b"".join(struct.pack("!if", 4, x) for x in xs)


def vector(xs: list[float]) -> bytes:
    return struct.pack("!hh", len(xs), 0) + struct.pack(f"!{len(xs)}f", *xs)


def copy_in(s: Session, sql: str, payload: bytes, piece: int = 1 << 20) -> int:
    stmt = s.prepare(f"SELECT * FROM {sql.split()[1]}", [], "")
    cmd = parse_copy(sql)
    if cmd.columns:
        stmt = s.prepare(f"SELECT {', '.join(cmd.columns)} FROM {cmd.target}", [], "")
    c = CopyIn(s, cmd, stmt.columns)
    for i in range(0, len(payload), piece):
        c.feed(payload[i:i + piece])
    return c.finish()


def test_fixed_layout_and_rows_with_nulls_in_small_pieces(session, monkeypatch):
    monkeypatch.setattr(CopyIn, "FLUSH_BYTES", 64)
    run(session, "CREATE TABLE t (id int8, a int4, ok bool, d date, name text, emb float4[], "
                 "v vector(2))")
    rows = [row(struct.pack("!q", i), struct.pack("!i", -i), b"\x01", struct.pack("!i", i),
                b"n%d" % (i % 10), f4array([i, i + 0.5]), vector([i, -i])) for i in range(40)]
    rows[7] = row(struct.pack("!q", 7), None, None, None, None, None, None)
    rows[20] = row(struct.pack("!q", 20), struct.pack("!i", 1), b"\x00", None, "é".encode(),
                   f4array([1.0, 2.0, 3.0]), vector([0.5, 1.5]))
    n = copy_in(session, "COPY t FROM STDIN (FORMAT binary)", HEADER + b"".join(rows) + TRAILER, 13)
    assert n == 40
    got = run(session, "SELECT id, a, ok, d::text, name, emb::text, v::text FROM t ORDER BY id")
    assert got[0] == (0, 0, True, "2000-01-01", "n0", "{0,0.5}", "[0,0]")
    assert got[3] == (3, -3, True, "2000-01-04", "n3", "{3,3.5}", "[3,-3]")
    assert got[7] == (7, None, None, None, None, None, None)
    assert got[20] == (20, 1, False, None, "é", "{1,2,3}", "[0.5,1.5]")
    assert len(got) == 40 and session.txn_status == "I"


def test_defaults_not_null_and_unique_still_apply(session):
    run(session, "CREATE TABLE u (id int PRIMARY KEY, x int NOT NULL, note text DEFAULT 'dflt')")
    ok = HEADER + row(struct.pack("!i", 1), struct.pack("!i", 10)) + TRAILER
    assert copy_in(session, "COPY u (id, x) FROM STDIN (FORMAT binary)", ok) == 1
    assert run(session, "SELECT id, x, note FROM u") == [(1, 10, "dflt")]
    dup = HEADER + row(struct.pack("!i", 2), struct.pack("!i", 1)) + \
        row(struct.pack("!i", 1), struct.pack("!i", 1)) + TRAILER
    with pytest.raises(UniqueViolation):
        copy_in(session, "COPY u (id, x) FROM STDIN (FORMAT binary)", dup)
    null = HEADER + row(struct.pack("!i", 3), None) + TRAILER
    with pytest.raises(NotNullViolation):
        copy_in(session, "COPY u (id, x) FROM STDIN (FORMAT binary)", null)
    assert run(session, "SELECT count(*) FROM u") == [(1,)] and session.txn_status == "I"


def test_malformed_data_loads_nothing(session):
    run(session, "CREATE TABLE m (a int4, b text)")
    good = row(struct.pack("!i", 1), b"x") * 3
    with pytest.raises(BadCopyFileFormat):  # cut inside a tuple
        copy_in(session, "COPY m FROM STDIN (FORMAT binary)", HEADER + good + good[:7])
    with pytest.raises(BadCopyFileFormat):
        copy_in(session, "COPY m FROM STDIN (FORMAT binary)", b"NOTCOPY" + good)
    with pytest.raises(InvalidBinaryRepresentation):  # an int4 of 8 bytes
        copy_in(session, "COPY m FROM STDIN (FORMAT binary)",
                HEADER + good + row(struct.pack("!q", 1), b"y") + TRAILER)
    with pytest.raises(BadCopyFileFormat):
        copy_in(session, "COPY m FROM STDIN (FORMAT binary)", HEADER + row(b"\0\0\0\1") + TRAILER)
    assert run(session, "SELECT count(*) FROM m") == [(0,)]


def test_types_without_a_vectorised_decoder_go_through_text(session):
    run(session, "CREATE TABLE o (n numeric, j jsonb, i int4[])")
    num = struct.pack("!hhhh", 1, 0, 0, 0) + struct.pack("!h", 12)  # numeric 12
    arr = struct.pack("!iiiii", 1, 1, 23, 2, 1) + field(struct.pack("!i", 5)) + field(None)
    payload = HEADER + row(num, b"\x01" + b'{"a": 1}', arr) + TRAILER
    assert copy_in(session, "COPY o FROM STDIN (FORMAT binary)", payload) == 1
    assert run(session, "SELECT n::text, j::text, i::text FROM o") == [("12", '{"a": 1}', "{5,NULL}")]


def test_length_limited_strings_keep_their_cast(session):
    run(session, "CREATE TABLE c (a char(3), b varchar(5))")
    assert copy_in(session, "COPY c FROM STDIN (FORMAT binary)",
                   HEADER + row(b"x", b"abc") + TRAILER) == 1
    run(session, "INSERT INTO c VALUES ('x', 'abc')")
    got = run(session, "SELECT a = 'x  ', octet_length(a), b FROM c")
    assert len(got) == 2 and got[0] == got[1] and got[0][0] is True


def test_variable_width_rows_mixed_with_fixed_runs(session, monkeypatch):
    monkeypatch.setattr(CopyIn, "FLUSH_BYTES", 50_000)
    run(session, "CREATE TABLE w (id int4, s text)")
    names = [b"x" * (i % 7) if i % 1000 < 500 else b"same" for i in range(20_000)]
    payload = HEADER + b"".join(row(struct.pack("!i", i), None if i % 333 == 0 else v)
                                for i, v in enumerate(names)) + TRAILER
    assert copy_in(session, "COPY w FROM STDIN (FORMAT binary)", payload, 4096) == 20_000
    got = run(session, "SELECT id, s FROM w ORDER BY id")
    assert got == [(i, None if i % 333 == 0 else v.decode()) for i, v in enumerate(names)]
