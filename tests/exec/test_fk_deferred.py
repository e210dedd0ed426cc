"""DEFERRABLE foreign keys: checks held until COMMIT run as one probe per constraint, a
failing COMMIT rolls back (embedded and over the wire with psycopg).
Behaviour against PostgreSQL 15: sqllogic/tests/foreign_keys.slt."""

from __future__ import annotations

import pytest

import sqlvec
import sqlvec.dbapi as dbapi
from sqlvec.exec import foreign_keys


def test_deferred_check_is_one_probe_per_constraint_at_commit(monkeypatch):
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute("CREATE TABLE c (id int, p int REFERENCES p DEFERRABLE INITIALLY DEFERRED)")
    calls = {"present": 0}
    real = foreign_keys._present

    def present(*a, **k):
        calls["present"] += 1
        return real(*a, **k)

    monkeypatch.setattr(foreign_keys, "_present", present)
    cur.execute("BEGIN")
    for i in range(5):  # five statements, children first
        cur.execute(f"INSERT INTO c SELECT g, g FROM generate_series({i * 1000 + 1}, {i * 1000 + 1000}) g")
    cur.execute("INSERT INTO p SELECT g FROM generate_series(1, 5000) g")
    assert calls["present"] == 0  # nothing checked yet
    cur.execute("COMMIT")
    assert calls["present"] == 1  # at COMMIT: all the keys in p at once
    assert cur.execute("SELECT count(*) FROM c").fetchall() == [(5000,)]

    cur.execute("BEGIN")
    cur.execute("INSERT INTO c SELECT g, g + 4990 FROM generate_series(1, 100) g")
    with pytest.raises(dbapi.DatabaseError) as info:
        cur.execute("COMMIT")
    assert info.value.sqlstate == "23503"
    assert info.value.error.detail == 'Key (p)=(5001) is not present in table "p".'
    assert cur.execute("SELECT count(*) FROM c").fetchall() == [(5000,)]  # rolled back


def test_deferred_commit_fails_over_the_wire(server):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS dw_c")
        con.execute("DROP TABLE IF EXISTS dw_p")
        con.execute("CREATE TABLE dw_p (id int PRIMARY KEY)")
        con.execute("CREATE TABLE dw_c (p int REFERENCES dw_p DEFERRABLE INITIALLY DEFERRED)")
        with pytest.raises(psycopg.errors.ForeignKeyViolation):  # autocommit: the statement's own commit
            con.execute("INSERT INTO dw_c VALUES (1)")
    with psycopg.connect(server.dsn) as con:
        con.execute("INSERT INTO dw_c VALUES (1), (2)")
        con.execute("INSERT INTO dw_p VALUES (1)")
        with pytest.raises(psycopg.errors.ForeignKeyViolation) as info:
            con.commit()
        assert info.value.diag.constraint_name == "dw_c_p_fkey"
        assert con.execute("SELECT count(*) FROM dw_c").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM dw_p").fetchone() == (0,)
        con.execute("INSERT INTO dw_c VALUES (3)")
        con.execute("INSERT INTO dw_p VALUES (3)")
        con.commit()
        assert con.execute("SELECT * FROM dw_c").fetchall() == [(3,)]
