"""A Python str bound where a non-text type is inferred is read by that type's text input
(as PostgreSQL reads an unknown-typed literal), and no raw exception leaves sqlvec.connect()."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import sqlvec
import sqlvec.dbapi as dbapi


@pytest.fixture
def cur():
    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    cur.execute("create extension if not exists vector")
    yield cur
    con.close()


def test_str_into_vector_insert_and_order_by(cur):
    cur.execute("create table t (id int8 primary key, emb vector(3))")
    cur.connection.commit()
    cur.execute("insert into t values (1, %s)", ("[1,2,3]",))
    cur.execute("insert into t values (%s, %s)", ("2", "[3,2,1]"))
    cur.execute("select id, emb from t order by emb <-> %s limit 1", ("[3,2,0]",))
    assert cur.fetchall() == [(2, [3.0, 2.0, 1.0])]
    cur.execute("select id from t order by emb <-> %s", ("[1,2,3]",))
    assert cur.fetchall() == [(1,), (2,)]


def test_str_into_other_types(cur):
    cur.execute("create table u (a int4[], d date, n numeric(6,2), j jsonb, ts timestamp, "
                "b bool, f float8, s text)")
    cur.execute("insert into u values (%s, %s, %s, %s, %s, %s, %s, %s)",
                ("{1,2,NULL}", "2024-01-02", "1.5", '{"b": 1,  "a":[1, 2]}',
                 "2024-01-02 03:04:05", "yes", "2.5", "[1,2,3]"))
    cur.execute("select a, d, n, j, ts, b, f, s from u")
    assert cur.fetchone() == ([1, 2, None], dt.date(2024, 1, 2), Decimal("1.50"),
                              '{"a": [1, 2], "b": 1}', dt.datetime(2024, 1, 2, 3, 4, 5),
                              True, 2.5, "[1,2,3]")
    cur.execute("select count(*) from u where d = %s and n > %s", ("2024-01-02", "1"))
    assert cur.fetchone() == (1,)


def test_bad_text_is_a_data_error(cur):
    cur.execute("create table v (emb vector(3), d date)")
    cur.connection.commit()
    with pytest.raises(dbapi.DataError) as info:
        cur.execute("insert into v (emb) values (%s)", ("[1,2",))
    assert info.value.sqlstate == "22P02"
    cur.connection.rollback()
    with pytest.raises(dbapi.DataError) as info:
        cur.execute("insert into v (emb) values (%s)", ("[1,2]",))
    assert info.value.sqlstate == "22000"  # expected 3 dimensions, not 2
    cur.connection.rollback()
    with pytest.raises(dbapi.DataError):
        cur.execute("insert into v (d) values (%s)", ("not a date",))


def test_unconvertible_python_value_is_a_pep249_error(cur):
    cur.execute("create table w (id int8 primary key, n int4)")
    cur.execute("insert into w values (1, 2)")
    cur.connection.commit()
    for sql, value in (("insert into w values (2, %s)", [1, 2]),
                       ("select n from w where id = %s", {"a": 1}),
                       ("select n from w where n = %s", object())):
        with pytest.raises(dbapi.ProgrammingError) as info:
            cur.execute(sql, (value,))
        assert info.value.sqlstate == "42804"
        cur.connection.rollback()
    assert cur.execute("select n from w where id = %s", (1,)).fetchall() == [(2,)]


def test_unexpected_engine_exception_is_internal_error(cur, monkeypatch):
    session = cur.connection._session

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(session, "execute_prepared", boom)
    with pytest.raises(dbapi.InternalError) as info:
        cur.execute("select %s::int", (1,))
    assert info.value.sqlstate == "XX000" and isinstance(info.value.__cause__, RuntimeError)


def test_bf16vec_values_are_numbers_both_ways(cur):
    """bf16vec rows come back as their numbers (not the bit patterns stored), and numbers
    bound to a bf16vec are rounded to bfloat16 as its text input rounds them, errors too
    (a list of floats was 42804; one of ints was taken as bit patterns)."""
    import numpy as np

    cur.execute("create table b (id int, e bf16vec(3), f bf16vec)")
    cur.execute("insert into b values (1, '[1,2,3]', '[1.5]')")
    cur.execute("insert into b values (%s, %s, %s)", (2, [1, 2, 3.3], (1, -2)))
    cur.execute("insert into b values (%s, %s, %s)", (3, np.array([0.1, 2, 3], np.float32), None))
    cur.execute("insert into b values (4, null, %s)", ("[7,8]",))
    cur.execute("select id, e, f from b order by id")
    assert cur.fetchall() == [(1, [1.0, 2.0, 3.0], [1.5]), (2, [1.0, 2.0, 3.296875], [1.0, -2.0]),
                              (3, [0.10009765625, 2.0, 3.0], None), (4, None, [7.0, 8.0])]
    cur.execute("select id from b where e = %s", ([1, 2, 3],))
    assert cur.fetchall() == [(1,)]
    cur.execute("select e::text from b where id = 2")
    assert cur.fetchall() == [("[1,2,3.296875]",)]
    cur.connection.commit()
    for bad, msg in [([1, float("nan"), 3], "NaN not allowed in bf16vec"),
                     ([1, 2], "expected 3 dimensions, not 2"),
                     ([1e39, 1, 1], "infinite value not allowed in bf16vec")]:
        with pytest.raises(dbapi.DataError, match=msg):
            cur.execute("insert into b values (9, %s)", (bad,))
        cur.connection.rollback()
    cur.execute("select count(*) from b")
    assert cur.fetchall() == [(4,)]
