"""pg_stat_progress_copy: one row per running COPY FROM, with PostgreSQL 15's columns."""

from __future__ import annotations

import struct

import pytest

from sqlvec.session import Database, Session
from sqlvec.wire.copy import BINARY_SIGNATURE, CopyIn, parse_copy
from tests.support.rows import run

COLUMNS = ["pid", "datid", "datname", "relid", "command", "type", "bytes_processed",
           "bytes_total", "tuples_processed", "tuples_excluded"]


@pytest.fixture
def db():
    d = Database.open(None)
    yield d
    d.close()


def start(s: Session, sql: str) -> CopyIn:
    cmd = parse_copy(sql)
    return CopyIn(s, cmd, s.prepare(f"SELECT * FROM {cmd.target}", [], "").columns)


def test_a_running_copy_is_listed_until_it_ends(db, monkeypatch):
    monkeypatch.setattr(CopyIn, "FLUSH_BYTES", 64)
    monkeypatch.setattr(CopyIn, "LOAD_BYTES", 64)
    a, b = Session(db), Session(db)
    run(a, 'CREATE SCHEMA s')
    run(a, 'CREATE TABLE s."Items" (id int4, name text)')
    (oid,) = run(b, """SELECT 's."Items"'::regclass::oid""")[0]
    names = [r[0] for r in run(b, "SELECT attname FROM pg_attribute WHERE attrelid = "
                                  "'pg_stat_progress_copy'::regclass AND attnum > 0 ORDER BY attnum")]
    assert names == COLUMNS
    assert run(b, "SELECT count(*) FROM pg_stat_progress_copy") == [(0,)]
    copy = start(a, 'COPY s."Items" FROM STDIN (FORMAT csv)')
    data = "".join(f"{i},n{i}\n" for i in range(100)).encode()
    copy.feed(data[:500])
    rows = run(b, "SELECT relid, command, type, bytes_processed, bytes_total, tuples_processed, "
                  "tuples_excluded, datname FROM pg_stat_progress_copy")
    assert len(rows) == 1
    relid, command, kind, done, total, tuples, excluded, datname = rows[0]
    assert (relid, command, kind, done, total, excluded) == (oid, "COPY FROM", "PIPE", 500, 0, 0)
    assert 0 < tuples < 100 and datname == "sqlvec"
    copy.feed(data[500:])
    assert copy.finish() == 100
    assert run(b, "SELECT count(*) FROM pg_stat_progress_copy") == [(0,)]


def test_a_failed_copy_leaves_the_view(db):
    a, b = Session(db), Session(db)
    run(a, "CREATE TABLE t (x int4 NOT NULL)")
    copy = start(a, "COPY t FROM STDIN (FORMAT binary)")
    copy.feed(BINARY_SIGNATURE + b"\x00" * 8)
    assert run(b, "SELECT type, bytes_processed FROM pg_stat_progress_copy") == [("PIPE", 19)]
    copy.feed(struct.pack("!hi", 1, -1) + b"\xff\xff")
    with pytest.raises(Exception, match="null value"):
        copy.finish()
    assert run(b, "SELECT count(*) FROM pg_stat_progress_copy") == [(0,)]
    copy = start(a, "COPY t FROM STDIN")
    copy.abort()
    assert run(b, "SELECT count(*) FROM pg_stat_progress_copy") == [(0,)]
