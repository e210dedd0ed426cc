"""avg and sum over dense vectors, all groups at once (np.add.at over the row matrix).

avg accumulates in float64 and returns float32 elements, sum accumulates in float32 with
an overflow check, as pgvector's vector_accum/vector_combine and vector_add do.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa

from sqlvec.core.errors import DataException, NumericValueOutOfRange
from sqlvec.core.types import SqlType
from sqlvec.functions.registry import FunctionRegistry
from sqlvec.functions.vectors import types as V
from sqlvec.functions.vectors.arith import from_float32

AggFn = Callable[..., pa.Array]


def _check_group_dims(dims: np.ndarray, gid: np.ndarray, n: int, short: str, kind: str) -> None:
    """Every group's vectors share one dimension; the message names the first clash."""
    lo = np.full(n, np.iinfo(np.int64).max)
    hi = np.full(n, -1)
    np.minimum.at(lo, gid, dims)
    np.maximum.at(hi, gid, dims)
    bad = np.flatnonzero((hi >= 0) & (lo != hi))
    if bad.size:
        g = bad[0]
        rows = np.flatnonzero(gid == g)
        first = int(dims[rows[0]])
        other = int(dims[rows][dims[rows] != first][0])
        raise DataException(f"expected {first} dimensions, not {other}" if kind == "avg" else
                            f"different {short} dimensions {first} and {other}")


def _accumulate(kind: str, m: np.ndarray, g: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    cnt = np.bincount(g, minlength=n)
    if kind == "avg":
        acc = np.zeros((n, m.shape[1]), np.float64)
        np.add.at(acc, g, m.astype(np.float64))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            out = (acc / np.maximum(cnt, 1)[:, None]).astype(np.float32)
    else:
        out = np.zeros((n, m.shape[1]), np.float32)
        with np.errstate(over="ignore"):
            np.add.at(out, g, m)
    if np.isinf(out).any():
        raise NumericValueOutOfRange("value out of range: overflow")
    return out, cnt


def vector_agg(kind: str, t: SqlType) -> AggFn:
    def impl(ctx: object, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        (v,) = args
        if isinstance(v, pa.ChunkedArray):
            v = v.combine_chunks()
        valid = V.valid_mask(v)
        dims = V.dims_of(v)[valid]
        g = gid[valid]
        _check_group_dims(dims, g, n, t.short, kind)
        vv = v.filter(pa.array(valid)) if not valid.all() else v
        uniq = np.unique(dims)
        if len(uniq) <= 1:  # one dimension for all groups: a single matrix pass
            m, _ = V.matrix(vv, tname=t.short)
            out, cnt = _accumulate(kind, V.to_float32(m, t.short), g, n)
            return from_float32(out, t, cnt > 0) if (cnt > 0).any() else pa.nulls(n, t.arrow)
        parts, order = [], []
        for d in uniq:  # groups of different dimensions (unconstrained column)
            rows = dims == d
            m, _ = V.matrix(vv.filter(pa.array(rows)), tname=t.short)
            out, cnt = _accumulate(kind, V.to_float32(m, t.short), g[rows], n)
            groups = np.flatnonzero(cnt > 0)
            parts.append(from_float32(out[groups], t, None))
            order.append(groups)
        merged = pa.concat_arrays(parts)
        pos = np.full(n, -1, np.int64)
        pos[np.concatenate(order)] = np.arange(len(merged))
        return merged.take(pa.array(pos, mask=pos < 0))
    return impl


def register(fr: FunctionRegistry, dense: tuple[SqlType, ...]) -> None:
    for t in dense:
        fr.add_aggregate("avg", [t], t, vector_agg("avg", t))
        fr.add_aggregate("sum", [t], t, vector_agg("sum", t))
