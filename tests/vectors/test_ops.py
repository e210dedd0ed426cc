"""Operators, functions, aggregates and casts on vectors, checked against pgvector's outputs."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core import errors as E
from sqlvec.core import types as T
from sqlvec.core.textio import format_text
from sqlvec.functions.vectors import VECTOR


def one(db, sql):
    return db(sql)[0][0]


@pytest.mark.parametrize("sql,expected", [
    ("select '[1,2,3]'::vector <-> '[4,5,6]'", 5.196152422706632),
    ("select l2_distance('[0,0]'::vector, '[3,4]')", 5.0),
    ("select inner_product('[1,2]'::vector, '[3,4]')", 11.0),
    ("select '[1,2]'::vector <#> '[3,4]'", -11.0),
    ("select cosine_distance('[1,2]'::vector, '[2,4]')", 0.0),
    ("select cosine_distance('[1,1]'::vector, '[-1,-1]')", 2.0),
    ("select cosine_distance('[1,1]'::vector, '[1.1,1.1]')", 0.0),
    ("select '[0,0]'::vector <+> '[3,4]'", 7.0),
    ("select l1_distance('[0,0]'::vector, '[0,1]')", 1.0),
    ("select vector_dims('[1,2,3]'::vector)", 3),
    ("select vector_norm('[3,4]')", 5.0),
    ("select l2_norm('[3,4]'::halfvec)", 5.0),
    ("select '[1,2,3]'::halfvec <-> '[4,5,6]'", 5.196152422706632),
    ("select '101'::bit(3) <~> '111'::bit(3)", 1.0),
    ("select hamming_distance('111'::bit(3), '000'::bit(3))", 3.0),
    ("select '1111'::bit(4) <%> '1100'::bit(4)", 0.5),
    ("select jaccard_distance('000'::bit(3), '000'::bit(3))", 1.0),
    ("select '{1:1,2:2}/3'::sparsevec <-> '{2:2,3:3}/3'", math.sqrt(10)),
    ("select inner_product('{1:1,2:2}/3'::sparsevec, '{2:2,3:3}/3')", 4.0),
    ("select '{1:1}/2'::sparsevec <+> '{2:1}/2'", 2.0),
    ("select vector_dims('{1:1}/7'::sparsevec)", 7),
])
def test_scalar_results(db, sql, expected):
    assert one(db, sql) == pytest.approx(expected, abs=1e-12)


def test_cosine_of_zero_vector_is_nan(db):
    assert math.isnan(one(db, "select '[1,2]'::vector <=> '[0,0]'"))


@pytest.mark.parametrize("sql,text", [
    ("select ('[1,2,3]'::vector + '[4,5,6]')::text", "[5,7,9]"),
    ("select ('[1,2,3]'::vector - '[4,5,6]')::text", "[-3,-3,-3]"),
    ("select ('[1,2,3]'::vector * '[4,5,6]')::text", "[4,10,18]"),
    ("select ('[1,2]'::vector || '[3]')::text", "[1,2,3]"),
    ("select l2_normalize('[3,4]'::vector)::text", "[0.6,0.8]"),
    ("select l2_normalize('[0,0]'::vector)::text", "[0,0]"),
    ("select binary_quantize('[1,-2,3]'::vector)::text", "101"),
    ("select subvector('[1,2,3,4,5]'::vector, 1, 3)::text", "[1,2,3]"),
    ("select subvector('[1,2,3,4,5]'::vector, 3, 2)::text", "[3,4]"),
    ("select subvector('[1,2,3,4,5]'::vector, -1, 3)::text", "[1]"),
    ("select subvector('[1,2,3,4,5]'::vector, 3, 9)::text", "[3,4,5]"),
    ("select '{1:1.5,3:3.5}/5'::sparsevec::vector::text", "[1.5,0,3.5,0,0]"),
    ("select '[0,1.5,0,3.5,0]'::vector::sparsevec::text", "{2:1.5,4:3.5}/5"),
    ("select '[1,2,3]'::vector::halfvec::text", "[1,2,3]"),
    ("select '[1.5,2]'::halfvec::vector::text", "[1.5,2]"),
    ("select '[1,2,3]'::vector::real[]::text", "{1,2,3}"),
    ("select l2_normalize('{1:3,2:4}/2'::sparsevec)::text", "{1:0.6,2:0.8}/2"),
])
def test_vector_valued_results(db, sql, text):
    assert one(db, sql) == text


@pytest.mark.parametrize("sql,code,msg", [
    ("select '[1,2]'::vector <-> '[3]'", "22000", "different vector dimensions 2 and 1"),
    ("select inner_product('[1,2]'::vector, '[3]')", "22000", "different vector dimensions 2 and 1"),
    ("select '[1,2]'::halfvec <-> '[3]'", "22000", "different halfvec dimensions 2 and 1"),
    ("select '[3e38]'::vector + '[3e38]'", "22003", "value out of range: overflow"),
    ("select '[1e-37]'::vector * '[1e-37]'", "22003", "value out of range: underflow"),
    ("select '[1,2,3]'::vector(2)", "22000", "expected 2 dimensions, not 3"),
    ("select '{1:1.5}/5'::sparsevec::vector(4)", "22000", "expected 4 dimensions, not 5"),
    ("select '11'::bit(2) <~> '111'::bit(3)", "22000", "different bit lengths 2 and 3"),
    ("select '{1:1}/2'::sparsevec <-> '{1:1}/3'", "22000", "different sparsevec dimensions 2 and 3"),
    ("select subvector('[1,2,3]'::vector, 4, 1)", "22000", "vector must have at least 1 dimension"),
])
def test_errors(db, sql, code, msg):
    with pytest.raises(Exception) as ei:
        db(sql)
    err = ei.value
    assert getattr(err, "sqlstate", None) == code, err
    assert msg in str(err)


def test_table_column_operations(db):
    db("create table t (id int, v vector(3))")
    db("insert into t values (1, '[1,2,3]'), (2, '[1,1,1]'), (3, null), (4, '[0,0,0]')")
    rows = db("select id, v <-> '[1,1,1]', v <=> '[1,1,1]' from t order by id")
    assert rows[0][1] == pytest.approx(math.sqrt(5))
    assert rows[1][1:] == (0.0, 0.0)
    assert rows[2][1:] == (None, None)
    assert math.isnan(rows[3][2])
    assert db("select id from t order by v <-> '[1,1,1]' limit 2") == [(2,), (4,)]
    with pytest.raises(Exception, match="expected 3 dimensions, not 2"):
        db("insert into t values (5, '[1,2]')")
    assert db("select avg(v)::text, sum(v)::text from t") == [("[0.6666667,1,1.3333334]", "[2,3,4]")]


def test_aggregates_group_and_errors(db):
    db("create table a (g int, v vector)")
    db("insert into a values (1, '[1,2,3]'), (1, '[3,5,7]'), (1, null), (2, '[3e38]'), (2, '[3e38]')")
    rows = db("select g, avg(v)::text from a group by g order by g")
    assert rows == [(1, "[2,3.5,5]"), (2, "[3e+38]")]
    with pytest.raises(Exception, match="value out of range: overflow"):
        db("select sum(v) from a where g = 2")
    db("insert into a values (3, '[1,2]'), (3, '[3]')")
    with pytest.raises(Exception, match="expected 2 dimensions, not 1"):
        db("select avg(v) from a where g = 3")
    with pytest.raises(Exception, match="different vector dimensions 2 and 1"):
        db("select sum(v) from a where g = 3")


def test_column_against_column_and_mixed_dims(regs):
    f = regs.functions.resolve("<->", [VECTOR, VECTOR])
    a = pa.array([[1, 2], [3, 4], None], pa.list_(pa.float32()))
    b = pa.array([[1, 2], [0, 0], [1, 1]], pa.list_(pa.float32(), 2))
    assert f.call([a, b], 3).to_pylist() == [0.0, 5.0, None]
    norm = regs.functions.resolve("l2_norm", [VECTOR])
    mixed = pa.array([[3, 4], [1, 0, 0], None], pa.list_(pa.float32()))
    assert norm.call([mixed], 3).to_pylist() == [5.0, 1.0, None]


def test_distances_match_numpy_on_a_big_column(regs):
    rng = np.random.default_rng(1)
    m = rng.standard_normal((5000, 64)).astype(np.float32)
    qv = rng.standard_normal(64).astype(np.float32)
    col = pa.FixedSizeListArray.from_arrays(pa.array(m.reshape(-1)), 64)
    qs = pa.scalar(qv.tolist(), pa.list_(pa.float32()))
    t64 = VECTOR.with_typmod(64)
    for op, ref in [("<->", np.linalg.norm(m - qv, axis=1)), ("<#>", -(m @ qv)),
                    ("<=>", 1 - (m @ qv) / np.linalg.norm(m, axis=1) / np.linalg.norm(qv)),
                    ("<+>", np.abs(m - qv).sum(1))]:
        f = regs.functions.resolve(op, [t64, VECTOR])
        got = np.asarray(f.call([col, qs], len(m)))
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_array_casts(regs):
    arr = pa.array([[1, 2, 3], None], pa.list_(pa.int32()))
    v = regs.casts.cast(arr, T.array_of(T.INT4), VECTOR.with_typmod(3), explicit=False)
    assert format_text(v, VECTOR).to_pylist() == ["[1,2,3]", None]
    assert regs.casts.can_assign(T.array_of(T.FLOAT4), VECTOR)
    assert not regs.casts.can_implicit(T.array_of(T.FLOAT4), VECTOR)
    assert regs.casts.can_implicit(VECTOR, regs.types.by_name("halfvec"))
    with pytest.raises(E.NullValueNotAllowed):
        regs.casts.cast(pa.array([[1.0, None]], pa.list_(pa.float64())), T.array_of(T.FLOAT8), VECTOR)
    with pytest.raises(E.DataException, match="NaN not allowed in vector"):
        regs.casts.cast(pa.array([[float("nan")]], pa.list_(pa.float64())), T.array_of(T.FLOAT8), VECTOR)


def test_cosine_operator_is_not_null_safe_equality():
    from sqlglot import exp

    from sqlvec.sql.dialect import SqlvecDialect, VecOp
    tree = __import__("sqlglot").parse_one("select a <=> b from t", read=SqlvecDialect)
    assert tree.find(VecOp) is not None
    assert tree.find(exp.NullSafeEQ) is None
    assert "<=>" in tree.sql(dialect=SqlvecDialect)


def test_comparison_operators(db):
    assert db("select '[1,2,3]'::vector = '[1,2,3]', '[1,2,3]'::vector < '[1,2,4]', "
              "'[1,2]'::vector < '[1,2,0]', '[2]'::vector > '[1,9]', '[1,2]'::vector <> '[1,2]'") == \
        [(True, True, True, True, False)]
    db("create table cmp (id int, v vector)")
    db("insert into cmp values (1, '[3,1]'), (2, '[1,2,3]'), (3, '[1,2]'), (4, null), (5, '[1,2]')")
    assert db("select id from cmp where v = '[1,2]' order by id") == [(3,), (5,)]
    assert db("select id from cmp where v >= '[1,2,3]' order by id") == [(1,), (2,)]


@pytest.mark.parametrize("fn", ["inner", "cosine", "l2"])
def test_a_rows_distance_does_not_depend_on_the_rows_around_it(fn):
    """A row's float32 sums are the same computed alone, in a block or at any place in it
    (a BLAS product summed them by position on AVX-512 OpenBLAS: `<#>` in an ORDER BY over
    600 rows differed from the same row's `<#>` in a 7-row WHERE), and rescore's numbers."""
    from sqlvec.functions.vectors import ops
    from sqlvec.index.exact import rescore_one

    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, 24)).astype(np.float32)
    q = rng.standard_normal(24).astype(np.float32)
    whole = getattr(ops, fn)(x, q)
    for lo, hi in [(0, 1), (1, 2), (3, 10), (5, 37), (100, 300)]:
        assert getattr(ops, fn)(x[lo:hi], q).tolist() == whole[lo:hi].tolist()
    metric = {"inner": "ip", "cosine": "cos", "l2": "l2"}[fn]
    want = rescore_one(q, x, metric)
    assert (-whole if fn == "inner" else whole).tolist() == want.tolist()
