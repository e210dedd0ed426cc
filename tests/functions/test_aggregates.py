"""Aggregates over dense group ids; expected values checked against PostgreSQL 15."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core import errors as E
from sqlvec.core import types as T
from sqlvec.core.textio import format_text

G = np.array([0, 0, 1, 1, 1, 2])


def agg(regs, name, types, values, *, distinct=False, n=4, gid=G, mask=None):
    a = regs.functions.aggregate(name, types, distinct)
    arrays = [pa.array(v, type=t.arrow) if isinstance(v, list) else v for v, t in zip(values, types)]
    out = a.evaluate(arrays, gid, n, filter_mask=mask)
    assert len(out) == n
    return a.return_type, out


def test_count_forms(regs):
    x = [1, None, 3, 3, None, 1]
    assert agg(regs, "count", [], [])[1].to_pylist() == [2, 3, 1, 0]
    assert agg(regs, "count", [T.INT4], [x])[1].to_pylist() == [1, 2, 1, 0]
    assert agg(regs, "count", [T.INT4], [x], distinct=True)[1].to_pylist() == [1, 1, 1, 0]
    mask = pa.array([True, True, False, True, True, None])
    assert agg(regs, "count", [], [], mask=mask)[1].to_pylist() == [2, 2, 0, 0]


def test_sum_avg_types_and_values(regs):
    x = [1, 2, 4]
    g = np.zeros(3, np.int64)
    rt, out = agg(regs, "sum", [T.INT4], [x], n=1, gid=g)
    assert rt == T.INT8 and out.to_pylist() == [7]
    rt, out = agg(regs, "sum", [T.INT8], [x], n=1, gid=g)
    assert rt == T.NUMERIC and format_text(out, rt).to_pylist() == ["7"]
    rt, out = agg(regs, "avg", [T.INT4], [x], n=1, gid=g)
    assert rt == T.NUMERIC and format_text(out, rt).to_pylist() == ["2.3333333333333333"]
    rt, out = agg(regs, "avg", [T.FLOAT8], [[1.0, 2.0, 4.0]], n=1, gid=g)
    assert format_text(out, rt).to_pylist() == ["2.3333333333333335"]
    rt, out = agg(regs, "stddev", [T.INT4], [x], n=1, gid=g)
    assert format_text(out, rt).to_pylist() == ["1.5275252316519467"]
    rt, out = agg(regs, "variance", [T.INT4], [x], n=1, gid=g)
    assert format_text(out, rt).to_pylist() == ["2.3333333333333333"]
    assert agg(regs, "sum", [T.INT4], [[None, None, 1, 1, 1, 1]])[1].to_pylist() == [None, 3, 1, None]


def test_sum_numeric_keeps_scale(regs):
    n102 = T.NUMERIC.with_typmod(T.numeric_typmod(10, 2))
    vals = pa.array([Decimal("1.5")] * 6, pa.decimal128(10, 2))
    rt, out = agg(regs, "sum", [n102], [vals])
    assert format_text(out, rt).to_pylist() == ["3.00", "4.50", "1.50", None]


def test_min_max_bool(regs):
    s = ["b", "a", None, "c", "d", "x"]
    assert agg(regs, "min", [T.TEXT], [s])[1].to_pylist() == ["a", "c", "x", None]
    assert agg(regs, "max", [T.TEXT], [s])[1].to_pylist() == ["b", "d", "x", None]
    b = [True, False, None, True, True, None]
    assert agg(regs, "bool_and", [T.BOOL], [b])[1].to_pylist() == [False, True, None, None]
    assert agg(regs, "bool_or", [T.BOOL], [b])[1].to_pylist() == [True, True, None, None]


def test_string_and_array_agg(regs):
    rt, out = agg(regs, "string_agg", [T.TEXT, T.TEXT],
                  [["a", "b", "c", None, "e", "f"], [",", ";", "-", "-", "+", "+"]])
    assert out.to_pylist() == ["a;b", "c+e", "f", None]
    rt, out = agg(regs, "array_agg", [T.INT4], [[1, None, 3, 3, None, 1]])
    assert rt == T.array_of(T.INT4)
    assert format_text(out, rt).to_pylist() == ["{1,NULL}", "{3,3,NULL}", "{1}", None]


def test_unknown_aggregate(regs):
    with pytest.raises(E.UndefinedFunction, match=r"function sum\(text\) does not exist"):
        regs.functions.aggregate("sum", [T.TEXT], False)


def test_more_aggregates(regs):
    """PostgreSQL: (values (1,2.0),(3,4.0),(6,4.0),(7,9.0)) t(x, y)."""
    x = pa.array([1, 3, 6, 7], pa.int32())
    y = pa.array([2.0, 4.0, 4.0, 9.0])
    g = np.zeros(4, np.int64)
    half = pa.array([0.5] * 4)
    cases = [("bit_and", [T.INT4], [x], [0]), ("bit_or", [T.INT4], [x], [7]),
             ("corr", [T.INT4, T.FLOAT8], [x, y], [0.8208663140836068]),
             ("covar_samp", [T.INT4, T.FLOAT8], [x, y], [6.75]),
             ("regr_slope", [T.FLOAT8, T.INT4], [y, x], [0.8901098901098901]),
             ("percentile_cont", [T.FLOAT8, T.INT4], [half, x], [4.5]),
             ("percentile_disc", [T.FLOAT8, T.INT4], [half, x], [3]),
             ("mode", [T.FLOAT8], [y], [4.0])]
    for name, types, args, expected in cases:
        out = regs.functions.aggregate(name, types, False).evaluate(args, g, 1).to_pylist()
        assert out == pytest.approx(expected), name


def test_distinct_aggregates_sort_like_postgres(regs):
    """PostgreSQL: array_agg(DISTINCT v) over ('b','a','b') is {a,b}; NULL sorts last."""
    g = np.array([0, 0, 0, 1, 1])
    v = pa.array(["b", "a", "b", None, "c"])
    out = regs.functions.aggregate("array_agg", [T.TEXT], True).evaluate([v], g, 2)
    assert out.to_pylist() == [["a", "b"], ["c", None]]
    out = regs.functions.aggregate("string_agg", [T.TEXT, T.TEXT], True).evaluate(
        [v, pa.array([","] * 5)], g, 2)
    assert out.to_pylist() == ["a,b", "c"]


def test_min_max_keep_numeric_scale(regs):
    from decimal import Decimal
    n102 = T.NUMERIC.with_typmod(T.numeric_typmod(10, 2))
    vals = pa.array([Decimal("1.25"), Decimal("2.50")], pa.decimal128(10, 2))
    a = regs.functions.aggregate("max", [n102], False)
    assert format_text(a.evaluate([vals], np.zeros(2, np.int64), 1), a.return_type).to_pylist() == ["2.50"]
