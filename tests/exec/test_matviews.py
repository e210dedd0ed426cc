"""Materialized views keep their rows (and their unpopulated state) across a reopen of the
data directory; behaviour against PostgreSQL 15: sqllogic/tests/matviews.slt."""

from __future__ import annotations

import pytest

import sqlvec
import sqlvec.dbapi as dbapi


def _con(path):
    con = sqlvec.connect(path)
    con.autocommit = True
    return con


def test_matview_rows_survive_reopen(tmp_path):
    path = str(tmp_path / "db")
    con = _con(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int, v int)")
    cur.execute("INSERT INTO t SELECT g, g % 3 FROM generate_series(1, 30) g")
    cur.execute("CREATE MATERIALIZED VIEW mv AS SELECT v, count(*) AS n FROM t GROUP BY v")
    cur.execute("CREATE MATERIALIZED VIEW empty_mv AS SELECT id FROM t WITH NO DATA")
    cur.execute("CREATE UNIQUE INDEX ON mv (v)")
    cur.execute("INSERT INTO t VALUES (100, 0)")  # not in mv until REFRESH
    con.close()

    con = _con(path)
    cur = con.cursor()
    assert cur.execute("SELECT v, n FROM mv ORDER BY v").fetchall() == [(0, 10), (1, 10), (2, 10)]
    with pytest.raises(dbapi.DatabaseError) as info:
        cur.execute("SELECT * FROM empty_mv")
    assert info.value.sqlstate == "55000"
    cur.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY mv")
    cur.execute("REFRESH MATERIALIZED VIEW empty_mv")
    con.close()

    con = _con(path)
    cur = con.cursor()
    assert cur.execute("SELECT v, n FROM mv ORDER BY v").fetchall() == [(0, 11), (1, 10), (2, 10)]
    assert cur.execute("SELECT count(*) FROM empty_mv").fetchall() == [(31,)]
    assert cur.execute("SELECT relname, relkind FROM pg_class WHERE relkind = 'm' ORDER BY 1").fetchall() == \
        [("empty_mv", "m"), ("mv", "m")]
    con.close()


def test_refresh_in_a_rolled_back_transaction_keeps_the_old_rows():
    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int)")
    cur.execute("INSERT INTO t VALUES (1), (2)")
    cur.execute("CREATE MATERIALIZED VIEW mv AS SELECT id FROM t")
    con.commit()
    cur.execute("INSERT INTO t VALUES (3)")
    cur.execute("REFRESH MATERIALIZED VIEW mv")
    assert cur.execute("SELECT count(*) FROM mv").fetchall() == [(3,)]
    con.rollback()
    assert cur.execute("SELECT count(*) FROM mv").fetchall() == [(2,)]
