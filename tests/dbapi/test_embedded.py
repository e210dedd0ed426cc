"""sqlvec.connect() on the real engine: PEP 249 behaviour and persistence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest

import sqlvec
import sqlvec.dbapi as dbapi


def test_memory_roundtrip_types_and_description():
    with sqlvec.connect(":memory:") as con:
        cur = con.cursor()
        cur.execute("CREATE TABLE t (id integer PRIMARY KEY, name text, score float8, "
                    "amount numeric(8,2), born date, at timestamp)")
        rows = [(1, "a", 0.5, Decimal("1.50"), dt.date(2020, 1, 1), dt.datetime(2020, 1, 1, 2, 3)),
                (2, None, None, None, None, None)]
        cur.executemany("INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s)", rows)
        assert cur.rowcount == 2
        cur.execute("SELECT * FROM t ORDER BY id")
        assert [d[0] for d in cur.description] == ["id", "name", "score", "amount", "born", "at"]
        assert cur.description[0][1] == dbapi.NUMBER and cur.description[1][1] == dbapi.STRING
        assert cur.fetchall() == rows
        cur.execute("SELECT name FROM t WHERE id = %(id)s", {"id": 1})
        assert cur.fetchone() == ("a",)
        cur.execute("UPDATE t SET name = 'b' WHERE id > %s", (0,))
        assert cur.rowcount == 2


def test_errors_map_to_pep249_classes():
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE u (id integer PRIMARY KEY)")
    cur.execute("INSERT INTO u VALUES (1)")
    with pytest.raises(dbapi.IntegrityError) as info:
        cur.execute("INSERT INTO u VALUES (1)")
    assert info.value.sqlstate == "23505"
    with pytest.raises(dbapi.ProgrammingError) as info:
        cur.execute("SELECT * FROM nope")
    assert info.value.pgcode == "42P01"
    with pytest.raises(dbapi.DataError):
        cur.execute("SELECT 1 / 0")
    assert cur.execute("SELECT 7").fetchone() == (7,)
    con.close()


def test_transactions_commit_and_rollback():
    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    cur.execute("CREATE TABLE x (id integer)")
    con.commit()
    cur.execute("INSERT INTO x VALUES (1)")
    con.rollback()
    assert cur.execute("SELECT count(*) FROM x").fetchone() == (0,)
    cur.execute("INSERT INTO x VALUES (2)")
    con.commit()
    assert cur.execute("SELECT id FROM x").fetchall() == [(2,)]
    con.close()


def test_directory_persists_and_is_servable(tmp_path, server_factory):
    path = str(tmp_path / "emb")
    with sqlvec.connect(path) as con:
        con.execute("CREATE TABLE p (id integer, v text)")
        con.execute("INSERT INTO p VALUES (%s, %s)", (1, "kept"))
    with sqlvec.connect(path) as con:
        assert con.execute("SELECT v FROM p").fetchall() == [("kept",)]
    srv = server_factory(data=path)
    with psycopg.connect(srv.dsn, autocommit=True) as pc:
        assert pc.execute("SELECT v FROM p").fetchall() == [("kept",)]
        pc.execute("INSERT INTO p VALUES (2, 'served')")
    srv.stop()
    with sqlvec.connect(path) as con:
        assert con.execute("SELECT count(*) FROM p").fetchone() == (2,)
