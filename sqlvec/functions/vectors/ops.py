"""Distance operators and functions over whole columns: <-> <#> <=> <+> <~> <%>.

Each call turns its vector column into one rows x dim float32 matrix (zero copy for
vector) and reduces it with numpy against a constant (broadcast) or another column;
sums accumulate in float32 and finish in float64, as pgvector does. NULL in gives NULL.

    >>> l2(np.array([[0, 0]], np.float32), np.array([3, 4], np.float32)).tolist()
    [5.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.core.errors import DataException
from sqlvec.core.types import SqlType
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vectors import textio as VT
from sqlvec.functions.vectors import types as V

Matrix = np.ndarray


# ---- dense arguments -----------------------------------------------------------------

def dense_arg(x: Arg, short: str, n: int) -> tuple[Matrix | None, np.ndarray]:
    """(float32 matrix n x d, or a 1-D constant; valid mask) of one dense argument."""
    if isinstance(x, pa.Scalar):
        v = V.scalar_vector(x)
        if v is None:
            return None, np.zeros(n, dtype=bool)
        return V.to_float32(np.asarray(v), short), np.ones(n, dtype=bool)
    m, valid = V.matrix(x, tname=short)
    return V.to_float32(m, short), valid


def dense_pair(args: list[Arg], short: str, n: int
               ) -> tuple[Matrix | None, Matrix | None, np.ndarray]:
    """Both arguments with their dimensions checked ('different vector dimensions 3 and 2')."""
    a, va = dense_arg(args[0], short, n)
    b, vb = dense_arg(args[1], short, n)
    valid = va & vb if len(va) == len(vb) else np.zeros(n, dtype=bool)
    if a is not None and b is not None and valid.any() and a.shape[-1] != b.shape[-1]:
        raise DataException(f"different {short} dimensions {a.shape[-1]} and {b.shape[-1]}")
    return a, b, valid


def _rows(a: Matrix, b: Matrix) -> tuple[Matrix, Matrix]:
    """Both as 2-D (a constant becomes one row that broadcasts)."""
    return np.atleast_2d(a), np.atleast_2d(b)


def _dot(a: Matrix, b: Matrix) -> np.ndarray:
    """Row-wise float32 dot products, each row's sum the same whatever rows it is computed
    with (einsum's own loop, as index.exact.rescore): a BLAS matrix-vector product sums a
    row differently by its place in the block on some CPUs (OpenBLAS on AVX-512), so `<#>`
    of one row changed with the rows around it and an ORDER BY's distances differed from the
    operator's."""
    a2, b2 = _rows(a, b)
    if len(a2) != len(b2):
        a2, b2 = np.broadcast_arrays(a2, b2)
    return np.einsum("ij,ij->i", a2, b2)


def sq_norms(a: Matrix) -> np.ndarray:
    a2 = np.atleast_2d(a)
    return np.einsum("ij,ij->i", a2, a2)


def l2(a: Matrix, b: Matrix) -> np.ndarray:
    """Euclidean distance: float32 sum of squared differences, sqrt in float64."""
    d = np.atleast_2d(a - b)
    return np.sqrt(np.einsum("ij,ij->i", d, d).astype(np.float64))


def inner(a: Matrix, b: Matrix) -> np.ndarray:
    return np.atleast_1d(_dot(a, b)).astype(np.float64)


def neg_inner(a: Matrix, b: Matrix) -> np.ndarray:
    return -inner(a, b)


def cosine(a: Matrix, b: Matrix) -> np.ndarray:
    """1 - cos(a, b); NaN when either norm is zero; similarity clamped to [-1, 1]."""
    ip = inner(a, b)
    na = sq_norms(a).astype(np.float64)
    nb = sq_norms(b).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = ip / np.sqrt(na * nb)
    sim = np.clip(sim, -1.0, 1.0)  # NaN passes through
    return 1.0 - sim


def l1(a: Matrix, b: Matrix) -> np.ndarray:
    return np.atleast_2d(np.abs(a - b)).sum(axis=1, dtype=np.float32).astype(np.float64)


DENSE_METRICS: dict[str, Callable[[Matrix, Matrix], np.ndarray]] = {
    "l2_distance": l2, "inner_product": inner, "negative_inner_product": neg_inner,
    "cosine_distance": cosine, "l1_distance": l1,
}


def _result(out: np.ndarray, valid: np.ndarray, n: int) -> pa.Array:
    if out.shape[0] != n:
        out = np.broadcast_to(out, (n,))
    if valid.all():
        return pa.array(out, pa.float64())
    return pa.array(np.where(valid, out, 0.0), pa.float64(), mask=~valid)


def dense_distance(metric: str, short: str) -> Callable[[CallContext, list[Arg]], pa.Array]:
    fn = DENSE_METRICS[metric]

    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = ctx.n if not all(isinstance(x, pa.Scalar) for x in args) else 1
        a, b, valid = dense_pair(args, short, n)
        if a is None or b is None or not valid.any():
            return pa.nulls(n, pa.float64())
        return _result(fn(a, b), valid, n)
    return impl


# ---- bit ------------------------------------------------------------------------------

def bit_arg(x: Arg, n: int) -> tuple[Matrix | None, int, np.ndarray]:
    """(packed-bit matrix or 1-D constant, bit length, valid) of one bit argument."""
    if isinstance(x, pa.Scalar):
        if not x.is_valid:
            return None, 0, np.zeros(n, dtype=bool)
        raw = x.as_py()
        nbits = int.from_bytes(raw[:4], "big")
        return np.frombuffer(raw[4:], np.uint8), nbits, np.ones(n, dtype=bool)
    m, nbits, valid = VT.bit_matrix(x)
    return m, nbits, valid


def bit_distance(kind: str) -> Callable[[CallContext, list[Arg]], pa.Array]:
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = ctx.n if not all(isinstance(x, pa.Scalar) for x in args) else 1
        a, la, va = bit_arg(args[0], n)
        b, lb, vb = bit_arg(args[1], n)
        valid = va & vb
        if a is None or b is None or not valid.any():
            return pa.nulls(n, pa.float64())
        if la != lb:
            raise DataException(f"different bit lengths {la} and {lb}")
        a2, b2 = _rows(a, b)
        if kind == "hamming":
            out = np.bitwise_count(a2 ^ b2).sum(axis=1, dtype=np.int64).astype(np.float64)
        else:
            ab = np.bitwise_count(a2 & b2).sum(axis=1, dtype=np.int64)
            aa = np.bitwise_count(a2).sum(axis=1, dtype=np.int64)
            bb = np.bitwise_count(b2).sum(axis=1, dtype=np.int64)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(ab == 0, 1.0, 1.0 - ab / np.maximum(aa + bb - ab, 1))
        return _result(np.asarray(out, np.float64), valid, n)
    return impl


# ---- sparsevec --------------------------------------------------------------------------

class Sparse:
    """A sparse column as flat entries: row id, 0-based index, value; plus dims and validity."""

    def __init__(self, rows: np.ndarray, idx: np.ndarray, vals: np.ndarray, dims: np.ndarray,
                 valid: np.ndarray, const: bool) -> None:
        self.rows, self.idx, self.vals, self.dims, self.valid, self.const = \
            rows, idx, vals, dims, valid, const

    @classmethod
    def of(cls, x: Arg, n: int) -> Sparse:
        if isinstance(x, pa.Scalar):
            if not x.is_valid:
                z = np.zeros(0, np.int64)
                return cls(z, z, np.zeros(0, np.float32), np.zeros(1, np.int64),
                           np.zeros(n, dtype=bool), True)
            v = x.as_py()
            k = len(v["indices"])
            return cls(np.zeros(k, np.int64), np.asarray(v["indices"], np.int64),
                       np.asarray(v["values"], np.float32), np.array([v["dim"]], np.int64),
                       np.ones(n, dtype=bool), True)
        a = x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x
        valid = V.valid_mask(a)
        idx_l = a.field("indices")
        offs = idx_l.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        counts = np.diff(offs)
        if a.null_count:
            counts = np.where(valid, counts, 0)
        rows = np.repeat(np.arange(len(a), dtype=np.int64), counts)
        keep = np.repeat(valid, np.diff(offs)) if a.null_count else slice(None)
        idx = V._np(V.element_values(idx_l)).astype(np.int64)[keep]
        vals = V._np(V.element_values(a.field("values"))).astype(np.float32)[keep]
        dims = a.field("dim").fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        return cls(rows, idx, vals, dims, valid, False)

    def row_sum(self, w: np.ndarray, n: int) -> np.ndarray:
        if self.const:
            return np.full(n, float(w.sum(dtype=np.float64)))
        return np.bincount(self.rows, weights=w, minlength=n)


def sparse_terms(a: Sparse, b: Sparse, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each entry of a, the value b holds at the same (row, index) (0 when absent),
    and whether it holds one."""
    if b.const:
        pos = np.searchsorted(b.idx, a.idx)
        pos_c = np.minimum(pos, max(len(b.idx) - 1, 0))
        hit = (pos < len(b.idx)) & (b.idx[pos_c] == a.idx) if len(b.idx) else \
            np.zeros(len(a.idx), dtype=bool)
        bv = np.where(hit, b.vals[pos_c] if len(b.idx) else 0.0, 0.0).astype(np.float32)
        return bv, hit
    big = int(max(a.dims.max(initial=0), b.dims.max(initial=0))) + 1
    rows_a = a.rows if not a.const else np.zeros(len(a.idx), np.int64)
    ka = rows_a * big + a.idx
    kb = b.rows * big + b.idx
    pos = np.searchsorted(kb, ka)
    pos_c = np.minimum(pos, max(len(kb) - 1, 0))
    hit = (pos < len(kb)) & (kb[pos_c] == ka) if len(kb) else np.zeros(len(ka), dtype=bool)
    bv = np.where(hit, b.vals[pos_c] if len(kb) else 0.0, 0.0).astype(np.float32)
    return bv, hit


def sparse_distance(metric: str) -> Callable[[CallContext, list[Arg]], pa.Array]:
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = ctx.n if not all(isinstance(x, pa.Scalar) for x in args) else 1
        a, b = Sparse.of(args[0], n), Sparse.of(args[1], n)
        if a.const and not b.const:
            a, b = b, a  # all metrics are symmetric up to sign
        valid = a.valid & b.valid
        if not valid.any():
            return pa.nulls(n, pa.float64())
        da = a.dims if not a.const else np.full(n, a.dims[0])
        db = b.dims if not b.const else np.full(n, b.dims[0])
        bad = valid & (da != db)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataException(f"different sparsevec dimensions {da[i]} and {db[i]}")
        bv, _ = sparse_terms(a, b, n)
        rows_n = n
        ip = a.row_sum(a.vals.astype(np.float64) * bv, rows_n)
        if metric in ("inner_product", "negative_inner_product"):
            out = ip if metric == "inner_product" else -ip
        elif metric == "cosine_distance":
            na = a.row_sum(a.vals.astype(np.float64) ** 2, rows_n)
            nb = b.row_sum(b.vals.astype(np.float64) ** 2, rows_n)
            with np.errstate(invalid="ignore", divide="ignore"):
                out = 1.0 - np.clip(ip / np.sqrt(na * nb), -1.0, 1.0)
        elif metric == "l2_distance":
            sq = a.row_sum((a.vals.astype(np.float64) - bv) ** 2, rows_n)
            only_b = b.row_sum(b.vals.astype(np.float64) ** 2, rows_n) - \
                a.row_sum(bv.astype(np.float64) ** 2, rows_n)
            out = np.sqrt(np.maximum(sq + only_b, 0.0).astype(np.float32).astype(np.float64))
        else:  # l1
            s = a.row_sum(np.abs(a.vals.astype(np.float64) - bv), rows_n)
            only_b = b.row_sum(np.abs(b.vals.astype(np.float64)), rows_n) - \
                a.row_sum(np.abs(bv.astype(np.float64)), rows_n)
            out = (s + only_b).astype(np.float32).astype(np.float64)
        return _result(np.asarray(out, np.float64), valid, n)
    return impl


# ---- registration -----------------------------------------------------------------------

OPERATORS = {"<->": "l2_distance", "<#>": "negative_inner_product", "<=>": "cosine_distance",
             "<+>": "l1_distance"}


def register(fr: FunctionRegistry, dense: tuple[SqlType, ...], sparse: SqlType,
             bit: SqlType) -> None:
    """Distance operators and functions for every vector type."""
    for t in dense:
        for op, metric in OPERATORS.items():
            fr.add(op, [t, t], T.FLOAT8, dense_distance(metric, t.short))
        for metric in ("l2_distance", "inner_product", "cosine_distance", "l1_distance"):
            fr.add(metric, [t, t], T.FLOAT8, dense_distance(metric, t.short))
        fr.add("vector_negative_inner_product", [t, t], T.FLOAT8,
               dense_distance("negative_inner_product", t.short))
    for op, metric in OPERATORS.items():
        fr.add(op, [sparse, sparse], T.FLOAT8, sparse_distance(metric))
    for metric in ("l2_distance", "inner_product", "cosine_distance", "l1_distance"):
        fr.add(metric, [sparse, sparse], T.FLOAT8, sparse_distance(metric))
    fr.add("<~>", [bit, bit], T.FLOAT8, bit_distance("hamming"))
    fr.add("hamming_distance", [bit, bit], T.FLOAT8, bit_distance("hamming"))
    fr.add("<%>", [bit, bit], T.FLOAT8, bit_distance("jaccard"))
    fr.add("jaccard_distance", [bit, bit], T.FLOAT8, bit_distance("jaccard"))
