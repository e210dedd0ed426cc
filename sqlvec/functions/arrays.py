"""Array operators and functions over Arrow list arrays (one-dimensional, 1-based).

@> <@ && use hash semi-joins on (row, element) pairs; || / array_append / array_cat
rebuild offsets with numpy; array_position / array_to_string / string_to_array work on
the flattened values. `quantified_compare` evaluates `x op ANY/ALL (array)` for the
engine, and `subscript` / `slice_lists` serve `a[i]` and `a[i:j]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core import types as T
from sqlvec.core.errors import (
    ArraySubscriptError,
    FeatureNotSupported,
    NullValueNotAllowed,
    ProgramLimitExceeded,
)
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import any_null_mask, arr

AA, AE, I4, TXT = T.ANYARRAY, T.ANYELEMENT, T.INT4, T.TEXT
Impl = Callable[[CallContext, list[Arg]], Arg]


def _lists(x: Arg, n: int, t: T.SqlType | None = None) -> pa.ListArray:
    """One list of scalar elements per row: a multi-dimensional array's (SQL type t)
    elements in row-major order, as PostgreSQL's array functions see them."""
    a = arr(x, n)
    if pa.types.is_large_list(a.type):
        a = pc.cast(a, pa.list_(a.type.value_type))
    return flatten_dims(a, t.ndims - 1 if t is not None and t.is_array else 0)


def flatten_dims(a: pa.ListArray, levels: int) -> pa.ListArray:
    """list<list<...<x>>> -> list<x> with each row's elements in order, removing `levels`
    levels of nesting (the SQL type's dimensions - 1: a vector element is a list too).

        >>> flatten_dims(pa.array([[[1, 2], [3, 4]], None]), 1).to_pylist()
        [[1, 2, 3, 4], None]
    """
    for _ in range(levels):
        if not (pa.types.is_list(a.type) and pa.types.is_list(a.type.value_type)):
            break
        inner = a.values
        if pa.types.is_large_list(inner.type):
            inner = pc.cast(inner, pa.list_(inner.type.value_type))
        outer_off = a.offsets.to_numpy()
        inner_off = inner.offsets.to_numpy()
        off = inner_off[outer_off]
        mask = np.asarray(pc.is_null(a)) if a.null_count else None
        a = pa.ListArray.from_arrays(pa.array(off - off[0], pa.int32()),
                                     inner.values.slice(off[0], off[-1] - off[0]),
                                     mask=pa.array(mask) if mask is not None else None)
    return a


