"""Comparison operators on dense vectors (pgvector's btree opclass): = <> < <= > >=.

Order is element-wise lexicographic, then by dimension, as pgvector's vector_cmp; one
vectorised pass finds each row's first differing element.

    >>> _cmp_rows(np.array([[1, 2], [1, 3]], np.float32), np.array([1, 3], np.float32)).tolist()
    [-1, 0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.types import SqlType
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vectors import types as V


def _cmp_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """-1 / 0 / 1 per row for equal-width float matrices (b may be one row)."""
    a2, b2 = np.broadcast_arrays(np.atleast_2d(a), np.atleast_2d(b))
    diff = a2 != b2
    first = np.argmax(diff, axis=1)
    rows = np.arange(len(a2))
    any_diff = diff.any(axis=1)
    sign = np.where(a2[rows, first] < b2[rows, first], -1, 1)
    return np.where(any_diff, sign, 0)


def _operand(x: Arg, short: str, n: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """Row groups of one dimension each: [(row positions, float32 matrix)], valid mask."""
    if isinstance(x, pa.Scalar):
        v = V.scalar_vector(x)
        if v is None:
            return [], np.zeros(n, dtype=bool)
        return [(np.arange(n), V.to_float32(np.asarray(v), short)[None, :])], np.ones(n, dtype=bool)
    valid = V.valid_mask(x)
    dims = V.dims_of(x)
    out = []
    for d in np.unique(dims[valid]):
        rows = np.flatnonzero(valid & (dims == d))
        m, _ = V.matrix(x.take(pa.array(rows)), tname=short)
        out.append((rows, V.to_float32(m, short)))
    return out, valid


def compare(op: Callable[[np.ndarray], np.ndarray], short: str
            ) -> Callable[[CallContext, list[Arg]], pa.Array]:
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = 1 if all(isinstance(x, pa.Scalar) for x in args) else ctx.n
        ga, va = _operand(args[0], short, n)
        gb, vb = _operand(args[1], short, n)
        valid = va & vb
        res = np.zeros(n, dtype=np.int64)
        # compare the common prefix per (dim a, dim b) group, then the dimensions
        for rows_a, ma in ga:
            for rows_b, mb in gb:
                rows = np.intersect1d(rows_a, rows_b)
                if not len(rows):
                    continue
                w = min(ma.shape[1], mb.shape[1])
                xa = ma[np.searchsorted(rows_a, rows)] if len(ma) == len(rows_a) else ma
                xb = mb[np.searchsorted(rows_b, rows)] if len(mb) == len(rows_b) else mb
                c = _cmp_rows(xa[:, :w], xb[:, :w])
                res[rows] = np.where(c != 0, c, np.sign(ma.shape[1] - mb.shape[1]))
        out = op(res)
        return pa.array(out, pa.bool_(), mask=~valid if not valid.all() else None)
    return impl


def order_key(a: pa.Array, short: str) -> pa.Array:
    """A key that orders a vector column as pgvector's / PostgreSQL's btree (ORDER BY,
    DISTINCT ON, merge keys); NULL rows stay NULL. Dense: element by element, then the
    shorter first; sparsevec: as its dense form; bit/varbit: bit by bit, then the shorter."""
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if short in ("bit", "varbit"):
        from sqlvec.functions.vectors.textio import format_bit

        return format_bit(a, V.VARBIT)
    if short == "sparsevec":
        return sparse_order_key(a)
    from sqlvec.functions.compare import list_order_key

    # the elements as float32 (bf16vec's bit patterns widened) in a list array, ranked as arrays
    values = V.to_float32(V._np(pc.list_flatten(a)), short)  # (NULL rows hold none)
    offsets = np.concatenate([[0], np.cumsum(V.dims_of(a))]).astype(np.int32)
    mask = None if not a.null_count else pa.array(~V.valid_mask(a))
    return list_order_key(pa.ListArray.from_arrays(pa.array(offsets), pa.array(values), mask=mask))


def sparse_order_key(a: pa.Array) -> pa.Array:
    """An int64 key ordering sparsevec rows as pgvector's sparsevec_cmp: the dense forms
    element by element, then the smaller dimension first (a total order: lexicographic on
    the dense sequences).

    Each row becomes a token list, its stored (index, value) pairs then an end token for its
    dimension, so that comparing token lists compares the dense forms. At the first token
    where two rows differ, the one with the lower index holds a nonzero where the other has
    0: a negative value sorts low, a positive one high. Tokens are (class, x, value):
    negative entries (0, 2*index, v), the end (0, 2*dim - 1, 0) (after any negative entry
    below the dimension, before any at or past it: the row ended first), positive entries
    (1, -index, v). Tokens are ranked once, the rank lists ranked as arrays.

        >>> from sqlvec.functions.vectors.textio import parse_sparse
        >>> rows = ["{1:1}/2", "{}/2", "{2:-1}/2", "{}/1", "{1:-1}/2", None, "{2:1}/3"]
        >>> sparse_order_key(parse_sparse(pa.array(rows), V.SPARSEVEC)).to_pylist()
        [7, 5, 4, 3, 2, None, 6]
    """
    from sqlvec.functions.compare import list_order_key

    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    n = len(a)
    valid = V.valid_mask(a)
    dims = np.asarray(pc.fill_null(pc.struct_field(a, "dim"), 0), dtype=np.int64)
    idx_l, val_l = pc.struct_field(a, "indices"), pc.struct_field(a, "values")
    nnz = np.asarray(pc.fill_null(pc.list_value_length(idx_l), 0), dtype=np.int64)
    nnz[~valid] = 0
    idx = np.asarray(pc.list_flatten(idx_l), dtype=np.int64)
    val = np.asarray(pc.list_flatten(val_l), dtype=np.float32)
    if len(idx) != int(nnz.sum()):  # NULL rows' slots held entries: keep the valid rows'
        par = np.asarray(pc.list_parent_indices(idx_l), dtype=np.int64)
        idx, val = idx[valid[par]], val[valid[par]]
    # the token stream: each row's entries, then its end token
    count = nnz + valid  # (NULL rows: no tokens)
    ends = (np.cumsum(count) - 1)[valid]
    total = int(count.sum())
    is_end = np.zeros(total, dtype=bool)
    is_end[ends] = True
    tidx = np.zeros(total, np.int64)
    tval = np.zeros(total, np.float32)
    tidx[~is_end], tval[~is_end] = idx, val
    cls = (tval > 0).astype(np.int8)
    x = np.where(cls == 1, -tidx, 2 * tidx)
    x[ends] = 2 * dims[valid] - 1
    order = np.lexsort((tval, x, cls))
    new = np.r_[True, (np.diff(cls[order]) != 0) | (np.diff(x[order]) != 0)
                | (tval[order][1:] != tval[order][:-1])] if total else np.zeros(0, bool)
    rank = np.empty(total, np.int64)
    rank[order] = np.cumsum(new)
    offsets = np.concatenate([[0], np.cumsum(count)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(rank),
                                     mask=None if valid.all() else pa.array(~valid))
    return list_order_key(lists) if n else pa.array([], pa.int64())


OPS = {"=": lambda c: c == 0, "<>": lambda c: c != 0, "<": lambda c: c < 0,
       "<=": lambda c: c <= 0, ">": lambda c: c > 0, ">=": lambda c: c >= 0}


BIT_OPS = {"=": pc.equal, "<>": pc.not_equal, "<": pc.less, "<=": pc.less_equal,
           ">": pc.greater, ">=": pc.greater_equal}


def compare_bits(fn: Callable) -> Callable[[CallContext, list[Arg]], pa.Array]:
    """PostgreSQL's bit_cmp: bit by bit over the common length, then the shorter first; that
    is the order of the '0'/'1' texts, compared as Arrow strings (no row loop).

        >>> from sqlvec.functions.vectors.textio import parse_bit
        >>> a = parse_bit(pa.array(["101", "10", "1", None]), V.VARBIT)
        >>> b = parse_bit(pa.array(["11", "100", "1", "0"]), V.VARBIT)
        >>> compare_bits(pc.less)(None, [a, b]).to_pylist()
        [True, True, False, None]
    """
    from sqlvec.functions.vectors.textio import format_bit

    def text(x: Arg) -> pa.Array:
        if isinstance(x, pa.Scalar):
            x = pa.array([x.as_py()], pa.binary())
        return format_bit(x, V.VARBIT)

    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        a, b = (text(x) for x in args)
        if len(a) == 1 and len(b) != 1:
            a = a[0]
        elif len(b) == 1 and len(a) != 1:
            b = b[0]
        return fn(a, b)
    return impl


def compare_sparse(op: Callable[[np.ndarray], np.ndarray]
                   ) -> Callable[[CallContext, list[Arg]], pa.Array]:
    """sparsevec = <> < <= > >= as pgvector's sparsevec_cmp: both sides ranked together by
    sparse_order_key (equal values get equal keys), the keys compared.

        >>> from sqlvec.functions.vectors.textio import parse_sparse
        >>> a = parse_sparse(pa.array(["{1:1}/2", "{}/3", "{2:-1}/2", None]), V.SPARSEVEC)
        >>> b = parse_sparse(pa.array(["{1:1}/3", "{}/2", "{}/1", "{}/1"]), V.SPARSEVEC)
        >>> compare_sparse(OPS["<"])(None, [a, b]).to_pylist()
        [True, False, False, None]
    """
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        sides = [pa.array([x.as_py()], x.type) if isinstance(x, pa.Scalar)
                 else x.combine_chunks() if isinstance(x, pa.ChunkedArray) else x for x in args]
        a, b = sides
        key = sparse_order_key(pa.concat_arrays([a, b.cast(a.type)]))
        valid = np.asarray(pc.is_valid(key))
        k = np.asarray(pc.fill_null(key, 0), dtype=np.int64)
        ka, kb, va, vb = k[:len(a)], k[len(a):], valid[:len(a)], valid[len(a):]
        res = np.sign(ka - kb)
        ok = va & vb
        return pa.array(op(res), pa.bool_(), mask=None if ok.all() else ~ok)
    return impl


def register(fr: FunctionRegistry, dense: tuple[SqlType, ...],
             bits: tuple[SqlType, ...] = (), sparse: SqlType | None = None) -> None:
    for t in dense:
        for name, fn in OPS.items():
            fr.add(name, [t, t], T.BOOL, compare(fn, t.short))
    if sparse is not None:
        for name, fn in OPS.items():
            fr.add(name, [sparse, sparse], T.BOOL, compare_sparse(fn))
    for t in bits:
        for name, fn in BIT_OPS.items():
            fr.add(name, [t, t], T.BOOL, compare_bits(fn))
