"""Set-returning functions, vectorised: `call(args, n)` returns a list array of n rows, the
set each input row produces (flatten it and use list_parent_indices to join back).

generate_series (integers, numeric, timestamps), unnest, jsonb_array_elements(_text),
jsonb_each(_text) and json_each (list<struct<key, value>>), jsonb_object_keys,
regexp_matches, regexp_split_to_table and string_to_table. The set element type is the
function's return_type (for the *_each functions a record of key and value).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import InvalidParameterValue, ProgramLimitExceeded
from sqlvec.core.textio_datetime import interval_fields
from sqlvec.functions.datetimefns import add_interval, to_us
from sqlvec.functions.jsonfns import as_text, dumps, loads
from sqlvec.functions.regex import _flags, compile_re
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import any_null_mask, arr, map_distinct

Impl = Callable[[CallContext, list[Arg]], Arg]
KV_TEXT = pa.struct([("key", pa.string()), ("value", pa.string())])


def _lists(counts: np.ndarray, values: pa.Array, mask: np.ndarray | None = None) -> pa.ListArray:
    offs = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offs), values,
                                    mask=pa.array(mask) if mask is not None and mask.any() else None)


def _series_int(ctx: CallContext, args: list[Arg]) -> Arg:
    n = ctx.n
    if n == 0:
        return pa.array([], pa.list_(ctx.return_type.arrow))
    start, stop = (pc.cast(arr(a, n), pa.int64()).fill_null(0).to_numpy(zero_copy_only=False) for a in args[:2])
    step = pc.cast(arr(args[2], n), pa.int64()).fill_null(1).to_numpy(zero_copy_only=False) \
        if len(args) > 2 else np.ones(n, np.int64)
    if (step == 0).any():
        raise InvalidParameterValue("step size cannot equal zero")
    null = any_null_mask(args, n)
    counts = np.where(null, 0, np.maximum((stop - start) // step + 1, 0))
    if counts.sum() > 100_000_000:
        raise ProgramLimitExceeded("generate_series would return more than 100000000 rows")
    owner = np.repeat(np.arange(n), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.r_[0, np.cumsum(counts)[:-1]], counts)
    values = start[owner] + within * step[owner]
    return pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)),
        pa.array(values, ctx.return_type.arrow))


def _series_numeric(ctx: CallContext, args: list[Arg]) -> Arg:
    from decimal import Decimal

    def one(a: Decimal, b: Decimal, s: Decimal = Decimal(1)) -> list[Decimal]:
        if s == 0:
            raise InvalidParameterValue("step size cannot equal zero")
        if (b - a) / s + 1 > 100_000_000:  # (the integer series' cap, before the loop)
            raise ProgramLimitExceeded("generate_series would return more than 100000000 rows")
        out, x = [], a
        while (s > 0 and x <= b) or (s < 0 and x >= b):
            out.append(x)
            x += s
        return out
    from sqlvec.core.textio_numeric import fit_to

    scale = max([a.type.scale for a in args if pa.types.is_decimal(a.type)] + [0])
    res = map_distinct(one, args, ctx.n, pa.list_(pa.decimal256(76, scale)))
    return fit_to(res, pa.list_(ctx.return_type.arrow))


def _series_ts(ctx: CallContext, args: list[Arg]) -> Arg:
    n = ctx.n
    t = ctx.arg_types[0]
    start, m0 = to_us(args[0], t, n)
    stop, m1 = to_us(args[1], t, n)
    mo, d, ns = interval_fields(arr(args[2], n))
    if ((mo == 0) & (d == 0) & (ns == 0)).any():
        raise InvalidParameterValue("step size cannot equal zero")
    null = m0 | m1 | any_null_mask(args[2:], n)
    out_rows: list[np.ndarray] = []
    counts = np.zeros(n, np.int64)
    cur = start.copy()
    active = ~null
    k = 0
    while active.any():  # one vectorised step per series element, all rows at once
        forward = (mo > 0) | ((mo == 0) & (d > 0)) | ((mo == 0) & (d == 0) & (ns > 0))
        inside = active & np.where(forward, cur <= stop, cur >= stop)
        if not inside.any():
            break
        out_rows.append(np.where(inside, cur, np.iinfo(np.int64).min))
        counts += inside
        active = inside
        k += 1
        cur = add_interval(start, mo * k, d * k, ns * k)
        if k > 10_000_000:
            raise InvalidParameterValue("generate_series would return too many rows")
    if out_rows:
        mat = np.stack(out_rows, axis=1)
        keep = mat != np.iinfo(np.int64).min
        values = mat[keep]
    else:
        values = np.zeros(0, np.int64)
    return _lists(counts, pa.array(values, ctx.return_type.arrow))


def _unnest(ctx: CallContext, args: list[Arg]) -> Arg:
    from sqlvec.functions.arrays import flatten_dims

    a = flatten_dims(arr(args[0], ctx.n), ctx.arg_types[0].ndims - 1)  # all elements, row-major
    return pc.if_else(pc.is_null(a), pa.scalar([], a.type), a) if a.null_count else a


def _json_elements(text: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        def one(s: str) -> list[str | None]:
            v = loads(s)
            if not isinstance(v, list):
                raise InvalidParameterValue("cannot extract elements from an object"
                                            if isinstance(v, dict) else
                                            "cannot extract elements from a scalar")
            return [as_text(x) if text else dumps(x) for x in v]
        return map_distinct(one, args, ctx.n, pa.list_(pa.string()))
    return impl


def _json_each(text: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        def one(s: str) -> list[dict[str, str | None]]:
            v = loads(s)
            if not isinstance(v, dict):
                raise InvalidParameterValue("cannot call jsonb_each on a non-object")
            keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
            return [{"key": k, "value": as_text(v[k]) if text else dumps(v[k])} for k in keys]
        return map_distinct(one, args, ctx.n, pa.list_(KV_TEXT))
    return impl


def _object_keys(ctx: CallContext, args: list[Arg]) -> Arg:
    def one(s: str) -> list[str]:
        v = loads(s)
        if not isinstance(v, dict):
            raise InvalidParameterValue("cannot call jsonb_object_keys on a non-object")
        return sorted(v, key=lambda k: (len(k.encode()), k.encode()))
    return map_distinct(one, args, ctx.n, pa.list_(pa.string()))


def _regexp_matches(ctx: CallContext, args: list[Arg]) -> Arg:
    flags_arg = args[2] if len(args) > 2 else pa.scalar("")

    def one(s: str, p: str, f: str) -> list[list[str | None]]:
        fl, glob = _flags(f)
        rx = compile_re(p, fl)
        found = rx.finditer(s) if glob else [m for m in [rx.search(s)] if m]
        return [list(m.groups()) if rx.groups else [m.group(0)] for m in found]
    return map_distinct(one, [args[0], args[1], flags_arg], ctx.n, pa.list_(pa.list_(pa.string())))


def _split_table(regex: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        def one(s: str | None, d: str | None, null_s: str | None = None) -> list[str | None]:
            if s is None:
                return []
            if regex:
                parts = list(s) if d == "" else compile_re(d).split(s)
            elif d is None:
                parts = list(s)
            elif d == "":
                parts = [s] if s else []
            else:
                parts = s.split(d) if s else []
            return [None if null_s is not None and x == null_s else x for x in parts]
        return map_distinct(one, args, ctx.n, pa.list_(pa.string()), strict=False) \
            if not regex else map_distinct(one, args[:2], ctx.n, pa.list_(pa.string()))
    return impl


def _partition_ancestors(ctx: CallContext, args: list) -> pa.Array:
    a = args[0] if not isinstance(args[0], pa.Scalar) else pa.array([args[0].as_py()] * ctx.n, args[0].type)
    return pa.ListArray.from_arrays(pa.array(range(len(a) + 1), pa.int32()), a).cast(pa.list_(ctx.return_type.arrow))


def register(fr: FunctionRegistry) -> None:
    """Set-returning functions (set_returning=True; call returns one list per input row)."""
    def add(name: str, args: list[T.SqlType], ret: object, impl: Impl, **kw: object) -> None:
        fr.add(name, args, ret, impl, set_returning=True, **kw)  # type: ignore[arg-type]

    for t in (T.INT4, T.INT8):
        add("generate_series", [t, t, t], t, _series_int, min_args=2)
    add("generate_series", [T.NUMERIC, T.NUMERIC, T.NUMERIC], T.NUMERIC, _series_numeric, min_args=2)
    for t in (T.TIMESTAMP, T.TIMESTAMPTZ):
        add("generate_series", [t, t, T.INTERVAL], t, _series_ts)
    add("unnest", [T.ANYARRAY], T.ANYELEMENT, _unnest)
    for pre, t in (("jsonb", T.JSONB), ("json", T.JSON)):
        add(f"{pre}_array_elements", [t], t, _json_elements(False))
        add(f"{pre}_array_elements_text", [t], T.TEXT, _json_elements(True))
        add(f"{pre}_each", [t], T.RECORD, _json_each(False))
        add(f"{pre}_each_text", [t], T.RECORD, _json_each(True))
        add(f"{pre}_object_keys", [t], T.TEXT, _object_keys)
    add("regexp_matches", [T.TEXT, T.TEXT, T.TEXT], T.array_of(T.TEXT), _regexp_matches, min_args=2)
    # the relation and its partition parents: sqlvec has no partitions (psql's \d asks it)
    add("pg_partition_ancestors", [T.REGCLASS], T.REGCLASS, _partition_ancestors)
    add("regexp_split_to_table", [T.TEXT, T.TEXT], T.TEXT, _split_table(True))
    add("string_to_table", [T.TEXT, T.TEXT, T.TEXT], T.TEXT, _split_table(False), min_args=2,
        strict=False)