def dim_lengths(x: Arg, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(lengths per dimension as an (n, ndims) int64 matrix, row is NULL or empty). The
    array is rectangular, so each dimension's length is its first sub-array's."""
    a = arr(x, n)
    if pa.types.is_large_list(a.type):
        a = pc.cast(a, pa.list_(a.type.value_type))
    empty = np.asarray(pc.fill_null(pc.equal(pc.list_value_length(a), 0), True))
    cols = []
    first = np.arange(n, dtype=np.int64)  # index of the row's first list at this level
    level = a
    while pa.types.is_list(level.type):
        off = level.offsets.to_numpy().astype(np.int64)
        safe = np.minimum(first, len(level) - 1) if len(level) else first
        ln = (off[safe + 1] - off[safe]) if len(level) else np.zeros(n, np.int64)
        cols.append(np.where(first < len(level), ln, 0))
        first = off[safe] if len(level) else first
        level = level.values
    return np.stack(cols, axis=1) if cols else np.zeros((n, 0), np.int64), empty


def _flat(a: pa.ListArray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(values, parent row of each value, offsets rebased to 0)."""
    off = a.offsets.to_numpy()
    base = off[0] if len(off) else 0
    off = off - base
    values = a.values.slice(base, off[-1] if len(off) else 0)
    parents = np.repeat(np.arange(len(a), dtype=np.int64), np.diff(off))
    return values, parents, off


def _hashable(v: pa.Array) -> pa.Array:
    if pa.types.is_nested(v.type) or v.type == pa.month_day_nano_interval() \
            or pa.types.is_fixed_size_binary(v.type):
        return pc.cast(v, pa.binary()) if pa.types.is_fixed_size_binary(v.type) else \
            pa.array([str(x) for x in v.to_pylist()])
    return v


def _pairs(a: pa.ListArray) -> tuple[pa.Table, np.ndarray]:
    values, parents, _ = _flat(a)
    tbl = pa.table({"row": pa.array(parents), "v": _hashable(values)})
    has_null = np.zeros(len(a), bool)
    if values.null_count:
        nulls = np.asarray(pc.is_null(values))
        has_null[parents[nulls]] = True
        tbl = tbl.filter(pc.invert(pa.array(nulls)))
    return tbl.group_by(["row", "v"], use_threads=False).aggregate([]), has_null


def _count_rows(rows: pa.Array, n: int) -> np.ndarray:
    return np.bincount(rows.to_numpy(zero_copy_only=False).astype(np.int64), minlength=n)


def _contains(swap: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        a, b = (_lists(x, ctx.n, t) for x, t in zip(args, ctx.arg_types))
        if swap:
            a, b = b, a
        pa_, _ = _pairs(a)
        pb, b_null = _pairs(b)
        matched = pb.join(pa_, keys=["row", "v"], join_type="left semi", use_threads=False)
        ok = (_count_rows(matched.column("row"), ctx.n) == _count_rows(pb.column("row"), ctx.n)) & ~b_null
        mask = any_null_mask(args, ctx.n)
        return pa.array(ok, pa.bool_(), mask=mask if mask.any() else None)
    return impl


def _overlap(ctx: CallContext, args: list[Arg]) -> Arg:
    a, b = (_lists(x, ctx.n, t) for x, t in zip(args, ctx.arg_types))
    pa_, _ = _pairs(a)
    pb, _ = _pairs(b)
    matched = pb.join(pa_, keys=["row", "v"], join_type="left semi", use_threads=False)
    mask = any_null_mask(args, ctx.n)
    return pa.array(_count_rows(matched.column("row"), ctx.n) > 0, pa.bool_(),
                    mask=mask if mask.any() else None)


def concat_lists(a: pa.ListArray, b: pa.ListArray, out_type: pa.DataType) -> pa.ListArray:
    """Row-wise concatenation of two list arrays (a NULL side counts as empty)."""
    va, _pa, oa = _flat(a)
    vb, _pb, ob = _flat(b)
    la = np.where(np.asarray(pc.is_valid(a)), np.diff(oa), 0)
    lb = np.where(np.asarray(pc.is_valid(b)), np.diff(ob), 0)
    both_null = np.asarray(pc.is_null(a)) & np.asarray(pc.is_null(b))
    new_off = np.concatenate([[0], np.cumsum(la + lb)]).astype(np.int32)
    n = len(a)
    rows_a = np.repeat(np.arange(n), la)
    rows_b = np.repeat(np.arange(n), lb)
    pos_a = np.arange(len(rows_a)) - np.repeat(np.r_[0, np.cumsum(la)[:-1]], la) if n else np.zeros(0, int)
    pos_b = np.arange(len(rows_b)) - np.repeat(np.r_[0, np.cumsum(lb)[:-1]], lb) if n else np.zeros(0, int)
    src_a = oa[:-1][rows_a] + pos_a
    src_b = ob[:-1][rows_b] + pos_b + len(va)
    dest = np.empty(int(new_off[-1]), dtype=np.int64)
    dest[new_off[:-1][rows_a] + pos_a] = src_a
    dest[new_off[:-1][rows_b] + la[rows_b] + pos_b] = src_b
    elem_t = out_type.value_type
    allv = pa.concat_arrays([pc.cast(va, elem_t), pc.cast(vb, elem_t)])
    values = allv.take(pa.array(dest))
    return pa.ListArray.from_arrays(pa.array(new_off), values, type=out_type,
                                    mask=pa.array(both_null) if both_null.any() else None)


def _single(x: Arg, n: int, out_type: pa.DataType) -> pa.ListArray:
    v = pc.cast(arr(x, n), out_type.value_type)
    return pa.ListArray.from_arrays(pa.array(np.arange(n + 1, dtype=np.int32)), v, type=out_type)


def _cat(kind: str) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        out_t = ctx.return_type.arrow
        if kind == "cat":
            a, b = _lists(args[0], ctx.n, ctx.arg_types[0]), _lists(args[1], ctx.n, ctx.arg_types[1])
        elif kind == "append":
            a, b = _lists(args[0], ctx.n, ctx.arg_types[0]), _single(args[1], ctx.n, out_t)
        else:
            a, b = _single(args[0], ctx.n, out_t), _lists(args[1], ctx.n, ctx.arg_types[1])
        return concat_lists(pc.cast(a, out_t), pc.cast(b, out_t), out_t)
    return impl


def _length(kind: str) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        if kind == "cardinality":
            a = _lists(args[0], ctx.n, ctx.arg_types[0])
            ln = pc.fill_null(pc.list_value_length(a), 0).to_numpy(zero_copy_only=False).astype(np.int64)
            mask = any_null_mask(args, ctx.n)
            return pa.array(ln, pa.int32(), mask=mask if mask.any() else None)
        dims, empty = dim_lengths(args[0], ctx.n)
        mask = any_null_mask(args, ctx.n) | empty
        dim = pc.cast(arr(args[1], ctx.n), pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        bad = mask | (dim < 1) | (dim > dims.shape[1])
        ln = dims[np.arange(ctx.n), np.clip(dim - 1, 0, max(dims.shape[1] - 1, 0))] if dims.shape[1] \
            else np.zeros(ctx.n, np.int64)
        val = {"length": ln, "upper": ln, "lower": np.ones_like(ln)}[kind]
        return pa.array(val, pa.int32(), mask=bad if bad.any() else None)
    return impl


def _ndims(ctx: CallContext, args: list[Arg]) -> Arg:
    dims, empty = dim_lengths(args[0], ctx.n)
    mask = any_null_mask(args, ctx.n) | empty
    return pa.array(np.full(ctx.n, dims.shape[1]), pa.int32(), mask=mask if mask.any() else None)


def _dims(ctx: CallContext, args: list[Arg]) -> Arg:
    dims, empty = dim_lengths(args[0], ctx.n)
    mask = any_null_mask(args, ctx.n) | empty
    parts = [pc.binary_join_element_wise("[1:", pc.cast(pa.array(dims[:, k]), pa.string()), "]", "")
             for k in range(dims.shape[1])]
    txt = pc.binary_join_element_wise(*parts, "") if parts else pa.array([""] * ctx.n)
    return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), txt) if mask.any() else txt


def _fill(ctx: CallContext, args: list[Arg]) -> Arg:
    """array_fill(value, dims [, lbounds]): one-dimensional arrays of `value` repeated.

    >>> # array_fill(7, ARRAY[3]) -> {7,7,7}; array_fill(7, ARRAY[0]) -> {}
    """
    n, out_t = ctx.n, ctx.return_type.arrow
    dims = _lists(args[1], n)
    lbs = _lists(args[2], n) if len(args) > 2 else None
    if dims.null_count or (lbs is not None and lbs.null_count):
        raise NullValueNotAllowed("dimension array or low bound array cannot be null")
    ndims = pc.list_value_length(dims).to_numpy(zero_copy_only=False).astype(np.int64)
    if (ndims > 1).any():
        raise FeatureNotSupported("multidimensional arrays are not supported")
    dvals, rows, _ = _flat(dims)
    if dvals.null_count:
        raise NullValueNotAllowed("dimension values cannot be null")
    size = np.zeros(n, np.int64)
    size[rows] = pc.cast(dvals, pa.int64()).to_numpy(zero_copy_only=False)
    if (size < 0).any():
        raise ProgramLimitExceeded("array size exceeds the maximum allowed (134217727)")
    if lbs is not None:
        if (pc.list_value_length(lbs).to_numpy(zero_copy_only=False) != ndims).any():
            raise ArraySubscriptError(
                "wrong number of array subscripts",
                detail="Low bound array has different size than dimensions array.",
            )
        lvals, lrows, _ = _flat(lbs)
        if lvals.null_count:
            raise NullValueNotAllowed("dimension values cannot be null")
        lo = pc.cast(lvals, pa.int64()).to_numpy(zero_copy_only=False)
        if ((lo != 1) & (size[lrows] > 0)).any():
            raise FeatureNotSupported("array lower bounds other than 1 are not supported")
    values = pc.cast(arr(args[0], n), out_t.value_type)
    offsets = np.concatenate([[0], np.cumsum(size)]).astype(np.int32)
    taken = values.take(pa.array(np.repeat(np.arange(n, dtype=np.int64), size)))
    return pa.ListArray.from_arrays(pa.array(offsets), taken, type=out_t)


def _positions(first: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        if ctx.arg_types[0].ndims > 1:
            raise FeatureNotSupported("searching for elements in multidimensional arrays is not supported")
        a = _lists(args[0], ctx.n, ctx.arg_types[0])
        values, parents, off = _flat(a)
        x = arr(args[1], ctx.n)
        target = x.take(pa.array(parents)) if len(parents) else x.slice(0, 0)
        eq = pc.equal(values, pc.cast(target, values.type))
        if isinstance(args[1], pa.Scalar) and not args[1].is_valid or x.null_count:
            eq = pc.or_kleene(eq, pc.and_(pc.is_null(values), pc.is_null(target)))
        eq = np.asarray(pc.fill_null(eq, False))
        pos = np.arange(len(values)) - off[:-1][parents] + 1 if len(values) else np.zeros(0, int)
        if len(args) > 2:
            start_arr = pc.cast(arr(args[2], ctx.n), pa.int64()).fill_null(1).to_numpy(zero_copy_only=False)
            eq &= pos >= start_arr[parents]
        list_null = np.asarray(pc.is_null(a))
        if first:
            best = np.full(ctx.n, np.iinfo(np.int64).max)
            np.minimum.at(best, parents[eq], pos[eq])
            miss = (best == np.iinfo(np.int64).max) | list_null
            return pa.array(np.where(miss, 0, best), pa.int32(), mask=miss if miss.any() else None)
        counts = np.bincount(parents[eq], minlength=ctx.n)
        offs = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offs), pa.array(pos[eq], pa.int32()),
                                        mask=pa.array(list_null) if list_null.any() else None)
    return impl


