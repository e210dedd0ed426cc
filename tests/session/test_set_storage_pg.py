"""ALTER TABLE ... ALTER COLUMN c SET STORAGE mode, as pgvector's benchmark harnesses run it
(ann-benchmarks, VectorDBBench: `SET STORAGE PLAIN` on the vector column before loading):
accepted, checked and shown in pg_attribute as PostgreSQL 15 does, side by side."""

from __future__ import annotations

import pytest

import sqlvec
from tests.support.conftest_pg import assert_steps_as_postgresql

STEPS = [
    'create table st (id int, v text, n numeric, "Q" text, t text)',
    "alter table st alter column v set storage plain",
    "alter table st alter v set storage EXTERNAL",
    "alter table st alter column id set storage external",
    "alter table st alter column id set storage plain",
    "alter table st alter column nope set storage plain",
    "alter table nope alter column v set storage plain",
    "alter table if exists nope alter column v set storage plain",
    "alter table st alter column v set storage foo",
    "alter table st alter column v set storage default",
    'alter table only st alter column "Q" set storage main',
    'alter table st alter column t set storage "PLAIN"',
    "alter table st alter column v set storage main, alter column n set storage extended",
    "alter table st alter column v set storage",
    "alter table st alter column v set storage main extra",
    "create view sv as select id, v from st",
    "alter table sv alter column v set storage plain",
    "select attname, attstorage from pg_attribute where attrelid = 'st'::regclass "
    "and attnum > 0 order by attnum",
    "insert into st values (1, 'x', 2.5, 'q', 't')",
    'select id, v, n, "Q", t from st',
]


def test_set_storage_as_postgresql(pg15_dsn):
    assert_steps_as_postgresql(pg15_dsn, STEPS)


def test_vector_column_set_storage_plain_kept_across_a_restart(tmp_path):
    """The harnesses' statement on a vector column: the mode survives a restart, the rows
    and a search are unchanged."""
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table items (id int, embedding vector(3))")
    cur.execute("alter table items alter column embedding set storage plain")
    cur.execute("insert into items values (1, '[1,2,3]'), (2, '[3,2,1]')")
    con.close()
    con = sqlvec.connect(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute("select attname, attstorage from pg_attribute "
                "where attrelid = 'items'::regclass and attnum > 0 order by attnum")
    assert cur.fetchall() == [("id", "p"), ("embedding", "p")]
    cur.execute("select id from items order by embedding <-> '[3,2,1]' limit 1")
    assert cur.fetchall() == [(2,)]
    con.close()


def test_set_storage_with_other_actions_is_0a000_and_changes_nothing():
    """SET STORAGE parsed on its own: another action in the same ALTER TABLE is 0A000 (one
    statement each works), and neither action happened."""
    con = sqlvec.connect()
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table st (id int, v text)")
    with pytest.raises(sqlvec.Error) as e:
        cur.execute("alter table st add column z int, alter column v set storage main")
    assert e.value.sqlstate == "0A000"
    cur.execute("select attname, attstorage from pg_attribute where attrelid = 'st'::regclass "
                "and attnum > 0 order by attnum")
    assert cur.fetchall() == [("id", "p"), ("v", "x")]
    con.close()
