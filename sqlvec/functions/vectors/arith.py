"""Element-wise vector arithmetic and per-vector functions, whole columns at a time.

`+ - *` and `||` on dense vectors, vector_dims, vector_norm/l2_norm, l2_normalize,
binary_quantize, subvector; float overflow/underflow raise 22003 as pgvector does.

    >>> _checked(np.add, np.array([[1, 2]], np.float32), np.array([[3, 4]], np.float32)).tolist()
    [[4.0, 6.0]]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import DataException, NumericValueOutOfRange, ProgramLimitExceeded
from sqlvec.core.types import SqlType
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vectors import textio as VT
from sqlvec.functions.vectors import types as V
from sqlvec.functions.vectors.ops import Sparse, dense_arg, dense_pair


def _n(ctx: CallContext, args: list[Arg]) -> int:
    return 1 if all(isinstance(x, pa.Scalar) for x in args) else ctx.n


def _checked(op: Callable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        r = op(a, b)
    if np.isinf(r).any():
        raise NumericValueOutOfRange("value out of range: overflow")
    if op is np.multiply:
        under = (r == 0) & (a != 0) & (b != 0)
        if under.any():
            raise NumericValueOutOfRange("value out of range: underflow")
    return r


def from_float32(m: np.ndarray, t: SqlType, valid: np.ndarray | None) -> pa.Array:
    """A float32 matrix as a column of dense type t (no typmod: list storage)."""
    if t.short == "halfvec":
        with np.errstate(over="ignore"):
            h = m.astype(np.float16)
        if np.isinf(h).any() and not np.isinf(m).any():
            raise NumericValueOutOfRange("value out of range: overflow")
        m = h
    elif t.short == "bf16vec":
        m = V.f32_to_bf16(m)
    elif t.short == "int8vec":
        m = np.clip(np.rint(m), -128, 127).astype(np.int8)
    return V.from_matrix(np.atleast_2d(m), t.arrow, valid)


def elementwise(op: Callable, t: SqlType) -> Callable[[CallContext, list[Arg]], pa.Array]:
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = _n(ctx, args)
        a, b, valid = dense_pair(args, t.short, n)
        if a is None or b is None or not valid.any():
            return pa.nulls(n, t.arrow)
        r = _checked(op, *np.broadcast_arrays(np.atleast_2d(a), np.atleast_2d(b)))
        return from_float32(r, t, valid)
    return impl


def concat(t: SqlType) -> Callable[[CallContext, list[Arg]], pa.Array]:
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = _n(ctx, args)
        a, va = dense_arg(args[0], t.short, n)
        b, vb = dense_arg(args[1], t.short, n)
        valid = va & vb
        if a is None or b is None or not valid.any():
            return pa.nulls(n, t.arrow)
        a2, b2 = np.atleast_2d(a), np.atleast_2d(b)
        rows = max(len(a2), len(b2))
        if a2.shape[1] + b2.shape[1] > V.MAX_DIM:
            raise ProgramLimitExceeded(f"{t.short} cannot have more than {V.MAX_DIM} dimensions")
        r = np.hstack([np.broadcast_to(a2, (rows, a2.shape[1])), np.broadcast_to(b2, (rows, b2.shape[1]))])
        return from_float32(r, t, valid)
    return impl


def _dims(ctx: CallContext, args: list[Arg]) -> pa.Array:
    x = args[0]
    if isinstance(x, pa.Scalar):
        return pa.array([None if not x.is_valid else len(x.values)], pa.int32())
    valid = V.valid_mask(x)
    return pa.array(V.dims_of(x).astype(np.int32), pa.int32(), mask=~valid if not valid.all() else None)


def _sparse_dims(ctx: CallContext, args: list[Arg]) -> pa.Array:
    x = args[0]
    if isinstance(x, pa.Scalar):
        return pa.array([None if not x.is_valid else x.as_py()["dim"]], pa.int32())
    return x.field("dim")


def _per_row(fn: Callable[[np.ndarray], np.ndarray], short: str
             ) -> Callable[[CallContext, list[Arg]], pa.Array]:
    """A float64 result per vector; unconstrained columns of mixed dimensions grouped by size."""
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        x = args[0]
        if isinstance(x, pa.Scalar):
            v = V.scalar_vector(x)
            return pa.array([None if v is None else float(fn(np.atleast_2d(V.to_float32(v, short)))[0])],
                            pa.float64())
        dims = V.dims_of(x)
        valid = V.valid_mask(x)
        out = np.zeros(len(x), np.float64)
        for d in np.unique(dims[valid]):
            rows = valid & (dims == d)
            m, _ = V.matrix(x.filter(pa.array(rows)), tname=short)
            out[rows] = fn(V.to_float32(m, short))
        return pa.array(out, pa.float64(), mask=~valid if not valid.all() else None)
    return impl


def _norm(m: np.ndarray) -> np.ndarray:
    m64 = m.astype(np.float64)
    return np.sqrt(np.einsum("ij,ij->i", m64, m64))


def _sparse_norm(ctx: CallContext, args: list[Arg]) -> pa.Array:
    n = _n(ctx, args)
    s = Sparse.of(args[0], n)
    out = np.sqrt(s.row_sum(s.vals.astype(np.float64) ** 2, n))
    return pa.array(out, pa.float64(), mask=~s.valid if not s.valid.all() else None)


def l2_normalize(t: SqlType) -> Callable[[CallContext, list[Arg]], pa.Array]:
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = _n(ctx, args)
        a, valid = dense_arg(args[0], t.short, n)
        if a is None or not valid.any():
            return pa.nulls(n, t.arrow)
        a2 = np.atleast_2d(a)
        norm = _norm(a2)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            r = np.where(norm[:, None] > 0, a2 / norm[:, None], 0.0).astype(np.float32)
        if np.isinf(r).any():
            raise NumericValueOutOfRange("value out of range: overflow")
        return from_float32(r, t, valid)
    return impl


def _sparse_normalize(ctx: CallContext, args: list[Arg]) -> pa.Array:
    x = args[0]
    n = _n(ctx, args)
    arr = pa.array([x.as_py()], V.SPARSE_ARROW) if isinstance(x, pa.Scalar) else x
    s = Sparse.of(arr, len(arr))
    norm = np.sqrt(s.row_sum(s.vals.astype(np.float64) ** 2, len(arr)))
    with np.errstate(invalid="ignore", divide="ignore"):
        vals = (s.vals / norm[s.rows]).astype(np.float32) if len(s.vals) else s.vals
    idx_l = arr.field("indices")
    offs = pc.subtract(idx_l.offsets, idx_l.offsets[0])
    keep = vals != 0  # pgvector drops elements that become zero
    if not keep.all():
        counts = np.bincount(s.rows[keep], minlength=len(arr))
        offs = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    out = pa.StructArray.from_arrays(
        [arr.field("dim"), pa.ListArray.from_arrays(offs, pa.array(s.idx[keep], pa.int32())),
         pa.ListArray.from_arrays(offs, pa.array(vals[keep], pa.float32()))],
        fields=list(V.SPARSE_ARROW), mask=pa.array(~s.valid) if not s.valid.all() else None)
    return out if len(out) == n else pa.repeat(out[0], n)


def binary_quantize(t: SqlType) -> Callable[[CallContext, list[Arg]], pa.Array]:
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = _n(ctx, args)
        a, valid = dense_arg(args[0], t.short, n)
        if a is None or not valid.any():
            return pa.nulls(n, pa.binary())
        a2 = np.atleast_2d(a)
        return VT.bits_from_matrix(np.packbits(a2 > 0, axis=1), a2.shape[1], valid)
    return impl


def _sub_bounds(dim: int, start: int, count: int, short: str) -> tuple[int, int]:
    """pgvector's subvector bounds: 1-based start, clipped end, errors for empty results."""
    if count < 1:
        raise DataException(f"{short} must have at least 1 dimension")
    end = dim + 1 if start > dim - count else start + count
    if start < 1:
        start = 1
    elif start > dim:
        raise DataException(f"{short} must have at least 1 dimension")
    return start - 1, end - 1