def _remove(replace: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        if ctx.arg_types[0].ndims > 1 and not replace:
            raise FeatureNotSupported("removing elements from multidimensional arrays is not supported")
        a = _lists(args[0], ctx.n, ctx.arg_types[0])
        values, parents, off = _flat(a)
        x = arr(args[1], ctx.n)
        target = pc.cast(x.take(pa.array(parents)), values.type) if len(parents) else values.slice(0, 0)
        eq = pc.equal(values, target)
        eq = pc.or_kleene(eq, pc.and_(pc.is_null(values), pc.is_null(target)))
        eq = np.asarray(pc.fill_null(eq, False))
        if replace:
            new = pc.cast(arr(args[2], ctx.n), values.type).take(pa.array(parents))
            vals = pc.if_else(pa.array(eq), new, values)
            return pa.ListArray.from_arrays(pa.array(off.astype(np.int32)), vals,
                                            mask=pc.is_null(a) if a.null_count else None)
        keep = ~eq
        counts = np.bincount(parents[keep], minlength=ctx.n)
        offs = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offs), values.filter(pa.array(keep)),
                                        mask=pc.is_null(a) if a.null_count else None)
    return impl


def _trim(ctx: CallContext, args: list[Arg]) -> Arg:
    """trim_array(a, n): a without its last n elements (2202E unless 0 <= n <= length)."""
    if ctx.arg_types[0].ndims > 1:
        raise FeatureNotSupported("trim_array of multidimensional arrays is not supported")
    a = _lists(args[0], ctx.n, ctx.arg_types[0])
    values, parents, off = _flat(a)
    k = pc.cast(arr(args[1], ctx.n), pa.int64())
    null = np.asarray(pc.or_(pc.is_null(a), pc.is_null(k)))
    kn = np.asarray(k.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
    lengths = np.diff(off)
    bad = ~null & ((kn < 0) | (kn > lengths))
    if bad.any():
        raise ArraySubscriptError(f"number of elements to trim must be between 0 and {int(lengths[bad][0])}")
    keep_n = np.where(null, 0, lengths - kn)
    pos = np.arange(len(values)) - off[:-1][parents] if len(values) else np.zeros(0, np.int64)
    keep = pos < keep_n[parents] if len(values) else np.zeros(0, bool)
    offs = np.concatenate([[0], np.cumsum(keep_n)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offs), values.filter(pa.array(keep)),
                                    mask=pa.array(null) if null.any() else None)


def _set_element(ctx: CallContext, args: list[Arg]) -> Arg:
    """UPDATE ... SET a[k] = v: a with element k (1-based) replaced; past the end the array
    grows with NULLs; a NULL array becomes {v} for k = 1."""
    if ctx.arg_types[0].ndims > 1:
        raise FeatureNotSupported("assigning an element of a multidimensional array is not supported")
    a = _lists(args[0], ctx.n, ctx.arg_types[0])
    values, parents, off = _flat(a)
    k = pc.cast(arr(args[1], ctx.n), pa.int64())
    if k.null_count:
        raise NullValueNotAllowed("array subscript in assignment must not be null")
    kn = np.asarray(k.to_numpy(zero_copy_only=False), np.int64)
    lengths = np.diff(off)
    if (kn < 1).any() or ((lengths == 0) & (kn > 1)).any():
        raise FeatureNotSupported("array lower bounds other than 1 are not supported")
    new_len = np.maximum(lengths, kn)
    total = int(new_len.sum())
    parent = np.repeat(np.arange(ctx.n), new_len)
    starts = np.concatenate([[0], np.cumsum(new_len)[:-1]]).astype(np.int64)
    pos = np.arange(total) - starts[parent]
    nv = len(values)
    take = np.where(pos == kn[parent] - 1, nv + parent,
                    np.where(pos < lengths[parent], off[:-1][parent] + pos, nv + ctx.n))
    v = pc.cast(arr(args[2], ctx.n), values.type)
    pool = pa.concat_arrays([values, v, pa.nulls(1, values.type)])
    offs = np.concatenate([[0], np.cumsum(new_len)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offs), pool.take(pa.array(take, pa.int64())))


def _to_string(ctx: CallContext, args: list[Arg]) -> Arg:
    a = _lists(args[0], ctx.n, ctx.arg_types[0])
    elem_t = ctx.arg_types[0].base_element if ctx.arg_types[0].is_array else T.TEXT
    values, parents, off = _flat(a)
    txt = textio.format_text(values, elem_t)
    if len(args) > 2 and not (isinstance(args[2], pa.Scalar) and not args[2].is_valid):
        null_s = arr(args[2], ctx.n).take(pa.array(parents))
        txt = pc.if_else(pc.is_null(txt), null_s, txt)
    keep = np.asarray(pc.is_valid(txt))
    counts = np.bincount(parents[keep], minlength=ctx.n)
    offs = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offs), txt.filter(pa.array(keep)))
    delim = args[1]
    if isinstance(delim, pa.Scalar):
        out = pc.binary_join(lists, delim)
    else:
        out = pc.binary_join(lists, arr(delim, ctx.n))
    return pc.if_else(pc.is_valid(a), out, pa.scalar(None, pa.string())) if a.null_count else out


