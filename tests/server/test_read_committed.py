"""READ COMMITTED in a transaction block, the same checks against sqlvec and PostgreSQL 15:
each statement sees what other sessions committed before it started, with the block's own
writes (psycopg's default is a block per connection, so a reader that never commits must
still see new rows), while a REPEATABLE READ block keeps the snapshot of its first
statement. (Where two blocks write one row, PostgreSQL makes the second wait for the first;
sqlvec has no row locks: the later committer gets 40001, tests/durability.)"""

from __future__ import annotations

import psycopg
import pytest

pytest_plugins = ["tests.support.conftest_pg"]


@pytest.fixture
def dsn(either_dsn):
    return either_dsn


@pytest.fixture
def table(dsn):
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("drop table if exists rc_t")
        c.execute("create table rc_t (id int primary key, v text)")
    yield
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("drop table if exists rc_t")


def test_each_statement_of_a_read_committed_block_sees_new_commits(dsn, table):
    writer = psycopg.connect(dsn, autocommit=True)
    reader = psycopg.connect(dsn)  # (psycopg's default: statements run in a block)
    counts = []
    for n in range(3):
        counts.append(reader.execute("select count(*), max(id) from rc_t").fetchone())
        writer.execute("insert into rc_t values (%s, 'x')", (n,))
    counts.append(reader.execute("select count(*), max(id) from rc_t").fetchone())
    writer.execute("update rc_t set v = 'y' where id = 1")
    seen = reader.execute("select v from rc_t where id = 1").fetchone()
    reader.commit()
    assert counts == [(0, None), (1, 0), (2, 1), (3, 2)]
    assert seen == ("y",)
    reader.close()
    writer.close()


def test_a_repeatable_read_block_keeps_its_snapshot(dsn, table):
    writer = psycopg.connect(dsn, autocommit=True)
    reader = psycopg.connect(dsn)
    reader.execute("set transaction isolation level repeatable read")
    first = reader.execute("select count(*) from rc_t").fetchone()
    writer.execute("insert into rc_t values (1, 'x')")
    again = reader.execute("select count(*) from rc_t").fetchone()
    reader.commit()
    after = reader.execute("select count(*) from rc_t").fetchone()
    reader.commit()
    assert (first, again, after) == ((0,), (0,), (1,))
    reader.close()
    writer.close()


def test_a_read_committed_update_works_on_the_rows_committed_before_it(dsn, table):
    """The block read a row, another session then deleted one and changed another: the
    UPDATE sees both commits (PostgreSQL's READ COMMITTED), not the block's first view."""
    writer = psycopg.connect(dsn, autocommit=True)
    writer.execute("insert into rc_t values (1, 'a'), (2, 'b')")
    reader = psycopg.connect(dsn)
    assert reader.execute("select v from rc_t where id = 2").fetchone() == ("b",)
    writer.execute("delete from rc_t where id = 2")
    writer.execute("update rc_t set v = 'c' where id = 1")
    got = reader.execute("update rc_t set v = v || '!' returning id, v").fetchall()
    reader.commit()
    assert got == [(1, "c!")]
    assert writer.execute("select id, v from rc_t").fetchall() == [(1, "c!")]
    reader.close()
    writer.close()


def test_a_block_that_wrote_still_sees_new_commits(dsn, table):
    """After its own writes too, each statement sees the others' commits and its own rows."""
    writer = psycopg.connect(dsn, autocommit=True)
    writer.execute("insert into rc_t values (1, 'a'), (2, 'b')")
    reader = psycopg.connect(dsn)
    reader.execute("insert into rc_t values (10, 'mine')")
    reader.execute("delete from rc_t where id = 2")
    writer.execute("insert into rc_t values (11, 'theirs')")
    writer.execute("update rc_t set v = 'c' where id = 1")
    seen = reader.execute("select id, v from rc_t order by id").fetchall()
    changed = reader.execute("update rc_t set v = v || '!' where id in (1, 11) returning id, v").fetchall()
    reader.commit()
    assert seen == [(1, "c"), (10, "mine"), (11, "theirs")]
    assert sorted(changed) == [(1, "c!"), (11, "theirs!")]
    assert writer.execute("select id, v from rc_t order by id").fetchall() == \
        [(1, "c!"), (10, "mine"), (11, "theirs!")]
    reader.close()
    writer.close()
