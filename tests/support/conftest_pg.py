"""A pytest plugin with a session-wide PostgreSQL 15 fixture `pg15_dsn`, `pg` (run SQL
there) and `either_dsn` (a test run on sqlvec and on PostgreSQL).

Use it from any conftest.py with `pytest_plugins = ["tests.support.conftest_pg"]`, or
import `postgres_server` from tests.support.pg directly.
"""

from __future__ import annotations

import pytest

from tests.support.pg import pg_available, postgres_server


@pytest.fixture(scope="session")
def pg15_dsn():
    """DSN of a throw-away PostgreSQL 15 cluster; the test is skipped when PG is absent."""
    if not pg_available():
        pytest.skip("PostgreSQL 15 is not installed (pg_config not found)")
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(params=["sqlvec", "postgresql"])
def either_dsn(request):
    """The test runs twice: against a sqlvec server (the `server` fixture) and against
    PostgreSQL 15, the same checks on both."""
    if request.param == "sqlvec":
        return request.getfixturevalue("server").dsn
    return request.getfixturevalue("pg15_dsn")


@pytest.fixture()
def pg(pg15_dsn):
    """run(sql) -> rows (None without a result) on PostgreSQL 15, autocommit, in a schema of
    its own dropped afterwards (tables a test makes do not meet the next test's)."""
    import psycopg

    con = psycopg.connect(pg15_dsn, autocommit=True)
    con.execute("drop schema if exists oracle_fixture cascade")
    con.execute("create schema oracle_fixture")
    con.execute("set search_path = oracle_fixture")

    def run(sql: str):
        cur = con.execute(sql)
        return [tuple(r) for r in cur.fetchall()] if cur.description else None

    yield run
    con.execute("drop schema oracle_fixture cascade")
    con.close()


def assert_as_postgresql(pg, setup: list[str], queries: list[str]) -> None:
    """Run `setup` on a fresh embedded sqlvec database and on PostgreSQL 15 (`pg`, the
    fixture above), then assert that each of `queries` returns the same rows on both."""
    import sqlvec

    con = sqlvec.connect()
    con.autocommit = True
    cur = con.cursor()
    try:
        for sql in setup:
            cur.execute(sql)
            pg(sql)
        for sql in queries:
            cur.execute(sql)
            assert [tuple(r) for r in cur.fetchall()] == pg(sql), sql
    finally:
        con.close()


def outcome(cur, sql: str):
    """What a statement gave on an embedded sqlvec cursor or a psycopg one: its rows, "ok",
    or ("error", SQLSTATE, message, detail, hint)."""
    import psycopg

    import sqlvec

    try:
        cur.execute(sql)
    except psycopg.Error as e:
        d = e.diag
        return ("error", e.sqlstate, d.message_primary, d.message_detail, d.message_hint)
    except sqlvec.Error as e:
        return ("error", e.sqlstate, e.message, e.error.detail, e.error.hint)
    return [tuple(r) for r in cur.fetchall()] if cur.description else "ok"


def assert_steps_as_postgresql(pg15_dsn: str, steps: list[str]) -> None:
    """Run `steps` one by one on a fresh embedded sqlvec database and on PostgreSQL 15 (in a
    schema of its own, dropped afterwards): each gives the same rows, or the same error
    with the same words."""
    import psycopg

    import sqlvec

    con = sqlvec.connect()
    con.autocommit = True
    try:
        with psycopg.connect(pg15_dsn, autocommit=True) as pc:
            pc.execute("drop schema if exists oracle_steps cascade")
            pc.execute("create schema oracle_steps")
            pc.execute("set search_path = oracle_steps")
            ours, theirs = con.cursor(), pc.cursor()
            try:
                for sql in steps:
                    assert outcome(ours, sql) == outcome(theirs, sql), sql
            finally:
                pc.execute("drop schema oracle_steps cascade")
    finally:
        con.close()