def _string_to_array(ctx: CallContext, args: list[Arg]) -> Arg:
    s = arr(args[0], ctx.n)
    d = args[1]
    if not isinstance(d, pa.Scalar):
        raise FeatureNotSupported("string_to_array with a per-row delimiter is not supported")
    if not d.is_valid:
        out = pa.array([None if v is None else list(v) for v in s.to_pylist()],
                       pa.list_(pa.string()))  # NULL delimiter: one element per character
    elif d.as_py() == "":
        out = pa.array([None if v is None else [v] for v in s.to_pylist()], pa.list_(pa.string()))
    else:
        out = pc.split_pattern(s, d.as_py())
    # PostgreSQL: an empty input string gives an empty array
    lens = pc.binary_length(s)
    empty = np.asarray(pc.fill_null(pc.equal(lens, 0), False))
    if empty.any():
        vals = out.to_pylist()
        out = pa.array([[] if e else v for v, e in zip(vals, empty)], pa.list_(pa.string()))
    if len(args) > 2 and isinstance(args[2], pa.Scalar) and args[2].is_valid:
        values, parents, off = _flat(out)
        values = pc.if_else(pc.equal(values, args[2].as_py()), pa.scalar(None, pa.string()), values)
        out = pa.ListArray.from_arrays(pa.array(off.astype(np.int32)), values,
                                       mask=pc.is_null(s) if s.null_count else None)
    return out


