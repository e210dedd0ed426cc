"""Streamed results in the session: lazy batches, snapshot lifetime, cursors, timeouts, errors."""

from __future__ import annotations

import time

import pytest

from sqlvec.core.errors import (
    DivisionByZero,
    InFailedSqlTransaction,
    ObjectNotInPrerequisiteState,
    QueryCanceled,
)
from sqlvec.exec.stream import ResultStream
from sqlvec.session.database import Database
from sqlvec.session.session import Session

N = 300_000


@pytest.fixture
def s() -> Session:
    s = Session(Database.open(None))
    list(s.execute("CREATE TABLE t (id int)"))
    list(s.execute(f"INSERT INTO t SELECT g FROM generate_series(1, {N}) g"))
    return s


def q(s: Session, sql: str):
    r = list(s.execute(sql))[-1]
    b = getattr(r, "batches", None)
    if b is None:
        return r.tag
    return [x for batch in b for x in batch.column(0).to_pylist()]


def test_a_scan_streams_and_commits_when_read(s: Session) -> None:
    (res,) = list(s.execute("SELECT id + 1 FROM t WHERE id % 2 = 0"))
    assert isinstance(res.batches, ResultStream)
    first = next(res.batches)
    assert first.num_rows <= 65536  # one scanned batch at a time
    rest = sum(b.num_rows for b in res.batches)
    assert first.num_rows + rest == N // 2
    assert s.txn_status == "I"
    assert not isinstance(list(s.execute("SELECT count(*) FROM t"))[0].batches, ResultStream)


def test_an_error_midway_rolls_back_or_aborts_the_block(s: Session) -> None:
    (res,) = list(s.execute("SELECT 10 / (id - 200000) FROM t"))  # past the first batch
    with pytest.raises(DivisionByZero):
        list(res.batches)
    assert s.txn_status == "I" and q(s, "SELECT count(*) FROM t") == [N]
    q(s, "BEGIN")
    (res,) = list(s.execute("SELECT 10 / (id - 200000) FROM t"))
    with pytest.raises(DivisionByZero):
        list(res.batches)
    assert s.txn_status == "E"
    with pytest.raises(InFailedSqlTransaction):
        q(s, "SELECT 1")
    q(s, "ROLLBACK")
    assert s.txn_status == "I"


def test_a_cursor_fetches_forward_from_the_stream(s: Session) -> None:
    q(s, "BEGIN")
    q(s, "DECLARE c CURSOR FOR SELECT id FROM t")
    assert q(s, "FETCH 3 FROM c") == [1, 2, 3]
    assert q(s, "MOVE 100000 c") == "MOVE 100000"
    assert q(s, "FETCH 2 c") == [100004, 100005]
    assert q(s, "FETCH ABSOLUTE 250000 c") == [250000]
    cur = s.portals["c"].cursor
    assert cur.base >= 249_999 and cur.table.num_rows <= 65536  # passed rows are dropped
    assert len(q(s, "FETCH ALL c")) == N - 250000 and q(s, "FETCH c") == []
    with pytest.raises(ObjectNotInPrerequisiteState):
        q(s, "FETCH BACKWARD 1 c")
    q(s, "ROLLBACK")
    q(s, "BEGIN")
    q(s, "DECLARE d SCROLL CURSOR FOR SELECT id FROM t")  # SCROLL: computed at DECLARE
    assert q(s, "FETCH 2 d") == [1, 2] and q(s, "FETCH PRIOR d") == [1]
    q(s, "COMMIT")


def test_a_portal_pulls_only_what_it_sends(s: Session) -> None:
    ps = s.prepare("SELECT id FROM t", [], "")
    portal = s.bind(ps, [], [], "")
    res, more = s.execute_portal(portal, 1000)
    assert more and [x for b in res.batches for x in b.column(0).to_pylist()] == list(range(1, 1001))
    assert sum(b.num_rows for b in portal.pending) <= 65536 and portal.source is not None
    res, more = s.execute_portal(portal, 0)
    assert not more and sum(b.num_rows for b in res.batches) == N - 1000
    s.sync()
    assert s.txn_status == "I"


def test_statement_timeout_covers_computing_the_rows(s: Session) -> None:
    q(s, "SET statement_timeout = 200")
    (res,) = list(s.execute("SELECT id * 2 FROM t"))
    with pytest.raises(QueryCanceled, match="statement timeout"):
        for _ in res.batches:
            time.sleep(0.1)
    assert q(s, "SELECT count(*) FROM t") == [N]


def test_several_statements_in_one_query_read_their_rows_in_the_block(s: Session) -> None:
    results = list(s.execute("SELECT id FROM t WHERE id < 3; SELECT id FROM t WHERE id > 299998"))
    assert [x for b in results[0].batches for x in b.column(0).to_pylist()] == [1, 2]
    assert [x for b in results[1].batches for x in b.column(0).to_pylist()] == [299999, 300000]
    assert s.txn_status == "I"


def test_an_inner_join_streams_its_probe_side(s: Session) -> None:
    q(s, "CREATE TABLE d (k int, name text)")
    q(s, "INSERT INTO d SELECT g, 'n' || g FROM generate_series(0, 9) g")
    (res,) = list(s.execute("SELECT t.id, d.name FROM t JOIN d ON t.id % 10 = d.k WHERE t.id > 5"))
    assert isinstance(res.batches, ResultStream)
    first = next(res.batches)
    assert first.num_rows <= 65536
    assert first.column(0)[:3].to_pylist() == [6, 7, 8] and first.column(1)[:3].to_pylist() == ["n6", "n7", "n8"]
    assert first.num_rows + sum(b.num_rows for b in res.batches) == N - 5
    assert q(s, "SELECT count(*) FROM t JOIN d ON t.id % 10 = d.k AND d.name <> 'n3'") == [N - N // 10]
