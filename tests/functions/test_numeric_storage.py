"""Numeric values on their way into storage and beyond decimal128, as PostgreSQL 15 answers
(expected values are PostgreSQL's; sqllogic/tests/numeric.slt checks them against it).

An unconstrained numeric column holds PostgreSQL's text of each value (NUMERIC_TEXT): every
digit and the value's own scale are kept, as in PostgreSQL. numeric(p, s) beyond 38 digits is
decimal256 (76 digits)."""

from __future__ import annotations

from decimal import Decimal

import pytest

import sqlvec
from sqlvec.dbapi.exceptions import DataError


@pytest.fixture()
def cur():
    con = sqlvec.connect(":memory:")
    yield con.cursor()
    con.close()


def test_insert_keeps_every_digit_and_the_scale(cur):
    cur.execute("create table t(id int, n numeric)")
    cur.execute("insert into t values (1, 1.50), (2, 2), (3, 0.333333333333333333333)")
    cur.execute("insert into t values (4, 0.777777777777777777777)")
    cur.execute("insert into t select 5, 0.555555555555555555555")
    cur.execute("insert into t values (6, %s)", (Decimal("-0.444444444444444444445"),))
    cur.execute("select n::text from t order by id")
    assert cur.fetchall() == [("1.50",), ("2",), ("0.333333333333333333333",), ("0.777777777777777777777",),
                              ("0.555555555555555555555",), ("-0.444444444444444444445",)]


def test_numeric_precision_beyond_38(cur):
    cur.execute("select 123456789012345678901234567::numeric(40,0), 123456789012345678901234567.555::numeric(40,2)")
    assert cur.fetchall() == [(Decimal("123456789012345678901234567"), Decimal("123456789012345678901234567.56"))]
    cur.execute("create table w(a numeric(50,10))")
    cur.execute("insert into w values (12345678901234567890123456789012345.5)")
    cur.execute("select a::text, (a + 1)::text from w")
    assert cur.fetchall() == [("12345678901234567890123456789012345.5000000000",
                               "12345678901234567890123456789012346.5000000000")]
    with pytest.raises(DataError):  # 22003: 41 integer digits do not fit numeric(50,10)
        cur.execute("insert into w values (1e40)")


def test_exponent_literals_are_numeric(cur):
    cur.execute("select pg_typeof(1e30), 1e30, 1.5e3, 1.5e-3, 1e30 * 1e30")
    assert cur.fetchall() == [("numeric", Decimal(10**30), Decimal(1500), Decimal("0.0015"), Decimal(10**60))]
    cur.execute("select pg_typeof(1e300)")  # beyond the 76 digits sqlvec holds: float8, as before
    assert cur.fetchall() == [("double precision",)]


def test_wide_numeric_over_the_wire_text_binary_and_copy(server):
    """numeric(50,10) (decimal256) and a per-value-scale UNION ALL / WITH / GROUP BY column read
    by psycopg in text and binary, and COPY text into the wide column."""
    psycopg = pytest.importorskip("psycopg")
    wide = Decimal("12345678901234567890123456789012345.5000000000")
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS nw")
        con.execute("CREATE TABLE nw(id int, a numeric(50,10), n numeric)")
        con.execute("INSERT INTO nw VALUES (1, 12345678901234567890123456789012345.5, 1)")
        with con.cursor().copy("COPY nw FROM STDIN") as cp:
            cp.write("2\t-0.0000000001\t1000000\n")
        con.execute("INSERT INTO nw VALUES (3, %s, 0.001)", (Decimal("7.25"),))
        q = ("WITH c AS (SELECT id, n / 3 AS q FROM nw) SELECT q FROM c WHERE q > 0 ORDER BY id")
        for binary in (False, True):
            cur = con.cursor(binary=binary)
            assert cur.execute("SELECT a FROM nw ORDER BY id").fetchall() == \
                [(wide,), (Decimal("-1E-10"),), (Decimal("7.2500000000"),)]
            assert [str(r[0]) for r in cur.execute(q).fetchall()] == \
                ["0.33333333333333333333", "333333.333333333333", "0.00033333333333333333"]
            rows = cur.execute("SELECT n / 3, count(*) FROM nw GROUP BY n / 3 ORDER BY 1").fetchall()
            assert [str(r[0]) for r in rows] == ["0.00033333333333333333", "0.33333333333333333333",
                                                 "333333.333333333333"]
        con.execute("DROP TABLE nw")


def test_every_write_path_keeps_the_value(cur):
    """UPDATE, ON CONFLICT DO UPDATE, ADD COLUMN ... DEFAULT, CREATE TABLE AS, INSERT ... SELECT
    over UNION ALL keep every digit of an unconstrained numeric column's value; numeric[] and
    generate_series are still decimal128(38, 16) (rounded half away from zero)."""
    third = Decimal("0.3333333333333333")
    long = Decimal("0.333333333333333333333")
    cur.execute("create table t(id int primary key, n numeric)")
    cur.execute("insert into t values (1, 1)")
    cur.execute("update t set n = 0.333333333333333333333 where id = 1")
    cur.execute("insert into t values (1, 0.777777777777777777777) on conflict (id) do update set n = excluded.n")
    cur.execute("alter table t add column k numeric default 0.33333333333333333333333")
    cur.execute("insert into t(id) values (2)")
    cur.execute("insert into t select 4, 0.333333333333333333333 union all select 5, 1.5")
    cur.execute("select id, n::text, k::text from t order by id")
    k = "0.33333333333333333333333"
    assert cur.fetchall() == [(1, "0.777777777777777777777", k), (2, None, k),
                              (4, str(long), k), (5, "1.5", k)]
    cur.execute("create table t2 as select 0.33333333333333333333333::numeric as x")
    cur.execute("create table ta(a numeric[])")
    cur.execute("insert into ta values (array[0.333333333333333333333]), ('{0.666666666666666666666}')")
    cur.execute("select (select x from t2), (select array_agg(a[1] order by a[1]) from ta)")
    assert cur.fetchall() == [(Decimal("0.33333333333333333333333"), [third, Decimal("0.6666666666666667")])]
    cur.execute("select generate_series(0.333333333333333333333, 1, 0.5)")
    assert cur.fetchall() == [(third,), (Decimal("0.8333333333333333"),)]
    cur.execute("update t set n = 1e30 where id = 1")  # 31 integer digits: kept
    cur.execute("select n::text from t where id = 1")
    assert cur.fetchall() == [("1" + "0" * 30,)]