def subscript(lists: pa.Array, idx: Arg, n: int) -> pa.Array:
    """a[i] (1-based): the element, or NULL when out of range."""
    a = _lists(lists, n)
    values, parents, off = _flat(a)
    i = pc.cast(arr(idx, n), pa.int64())
    iv = i.fill_null(0).to_numpy(zero_copy_only=False)
    ln = np.diff(off)
    ok = (iv >= 1) & (iv <= ln) & np.asarray(pc.is_valid(a)) & np.asarray(pc.is_valid(i))
    pos = np.where(ok, off[:-1] + iv - 1, 0)
    if not len(values):
        return pa.nulls(n, a.type.value_type)
    return values.take(pa.array(pos, mask=~ok))


def slice_lists(lists: pa.Array, lo: Arg | None, hi: Arg | None, n: int) -> pa.Array:
    """a[lo:hi] (1-based, inclusive; None = open end)."""
    a = _lists(lists, n)
    values, parents, off = _flat(a)
    ln = np.diff(off)
    lo_v = np.ones(n, np.int64) if lo is None else pc.cast(arr(lo, n), pa.int64()).fill_null(1).to_numpy(zero_copy_only=False)
    hi_v = ln if hi is None else pc.cast(arr(hi, n), pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    lo_c = np.clip(lo_v, 1, None)
    hi_c = np.minimum(hi_v, ln)
    cnt = np.maximum(hi_c - lo_c + 1, 0)
    starts = off[:-1] + lo_c - 1
    owner = np.repeat(np.arange(n), cnt)
    within = np.arange(int(cnt.sum())) - np.repeat(np.r_[0, np.cumsum(cnt)[:-1]], cnt) if n else np.zeros(0, int)
    take = starts[owner] + within
    offs = np.concatenate([[0], np.cumsum(cnt)]).astype(np.int32)
    vals = values.take(pa.array(take)) if len(take) else values.slice(0, 0)
    return pa.ListArray.from_arrays(pa.array(offs), vals, mask=pc.is_null(a) if a.null_count else None)


def quantified_compare(regs: Any, op: str, left: Arg, left_t: T.SqlType, right: Arg,
                       right_t: T.SqlType, n: int, *, all_: bool = False) -> pa.Array:
    """`left op ANY(right)` / `op ALL(...)` with SQL three-valued logic, vectorised."""
    if not right_t.is_array:
        raise ArraySubscriptError("op ANY/ALL (array) requires array on right side")
    a = _lists(right, n, right_t)
    values, parents, off = _flat(a)
    assert right_t.element is not None
    f = regs.functions.resolve(op, [left_t, right_t.base_element])
    lv = arr(left, n).take(pa.array(parents)) if len(parents) else arr(left, n).slice(0, 0)
    res = f.call([lv, values], len(values)) if len(values) else pa.array([], pa.bool_())
    t = np.asarray(pc.fill_null(res, False))
    nul = np.asarray(pc.is_null(res))
    cnt_t = np.bincount(parents[t], minlength=n)
    cnt_n = np.bincount(parents[nul], minlength=n)
    ln = np.diff(off)
    if all_:
        cnt_f = ln - cnt_t - cnt_n
        out = np.where(cnt_f > 0, False, True)
        unknown = (cnt_f == 0) & (cnt_n > 0)
    else:
        out = cnt_t > 0
        unknown = (cnt_t == 0) & (cnt_n > 0)
    mask = unknown | np.asarray(pc.is_null(a))
    left_null = np.asarray(pc.is_null(arr(left, n))) & (ln > 0)
    mask |= left_null
    return pa.array(out, pa.bool_(), mask=mask if mask.any() else None)


def register(fr: FunctionRegistry) -> None:
    """Array operators and functions."""
    add = fr.add
    add("@>", [AA, AA], T.BOOL, _contains(False))
    add("<@", [AA, AA], T.BOOL, _contains(True))
    add("&&", [AA, AA], T.BOOL, _overlap)
    add("||", [AA, AA], AA, _cat("cat"), strict=False)
    add("||", [AA, AE], AA, _cat("append"), strict=False)
    add("||", [AE, AA], AA, _cat("prepend"), strict=False)
    add("array_cat", [AA, AA], AA, _cat("cat"), strict=False)
    add("array_append", [AA, AE], AA, _cat("append"), strict=False)
    add("array_prepend", [AE, AA], AA, _cat("prepend"), strict=False)
    add("array_length", [AA, I4], I4, _length("length"))
    add("array_upper", [AA, I4], I4, _length("upper"))
    add("array_lower", [AA, I4], I4, _length("lower"))
    add("cardinality", [AA], I4, _length("cardinality"))
    add("array_ndims", [AA], I4, _ndims)
    add("array_dims", [AA], TXT, _dims)
    add("array_position", [AA, AE, I4], I4, _positions(True), min_args=2, strict=False)
    add("array_positions", [AA, AE], T.array_of(I4), _positions(False), strict=False)
    add("array_remove", [AA, AE], AA, _remove(False), strict=False)
    add("trim_array", [AA, I4], AA, _trim)
    # the value of `SET a[k] = v` in UPDATE (sql/bind_dml.py); not a PostgreSQL function name
    add("_array_set_element", [AA, I4, AE], AA, _set_element, strict=False)
    add("array_replace", [AA, AE, AE], AA, _remove(True), strict=False)
    add("array_fill", [AE, T.array_of(I4), T.array_of(I4)], AA, _fill, min_args=2, strict=False)
    add("array_to_string", [AA, TXT, TXT], TXT, _to_string, min_args=2)
    add("string_to_array", [TXT, TXT, TXT], T.array_of(TXT), _string_to_array, min_args=2,
        strict=False)


def slice_nd(lists: pa.Array, bounds: list[tuple[Arg, Arg]], n: int) -> pa.Array:
    """a[lo1:hi1][lo2:hi2]... as PostgreSQL's array_get_slice: subscript d bounds dimension d
    (clipped to 1..length), dimensions past the subscripts are kept whole, an empty range in
    any dimension or more subscripts than dimensions gives '{}', a NULL bound gives NULL.
    The caller passes an omitted bound as 1 / a huge hi, and a plain subscript i as 1:i.
    Rows are rectangular (PostgreSQL's arrays); one vectorised pass per dimension.

        >>> a = pa.array([[[1, 2, 3], [4, 5, 6]], None, []])
        >>> slice_nd(a, [(pa.scalar(1), pa.scalar(2)), (pa.scalar(2), pa.scalar(3))], 3).to_pylist()
        [[[2, 3], [5, 6]], None, []]
    """
    a = _lists(lists, n)
    k = len(bounds)
    levels = [a]  # the list arrays of each nesting level (Arrow depth D)
    while pa.types.is_list(levels[-1].type.value_type) or pa.types.is_large_list(levels[-1].type.value_type):
        levels.append(levels[-1].values)
    depth = len(levels)
    leaves = levels[-1].values
    offs = [np.asarray(lv.offsets, dtype=np.int64) for lv in levels]
    # per row: the length of each dimension (from its first element's path) and its leaf base
    first = np.asarray(offs[0][:-1])  # index of the row's first element in level 2
    lens = [np.diff(offs[0])]
    base = first.copy()
    nonempty = lens[0] > 0
    for d in range(1, depth):
        at = np.where(nonempty, base, 0)
        ln = np.diff(offs[d])[at] if len(offs[d]) > 1 else np.zeros(n, np.int64)
        lens.append(np.where(nonempty, ln, 0))
        base = np.where(nonempty, offs[d][at], 0)
        nonempty &= lens[-1] > 0
    null = ~np.asarray(pc.is_valid(a))
    lo, cnt = [], []
    for d, (lo_a, hi_a) in enumerate(bounds):
        lo_v, hi_v = (pc.cast(arr(x, n), pa.int64()) for x in (lo_a, hi_a))
        null |= ~np.asarray(pc.is_valid(lo_v)) | ~np.asarray(pc.is_valid(hi_v))
        if d >= depth:
            continue
        lo_c = np.maximum(np.asarray(lo_v.fill_null(1), np.int64), 1)
        hi_c = np.minimum(np.asarray(hi_v.fill_null(0), np.int64), lens[d])
        lo.append(lo_c - 1)
        cnt.append(np.maximum(hi_c - lo_c + 1, 0))
    for d in range(k, depth):  # dimensions past the subscripts: whole
        lo.append(np.zeros(n, np.int64))
        cnt.append(lens[d])
    keep = ~null & nonempty & (k <= depth)
    for c in cnt:
        keep &= c > 0
    strides = [np.ones(n, np.int64)]
    for d in range(depth - 1, 0, -1):
        strides.insert(0, strides[0] * lens[d])
    # expand dimension by dimension: the child counts of each level, the leaf positions
    row = np.flatnonzero(keep)
    pos = base[row]
    counts = []
    for d in range(depth):
        c = cnt[d][row]
        counts.append(c if d else np.where(keep, cnt[0], 0))
        starts = np.cumsum(c) - c
        within = np.arange(int(c.sum())) - np.repeat(starts, c)
        row = np.repeat(row, c)
        pos = np.repeat(pos, c) + (lo[d][row] + within) * strides[d][row]
    out = leaves.take(pa.array(pos, pa.int64())) if len(pos) else leaves.slice(0, 0)
    for d in range(depth - 1, -1, -1):
        o = pa.array(np.concatenate([[0], np.cumsum(counts[d])]).astype(np.int32))
        out = pa.ListArray.from_arrays(o, out, mask=pa.array(null) if d == 0 and null.any() else None)
    return out.cast(a.type)



class ArraySliceN:
    """The bound call of a[lo1:hi1][lo2:hi2]...: args (array, lo1, hi1, lo2, hi2, ...)."""

    volatile = False
    strict = False
    set_returning = False

    def __init__(self, arg_types: list[T.SqlType], return_type: T.SqlType) -> None:
        self.arg_types, self.return_type = arg_types, return_type

    def call(self, args: list, n: int) -> pa.Array:
        return slice_nd(args[0], list(zip(args[1::2], args[2::2])), n)
