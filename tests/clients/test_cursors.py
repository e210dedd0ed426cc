"""SQL cursors: DECLARE / FETCH / MOVE / CLOSE (WITH HOLD), embedded and through clients."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from sqlvec.core.errors import (
    InvalidCursorName,
    NoActiveSqlTransaction,
    ObjectNotInPrerequisiteState,
)
from sqlvec.session import Database, Session
from sqlvec.sql.cursor_stmt import CloseStmt, DeclareStmt, FetchStmt, parse_cursor


def _rows(res) -> list:
    return [r for b in getattr(res, "batches", []) for r in b.column(0).to_pylist()]


@pytest.fixture
def q():
    s = Session(Database.open(None))

    def run(sql: str):
        res = list(s.execute(sql))[-1]
        return _rows(res) if hasattr(res, "batches") else res.tag
    run("create table t (id int)")
    run("insert into t select generate_series(1, 10)")
    return run


def test_parse():
    assert parse_cursor("DECLARE c NO SCROLL CURSOR WITH HOLD FOR select 1") == \
        DeclareStmt("c", "select 1", True, False, False)
    assert parse_cursor("FETCH FORWARD 1000 FROM _psql_cursor") == FetchStmt("_psql_cursor", "relative", 1000)
    assert parse_cursor("fetch prior in \"C\"") == FetchStmt("C", "relative", -1)
    assert parse_cursor("MOVE ABSOLUTE 3 c") == FetchStmt("c", "absolute", 3, True)
    assert parse_cursor("fetch all c") == FetchStmt("c", "relative", None)
    assert parse_cursor("CLOSE ALL") == CloseStmt(None)


def test_fetch_move_close(q):
    with pytest.raises(NoActiveSqlTransaction):
        q("declare c cursor for select id from t order by id")
    q("begin")
    assert q("declare c cursor for select id from t order by id") == "DECLARE CURSOR"
    assert q("fetch 3 from c") == [1, 2, 3]
    assert q("fetch next c") == [4]
    assert q("move 2 c") == "MOVE 2"
    assert q("fetch backward 2 from c") == [5, 4]
    assert q("fetch absolute 9 from c") == [9]
    assert q("fetch all from c") == [10]
    assert q("fetch c") == []
    assert q("close c") == "CLOSE CURSOR"
    with pytest.raises(InvalidCursorName):
        q("fetch c")
    q("rollback")


def test_no_scroll_and_with_hold(q):
    q("begin")
    q("declare f no scroll cursor for select id from t order by id")
    q("fetch 2 from f")
    with pytest.raises(ObjectNotInPrerequisiteState):
        q("fetch prior from f")
    q("rollback")
    q("begin")
    q("declare h cursor with hold for select id * 10 from t order by id")
    q("declare g cursor for select id from t")
    q("commit")
    assert q("fetch 2 from h") == [10, 20]
    with pytest.raises(InvalidCursorName):
        q("fetch g")
    assert q("close all") == "CLOSE CURSOR ALL"


def test_psql_fetch_count(server):
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    r = subprocess.run(["psql", "-X", "-h", server.host, "-p", str(server.port), "-U", server.user,
                        "-d", server.database, "-v", "FETCH_COUNT=100", "-At", "-c",
                        "select g from generate_series(1, 250) g"],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PGCLIENTENCODING="UTF8"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(i) for i in range(1, 251)]


def test_psycopg2_named_cursor(server):
    psycopg2 = pytest.importorskip("psycopg2")
    con = psycopg2.connect(server.dsn)
    cur = con.cursor(name="named")
    cur.itersize = 100
    cur.execute("select g, g * 2 from generate_series(1, 1000) g")
    rows = list(cur)
    assert len(rows) == 1000 and rows[-1] == (1000, 2000)
    con.close()


def test_psycopg3_server_side_cursor(server):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(server.dsn) as con:
        cur = con.cursor(name="sc")
        cur.execute("select g from generate_series(1, 2500) g")
        assert cur.description[0].name == "g"
        assert len(cur.fetchmany(1000)) == 1000 and len(cur.fetchall()) == 1500
        cur.close()
        cur = con.cursor(name="sc2", scrollable=True)
        cur.execute("select g from generate_series(1, 10) g")
        cur.scroll(5, mode="absolute")
        assert cur.fetchone() == (6,)
