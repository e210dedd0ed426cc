"""Distance operators' fast paths (zero-copy list/fixed-size-list views, constant query
vectors) agree with a plain numpy reference on random data with NULLs and sliced arrays."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core import types as T
from sqlvec.core.errors import DataException
from sqlvec.functions.registry import CallContext
from sqlvec.functions.vectors import ops
from sqlvec.functions.vectors import types as V

RNG = np.random.default_rng(7)


def ref(metric: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.atleast_2d(a).astype(np.float64), np.atleast_2d(b).astype(np.float64)
    ip = (a * b).sum(axis=1)
    if metric == "l2_distance":
        return np.sqrt(((a - b) ** 2).sum(axis=1))
    if metric == "inner_product":
        return ip
    if metric == "negative_inner_product":
        return -ip
    if metric == "l1_distance":
        return np.abs(a - b).sum(axis=1)
    na, nb = np.sqrt((a * a).sum(axis=1)), np.sqrt((b * b).sum(axis=1))
    return 1.0 - np.clip(ip / (na * nb), -1.0, 1.0)


def call(impl, args, n: int) -> pa.Array:
    return impl(CallContext((V.VECTOR, V.VECTOR), T.FLOAT8, n), args)


def dense_column(x: np.ndarray, null: np.ndarray, elem: pa.DataType, fixed: bool) -> pa.Array:
    n, d = x.shape
    values = pa.array(x.reshape(-1).astype(elem.to_pandas_dtype()), elem)
    out = pa.FixedSizeListArray.from_arrays(values, d)
    if not fixed:
        out = out.cast(pa.list_(elem))
    if not null.any():
        return out
    return pa.array([None if m else v for v, m in zip(out.to_pylist(), null)], out.type)


@pytest.mark.parametrize("metric", list(ops.DENSE_METRICS))
@pytest.mark.parametrize("short,elem", [("vector", pa.float32()), ("halfvec", pa.float16())])
@pytest.mark.parametrize("fixed", [True, False])
@pytest.mark.parametrize("n", [1, 10, 257])
def test_dense_against_numpy(metric, short, elem, fixed, n):
    x = RNG.standard_normal((n + 6, 16)).astype(elem.to_pandas_dtype())
    null = RNG.random(n + 6) < 0.2
    col = dense_column(x, null, elem, fixed).slice(3, n)  # sliced: offsets start mid-buffer
    xs, ns = x[3:3 + n], null[3:3 + n]
    qv = RNG.standard_normal(16).astype(elem.to_pandas_dtype())
    impl = ops.dense_distance(metric, short)
    got = call(impl, [col, pa.scalar(qv.tolist(), pa.list_(elem))], n)
    want = ref(metric, xs.astype(np.float32), qv.astype(np.float32))
    assert got.is_null().to_pylist() == ns.tolist()
    g = np.array([v if v is not None else np.nan for v in got.to_pylist()])
    np.testing.assert_allclose(g[~ns], want[~ns], rtol=2e-5, atol=2e-5)
    # column against column; the same values as a constant broadcast
    other = dense_column(xs[::-1].copy(), np.zeros(n, bool), elem, not fixed)
    got2 = call(impl, [col, other], n)
    g2 = np.array([v if v is not None else np.nan for v in got2.to_pylist()])
    want2 = ref(metric, xs.astype(np.float32), xs[::-1].astype(np.float32))
    np.testing.assert_allclose(g2[~ns], want2[~ns], rtol=2e-5, atol=2e-5)
    # fixed-size and unsized storage of the same rows give bit-identical results
    flip = dense_column(x, null, elem, not fixed).slice(3, n)
    assert call(impl, [flip, pa.scalar(qv.tolist(), pa.list_(elem))], n).equals(got)


def test_list_matrix_views_and_dimension_errors():
    x = RNG.standard_normal((20, 4)).astype(np.float32)
    col = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), 4).cast(
        pa.list_(pa.float32())).slice(5, 10)
    m, valid = V.matrix(col)
    assert valid.all() and np.array_equal(m, x[5:15])
    assert np.shares_memory(m, np.frombuffer(col.values.buffers()[1], np.float32))
    assert V.dims_of(pa.array([[1.0], None, [1.0, 2.0]], pa.list_(pa.float32()))).tolist() == [1, 0, 2]
    assert V.dims_of(pa.array([], pa.list_(pa.float32()))).tolist() == []
    mixed = pa.array([[1.0, 2.0], [1.0, 2.0, 3.0]], pa.list_(pa.float32()))
    with pytest.raises(DataException, match="different vector dimensions 2 and 3"):
        V.matrix(mixed)
    with pytest.raises(DataException, match="different vector dimensions"):
        call(ops.dense_distance("l2_distance", "vector"),
             [mixed.slice(0, 1), pa.scalar([1.0, 2.0, 3.0], pa.list_(pa.float32()))], 1)


@pytest.mark.parametrize("metric", ["l2_distance", "inner_product", "cosine_distance", "l1_distance"])
def test_sparse_against_numpy(metric):
    n, dim = 30, 12
    dense = RNG.standard_normal((n + 4, dim)).astype(np.float32) * (RNG.random((n + 4, dim)) < 0.4)
    null = RNG.random(n + 4) < 0.2
    rows = [None if null[i] else {"dim": dim, "indices": np.flatnonzero(r).tolist(),
                                  "values": r[r != 0].tolist()} for i, r in enumerate(dense)]
    col = pa.array(rows, V.SPARSE_ARROW).slice(2, n)
    qv = dense[0] if not null[0] else np.ones(dim, np.float32)
    q = pa.scalar({"dim": dim, "indices": np.flatnonzero(qv).tolist(),
                   "values": qv[qv != 0].tolist()}, V.SPARSE_ARROW)
    got = ops.sparse_distance(metric)(CallContext((), T.FLOAT8, n), [col, q])
    ns = null[2:2 + n]
    assert got.is_null().to_pylist() == ns.tolist()
    g = np.array([v if v is not None else np.nan for v in got.to_pylist()])
    want = ref(metric, dense[2:2 + n], qv)
    ok = ~ns & ~np.isnan(want)
    np.testing.assert_allclose(g[ok], want[ok], rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("kind", ["hamming", "jaccard"])
def test_bit_against_numpy(kind):
    n, nbits = 25, 21
    bits = RNG.random((n + 3, nbits)) < 0.5
    null = RNG.random(n + 3) < 0.2
    packed = np.packbits(bits, axis=1)
    raw = [None if null[i] else nbits.to_bytes(4, "big") + packed[i].tobytes() for i in range(n + 3)]
    col = pa.array(raw, pa.binary()).slice(1, n)
    q = pa.scalar(nbits.to_bytes(4, "big") + packed[0].tobytes(), pa.binary())
    got = ops.bit_distance(kind)(CallContext((), T.FLOAT8, n), [col, q])
    b, q0, ns = bits[1:1 + n], bits[0], null[1:1 + n]
    if kind == "hamming":
        want = (b != q0).sum(axis=1).astype(float)
    else:
        inter, union = (b & q0).sum(axis=1), (b | q0).sum(axis=1)
        want = np.where(inter == 0, 1.0, 1.0 - inter / np.maximum(union, 1))
    assert got.is_null().to_pylist() == ns.tolist()
    g = np.array([v if v is not None else np.nan for v in got.to_pylist()])
    np.testing.assert_array_equal(g[~ns], want[~ns])
