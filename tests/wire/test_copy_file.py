"""COPY table FROM 'server file': csv/text/binary through the COPY FROM STDIN loader, Parquet
by Arrow batches; progress NOTICEs; superuser only; one transaction (real engine)."""

from __future__ import annotations

import struct

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlvec.core import errors as E
from sqlvec.session import Database, Session
from sqlvec.wire import copy_file
from sqlvec.wire.copy import CopyIn, parse_copy
from sqlvec.wire.copy_file import copy_from_file


@pytest.fixture
def session():
    db = Database.open(None)
    s = Session(db)
    for sql in ("CREATE EXTENSION IF NOT EXISTS vector",
                "CREATE TABLE cf (id int8, emb vector(3), label text)"):
        for _ in s.execute(sql):
            pass
    yield s
    s.close()
    db.close()


def load(s, sql: str) -> int:
    cmd = parse_copy(sql)
    assert cmd is not None and cmd.direction == "file"
    cols = ", ".join(cmd.columns) if cmd.columns else "*"
    stmt = s.prepare(f"SELECT {cols} FROM {cmd.target}", [], "")
    s.close_statement("")
    return copy_from_file(s, cmd, stmt.columns)


def rows(s):
    res = next(s.execute("SELECT id, emb::text, label FROM cf ORDER BY id"))
    return [tuple(r.values()) for b in res.batches for r in b.to_pylist()]


def test_parse_file_copy():
    cmd = parse_copy("COPY cf (id, emb) FROM '/x/it''s.csv' WITH (FORMAT csv, HEADER)")
    assert (cmd.direction, cmd.path, cmd.format, cmd.header) == ("file", "/x/it's.csv", "csv", True)
    assert parse_copy("copy cf from '/d/a.PARQUET'").format == "parquet"
    with pytest.raises(E.SyntaxError_):
        parse_copy("COPY cf FROM STDIN (FORMAT parquet)")


def test_csv_file_in_blocks_with_progress_notices(session, tmp_path, monkeypatch):
    monkeypatch.setattr(CopyIn, "FLUSH_BYTES", 64)
    monkeypatch.setattr(copy_file, "BLOCK", 50)
    monkeypatch.setattr(copy_file, "PROGRESS_BYTES", 100)
    lines = ["id,emb,label"] + [f'{i},"[{i},0,1]",l{i}' for i in range(1, 41)]
    path = tmp_path / "in.csv"
    path.write_text("\n".join(lines) + "\n41,\"[0,0,0]\",\n")
    assert load(session, f"COPY cf FROM '{path}' WITH (FORMAT csv, HEADER)") == 41
    got = rows(session)
    assert got[0] == (1, "[1,0,1]", "l1") and got[-1] == (41, "[0,0,0]", None)
    notes = [n.message for n in session.notices()]
    assert len(notes) >= 3, notes
    assert notes[-1].startswith(f"COPY cf done: 41 rows, {path.stat().st_size} of ")
    assert "progress" in notes[0] and session.txn_status == "I"


def test_text_and_binary_files(session, tmp_path):
    (tmp_path / "t.txt").write_text("1\t[1,2,3]\ta\n2\t\\N\t\\N\n")
    assert load(session, f"COPY cf FROM '{tmp_path / 't.txt'}'") == 2
    body = b"PGCOPY\n\xff\r\n\x00" + b"\0" * 8
    body += struct.pack("!hiq", 2, 8, 7) + struct.pack("!i", 2) + b"zz" + b"\xff\xff"
    (tmp_path / "t.bin").write_bytes(body)
    assert load(session, f"COPY cf (id, label) FROM '{tmp_path / 't.bin'}' (FORMAT binary)") == 1
    assert rows(session) == [(1, "[1,2,3]", "a"), (2, None, None), (7, None, "zz")]


def test_parquet_file_columns_by_name_and_cast(session, tmp_path, monkeypatch):
    monkeypatch.setattr(copy_file, "PARQUET_BATCH_ROWS", 2)
    t = pa.table({
        "label": ["a", None, "c"],
        "extra": [1, 2, 3],
        "emb": pa.array([[1.0, 2.0, 3.0], None, [0.5, 0.25, 0]], pa.list_(pa.float64())),
        "id": pa.array([1, 2, 3], pa.int32()),
    })
    pq.write_table(t, tmp_path / "v.parquet")
    assert load(session, f"COPY cf FROM '{tmp_path / 'v.parquet'}'") == 3
    assert rows(session) == [(1, "[1,2,3]", "a"), (2, None, None), (3, "[0.5,0.25,0]", "c")]
    assert session.notices()[-1].message.startswith("COPY cf done: 3 rows")


def test_parquet_errors_roll_back(session, tmp_path):
    pq.write_table(pa.table({"id": [1], "emb": [[1.0, 2.0]], "label": ["x"]}),
                   tmp_path / "dim.parquet")
    with pytest.raises(E.DataException, match="expected 3 dimensions"):
        load(session, f"COPY cf FROM '{tmp_path / 'dim.parquet'}'")
    pq.write_table(pa.table({"id": [1]}), tmp_path / "cols.parquet")
    with pytest.raises(E.UndefinedColumn, match='column "emb" is not in Parquet file'):
        load(session, f"COPY cf FROM '{tmp_path / 'cols.parquet'}'")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(E.BadCopyFileFormat):
        load(session, f"COPY cf FROM '{tmp_path / 'bad.parquet'}'")
    assert rows(session) == [] and session.txn_status == "I"


def test_bad_row_late_in_the_file_loads_nothing(session, tmp_path, monkeypatch):
    monkeypatch.setattr(CopyIn, "FLUSH_BYTES", 32)
    monkeypatch.setattr(copy_file, "BLOCK", 32)
    data = "".join(f"{i}\t[1,1,1]\tx\n" for i in range(50)) + "51\t[1,1]\tx\n"
    (tmp_path / "late.txt").write_text(data)
    with pytest.raises(E.DataException):
        load(session, f"COPY cf FROM '{tmp_path / 'late.txt'}'")
    assert rows(session) == [] and session.txn_status == "I"


def test_missing_file_and_privilege(session, tmp_path):
    with pytest.raises(E.IoError, match='could not open file ".*nope.csv" for reading'):
        load(session, f"COPY cf FROM '{tmp_path / 'nope.csv'}' (FORMAT csv)")
    for _ in session.execute("CREATE ROLE bob LOGIN"):
        pass
    bob = Session(session.db, user="bob")
    (tmp_path / "ok.csv").write_text("1,,\n")
    with pytest.raises(E.InsufficientPrivilege, match="must be superuser to COPY from a file"):
        load(bob, f"COPY cf FROM '{tmp_path / 'ok.csv'}' (FORMAT csv)")
