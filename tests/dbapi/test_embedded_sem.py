"""Embedded mode semantics issue 2 names, on the real engine: the context manager commits
or rolls back, a second opener of a directory (embedded or `sqlvec serve`) gets a clear
55006 error and the directory stays whole, SQLSTATEs map to the PEP 249 classes psycopg
uses (read-only 25006 -> InternalError), fetchmany/arraysize, description per statement."""

from __future__ import annotations

import subprocess
import sys

import pytest

import sqlvec


def test_context_manager_commits_or_rolls_back(tmp_path):
    path = str(tmp_path / "cm")
    with sqlvec.connect(path) as con:
        con.execute("CREATE TABLE t (id int PRIMARY KEY)")
        con.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ZeroDivisionError):
        with sqlvec.connect(path) as con:
            con.execute("INSERT INTO t VALUES (2)")
            raise ZeroDivisionError
    with pytest.raises(sqlvec.InterfaceError):  # and closed it
        con.cursor()
    with sqlvec.connect(path) as con:
        assert con.execute("SELECT id FROM t").fetchall() == [(1,)]


def test_second_opener_gets_a_clear_error_and_the_directory_stays_whole(tmp_path):
    path = str(tmp_path / "busy")
    first = sqlvec.connect(path)
    first.execute("CREATE TABLE t (id int)")
    first.execute("INSERT INTO t VALUES (1)")
    first.commit()
    with pytest.raises(sqlvec.OperationalError) as ei:
        sqlvec.connect(path)
    assert ei.value.sqlstate == "55006" and "is in use" in str(ei.value)
    r = subprocess.run([sys.executable, "-m", "sqlvec", "serve", "--port", "0", "--data", path],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "is in use" in r.stderr and "Traceback" not in r.stderr
    first.execute("INSERT INTO t VALUES (2)")
    first.commit()
    first.close()
    with sqlvec.connect(path) as con:
        assert con.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,)]


def test_sqlstates_map_to_pep249_classes_and_fetching(tmp_path):
    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)")
    cur.executemany("INSERT INTO t VALUES (%s, %s)", [(i, f"v{i}") for i in range(5)])
    con.commit()
    cases = [
        ("INSERT INTO t VALUES (1, 'dup')", sqlvec.IntegrityError, "23505"),
        ("SELECT * FROM nope", sqlvec.ProgrammingError, "42P01"),
        ("SELECT 1 / 0", sqlvec.DataError, "22012"),
        ("SELEC 1", sqlvec.ProgrammingError, "42601"),
    ]
    for sql, cls, code in cases:
        with pytest.raises(cls) as ei:
            cur.execute(sql)
        assert ei.value.sqlstate == code and isinstance(ei.value, sqlvec.DatabaseError)
        con.rollback()
    cur.execute("SET default_transaction_read_only = on")
    con.commit()  # (the SET is transactional: the next block is read-only)
    with pytest.raises(sqlvec.InternalError) as ei:  # class 25, as psycopg maps it
        cur.execute("DELETE FROM t")
    assert ei.value.sqlstate == "25006"
    con.rollback()
    cur.execute("RESET default_transaction_read_only")
    con.commit()
    cur.execute("SELECT id, v FROM t ORDER BY id")
    assert [d[0] for d in cur.description] == ["id", "v"]
    cur.arraysize = 2
    assert cur.fetchmany() == [(0, "v0"), (1, "v1")]
    assert cur.fetchmany(1) == [(2, "v2")]
    assert cur.fetchone() == (3, "v3")
    assert cur.fetchall() == [(4, "v4")]
    assert cur.fetchmany() == [] and cur.fetchone() is None
    cur.execute("UPDATE t SET v = 'x' WHERE id < 3")
    assert cur.description is None and cur.rowcount == 3
    con.close()


def test_executemany_in_autocommit_commits_row_by_row_and_in_a_block_not_at_all():
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int PRIMARY KEY)")
    with pytest.raises(sqlvec.IntegrityError):
        cur.executemany("INSERT INTO t VALUES (%s)", [(1,), (2,), (1,), (3,)])
    assert cur.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,)]  # as sqlite3
    con.autocommit = False
    with pytest.raises(sqlvec.IntegrityError):
        cur.executemany("INSERT INTO t VALUES (%s)", [(4,), (1,)])
    con.rollback()
    assert cur.execute("SELECT count(*) FROM t").fetchone() == (2,)
    con.close()
