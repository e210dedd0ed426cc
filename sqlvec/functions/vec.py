"""Helpers shared by function implementations: broadcasting, null masks, per-distinct maps.

`map_distinct` is the one sanctioned escape hatch for grammars pyarrow.compute cannot
express (json paths, format(), md5): the Python function runs once per distinct input
(dictionary encoding), or once per row only when several arguments vary per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.functions.registry import Arg


def arr(x: Arg, n: int) -> pa.Array:
    """A scalar broadcast to n rows; chunked arrays combined."""
    if isinstance(x, pa.Scalar):
        return pa.repeat(x, n) if x.is_valid else pa.nulls(n, x.type)
    if isinstance(x, pa.ChunkedArray):
        return x.combine_chunks()
    return x


def is_scalar(x: Arg) -> bool:
    return isinstance(x, pa.Scalar)


def py(x: pa.Scalar) -> Any:
    return x.as_py()


def any_null_mask(args: Sequence[Arg], n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for a in args:
        if isinstance(a, pa.Scalar):
            if not a.is_valid:
                mask[:] = True
        elif a.null_count:
            mask |= np.asarray(pc.is_null(a))
    return mask


def map_distinct(fn: Callable[..., Any], args: Sequence[Arg], n: int, out_type: pa.DataType,
                 *, strict: bool = True) -> pa.Array:
    """Apply a Python fn to argument tuples: once per distinct value when at most one
    argument varies per row, otherwise once per row. NULL inputs give NULL when strict."""
    varying = [i for i, a in enumerate(args) if not isinstance(a, pa.Scalar)]
    consts = [a.as_py() if isinstance(a, pa.Scalar) else None for a in args]
    if not varying:
        if strict and any(c is None for c in consts):
            return pa.nulls(n, out_type)
        return pa.repeat(pa.scalar(fn(*consts), out_type), n)
    if len(varying) == 1:
        i = varying[0]
        col = arr(args[i], n)
        if pa.types.is_nested(col.type) or pa.types.is_dictionary(col.type):
            values = col.to_pylist()
            return pa.array([_call(fn, consts, i, v, strict) for v in values], out_type)
        enc = pc.dictionary_encode(col)
        uniq = enc.dictionary.to_pylist()
        res = pa.array([_call(fn, consts, i, v, strict) for v in uniq], out_type)
        out = res.take(enc.indices)
        if not strict and col.null_count:  # the dictionary holds no NULL: fn(NULL) once
            at_null = pa.scalar(_call(fn, consts, i, None, strict), out_type)
            out = pc.if_else(pc.is_null(col), at_null, out)
        return out
    cols = [arr(a, n).to_pylist() if not isinstance(a, pa.Scalar) else None for a in args]
    out = []
    for r in range(n):
        vals = [cols[k][r] if cols[k] is not None else consts[k] for k in range(len(args))]
        out.append(None if strict and any(v is None for v in vals) else fn(*vals))
    return pa.array(out, out_type)


def _call(fn: Callable[..., Any], consts: list[Any], i: int, v: Any, strict: bool) -> Any:
    if strict and (v is None or any(c is None for k, c in enumerate(consts) if k != i)):
        return None
    vals = list(consts)
    vals[i] = v
    return fn(*vals)


def any_true(x: Arg) -> bool:
    if isinstance(x, pa.Scalar):
        return bool(x.as_py())
    return bool(pc.any(pc.fill_null(x, False)).as_py())
