"""ALTER TABLE ... ADD COLUMN ... GENERATED ALWAYS AS (expr) STORED on a table with rows
(was 0A000): the existing rows' values computed at once, later rows as any generated
column, and the checks PostgreSQL makes, side by side with PostgreSQL 15. It completes the
workaround for an index on an expression (index a stored generated column of it)."""

from __future__ import annotations

import sqlvec
from tests.support.conftest_pg import assert_steps_as_postgresql

STEPS = [
    "create table g (id int, a int, t text)",
    "insert into g values (1, 2, 'x'), (2, 0, 'y')",
    "alter table g add column b int generated always as (a * 10) stored",
    "select * from g order by id",
    "alter table g add column c int generated always as (10 / a) stored",
    "alter table g add column d int generated always as (t) stored",
    "alter table g add column e int generated always as ((select 1)) stored",
    "alter table g add column f int generated always as (sum(a)) stored",
    "alter table g add column h int generated always as (b + 1) stored",
    "alter table g add column n int not null generated always as (nullif(a, 0)) stored",
    "alter table g add column i text generated always as (t || '!') stored",
    "insert into g (id, a, t) values (3, 5, 'z')",
    "update g set a = 7 where id = 2",
    "insert into g (id, a, t, b) values (4, 1, 'w', 3)",
    "select * from g order by id",
]


def test_add_generated_column_as_postgresql(pg15_dsn):
    assert_steps_as_postgresql(pg15_dsn, STEPS)


def test_index_a_generated_halfvec_of_an_existing_table(tmp_path):
    """pgvector's half-precision index on an existing table, the sqlvec way: a stored
    generated halfvec column added to the table, indexed, searched; kept across a restart."""
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table items (id int, embedding vector(3))")
    cur.execute("insert into items select g, array[g, g % 7, 1]::vector(3) "
                "from generate_series(1, 500) g")
    cur.execute("alter table items add column h halfvec(3) "
                "generated always as (embedding::halfvec(3)) stored")
    cur.execute("create index on items using hnsw (h halfvec_l2_ops)")
    cur.execute("insert into items (id, embedding) values (1000, '[3,3,1]')")
    con.close()
    con = sqlvec.connect(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute("select id, h::text from items order by h <-> '[3,3,1]' limit 2")
    assert cur.fetchall() == [(3, "[3,3,1]"), (1000, "[3,3,1]")]
    con.close()
