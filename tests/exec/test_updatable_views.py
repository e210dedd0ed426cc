"""Writes through a simple view keep its WITH CHECK OPTION after a reopen; a prepared
INSERT through a view is checked on every execution. Behaviour against PostgreSQL 15:
sqllogic/tests/updatable_views.slt."""

from __future__ import annotations

import pytest

import sqlvec
import sqlvec.dbapi as dbapi


def test_check_option_survives_reopen_and_prepared_inserts(tmp_path):
    path = str(tmp_path / "db")
    con = sqlvec.connect(path)
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, qty int)")
    cur.execute("CREATE VIEW small AS SELECT id, qty FROM t WHERE qty < 10 WITH LOCAL CHECK OPTION")
    con.close()

    con = sqlvec.connect(path)
    con.autocommit = True
    cur = con.cursor()
    cur.executemany("INSERT INTO small VALUES (%s, %s)", [(1, 1), (2, 2), (3, 3)])
    cur.execute("INSERT INTO small VALUES (%s, %s)", (4, 4))
    with pytest.raises(dbapi.DatabaseError) as info:
        cur.execute("INSERT INTO small VALUES (%s, %s)", (5, 50))
    assert info.value.sqlstate == "44000"
    assert cur.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,), (3,), (4,)]
    cur.execute("UPDATE small SET qty = qty + 1 WHERE id = 1")
    cur.execute("DELETE FROM small WHERE id = 2")
    assert cur.execute("SELECT id, qty FROM small ORDER BY id").fetchall() == [(1, 2), (3, 3), (4, 4)]
    con.close()
