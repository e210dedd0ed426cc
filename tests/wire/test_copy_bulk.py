"""COPY FROM STDIN into a data directory: big loads go straight to segment files.

Decoded columns collect up to CopyIn.LOAD_BYTES and a load of at least BULK_BYTES is
written to fsynced segment files that the commit's WAL record names (rather than the rows
into the WAL). The rows survive a crash right after the acknowledgement, a failed or
rolled-back COPY leaves no files behind, and the result is the same as the WAL path's.
"""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from sqlvec.core.errors import NotNullViolation, UniqueViolation
from sqlvec.session import Database, Session
from sqlvec.wire.copy import BINARY_SIGNATURE, CopyIn, parse_copy
from tests.support.rows import run

HEADER = BINARY_SIGNATURE + b"\x00" * 8
TRAILER = b"\xff\xff"
DIM = 8


def payload(first: int, n: int, null_at: int | None = None) -> bytes:
    """Binary COPY tuples (id int8, x int4, emb float4[DIM]) with numpy; one NULL x maybe."""
    dt = np.dtype([("nf", ">i2"), ("l_id", ">i4"), ("id", ">i8"), ("l_x", ">i4"), ("x", ">i4"),
                   ("l_e", ">i4"), ("head", ">i4", 5), ("e", [("l", ">i4"), ("v", ">f4")], DIM)])
    rec = np.zeros(n, dt)
    ids = np.arange(first, first + n)
    rec["nf"], rec["l_id"], rec["id"], rec["l_x"], rec["x"] = 3, 8, ids, 4, ids % 7
    rec["l_e"], rec["head"] = 20 + 8 * DIM, [1, 0, 700, DIM, 1]
    rec["e"]["l"], rec["e"]["v"] = 4, (ids[:, None] + np.arange(DIM)) * 0.5
    body = rec.tobytes()
    if null_at is None:
        return body
    size = dt.itemsize
    row = rec[null_at]
    cut = struct.pack("!hiqi", 3, 8, int(row["id"]), -1) + rec[null_at:null_at + 1].tobytes()[18 + 4:]
    return body[:null_at * size] + cut + body[(null_at + 1) * size:]


def copy_in(s: Session, sql: str, data: bytes, piece: int = 1 << 16) -> int:
    cmd = parse_copy(sql)
    stmt = s.prepare(f"SELECT * FROM {cmd.target}", [], "")
    c = CopyIn(s, cmd, stmt.columns)
    for i in range(0, len(data), piece):
        c.feed(data[i:i + piece])
    return c.finish()


def seg_files(path: str) -> set[str]:
    return {os.path.join(d, f) for d, _, fs in os.walk(os.path.join(path, "segments"))
            for f in fs if f.endswith(".seg")}


def wal_bytes(path: str) -> int:
    d = os.path.join(path, "wal")
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


@pytest.fixture
def small(monkeypatch):
    """Thresholds scaled down so a few thousand rows take the bulk path in several loads."""
    monkeypatch.setattr(CopyIn, "FLUSH_BYTES", 40_000)
    monkeypatch.setattr(CopyIn, "LOAD_BYTES", 100_000)
    monkeypatch.setattr(CopyIn, "BULK_BYTES", 30_000)


def check(s: Session, n: int) -> None:
    got = run(s, "SELECT count(*), sum(id), sum(x), sum(emb[1]), sum(emb[8]) FROM t")
    ids = np.arange(n)
    assert got == [(n, int(ids.sum()), int((ids % 7).sum()), float((ids * 0.5).sum()),
                    float(((ids + 7) * 0.5).sum()))]


def test_bulk_copy_survives_a_crash_after_the_ack(tmp_path, small):
    path = str(tmp_path / "db")
    db = Database.open(path)
    s = Session(db)
    run(s, "CREATE TABLE t (id int8, x int4, emb float4[])")
    wal0 = wal_bytes(path)
    n = 6000
    assert copy_in(s, "COPY t FROM STDIN (FORMAT binary)",
                   HEADER + payload(0, n) + TRAILER) == n
    assert len(seg_files(path)) >= 2  # several loads, each its own file
    assert wal_bytes(path) - wal0 < n * 20  # the WAL names files; the rows are 100+ B each
    check(s, n)
    s.close()
    db.store.abandon()  # crash: no checkpoint, no close
    db = Database.open(path)
    s = Session(db)
    check(s, n)
    s.close()
    db.close()


