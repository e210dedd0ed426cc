"""The embedded connection's prepared-statement cache: reused by SQL text, refreshed by DDL."""

from __future__ import annotations

import pytest

import sqlvec
import sqlvec.dbapi as dbapi
from sqlvec.dbapi.stmt_cache import StatementCache


def _con(**kw) -> dbapi.Connection:
    con = sqlvec.connect(":memory:", **kw)
    con.autocommit = True
    con.execute("CREATE TABLE t (id integer PRIMARY KEY, v integer)")
    con.execute("INSERT INTO t SELECT g, g * 10 FROM generate_series(1, 50) g")
    return con


def test_repeated_execute_reuses_the_prepared_statement(monkeypatch):
    con = _con()
    session = con._session
    calls = []
    real = session.prepare
    monkeypatch.setattr(session, "prepare", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    cur = con.cursor()
    for i in (3, 7, 3, 50):
        assert cur.execute("SELECT v FROM t WHERE id = %s", (i,)).fetchall() == [(i * 10,)]
    assert calls == ["SELECT v FROM t WHERE id = $1"]  # parsed and bound once
    assert con._stmts.hits == 3 and con._stmts.misses == 1
    cur.execute("SELECT v FROM t WHERE id = %(id)s", {"id": 4})  # the same $1 text: a hit
    assert cur.fetchall() == [(40,)] and len(calls) == 1
    con.close()


def test_ddl_between_executions_is_seen():
    con = _con()
    cur = con.cursor()
    cur.execute("SELECT * FROM t WHERE id = %s", (1,))
    assert [d[0] for d in cur.description] == ["id", "v"] and cur.fetchall() == [(1, 10)]
    cur.execute("ALTER TABLE t ADD COLUMN w text DEFAULT 'x'")
    misses = con._stmts.misses
    cur.execute("SELECT * FROM t WHERE id = %s", (1,))
    assert con._stmts.misses == misses + 1  # prepared again after the DDL
    assert [d[0] for d in cur.description] == ["id", "v", "w"]
    assert cur.fetchall() == [(1, 10, "x")]
    cur.execute("DROP TABLE t")
    with pytest.raises(dbapi.ProgrammingError):
        cur.execute("SELECT * FROM t WHERE id = %s", (1,))
    con.close()


def test_ddl_inside_a_transaction_and_rolled_back_is_seen():
    con = _con()
    con.autocommit = False
    cur = con.cursor()
    q = "SELECT * FROM t WHERE id = %s"
    cur.execute(q, (2,))
    assert len(cur.description) == 2
    cur.execute("ALTER TABLE t ADD COLUMN w integer")
    cur.execute(q, (2,))
    assert cur.fetchall() == [(2, 20, None)]
    con.rollback()
    cur.execute(q, (2,))
    assert cur.fetchall() == [(2, 20)]
    con.close()


def test_ddl_from_another_connection_is_seen(tmp_path):
    a = sqlvec.connect(str(tmp_path / "db"))
    a.autocommit = True
    a.execute("CREATE TABLE t (id integer, v integer)")
    a.execute("INSERT INTO t VALUES (1, 2)")
    b = dbapi.Connection(a._db, type(a._session)(a._db), owns_database=False)
    b.autocommit = True
    q = "SELECT * FROM t WHERE id = %s"
    assert b.execute(q, (1,)).fetchall() == [(1, 2)]
    a.execute("ALTER TABLE t ADD COLUMN w integer DEFAULT 5")
    assert b.execute(q, (1,)).fetchall() == [(1, 2, 5)]
    b.close()
    a.close()


def test_search_path_change_re_prepares():
    con = _con()
    cur = con.cursor()
    cur.execute("CREATE SCHEMA s")
    cur.execute("CREATE TABLE s.t (id integer, name text)")
    cur.execute("INSERT INTO s.t VALUES (1, 'in s')")
    q = "SELECT * FROM t WHERE id = %s"
    assert cur.execute(q, (1,)).fetchall() == [(1, 10)]
    cur.execute("SET search_path = s, public")
    assert cur.execute(q, (1,)).fetchall() == [(1, "in s")]
    con.close()


def test_cache_is_bounded_and_can_be_turned_off():
    con = _con(statement_cache_size=2)
    cur = con.cursor()
    for col in ("id", "v", "id + 1"):
        cur.execute(f"SELECT {col} FROM t WHERE id = %s", (1,))
    assert len(con._stmts) == 2
    con.close()
    off = _con(statement_cache_size=0)
    for _ in range(2):
        assert off.execute("SELECT v FROM t WHERE id = %s", (5,)).fetchall() == [(50,)]
    assert len(off._stmts) == 0 and off._stmts.hits == 0
    off.close()


def test_failed_transaction_still_reports_25p02():
    con = _con()
    con.autocommit = False
    cur = con.cursor()
    q = "SELECT v FROM t WHERE id = %s"
    cur.execute(q, (1,))
    with pytest.raises(dbapi.ProgrammingError):
        cur.execute("SELECT nope FROM t")
    with pytest.raises(dbapi.InternalError, match="current transaction is aborted"):
        cur.execute(q, (1,))
    con.rollback()
    assert cur.execute(q, (1,)).fetchall() == [(10,)]
    con.close()


def test_lru_evicts_the_least_recently_used():
    con = _con(statement_cache_size=2)
    cur = con.cursor()
    a, b, c = (f"SELECT {col} FROM t WHERE id = %s" for col in ("id", "v", "id + 1"))
    for q in (a, b, a, c):  # a was used after b, so b goes when c arrives
        cur.execute(q, (1,))
    assert isinstance(con._stmts, StatementCache)
    misses = con._stmts.misses
    cur.execute(a, (1,))
    assert con._stmts.misses == misses
    cur.execute(b, (1,))
    assert con._stmts.misses == misses + 1
    con.close()


def test_parameter_types_follow_a_recreated_table():
    con = _con()
    cur = con.cursor()
    q = "SELECT id FROM t WHERE v = %s"
    assert cur.execute(q, (20,)).fetchall() == [(2,)]
    cur.execute("DROP TABLE t")
    cur.execute("CREATE TABLE t (id integer, v text)")
    cur.execute("INSERT INTO t VALUES (7, 'abc')")
    assert cur.execute(q, ("abc",)).fetchall() == [(7,)]
    con.close()


def test_placeholder_cache_repeats_and_still_checks_counts_and_names():
    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    for i in range(3):  # the second and third executes take the remembered conversion
        assert cur.execute("select %s::int + %s::int, '%%'", (i, 1)).fetchone() == (i + 1, "%")
        assert cur.execute("select %(a)s::int * %(b)s::int + %(a)s::int", {"a": i, "b": 2}).fetchone() == (3 * i,)
    with pytest.raises(dbapi.ProgrammingError):
        cur.execute("select %s::int + %s::int, '%%'", (1,))
    with pytest.raises(dbapi.ProgrammingError):
        cur.execute("select %s::int + %s::int, '%%'", (1, 2, 3))
    with pytest.raises(dbapi.ProgrammingError):
        cur.execute("select %(a)s::int * %(b)s::int + %(a)s::int", {"a": 1})
    con.rollback()
    assert cur.execute("select %(a)s::int * %(b)s::int + %(a)s::int", {"b": 3, "a": 1, "c": 0}).fetchone() == (4,)
    con.close()
