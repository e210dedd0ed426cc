"""Aggregate functions, vectorised over dense group ids (numpy bincount / pyarrow hash aggs).

Contract (see docs/CONTRACTS.md): `regs.functions.aggregate(name, arg_types, distinct)`
returns a BoundAggregate whose

    evaluate(args: list[pa.Array], group_ids: np.ndarray | pa.Array (int64, 0..n_groups-1),
             n_groups: int, distinct: bool | None = None, filter_mask=None) -> pa.Array

gives one value per group (length n_groups). Rows are in input order; ORDER BY inside
an aggregate is the caller's job (sort the rows stably first). Result types follow
PostgreSQL: sum(int2/int4) -> bigint, sum(int8) -> numeric, avg(int) -> numeric,
count -> bigint; an empty group gives NULL (count gives 0).

Decomposable aggregates (count, sum, avg, min, max, bool_and/or, every, bit_and/or/xor;
not over float4 or interval for sum/avg) also compute in pieces, so the engine can
aggregate a stream batch by batch: `partial(args, gids, n)` gives per-group state arrays
for one batch, `combine(states, gids, n)` merges states (rows of several partials, grouped
again) and is associative, `final(states)` gives the result. The result equals
`evaluate` over all rows at once (floating-point sums up to summation order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core import types as T
from sqlvec.core.errors import (
    ArraySubscriptError,
    FeatureNotSupported,
    NullValueNotAllowed,
    NumericValueOutOfRange,
)
from sqlvec.core.types import SqlType
from sqlvec.functions.arith import numeric_binary, numeric_type, numeric_with
from sqlvec.functions.casts import CastRegistry
from sqlvec.functions.registry import FunctionRegistry, ReturnSpec, coerce_value

AggImpl = Callable[["AggContext", list[pa.Array], np.ndarray, int], pa.Array]


@dataclass(frozen=True)
class AggContext:
    arg_types: tuple[SqlType, ...]
    return_type: SqlType


StateFn = Callable[[AggContext, list[pa.Array], np.ndarray, int], list[pa.Array]]


@dataclass(frozen=True)
class Parts:
    """An aggregate in pieces: per-batch states, an associative merge of states, the result."""

    partial: StateFn
    combine: StateFn
    final: Callable[[AggContext, list[pa.Array]], pa.Array]


@dataclass(frozen=True)
class AggregateDef:
    """One aggregate overload: declared argument types, return type and implementation."""

    name: str
    args: tuple[SqlType, ...]
    ret: ReturnSpec
    impl: AggImpl
    variadic: bool = False
    min_args: int | None = None
    parts: Parts | None = None  # set for aggregates that compute in partial states (see above)

    def arity_ok(self, n: int) -> bool:
        lo = len(self.args) if self.min_args is None else self.min_args
        return lo <= n <= len(self.args)

    def declared_for(self, n: int) -> list[SqlType]:
        return list(self.args[:n])


@dataclass(frozen=True)
class BoundAggregate:
    """A resolved aggregate call; `evaluate` computes all groups of a batch at once."""

    name: str
    arg_types: tuple[SqlType, ...]
    input_types: tuple[SqlType, ...]
    return_type: SqlType
    distinct: bool
    definition: AggregateDef
    casts: CastRegistry

    def evaluate(self, args: Sequence[pa.Array], group_ids: np.ndarray | pa.Array, n_groups: int,
                 distinct: bool | None = None, filter_mask: pa.Array | np.ndarray | None = None,
                 ) -> pa.Array:
        """One result per group; rows where filter_mask is false/null are skipped."""
        vals, gid = self._inputs(args, group_ids, distinct, filter_mask)
        ctx = AggContext(self.arg_types, self.return_type)
        return self.definition.impl(ctx, vals, gid, n_groups)

    @property
    def parts(self) -> Parts | None:
        """The partial/combine/final form, or None (not decomposable, or DISTINCT)."""
        return None if self.distinct else self.definition.parts

    def partial(self, args: Sequence[pa.Array], group_ids: np.ndarray, n_groups: int,
                filter_mask: pa.Array | np.ndarray | None = None) -> list[pa.Array]:
        """Per-group states of one batch (requires `parts`)."""
        vals, gid = self._inputs(args, group_ids, False, filter_mask)
        return self.definition.parts.partial(AggContext(self.arg_types, self.return_type), vals, gid, n_groups)

    def combine(self, states: list[pa.Array], group_ids: np.ndarray, n_groups: int) -> list[pa.Array]:
        """Merge state rows by group id (several partials' rows, regrouped)."""
        gid = np.asarray(group_ids, dtype=np.int64)
        return self.definition.parts.combine(AggContext(self.arg_types, self.return_type), states, gid, n_groups)

    def final(self, states: list[pa.Array]) -> pa.Array:
        return self.definition.parts.final(AggContext(self.arg_types, self.return_type), states)

    def _inputs(self, args: Sequence[pa.Array], group_ids: np.ndarray | pa.Array, distinct: bool | None,
                filter_mask: pa.Array | np.ndarray | None) -> tuple[list[pa.Array], np.ndarray]:
        """Arguments coerced to the declared types, filtered, deduplicated for DISTINCT."""
        gid = np.asarray(group_ids.to_numpy(zero_copy_only=False)
                         if isinstance(group_ids, pa.Array | pa.ChunkedArray) else group_ids,
                         dtype=np.int64)
        vals = [_arr(coerce_value(self.casts, a, s, d), len(gid))
                for a, s, d in zip(args, self.input_types, self.arg_types)]
        if filter_mask is not None:
            if isinstance(filter_mask, pa.Array | pa.ChunkedArray):
                fm = pc.cast(filter_mask, pa.bool_()) if not pa.types.is_boolean(filter_mask.type) \
                    else filter_mask
                keep = np.asarray(pc.fill_null(fm, False), dtype=bool)
            else:
                keep = np.asarray(filter_mask, dtype=bool)
            idx = np.flatnonzero(keep)
            gid = gid[idx]
            vals = [v.take(pa.array(idx)) for v in vals]
        if (self.distinct if distinct is None else distinct) and vals:
            gid, vals = _distinct_rows(gid, vals, self.arg_types)
        return vals, gid


def _arr(a: pa.Array | pa.Scalar | pa.ChunkedArray, n: int) -> pa.Array:
    if isinstance(a, pa.Scalar):
        return pa.repeat(a, n) if a.is_valid else pa.nulls(n, a.type)
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _hashable(v: pa.Array, t: SqlType) -> pa.Array:
    """A hashable, sortable stand-in: intervals by total span (so '1 day' = '24 hours', as
    PostgreSQL compares them), arrays and other nested values by their text."""
    if v.type == pa.month_day_nano_interval():
        from sqlvec.functions.compare import interval_span
        return interval_span(v, len(v))
    if pa.types.is_nested(v.type):
        return textio.format_text(v, t)
    if isinstance(v.type, pa.ExtensionType):  # numeric held as its text: by value
        from sqlvec.core.textio_numeric import order_key
        return order_key(v)
    return v


def _codes(v: pa.Array, t: SqlType) -> tuple[np.ndarray, int]:
    """Dense int64 codes of a column's values (NULL gets its own code) and the code count.
    Equal as PostgreSQL's btree equality: floats with -0 as 0, nested values by their
    equality bytes (storage/nested_keys), ordered by their _hashable stand-in."""
    nested = pa.types.is_nested(v.type)
    if nested:
        from sqlvec.storage.nested_keys import nested_key

        try:
            enc = pc.dictionary_encode(nested_key(v))
        except TypeError:  # (a leaf without equality bytes: by its text)
            nested = False
    if not nested:
        if pa.types.is_floating(v.type):
            v = pc.add(v, pa.scalar(0, v.type))  # (-0 + 0 is 0: one value, as float8 =)
        enc = pc.dictionary_encode(_hashable(v, t))
    idx = enc.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    # codes follow the values' sort order (NULL last), so DISTINCT output is sorted as in
    # PostgreSQL, which sorts to find duplicates
    if nested:  # (each distinct value's first row, ordered by its stand-in)
        first = np.zeros(len(enc.dictionary), np.int64)
        first[idx[::-1]] = np.arange(len(idx))[::-1]
        order = pc.sort_indices(_hashable(v.take(pa.array(first)), t)).to_numpy()
    else:
        order = pc.sort_indices(enc.dictionary).to_numpy()
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    codes = rank[idx] if len(order) else np.zeros(len(idx), np.int64)
    if enc.indices.null_count:
        codes = np.where(np.asarray(pc.is_null(enc.indices)), len(order), codes)
    return codes.astype(np.int64), len(enc.dictionary) + 1


def _distinct_rows(gid: np.ndarray, vals: list[pa.Array], types: Sequence[SqlType]
                   ) -> tuple[np.ndarray, list[pa.Array]]:
    """Keep the first row of each distinct (group, args...) combination, in input order."""
    key = gid.astype(np.int64)
    width = int(key.max()) + 1 if len(key) else 1
    cols = [key]
    for v, t in zip(vals, types):
        code, card = _codes(v, t)
        if width * card < 2**62:
            key = key * card + code
            width *= card
        else:
            cols.append(code)
    if len(cols) == 1:
        _u, first = np.unique(key, return_index=True)
    else:
        _u, first = np.unique(np.stack([key, *cols[1:]], axis=1), axis=0, return_index=True)
    idx = first  # in (group, value) order
    return gid[idx], [v.take(pa.array(idx)) for v in vals]


def hash_agg(values: pa.Array, gid: np.ndarray, n_groups: int, fn: str,
             options: pc.FunctionOptions | None = None) -> pa.Array:
    """pyarrow hash aggregate `fn` per group id, aligned to 0..n_groups-1 (missing: null)."""
    if fn == "sum" and options is None and values.type == pa.float64():
        # float8 sums by bincount: the same left-to-right addition per group, no hash table
        valid = None if not values.null_count else np.asarray(pc.is_valid(values))
        v = np.asarray(values.to_numpy(zero_copy_only=False), np.float64)
        g = gid if valid is None else gid[valid]
        sums = np.bincount(g, weights=v if valid is None else v[valid], minlength=n_groups)
        empty = np.bincount(g, minlength=n_groups) == 0
        return pa.array(sums, pa.float64(), mask=empty if empty.any() else None)
    tbl = pa.table({"g": pa.array(gid, pa.int64()), "v": values})
    res = tbl.group_by("g", use_threads=False).aggregate([("v", fn, options) if options else ("v", fn)])
    out = res.column(res.num_columns - 1 if res.column_names[-1] != "g" else 0).combine_chunks()
    gs = res.column("g").to_numpy()
    pos = np.full(n_groups, -1, dtype=np.int64)
    pos[gs] = np.arange(len(gs))
    missing = pos < 0
    return out.take(pa.array(np.where(missing, 0, pos), mask=missing if missing.any() else None)) \
        if len(out) else pa.nulls(n_groups, out.type)


def count_valid(v: pa.Array | None, gid: np.ndarray, n_groups: int) -> np.ndarray:
    if v is None:
        return np.bincount(gid, minlength=n_groups).astype(np.int64)
    valid = np.asarray(pc.is_valid(v))
    return np.bincount(gid[valid], minlength=n_groups).astype(np.int64)


def _count(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
    return pa.array(count_valid(args[0] if args else None, gid, n), pa.int64())


def _sum(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
    (v,) = args
    rt = ctx.return_type
    if pa.types.is_integer(v.type) and rt.short == "int8":
        out = hash_agg(pc.cast(v, pa.int64()), gid, n, "sum")
        # detect int64 overflow: compare with an exact float sum of magnitudes
        approx = np.bincount(gid, weights=np.nan_to_num(v.to_numpy(zero_copy_only=False).astype(float)),
                             minlength=n)
        if (np.abs(approx) > 9.2e18).any():
            raise NumericValueOutOfRange("bigint out of range")
        return out
    if pa.types.is_integer(v.type):  # int8 -> numeric
        return pc.cast(hash_agg(pc.cast(v, pa.decimal128(38, 0)), gid, n, "sum"), pa.decimal128(38, 0))
    if isinstance(v.type, pa.ExtensionType):  # numeric held as its text
        from sqlvec.functions.numeric_scale import text_sum
        return text_sum(v, gid, n)
    if pa.types.is_decimal(v.type):
        wide = pc.cast(v, pa.decimal128(38, v.type.scale))
        try:
            return pc.cast(hash_agg(wide, gid, n, "sum"), rt.arrow)
        except pa.ArrowInvalid:
            raise NumericValueOutOfRange("value overflows numeric format") from None
    if rt.short == "interval":
        from sqlvec.core.textio_datetime import interval_fields, make_intervals
        m, d, ns = interval_fields(v)
        valid = np.asarray(pc.is_valid(v))
        cnt = count_valid(v, gid, n)
        sums = [np.bincount(gid[valid], weights=x[valid], minlength=n).astype(np.int64) for x in (m, d, ns)]
        return make_intervals(*sums, mask=cnt == 0)
    return pc.cast(hash_agg(v, gid, n, "sum"), rt.arrow)


def _avg(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
    (v,) = args
    if pa.types.is_floating(v.type):
        return pc.cast(hash_agg(pc.cast(v, pa.float64()), gid, n, "mean"), pa.float64())
    if isinstance(v.type, pa.ExtensionType):  # numeric held as its text: sum / count
        return _avg_final(ctx, _avg_partial(ctx, args, gid, n))
    if ctx.return_type.short == "interval":
        from sqlvec.core.textio_datetime import interval_fields, make_intervals
        m, d, ns = interval_fields(v)
        valid = np.asarray(pc.is_valid(v))
        cnt = count_valid(v, gid, n)
        span = (m * 30 + d) * 86_400_000_000_000 + ns
        tot = np.bincount(gid[valid], weights=span[valid].astype(float), minlength=n)
        mean = np.where(cnt > 0, tot / np.maximum(cnt, 1), 0)
        days = np.fix(mean / 86_400_000_000_000)
        return make_intervals(np.zeros(n, np.int64), days.astype(np.int64),
                              np.round(mean - days * 86_400_000_000_000).astype(np.int64), mask=cnt == 0)
    return _avg_final(ctx, _avg_partial(ctx, args, gid, n))


def _avg_partial(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> list[pa.Array]:
    """[sum, count] per group: float8 sums for floats, exact decimal sums for int/numeric."""
    (v,) = args
    if pa.types.is_floating(v.type):
        total = hash_agg(pc.cast(v, pa.float64()), gid, n, "sum")
    elif isinstance(v.type, pa.ExtensionType):  # numeric held as its text
        from sqlvec.functions.numeric_scale import text_sum
        total = text_sum(v, gid, n)
    else:
        dec = pc.cast(v, pa.decimal128(38, 0)) if pa.types.is_integer(v.type) else v
        total = hash_agg(pc.cast(dec, pa.decimal128(38, dec.type.scale)), gid, n, "sum")
    return [total, pa.array(count_valid(v, gid, n), pa.int64())]


def _avg_combine(ctx: AggContext, states: list[pa.Array], gid: np.ndarray, n: int) -> list[pa.Array]:
    total, cnt = states
    if isinstance(total.type, pa.ExtensionType):  # numeric held as its text
        from sqlvec.functions.numeric_scale import text_sum
        return [text_sum(total, gid, n), _add_counts(cnt, gid, n)]
    return [hash_agg(total, gid, n, "sum"), _add_counts(cnt, gid, n)]


def _avg_final(ctx: AggContext, states: list[pa.Array]) -> pa.Array:
    total, cnt = states
    cnt = pc.if_else(pc.equal(cnt, 0), pa.scalar(None, pa.int64()), cnt)
    if pa.types.is_floating(total.type):
        return pc.divide(total, pc.cast(cnt, pa.float64()))
    if isinstance(total.type, pa.ExtensionType):  # numeric held as its text
        from sqlvec.core.textio_numeric import numeric_text_of
        from sqlvec.functions.numeric_scale import text_binary
        return text_binary("/", total, numeric_text_of(cnt), len(cnt))
    res = numeric_binary("divide", total, cnt)
    return pc.cast(res, ctx.return_type.arrow)


def _add_counts(cnt: pa.Array, gid: np.ndarray, n: int) -> pa.Array:
    """Counts summed by group id (exact below 2**53)."""
    c = np.asarray(cnt.to_numpy(zero_copy_only=False), dtype=np.float64)
    return pa.array(np.bincount(gid, weights=c, minlength=n).astype(np.int64), pa.int64())


def _again(impl: AggImpl) -> Parts:
    """Parts of an aggregate whose states are its own results (min of mins, sum of sums)."""
    def partial(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> list[pa.Array]:
        return [impl(ctx, args, gid, n)]

    return Parts(partial, partial, lambda ctx, states: states[0])


COUNT_PARTS = Parts(lambda ctx, args, gid, n: [_count(ctx, args, gid, n)],
                    lambda ctx, states, gid, n: [_add_counts(states[0], gid, n)],
                    lambda ctx, states: states[0])
AVG_PARTS = Parts(_avg_partial, _avg_combine, _avg_final)


def _minmax(fn: str) -> AggImpl:
    def impl(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        (v,) = args
        t = ctx.arg_types[0]
        if t.short == "interval":
            from sqlvec.functions.compare import interval_span
            key = interval_span(v, len(v))
            return _arg_extreme(v, key, gid, n, fn)
        if isinstance(v.type, pa.ExtensionType):  # numeric held as its text: by value, text kept
            from sqlvec.core.textio_numeric import order_key
            return _arg_extreme(v, order_key(v), gid, n, fn)
        if pa.types.is_list(v.type) or pa.types.is_large_list(v.type):  # arrays: element by element
            from sqlvec.functions.compare import list_order_key
            return _arg_extreme(v, list_order_key(v), gid, n, fn)
        if pa.types.is_nested(v.type) or pa.types.is_fixed_size_binary(v.type):
            key = textio.format_text(v, t) if pa.types.is_nested(v.type) else pc.cast(v, pa.binary())
            return _arg_extreme(v, key, gid, n, fn)
        if t.short == "bpchar":
            return hash_agg(v, gid, n, fn)
        if pa.types.is_boolean(v.type):
            return hash_agg(v, gid, n, "all" if fn == "min" else "any")
        return hash_agg(v, gid, n, fn)
    return impl


def _arg_extreme(v: pa.Array, key: pa.Array, gid: np.ndarray, n: int, fn: str) -> pa.Array:
    """min/max of values whose order is given by a sortable key (sort once, pick per group)."""
    order = pc.sort_indices(pa.table({"g": pa.array(gid), "k": key}),
                            sort_keys=[("g", "ascending"), ("k", "ascending" if fn == "min" else "descending")],
                            ).to_numpy()
    valid = np.asarray(pc.is_valid(key))[order]
    order = order[valid]
    g_sorted = gid[order]
    first = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]]) if len(order) else np.array([], int)
    pos = np.full(n, -1, dtype=np.int64)
    pos[g_sorted[first]] = order[first]
    missing = pos < 0
    return v.take(pa.array(np.where(missing, 0, pos), mask=missing if missing.any() else None)) \
        if len(v) else pa.nulls(n, v.type)


def _bool(fn: str) -> AggImpl:
    def impl(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        (v,) = args
        out = hash_agg(v, gid, n, fn, pc.ScalarAggregateOptions(skip_nulls=True, min_count=1))
        return out
    return impl


def _string_agg(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
    v, delim = args
    valid = np.asarray(pc.is_valid(v))
    idx = np.flatnonzero(valid)
    vv, gg, dd = v.take(pa.array(idx)), gid[idx], delim.take(pa.array(idx))
    empty = pa.scalar(b"", pa.binary()) if pa.types.is_binary(v.type) else ""
    # each value but the group's first is preceded by its own row's delimiter
    order = np.argsort(gg, kind="stable")
    g_sorted = gg[order]
    is_first = np.r_[True, g_sorted[1:] != g_sorted[:-1]] if len(order) else np.array([], bool)
    first_mask = np.empty(len(order), dtype=bool)
    first_mask[order] = is_first
    pieces = pc.if_else(pa.array(first_mask), vv, pc.binary_join_element_wise(
        pc.fill_null(dd, empty), vv, empty))
    lists = hash_agg(pieces, gg, n, "list")
    out = pc.binary_join(lists, empty)
    return pc.cast(out, ctx.return_type.arrow)


def _check_accumulable(v: pa.Array, gid: np.ndarray, n: int) -> None:
    """array_agg(anyarray): PostgreSQL stacks the arrays into one of a dimension more, so
    within a group every array must have the same shape (here: the same length at the top
    level and the same number of elements in all), none NULL or empty."""
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    if v.null_count:
        raise NullValueNotAllowed("cannot accumulate null arrays")
    tops = [np.asarray(pc.list_value_length(v), dtype=np.int64)]
    leaves = v
    while pa.types.is_list(leaves.type) or pa.types.is_large_list(leaves.type):
        leaves = pc.list_flatten(leaves)
        if pa.types.is_list(leaves.type) or pa.types.is_large_list(leaves.type):  # nested: leaf counts
            tops.append(np.asarray(pc.list_value_length(leaves), dtype=np.int64))
    _, first = np.unique(gid, return_index=True)
    if (tops[0][first] == 0).any():  # an empty array later is a different dimensionality
        raise ArraySubscriptError("cannot accumulate empty arrays")
    _same_per_group(tops[0], gid, n)
    if len(tops) > 1 and len(tops[1]):  # elements of each (non-empty) array, through the nesting
        _same_per_group(np.add.reduceat(tops[1], np.r_[0, np.cumsum(tops[0])[:-1]]), gid, n)


def _same_per_group(key: np.ndarray, gid: np.ndarray, n: int) -> None:
    lo = np.full(n, np.iinfo(np.int64).max)
    hi = np.full(n, -1)
    np.minimum.at(lo, gid, key)
    np.maximum.at(hi, gid, key)
    if ((hi >= 0) & (lo != hi)).any():
        raise ArraySubscriptError("cannot accumulate arrays of different dimensionality")


def _array_agg(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
    """Values (NULLs included) per group in input order: a stable sort by group id and
    offsets from the group sizes (works for every Arrow type)."""
    (v,) = args
    if ctx.arg_types and ctx.arg_types[0].is_array and len(v):
        _check_accumulable(v, gid, n)
    order = np.argsort(gid, kind="stable")
    counts = np.bincount(gid, minlength=n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = v.take(pa.array(order)) if len(v) else v
    out = pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(counts == 0))
    want = ctx.return_type.arrow
    return pc.cast(out, want) if out.type != want and not pa.types.is_null(want) else out


def _stat(fn: str, ddof: int) -> AggImpl:
    """variance/stddev: float inputs via pyarrow; int/numeric exactly in decimal like
    PostgreSQL's numeric_stddev_internal (sums of x and x^2 vectorised; per group the
    quotient at select_div_scale's scale, its sqrt at the same scale), as NUMERIC_TEXT (each
    group its own scale); NaN when a group holds NaN or an infinity."""
    def impl(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        from sqlvec.core.textio_numeric import numeric_text_array
        from sqlvec.functions.arith import select_div_scale
        from sqlvec.functions.numeric_scale import Scaled, from_text

        (v,) = args
        if ctx.return_type.short != "numeric":
            x = pc.cast(v, pa.float64())
            return hash_agg(x, gid, n, fn, pc.VarianceOptions(ddof=ddof, min_count=ddof + 1))
        special = np.zeros(n, dtype=bool)
        if isinstance(v.type, pa.ExtensionType):  # numeric held as its text
            text = v.storage if isinstance(v, pa.ExtensionArray) else v.combine_chunks().storage
            flags = pc.fill_null(pc.is_in(text, pa.array(["NaN", "Infinity", "-Infinity"])), False)
            if pc.any(flags).as_py():
                special[np.unique(gid[flags.to_numpy(zero_copy_only=False)])] = True
                text = pc.if_else(flags, pa.scalar(None, pa.string()), text)
            x = from_text(text)
        else:
            x = Scaled.of(v)
        valid = x.values.is_valid().to_numpy(zero_copy_only=False)
        dsx = np.zeros(n, dtype=np.int64)  # sumX's display scale per group: its values' largest
        np.maximum.at(dsx, gid[valid], x.dscale[valid])
        sx = x.values.type.scale
        try:  # squares of 37 digits fit decimal256
            wide = pc.cast(x.values, pa.decimal256(37, sx))
        except pa.ArrowInvalid:
            raise NumericValueOutOfRange("value overflows numeric format") from None
        sums = hash_agg(wide, gid, n, "sum").to_pylist()
        sqs = hash_agg(pc.multiply(wide, wide), gid, n, "sum").to_pylist()
        cnt = count_valid(v, gid, n)
        out: list[str | None] = []
        with localcontext() as c:
            c.prec = 300
            for k in range(n):
                m = int(cnt[k])  # NaN and the infinities count, as PostgreSQL's N
                if m <= ddof or (sums[k] is None and not special[k]):
                    out.append(None)
                    continue
                if special[k]:
                    out.append("NaN")
                    continue
                num = m * sqs[k] - sums[k] * sums[k]
                if num <= 0:
                    out.append("0")
                    continue
                den = Decimal(m * (m - ddof))
                rscale = min(select_div_scale(num, den, 2 * int(dsx[k]), 0), 1000)
                q = Decimal(1).scaleb(-rscale)
                val = (num / den).quantize(q, rounding=ROUND_HALF_UP)
                if fn == "stddev":
                    val = val.sqrt().quantize(q, rounding=ROUND_HALF_UP)
                out.append(format(val, "f"))
        return numeric_text_array(pa.array(out, pa.string()))
    return impl


def _same_type(args: list[SqlType]) -> SqlType:
    return args[0]


def _scale(t: SqlType) -> int:
    return t.arrow.scale if pa.types.is_decimal(t.arrow) else 0


def _sum_type(args: list[SqlType]) -> SqlType:
    s = args[0].short
    if isinstance(args[0].arrow, pa.ExtensionType):
        return args[0]  # numeric held as its text: the sum's own scale, NaN, Infinity
    if s == "int8":
        return numeric_with(pa.decimal128(38, 0))
    if s == "numeric":
        return numeric_with(pa.decimal128(38, _scale(args[0])))
    return {"int2": T.INT8, "int4": T.INT8, "float4": T.FLOAT4, "float8": T.FLOAT8,
            "interval": T.INTERVAL}[s]


def _avg_type(args: list[SqlType]) -> SqlType:
    s = args[0].short
    if isinstance(args[0].arrow, pa.ExtensionType):
        return args[0]  # numeric held as its text: the quotient's own scale, NaN, Infinity
    if s in ("float4", "float8"):
        return T.FLOAT8
    if s == "interval":
        return T.INTERVAL
    return numeric_with(numeric_type(max(16, _scale(args[0])), fixed_display=True))


def _stat_type(args: list[SqlType]) -> SqlType:
    if args[0].short in ("float4", "float8"):
        return T.FLOAT8
    return T.NUMERIC_TEXT  # each group its own display scale (select_div_scale)


NUMS = (T.INT2, T.INT4, T.INT8, T.FLOAT4, T.FLOAT8, T.NUMERIC)
ORDERABLE = (T.INT2, T.INT4, T.INT8, T.FLOAT4, T.FLOAT8, T.NUMERIC, T.TEXT, T.BPCHAR, T.DATE,
             T.TIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.INTERVAL, T.OID, T.BOOL, T.UUID, T.BYTEA,
             T.ANYARRAY)


def register(fr: FunctionRegistry) -> None:
    """count, sum, avg, min, max, bool_and/or, every, string_agg, array_agg, stddev/variance."""
    add = fr.add_aggregate
    add("count", [], T.INT8, _count, parts=COUNT_PARTS)
    add("count", [T.ANY], T.INT8, _count, parts=COUNT_PARTS)
    for t in (*NUMS, T.INTERVAL):  # float4 sums stay in one piece (one rounding to float4)
        split = t not in (T.FLOAT4, T.INTERVAL)
        add("sum", [t], _sum_type, _sum, parts=_again(_sum) if split else None)
        add("avg", [t], _avg_type, _avg, parts=AVG_PARTS if split else None)
    for t in ORDERABLE:  # the result is the (effective) argument type: numeric keeps its scale
        add("min", [t], _same_type, _minmax("min"), parts=_again(_minmax("min")))
        add("max", [t], _same_type, _minmax("max"), parts=_again(_minmax("max")))
    add("bool_and", [T.BOOL], T.BOOL, _bool("all"), parts=_again(_bool("all")))
    add("every", [T.BOOL], T.BOOL, _bool("all"), parts=_again(_bool("all")))
    add("bool_or", [T.BOOL], T.BOOL, _bool("any"), parts=_again(_bool("any")))
    add("string_agg", [T.TEXT, T.TEXT], T.TEXT, _string_agg)
    add("string_agg", [T.BYTEA, T.BYTEA], T.BYTEA, _string_agg)
    add("array_agg", [T.ANYELEMENT], T.ANYARRAY, _array_agg)
    for name, fn, ddof in (("stddev", "stddev", 1), ("stddev_samp", "stddev", 1),
                           ("stddev_pop", "stddev", 0), ("variance", "variance", 1),
                           ("var_samp", "variance", 1), ("var_pop", "variance", 0)):
        for t in NUMS:
            add(name, [t], _stat_type, _stat(fn, ddof))
    register_more(fr)


# ---- bitwise, statistics over pairs, ordered-set aggregates ----------------------------


def _bitwise(fn: str) -> AggImpl:
    def impl(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        (v,) = args
        valid = np.asarray(pc.is_valid(v))
        x = v.to_numpy(zero_copy_only=False)[valid].astype(np.int64)
        g = gid[valid]
        ufunc = {"and": np.bitwise_and, "or": np.bitwise_or, "xor": np.bitwise_xor}[fn]
        init = -1 if fn == "and" else 0
        out = np.full(n, init, np.int64)
        ufunc.at(out, g, x)
        cnt = np.bincount(g, minlength=n)
        return pa.array(out, pa.int64(), mask=cnt == 0).cast(ctx.return_type.arrow)
    return impl


def _pair_stat(kind: str) -> AggImpl:
    """corr / covar_* / regr_* over (y, x) pairs where both are non-null (float8)."""
    def impl(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        y, x = (pc.cast(a, pa.float64()) for a in args)
        ok = np.asarray(pc.and_(pc.is_valid(y), pc.is_valid(x)))
        yv = y.to_numpy(zero_copy_only=False)[ok]
        xv = x.to_numpy(zero_copy_only=False)[ok]
        g = gid[ok]
        cnt = np.bincount(g, minlength=n).astype(float)
        sx, sy = np.bincount(g, xv, n), np.bincount(g, yv, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            mx, my = sx / cnt, sy / cnt
            sxx = np.bincount(g, (xv - mx[g]) ** 2, n)
            syy = np.bincount(g, (yv - my[g]) ** 2, n)
            sxy = np.bincount(g, (xv - mx[g]) * (yv - my[g]), n)
            res = {"corr": sxy / np.sqrt(sxx * syy), "covar_pop": sxy / cnt,
                   "covar_samp": sxy / (cnt - 1), "regr_slope": sxy / sxx,
                   "regr_intercept": my - (sxy / sxx) * mx, "regr_count": cnt,
                   "regr_avgx": mx, "regr_avgy": my, "regr_sxx": sxx, "regr_syy": syy,
                   "regr_sxy": sxy, "regr_r2": (sxy * sxy) / (sxx * syy)}[kind]
        need = 2 if kind in ("covar_samp", "corr", "regr_slope", "regr_intercept", "regr_r2") else 1
        bad = (cnt < need) | ~np.isfinite(res)
        if kind == "regr_count":
            return pa.array(cnt.astype(np.int64), pa.int64())
        return pa.array(np.where(bad, 0, res), pa.float64(), mask=bad)
    return impl


def _percentile(disc: bool) -> AggImpl:
    """percentile_cont / percentile_disc(fraction) WITHIN GROUP (ORDER BY value): args are
    [fraction, value]; values are sorted per group here (input order does not matter)."""
    def impl(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        frac, v = args
        fr = pc.cast(frac, pa.float64()).fill_null(np.nan).to_numpy(zero_copy_only=False)
        if ((fr < 0) | (fr > 1)).any():
            from sqlvec.core.errors import NumericValueOutOfRange as Out
            raise Out(f"percentile value {fr[(fr < 0) | (fr > 1)][0]:g} is not between 0 and 1")
        valid = np.asarray(pc.is_valid(v))
        idx = np.flatnonzero(valid)
        order = pc.sort_indices(pa.table({"g": pa.array(gid[idx]), "v": v.take(pa.array(idx))}),
                                sort_keys=[("g", "ascending"), ("v", "ascending")]).to_numpy()
        rows = idx[order]
        g_sorted = gid[rows]
        cnt = np.bincount(g_sorted, minlength=n)
        start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        f_g = np.zeros(n)
        if len(fr):
            f_g[gid] = fr  # the fraction is constant per group (usually a literal)
        nan_frac = np.isnan(f_g)
        f_g = np.where(nan_frac, 0.0, f_g)
        empty = (cnt == 0) | nan_frac
        if disc:
            k = np.maximum(np.ceil(f_g * cnt).astype(np.int64) - 1, 0)
            pos = rows[np.minimum(start + k, max(len(rows) - 1, 0))] if len(rows) else np.zeros(n, int)
            return v.take(pa.array(np.where(empty, 0, pos), mask=empty)) if len(v) else pa.nulls(n, v.type)
        vals = pc.cast(v, pa.float64()).to_numpy(zero_copy_only=False)[rows] if len(rows) else np.zeros(0)
        pos = f_g * np.maximum(cnt - 1, 0)
        lo = np.floor(pos).astype(np.int64)
        hi = np.ceil(pos).astype(np.int64)
        safe = np.maximum(len(vals) - 1, 0)
        a = vals[np.minimum(start + lo, safe)] if len(vals) else np.zeros(n)
        b = vals[np.minimum(start + hi, safe)] if len(vals) else np.zeros(n)
        res = a + (b - a) * (pos - lo)
        return pa.array(np.where(empty, 0, res), pa.float64(), mask=empty)
    return impl


def _percentile_array(disc: bool) -> AggImpl:
    """percentile_cont / percentile_disc(fractions[]) WITHIN GROUP (ORDER BY value): one
    result per fraction (NULL for a NULL fraction), NULL for a group without values or with
    a NULL array. The fractions are the same for every row (PostgreSQL evaluates them once)."""
    one = _percentile(disc)

    def impl(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
        fracs, v = args
        if isinstance(fracs, pa.ChunkedArray):
            fracs = fracs.combine_chunks()
        lens = pc.list_value_length(fracs)
        width = pc.max(lens).as_py() or 0
        if pc.min(lens).as_py() not in (None, width):
            raise FeatureNotSupported("percentile fractions must be the same array for every row")
        cols = [one(ctx, [pc.list_element(fracs, j), v], gid, n) for j in range(width)]
        valid = np.asarray(pc.is_valid(v)) & np.asarray(pc.is_valid(fracs))
        has = np.bincount(gid[valid], minlength=n)[:n] > 0 if len(gid) else np.zeros(n, bool)
        elem = cols[0].type if cols else (pa.float64() if not disc else v.type)
        flat = pa.concat_arrays(cols).take(pa.array((np.arange(n)[:, None] + n * np.arange(width)).ravel())) \
            if cols else pa.array([], elem)
        offsets = pa.array(np.arange(n + 1, dtype=np.int32) * width)
        return pa.ListArray.from_arrays(offsets, flat, mask=pa.array(~has))
    return impl


def _mode(ctx: AggContext, args: list[pa.Array], gid: np.ndarray, n: int) -> pa.Array:
    """The most frequent non-null value per group (ties: the smallest, as PostgreSQL)."""
    (v,) = args
    valid = np.asarray(pc.is_valid(v))
    idx = np.flatnonzero(valid)
    from sqlvec.functions.compare import sort_key
    key = sort_key(v, ctx.arg_types[0])
    tbl = pa.table({"g": pa.array(gid[idx]), "v": key.take(pa.array(idx)),
                    "i": pa.array(idx)})
    counts = tbl.group_by(["g", "v"], use_threads=False).aggregate([("i", "count"), ("i", "min")])
    ordered = counts.sort_by([("g", "ascending"), ("i_count", "descending"), ("v", "ascending")])
    g = ordered.column("g").to_numpy()
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, bool)
    pos = np.full(n, -1, np.int64)
    pos[g[first]] = ordered.column("i_min").to_numpy()[first]
    missing = pos < 0
    return v.take(pa.array(np.where(missing, 0, pos), mask=missing)) if len(v) else pa.nulls(n, v.type)


def register_more(fr: FunctionRegistry) -> None:
    """bit_and/or/xor, corr/covar/regr_*, percentile_cont/disc, mode."""
    add = fr.add_aggregate
    for t in (T.INT2, T.INT4, T.INT8):
        for op in ("and", "or", "xor"):
            add(f"bit_{op}", [t], t, _bitwise(op), parts=_again(_bitwise(op)))
    for k in ("corr", "covar_pop", "covar_samp", "regr_slope", "regr_intercept", "regr_avgx",
              "regr_avgy", "regr_sxx", "regr_syy", "regr_sxy", "regr_r2"):
        add(k, [T.FLOAT8, T.FLOAT8], T.FLOAT8, _pair_stat(k))
    add("regr_count", [T.FLOAT8, T.FLOAT8], T.INT8, _pair_stat("regr_count"))
    add("percentile_cont", [T.FLOAT8, T.FLOAT8], T.FLOAT8, _percentile(False))
    add("percentile_disc", [T.FLOAT8, T.ANYELEMENT], T.ANYELEMENT, _percentile(True))
    add("percentile_cont", [T.array_of(T.FLOAT8), T.FLOAT8], T.array_of(T.FLOAT8), _percentile_array(False))
    add("percentile_disc", [T.array_of(T.FLOAT8), T.ANYELEMENT], T.ANYARRAY, _percentile_array(True))
    add("mode", [T.ANYELEMENT], T.ANYELEMENT, _mode)