def test_failed_or_rolled_back_bulk_copy_leaves_no_files(tmp_path, small):
    path = str(tmp_path / "db")
    db = Database.open(path)
    s = Session(db)
    run(s, "CREATE TABLE t (id int8, x int4 NOT NULL, emb float4[])")
    before = seg_files(path)
    # a NULL in the last rows: earlier loads were already written to files
    bad = HEADER + payload(0, 6000, null_at=5990) + TRAILER
    with pytest.raises(NotNullViolation):
        copy_in(s, "COPY t FROM STDIN (FORMAT binary)", bad)
    assert run(s, "SELECT count(*) FROM t") == [(0,)] and s.txn_status == "I"
    assert seg_files(path) == before
    run(s, "BEGIN")
    assert copy_in(s, "COPY t FROM STDIN (FORMAT binary)", HEADER + payload(0, 3000) + TRAILER) \
        == 3000
    assert run(s, "SELECT count(*) FROM t") == [(3000,)]
    run(s, "ROLLBACK")
    assert run(s, "SELECT count(*) FROM t") == [(0,)]
    assert seg_files(path) == before
    run(s, "BEGIN")
    copy_in(s, "COPY t FROM STDIN (FORMAT binary)", HEADER + payload(0, 3000) + TRAILER)
    copy_in(s, "COPY t FROM STDIN (FORMAT binary)", HEADER + payload(3000, 3000) + TRAILER)
    run(s, "COMMIT")
    check(s, 6000)
    s.close()
    db.close()
    db = Database.open(path)
    s = Session(db)
    check(s, 6000)
    s.close()
    db.close()


@pytest.mark.parametrize("fmt", ["csv", "text"])
def test_text_formats_take_the_bulk_path_too(tmp_path, small, fmt):
    path = str(tmp_path / "db")
    db = Database.open(path)
    s = Session(db)
    run(s, "CREATE TABLE t (id int8, x int4, emb float4[])")
    n = 3000
    sep = "," if fmt == "csv" else "\t"
    quote = '"' if fmt == "csv" else ""
    lines = [f"{i}{sep}{i % 7}{sep}{quote}{{{','.join(str((i + k) * 0.5) for k in range(DIM))}}}"
             f"{quote}\n" for i in range(n)]
    data = "".join(lines).encode()
    wal0 = wal_bytes(path)
    assert copy_in(s, f"COPY t FROM STDIN (FORMAT {fmt})", data, piece=7_000) == n
    assert seg_files(path) and wal_bytes(path) - wal0 < len(data) // 4
    check(s, n)
    s.close()
    db.store.abandon()
    db = Database.open(path)
    s = Session(db)
    check(s, n)
    s.close()
    db.close()


def test_bulk_copy_into_a_table_with_a_primary_key_and_a_vector_index(tmp_path, small):
    path = str(tmp_path / "db")
    db = Database.open(path)
    s = Session(db)
    run(s, "CREATE TABLE t (id int8 PRIMARY KEY, x int4, emb float4[])")
    run(s, "CREATE TABLE v (id int8 PRIMARY KEY, e vector(8))")
    run(s, "CREATE INDEX v_idx ON v USING hnsw (e vector_l2_ops)")
    assert copy_in(s, "COPY t FROM STDIN (FORMAT binary)", HEADER + payload(0, 3000) + TRAILER) \
        == 3000
    with pytest.raises(UniqueViolation):  # a key of the first (bulk-written) COPY again
        copy_in(s, "COPY t FROM STDIN (FORMAT binary)",
                HEADER + payload(3000, 3000) + payload(2999, 1) + TRAILER)
    check(s, 3000)
    lines = "".join(f"{i},\"[{','.join(str(i + k) for k in range(DIM))}]\"\n" for i in range(4000))
    assert copy_in(s, "COPY v FROM STDIN (FORMAT csv)", lines.encode()) == 4000
    near = "[" + ",".join(str(1234 + k + 0.1) for k in range(DIM)) + "]"
    assert run(s, f"SELECT id FROM v ORDER BY e <-> '{near}' LIMIT 3") == [(1234,), (1235,), (1233,)]
    s.close()
    db.store.abandon()
    db = Database.open(path)
    s = Session(db)
    check(s, 3000)
    assert run(s, f"SELECT id FROM v ORDER BY e <-> '{near}' LIMIT 1") == [(1234,)]
    assert run(s, "SELECT count(*) FROM v WHERE id = 3999") == [(1,)]
    s.close()
    db.close()
