"""Unique indexes on expressions / partial / NULLS NOT DISTINCT and foreign keys hold for
COPY over the wire, and survive a reopen of the data directory. Behaviour against
PostgreSQL 15: sqllogic/tests/unique_indexes.slt and foreign_keys.slt."""

from __future__ import annotations

import pytest

import sqlvec
import sqlvec.dbapi as dbapi
from sqllogic.servers import sqlvec_server
from tests.support.engine import ENGINE_MISSING, engine_available


def _con(path):
    con = sqlvec.connect(path)
    con.autocommit = True
    return con


def _fails(cur, sql, state):
    with pytest.raises(dbapi.DatabaseError) as info:
        cur.execute(sql)
    assert info.value.sqlstate == state, info.value
    return info.value


def test_unique_indexes_survive_reopen(tmp_path):
    path = str(tmp_path / "db")
    con = _con(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE u (id int, email text, deleted_at int, b int)")
    cur.execute("INSERT INTO u VALUES (1, 'Ann@x', NULL, NULL), (2, 'ann@x', 1, 2)")
    cur.execute("CREATE UNIQUE INDEX u_email_live ON u (lower(email)) WHERE deleted_at IS NULL")
    cur.execute("CREATE UNIQUE INDEX u_b ON u (b) NULLS NOT DISTINCT")
    con.close()

    con = _con(path)
    cur = con.cursor()
    err = _fails(cur, "INSERT INTO u VALUES (3, 'ANN@X', NULL, 3)", "23505")
    assert 'unique constraint "u_email_live"' in str(err)
    _fails(cur, "INSERT INTO u VALUES (3, 'zed', NULL, NULL)", "23505")  # NULLS NOT DISTINCT
    cur.execute("INSERT INTO u VALUES (3, 'ANN@X', 7, 3)")  # outside the partial index
    cur.execute("INSERT INTO u VALUES (4, 'ann@x', NULL, 4) ON CONFLICT (lower(email)) "
                "WHERE deleted_at IS NULL DO UPDATE SET b = 40")
    assert cur.execute("SELECT id, b FROM u ORDER BY id").fetchall() == [(1, 40), (2, 2), (3, 3)]
    con.close()


@pytest.fixture(scope="module")
def dsn():
    if not engine_available():
        pytest.skip(ENGINE_MISSING)
    with sqlvec_server() as d:
        yield d


def test_copy_checks_expression_unique_indexes_and_foreign_keys(dsn):
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(dsn, autocommit=True) as con:
        for t in ("cu_child", "cu_parent", "cu_user"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        con.execute("CREATE TABLE cu_user (id int, email text)")
        con.execute("CREATE UNIQUE INDEX ON cu_user (lower(email))")
        con.execute("CREATE TABLE cu_parent (id int PRIMARY KEY)")
        con.execute("CREATE TABLE cu_child (id int, p int REFERENCES cu_parent)")
        con.execute("INSERT INTO cu_parent SELECT g FROM generate_series(1, 100) g")
        with con.cursor().copy("COPY cu_user FROM STDIN") as c:
            c.write("1\ta@x\n2\tb@x\n")
        with pytest.raises(psycopg.errors.UniqueViolation):
            with con.cursor().copy("COPY cu_user FROM STDIN") as c:
                c.write("3\tc@x\n4\tA@X\n")
        with con.cursor().copy("COPY cu_child FROM STDIN") as c:
            c.write("".join(f"{i}\t{i % 100 + 1}\n" for i in range(1000)))
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            with con.cursor().copy("COPY cu_child FROM STDIN") as c:
                c.write("1\t5\n2\t500\n")
        assert con.execute("SELECT count(*) FROM cu_user").fetchone() == (2,)
        assert con.execute("SELECT count(*) FROM cu_child").fetchone() == (1000,)


def test_cached_segment_keys_follow_deletes_and_updates():
    """Keys cached per segment must not outlive the rows: a deleted or updated row's key is
    free again, in later statements and in the same transaction."""
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE u (id int, email text)")
    cur.execute("CREATE UNIQUE INDEX ON u (lower(email))")
    for i in range(5):  # several committed segments
        cur.execute(f"INSERT INTO u SELECT g, 'u' || g || '@x' FROM generate_series({i * 100}, {i * 100 + 99}) g")
    _fails(cur, "INSERT INTO u VALUES (1000, 'U250@X')", "23505")
    cur.execute("DELETE FROM u WHERE id = 250")
    cur.execute("INSERT INTO u VALUES (1000, 'U250@X')")
    cur.execute("UPDATE u SET email = 'moved' WHERE id = 42")
    cur.execute("INSERT INTO u VALUES (1001, 'u42@x')")
    _fails(cur, "INSERT INTO u VALUES (1002, 'MOVED')", "23505")
    con.autocommit = False
    cur.execute("DELETE FROM u WHERE id = 1001")
    cur.execute("INSERT INTO u VALUES (1003, 'U42@X')")  # freed inside the transaction
    _fails(cur, "INSERT INTO u VALUES (1004, 'u42@X')", "23505")
    con.rollback()
    assert cur.execute("SELECT id FROM u WHERE lower(email) = 'u42@x'").fetchall() == [(1001,)]
