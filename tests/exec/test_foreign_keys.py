"""FOREIGN KEY enforcement: survives a reopen of the data directory, runs one probe per
statement (not per row), keeps a failing statement from changing anything.
Behaviour against PostgreSQL 15: sqllogic/tests/foreign_keys.slt."""

from __future__ import annotations

import pytest

import sqlvec
import sqlvec.dbapi as dbapi
from sqlvec.exec import foreign_keys, rowfetch


def _con(path=":memory:"):
    con = sqlvec.connect(path)
    con.autocommit = True
    return con


def _fails(cur, sql, state):
    with pytest.raises(dbapi.DatabaseError) as info:
        cur.execute(sql)
    assert info.value.sqlstate == state, info.value
    return info.value


def test_foreign_keys_survive_reopen(tmp_path):
    path = str(tmp_path / "db")
    con = _con(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute("CREATE TABLE c (id int, p int REFERENCES p ON DELETE CASCADE)")
    cur.execute("CREATE TABLE r (id int, p int)")
    cur.execute("INSERT INTO p SELECT g FROM generate_series(1, 5) g")
    cur.execute("INSERT INTO c VALUES (1, 1), (2, 2), (3, 2)")
    cur.execute("INSERT INTO r VALUES (1, 3)")
    cur.execute("ALTER TABLE r ADD CONSTRAINT r_p FOREIGN KEY (p) REFERENCES p (id)")
    con.close()

    con = _con(path)
    cur = con.cursor()
    err = _fails(cur, "INSERT INTO c VALUES (4, 9)", "23503")
    assert 'violates foreign key constraint "c_p_fkey"' in str(err)
    _fails(cur, "DELETE FROM p WHERE id = 3", "23503")  # r_p: NO ACTION
    _fails(cur, "DROP TABLE p", "2BP01")
    cur.execute("DELETE FROM p WHERE id = 2")  # c: CASCADE
    assert cur.execute("SELECT id, p FROM c ORDER BY id").fetchall() == [(1, 1)]
    assert cur.execute("SELECT conname, confrelid::regclass::text, confdeltype FROM pg_constraint "
                       "WHERE contype = 'f' ORDER BY 1").fetchall() == [("c_p_fkey", "p", "c"), ("r_p", "p", "a")]
    con.close()


def test_failed_statement_changes_nothing():
    cur = _con().cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute("CREATE TABLE c (id int, p int REFERENCES p ON DELETE CASCADE)")
    cur.execute("CREATE TABLE g (id int, c int)")
    cur.execute("INSERT INTO p VALUES (1), (2)")
    cur.execute("INSERT INTO c VALUES (1, 1), (2, 2)")
    _fails(cur, "INSERT INTO c VALUES (3, 1), (4, 7)", "23503")
    assert cur.execute("SELECT count(*) FROM c").fetchall() == [(2,)]
    # the cascade reaches a table whose NO ACTION key then fails: nothing is deleted anywhere
    cur.execute("CREATE TABLE cc (id int PRIMARY KEY, p int REFERENCES p ON DELETE CASCADE)")
    cur.execute("CREATE TABLE gc (x int REFERENCES cc)")
    cur.execute("INSERT INTO cc VALUES (1, 1)")
    cur.execute("INSERT INTO gc VALUES (1)")
    _fails(cur, "DELETE FROM p WHERE id = 1", "23503")
    assert cur.execute("SELECT count(*) FROM p").fetchall() == [(2,)]
    assert cur.execute("SELECT count(*) FROM c").fetchall() == [(2,)]
    assert cur.execute("SELECT count(*) FROM cc").fetchall() == [(1,)]


def test_one_probe_per_statement(monkeypatch):
    """A 5,000-row INSERT into the child probes the parent once; a 5,000-row DELETE from the
    parent scans the child once (no per-row work)."""
    cur = _con().cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY, a int, b int, UNIQUE (a, b))")
    cur.execute("CREATE TABLE c (id int, p int REFERENCES p, a int, b int, FOREIGN KEY (a, b) REFERENCES p (a, b))")
    cur.execute("INSERT INTO p SELECT g, g, g % 7 FROM generate_series(1, 6000) g")
    calls = {"present": 0, "candidates": 0}
    real_present, real_candidates = foreign_keys._present, foreign_keys.candidate_rows

    def present(*a, **k):
        calls["present"] += 1
        return real_present(*a, **k)

    def candidates(*a, **k):
        calls["candidates"] += 1
        return real_candidates(*a, **k)

    monkeypatch.setattr(foreign_keys, "_present", present)
    monkeypatch.setattr(foreign_keys, "candidate_rows", candidates)
    cur.execute("INSERT INTO c SELECT g, g, g, g % 7 FROM generate_series(1, 5000) g")
    assert calls["present"] == 2  # one per foreign key
    _fails(cur, "INSERT INTO c SELECT g, g + 5990, g, g % 7 FROM generate_series(1, 5000) g", "23503")
    cur.execute("DELETE FROM c WHERE id > 10")
    calls.update(present=0, candidates=0)
    cur.execute("DELETE FROM p WHERE id > 10")
    assert calls["candidates"] <= 4  # NO ACTION: per key, one probe of p and one scan of c
    assert cur.execute("SELECT count(*) FROM p").fetchall() == [(10,)]
    assert rowfetch.candidate_rows is real_candidates


def test_renamed_and_moved_tables_keep_their_keys(tmp_path):
    """Parents find their children by OID (catalog oid/<oid> keys): renames of either side,
    a reopen, and dropping the child keep that right."""
    path = str(tmp_path / "db")
    con = _con(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute("CREATE TABLE c (id int, p int REFERENCES p ON DELETE CASCADE)")
    cur.execute("INSERT INTO p VALUES (1), (2)")
    cur.execute("INSERT INTO c VALUES (10, 1), (20, 2)")
    cur.execute("ALTER TABLE c RENAME TO kid")
    cur.execute("ALTER TABLE p RENAME TO parent")
    con.close()
    con = _con(path)
    cur = con.cursor()
    cur.execute("DELETE FROM parent WHERE id = 1")
    assert cur.execute("SELECT id FROM kid").fetchall() == [(20,)]
    _fails(cur, "INSERT INTO kid VALUES (30, 1)", "23503")
    assert cur.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'f'").fetchall() == \
        [("FOREIGN KEY (p) REFERENCES parent(id) ON DELETE CASCADE",)]
    cur.execute("DROP TABLE kid")
    cur.execute("DELETE FROM parent")
    cur.execute("DROP TABLE parent")  # nothing references it any more
    con.close()
