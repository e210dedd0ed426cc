"""Multi-row INSERT ... VALUES: quoted constants of a column are cast in one batch
(sql/fold_values.py); values and errors must match the per-row path."""

from __future__ import annotations

import pytest

from sqlvec.core import errors as E
from sqlvec.sql import fold_values


def _insert_both_ways(q, monkeypatch, sql: str) -> tuple[list, list]:
    q("create table a (id int, emb real[], d date, n numeric(5,2))")
    q(sql)
    batched = q("select * from a order by id")
    q("delete from a")
    monkeypatch.setattr(fold_values, "MIN_ROWS", 10**9)  # the per-row path
    q(sql)
    return batched, q("select * from a order by id")


def test_batched_values_equal_per_row(q, monkeypatch):
    sql = ("insert into a values (1, '{1.5, 2,NULL}', '2024-01-02', '1.234'),"
           " (2, '{\"3\",4e2}', 'Jan 3 2024', 7), (3, NULL, '2024-01-04', '-0.5'),"
           " (4, '{1,2,3,4}', '2024-01-05', '99.999')")
    batched, per_row = _insert_both_ways(q, monkeypatch, sql)
    assert batched == per_row
    assert [r[1] for r in batched] == [[1.5, 2.0, None], [3.0, 400.0], None, [1.0, 2.0, 3.0, 4.0]]
    assert [str(r[3]) for r in batched] == ["1.23", "7.00", "-0.50", "100.00"]


def test_batched_values_error_is_the_first_bad_row(q):
    q("create table b (id int, emb real[], n int2)")
    with pytest.raises(E.InvalidTextRepresentation, match='malformed array literal: "{1,,2}"'):
        q("insert into b values (1, '{1}', '1'), (2, '{1,,2}', 'x'), (3, '{zz}', '2')")
    with pytest.raises(E.InvalidTextRepresentation, match='type smallint: "x"'):
        q("insert into b values (1, '{1}', '1'), (2, '{1}', 'x'), (3, '{zz}', '2')")
    with pytest.raises(E.NumericValueOutOfRange):
        q("insert into b values (1, '{1}', '1'), (2, '{1e99}', '2')")
    assert q("select count(*) from b") == [(0,)]


def _both_ways(monkeypatch, ddl: str, sql: str) -> tuple[object, object]:
    """(rows or the error) of `sql` batched and per row, each on a fresh database."""
    from tests.session.conftest import Q

    out = []
    for min_rows in (fold_values.MIN_ROWS, 10**9):
        monkeypatch.setattr(fold_values, "MIN_ROWS", min_rows)
        q = Q()
        q("create extension if not exists vector")
        q(ddl)
        try:
            q(sql)
            out.append(q("select * from t order by k"))
        except E.SqlError as e:
            out.append((type(e).__name__, e.message))
    return out[0], out[1]


def test_explicit_casts_numbers_and_nulls_fold_like_per_row(monkeypatch):
    ddl = ("create table t (k int, f8 float8[], f4 real[], v vector(3), i2 int2, i8 int8,"
           " r real, d float8, n numeric, n2 numeric(6,2), s text, c varchar(4), ts timestamp)")
    rows = [
        "(1, '{1.5,2}'::float8[], '{0.1,1e-3}'::float8[], '[1,2,3]'::vector, 7, -9000000000,"
        " 0.1, 1e300, 12.345, -0.005, 'a', 'abcd'::text, '2024-01-02 03:04:05'::timestamp)",
        "(2, NULL, '{0.3333333333333333}'::float8[], NULL, -3, 42, -2.5, -0.25, -7,"
        " 1.999, NULL, 'xy'::text, NULL)",
        "(3, '{-0,NaN}'::float8[], '{Infinity}'::float8[], '[0.5,-1,1e-7]'::vector, NULL,"
        " 99999999999999999, 16777217, 0.1, 1.50, 3, 'z', NULL, '1999-12-31'::timestamp)",
    ]
    folded: list[str] = []
    real_fold = fold_values._fold

    def spy(b, shape, values, to_node, to):
        out = real_fold(b, shape, values, to_node, to)
        folded.append(f"{to.short}:{shape}:{out is not None}")
        return out

    monkeypatch.setattr(fold_values, "_fold", spy)
    batched, per_row = _both_ways(monkeypatch, ddl, "insert into t values " + ",".join(rows))
    assert not isinstance(batched, tuple), batched
    assert folded == [  # every column went through the batch path (k too)
        "int4:num:True", "_float8:cast:True", "_float4:cast:True", "vector:cast:True",
        "int2:num:True", "int8:num:True", "float4:num:True", "float8:num:True",
        "numeric:num:True", "numeric:num:True", "text:str:True", "varchar:cast:True",
        "timestamp:cast:True",
    ], folded
    assert repr(batched) == repr(per_row)  # repr: NaN, -0.0 and Decimal scales compare too
    assert batched[1][7] == -0.25 and str(batched[0][9]) == "-0.01"


@pytest.mark.parametrize("bad", [
    "(2, '{1,x}'::float8[], 1)",  # 22P02 in the explicit cast
    "(2, '{1}'::float8[], 40000)",  # 22003: int4 literal into int2
    "(2, '{1}'::float8[], 1.5e400)",  # 22003 from the float8 literal
    "(2, '{1}'::int4, 1)",  # 42804: int4 into a real[] column
    "(2, '{1}'::float8[], '1'::date)",  # 42804 in the second column
    "(2, '{1}'::float8[], 2::int8 + 1)",  # not a plain constant: per row
])
def test_errors_of_folded_columns_match_per_row(monkeypatch, bad):
    ddl = "create table t (k int, e real[], i int2)"
    sql = f"insert into t values (1, '{{2}}'::float8[], 5), {bad}, (3, '{{zz}}'::float8[], 2)"
    batched, per_row = _both_ways(monkeypatch, ddl, sql)
    assert batched == per_row


def test_random_numbers_fold_like_per_row(monkeypatch):
    import random

    rng = random.Random(7)

    def num() -> str:
        kind = rng.randrange(5)
        if kind == 0:
            return str(rng.randrange(-2**31, 2**31))
        if kind == 1:
            return str(rng.choice([-1, 1]) * rng.randrange(2**31, 2**70))
        if kind == 2:
            return f"{rng.uniform(-1e6, 1e6):.{rng.randrange(0, 9)}f}"
        if kind == 3:
            return repr(rng.uniform(-1e30, 1e30))
        return "NULL"

    cols = ["int2", "int4", "int8", "real", "float8", "numeric", "numeric(20,3)", "text"]
    ddl = "create table t (k int, " + ", ".join(f"c{i} {t}" for i, t in enumerate(cols)) + ")"
    for _ in range(3):
        rows = [f"({r}, " + ", ".join(num() for _ in cols) + ")" for r in range(20)]
        sql = "insert into t values " + ",".join(rows)
        batched, per_row = _both_ways(monkeypatch, ddl, sql)
        assert repr(batched) == repr(per_row), sql
    for t in cols:  # one column at a time: most of these fit
        ddl1 = f"create table t (k int, c {t})"
        rows = [f"({r}, {num()})" for r in range(30)]
        batched, per_row = _both_ways(monkeypatch, ddl1, "insert into t values " + ",".join(rows))
        assert repr(batched) == repr(per_row), (t, rows)
