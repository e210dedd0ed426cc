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


def _rows(v: pa.Array, short: str, mismatch: str) -> tuple[np.ndarray, np.ndarray]:
    """(float matrix of the valid rows, their positions); dimension errors as pgvector words them."""
    valid = V.valid_mask(v)
    dims = V.dims_of(v)
    if valid.any():
        d0 = int(dims[valid][0])
        bad = valid & (dims != d0)
        if bad.any():
            other = int(dims[bad][0])
            msg = f"expected {d0} dimensions, not {other}" if mismatch == "expected" else \
                f"different {short} dimensions {d0} and {other}"
            raise DataException(msg)
    m, _ = V.matrix(v, tname=short)
    return V.to_float32(m, short), valid


def vector_agg(kind: str, t: SqlType) -> AggFn:
    def impl(ctx: object, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        (v,) = args
        if isinstance(v, pa.ChunkedArray):
            v = v.combine_chunks()
        m, valid = _rows(v, t.short, "expected" if kind == "avg" else "different")
        g = gid[valid]
        m = m[valid]
        cnt = np.bincount(g, minlength=n)
        d = m.shape[1] if m.ndim == 2 else 0
        if kind == "avg":
            acc = np.zeros((n, d), np.float64)
            np.add.at(acc, g, m.astype(np.float64))
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                out = (acc / np.maximum(cnt, 1)[:, None]).astype(np.float32)
        else:
            acc32 = np.zeros((n, d), np.float32)
            with np.errstate(over="ignore"):
                np.add.at(acc32, g, m)
            out = acc32
        if np.isinf(out).any():
            raise NumericValueOutOfRange("value out of range: overflow")
        if n and (cnt == 0).all():
            return pa.nulls(n, t.arrow)
        return from_float32(out, t, cnt > 0)
    return impl


def register(fr: FunctionRegistry, dense: tuple[SqlType, ...]) -> None:
    for t in dense:
        fr.add_aggregate("avg", [t], t, vector_agg("avg", t))
        fr.add_aggregate("sum", [t], t, vector_agg("sum", t))