def subvector(t: SqlType) -> Callable[[CallContext, list[Arg]], pa.Array]:
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = _n(ctx, args)
        a, valid = dense_arg(args[0], t.short, n)
        sc = [np.broadcast_to(np.asarray(
            [x.as_py()] if isinstance(x, pa.Scalar) else pc.fill_null(x, 0).to_numpy(
                zero_copy_only=False), dtype=np.int64), (n,)) for x in args[1:3]]
        for x in args[1:3]:
            valid = valid & (np.asarray([x.is_valid]) if isinstance(x, pa.Scalar)
                             else V.valid_mask(x))
        if a is None or not valid.any():
            return pa.nulls(n, t.arrow)
        a2 = np.broadcast_to(np.atleast_2d(a), (n, np.atleast_2d(a).shape[1]))
        pairs = np.stack(sc, axis=1)
        uniq, inv = np.unique(pairs[valid], axis=0, return_inverse=True)
        if len(uniq) == 1:  # the usual case: constant start and count
            lo, hi = _sub_bounds(a2.shape[1], int(uniq[0, 0]), int(uniq[0, 1]), t.short)
            return from_float32(a2[:, lo:hi], t, valid)
        rows = np.flatnonzero(valid)
        parts, order = [], []
        for k, (s0, c0) in enumerate(uniq):
            sel = rows[inv.reshape(-1) == k]
            lo, hi = _sub_bounds(a2.shape[1], int(s0), int(c0), t.short)
            parts.append(from_float32(a2[sel, lo:hi], t, None))
            order.append(sel)
        merged = pa.concat_arrays(parts)
        pos = np.full(n, -1, np.int64)
        pos[np.concatenate(order)] = np.arange(len(merged))
        return merged.take(pa.array(pos, mask=pos < 0))
    return impl


def register(fr: FunctionRegistry, dense: tuple[SqlType, ...], sparse: SqlType,
             bit: SqlType) -> None:
    for t in dense:
        fr.add("+", [t, t], t, elementwise(np.add, t))
        fr.add("-", [t, t], t, elementwise(np.subtract, t))
        fr.add("*", [t, t], t, elementwise(np.multiply, t))
        fr.add("||", [t, t], t, concat(t))
        fr.add("vector_dims", [t], T.INT4, _dims)
        fr.add("l2_norm", [t], T.FLOAT8, _per_row(_norm, t.short))
        fr.add("l2_normalize", [t], t, l2_normalize(t))
        fr.add("binary_quantize", [t], bit, binary_quantize(t))
        fr.add("subvector", [t, T.INT4, T.INT4], t, subvector(t))
    fr.add("vector_norm", [dense[0]], T.FLOAT8, _per_row(_norm, "vector"))
    fr.add("vector_dims", [sparse], T.INT4, _sparse_dims)
    fr.add("l2_norm", [sparse], T.FLOAT8, _sparse_norm)
    fr.add("l2_normalize", [sparse], sparse, _sparse_normalize)
