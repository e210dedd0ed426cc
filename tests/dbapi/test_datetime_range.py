"""Embedded fetch of dates/timestamps outside Python's datetime range: DataError 22008 with
psycopg's messages (psycopg's default loaders refuse the same values), never OverflowError."""

from __future__ import annotations

import datetime as dt

import pytest

import sqlvec


@pytest.fixture
def cur():
    con = sqlvec.connect(":memory:")
    yield con.cursor()
    con.close()


@pytest.mark.parametrize("sql,message", [
    ("select 'infinity'::date", "date too large (after year 10K): 'infinity'"),
    ("select '-infinity'::date", "date too small (before year 1): '-infinity'"),
    ("select 'infinity'::timestamp", "timestamp too large (after year 10K): 'infinity'"),
    ("select 1, '-infinity'::timestamptz", "timestamp too small (before year 1): '-infinity'"),
    ("select '12000-01-01'::timestamp", "timestamp too large (after year 10K): '12000-01-01 00:00:00'"),
    ("select '0044-03-15 BC'::date", "date too small (before year 1): '0044-03-15 BC'"),
    ("select array['2020-01-01'::date, 'infinity']", "date too large (after year 10K): 'infinity'"),
    ("select d from (values ('2020-01-01'::date), (null), ('infinity')) v(d)",
     "date too large (after year 10K): 'infinity'"),
])
def test_out_of_range_values_are_data_errors(cur, sql, message):
    cur.execute(sql)
    with pytest.raises(sqlvec.DataError) as ei:
        cur.fetchall()
    assert str(ei.value) == message and ei.value.sqlstate == "22008"
    cur.execute("select 'infinity'::date::text, '9999-12-31 23:59:59.999999'::timestamp")
    assert cur.fetchall() == [("infinity", dt.datetime(9999, 12, 31, 23, 59, 59, 999999))]


def test_edges_of_the_range_are_fetched(cur):
    cur.execute("select '0001-01-01'::date, '9999-12-31'::date, '0001-01-01 00:00'::timestamp")
    assert cur.fetchone() == (dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.datetime(1, 1, 1))


def test_module_offers_the_pep_249_globals():
    import sqlvec.dbapi as dbapi

    assert (sqlvec.apilevel, sqlvec.threadsafety, sqlvec.paramstyle) == ("2.0", 1, "pyformat")
    assert sqlvec.DataError is dbapi.DataError and issubclass(sqlvec.DataError, sqlvec.DatabaseError)
    assert sqlvec.Date(2020, 1, 2) == dt.date(2020, 1, 2)
    with pytest.raises(AttributeError):
        sqlvec.no_such_name  # noqa: B018
