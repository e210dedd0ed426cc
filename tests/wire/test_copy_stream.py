"""COPY FROM STDIN loads in pieces as data streams in (real engine, no sockets)."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import BadCopyFileFormat
from sqlvec.session import Database, Session
from sqlvec.wire.copy import CopyIn, parse_copy


@pytest.fixture
def session():
    db = Database.open(None)
    s = Session(db)
    for _ in s.execute("CREATE TABLE cs (id integer, v text)"):
        pass
    yield s
    s.close()
    db.close()


def columns(s):
    stmt = s.prepare("SELECT * FROM cs", [], "")
    return stmt.columns


def rows(s):
    res = next(s.execute("SELECT id, v FROM cs ORDER BY id"))
    return [tuple(r.values()) for b in res.batches for r in b.to_pylist()]


def test_streams_in_pieces_with_header_once_and_quoted_newlines(session, monkeypatch):
    monkeypatch.setattr(CopyIn, "FLUSH_BYTES", 16)
    cmd = parse_copy("COPY cs FROM STDIN WITH (FORMAT csv, HEADER)")
    copy = CopyIn(session, cmd, columns(session))
    data = b'id,v\n1,a\n2,"multi\nline"\n3,c\n4,"x,y"\n5,\n'
    for i in range(0, len(data), 7):
        copy.feed(data[i:i + 7])
    assert copy.finish() == 5
    assert rows(session) == [(1, "a"), (2, "multi\nline"), (3, "c"), (4, "x,y"), (5, None)]
    assert session.txn_status == "I"


def test_error_in_an_early_piece_rolls_back_everything(session, monkeypatch):
    monkeypatch.setattr(CopyIn, "FLUSH_BYTES", 8)
    copy = CopyIn(session, parse_copy("COPY cs FROM STDIN"), columns(session))
    for line in (b"1\ta\n", b"2\tb\tc\n", b"3\tc\n"):
        copy.feed(line)
    with pytest.raises(BadCopyFileFormat):
        copy.finish()
    assert rows(session) == [] and session.txn_status == "I"
