"""Comparison operators (= <> < <= > >=) for every built-in type, and AND/OR/NOT.

Comparisons return NULL when either side is NULL, as PostgreSQL's strict operators do.
bpchar compares without trailing spaces; interval compares by PostgreSQL's total span
(a month is 30 days); arrays element by element (their equality bytes, a ranking of both
sides), json by its text form, jsonb by PostgreSQL's jsonb order (functions/jsonb_order).
AND/OR use Kleene logic (NULL AND false = false), so the engine may call them as the
functions 'and', 'or', 'not'.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core import types as T
from sqlvec.core.textio_datetime import interval_fields
from sqlvec.core.types import SqlType
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry, as_array

CMP = {"=": "equal", "<>": "not_equal", "!=": "not_equal", "<": "less", "<=": "less_equal",
       ">": "greater", ">=": "greater_equal"}

US_PER_DAY = 86_400_000_000


def interval_span(a: Arg, n: int) -> pa.Array:
    """Interval values as comparable int64 microseconds (month = 30 days)."""
    arr = as_array(a, n)
    m, d, ns = interval_fields(arr)
    span = (m * 30 + d) * US_PER_DAY + ns // 1000
    return pa.array(span, pa.int64(), mask=np.asarray(pc.is_null(arr)) if arr.null_count else None)


def _key(t: SqlType) -> Callable[[Arg, int], Arg]:
    """The Arrow-comparable form of a value of type t."""
    if t.short == "bpchar":
        return lambda a, n: pc.utf8_rtrim(a, " ")
    if t.short == "interval":
        return interval_span
    if t.short == "uuid":
        return lambda a, n: pc.cast(a, pa.binary())
    if t.short == "json":
        return lambda a, n: textio.format_text(as_array(a, n), t)
    if t.short == "jsonb":
        from sqlvec.functions.jsonb_order import order_key
        return order_key
    return lambda a, n: a


def sort_key(a: pa.Array, t: SqlType) -> pa.Array:
    """An Arrow-sortable/hashable array ordering like PostgreSQL's btree for type t: interval
    by total span, uuid as bytes, bpchar without trailing spaces, arrays and json by their
    text (an approximation for arrays of numbers). For ORDER BY / DISTINCT / GROUP BY."""
    if isinstance(a.type, pa.ExtensionType):  # numeric held as its text: by value
        from sqlvec.core.textio_numeric import order_key
        return order_key(a)
    if t.short == "interval":
        return interval_span(a, len(a))
    if t.short == "uuid" or pa.types.is_fixed_size_binary(a.type):
        return pc.cast(a, pa.binary())
    if t.short == "bpchar":
        return pc.utf8_rtrim(a, " ")
    if t.short == "jsonb":
        from sqlvec.functions.jsonb_order import order_key
        return order_key(a, len(a))
    if t.is_array or pa.types.is_nested(a.type) or t.short in ("json",):
        return textio.format_text(a, t)
    return a


def _exact_cast(x: pa.Scalar, t: pa.DataType) -> pa.Scalar | None:
    """The decimal constant x as type t when that loses nothing (None otherwise)."""
    try:
        return x.cast(t)  # a safe cast: fails on rescaling loss or overflow
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _wide_decimal(a: Arg, scale: int) -> Arg:
    return pc.cast(a, pa.decimal256(76, scale))


def _float_cmp(kernel: str) -> Callable[[CallContext, list[Arg]], Arg]:
    """Float comparisons as PostgreSQL: NaN equals NaN and sorts above every other value."""
    fn = getattr(pc, kernel)

    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        a, b = args
        na, nb = pc.is_nan(a), pc.is_nan(b)
        if not (_any(na) or _any(nb)):
            return fn(a, b)
        # rank: 0 for numbers, 1 for NaN; compare (rank, value with NaN -> 0)
        ra, rb = pc.cast(na, pa.int8()), pc.cast(nb, pa.int8())
        va = pc.if_else(na, 0.0, a)
        vb = pc.if_else(nb, 0.0, b)
        lt = pc.or_(pc.less(ra, rb), pc.and_(pc.equal(ra, rb), pc.less(va, vb)))
        eq = pc.and_(pc.equal(ra, rb), pc.equal(va, vb))
        return {"equal": eq, "not_equal": pc.invert(eq), "less": lt,
                "less_equal": pc.or_(lt, eq), "greater": pc.invert(pc.or_(lt, eq)),
                "greater_equal": pc.invert(lt)}[kernel]
    return impl


def _text_cmp(fn0: Callable, a: Arg, b: Arg) -> Arg:
    """Comparison of numerics held as text: as wide decimals when neither side has NaN or an
    infinity and both fit 76 digits, else by their order keys (numeric_key)."""
    from sqlvec.core.errors import NumericValueOutOfRange
    from sqlvec.core.textio_numeric import numeric_text_values

    try:
        (av, asp), (bv, bsp) = (numeric_text_values(pa.array([x.value.as_py() if x.is_valid else None], pa.string())
                                                    if isinstance(x, pa.Scalar) else x) for x in (a, b))
        if not (asp.any() or bsp.any()):
            s = max(av.type.scale, bv.type.scale)
            if max(av.type.precision - av.type.scale, bv.type.precision - bv.type.scale) + s <= 76:
                wa, wb = _wide_decimal(av, s), _wide_decimal(bv, s)
                return fn0(wa[0] if isinstance(a, pa.Scalar) else wa, wb[0] if isinstance(b, pa.Scalar) else wb)
    except NumericValueOutOfRange:
        pass
    return fn0(_text_key(a), _text_key(b))


def _text_key(x: Arg) -> Arg:
    from sqlvec.core.textio_numeric import numeric_key

    if isinstance(x, pa.Scalar):
        return numeric_key(pa.array([x.value.as_py() if x.is_valid else None], pa.string()))[0]
    return numeric_key(as_array(x, len(x)))


def _any(x: Arg) -> bool:
    if isinstance(x, pa.Scalar):
        return bool(x.as_py())
    return bool(pc.any(x).as_py())


def _cmp(kernel: str, t: SqlType) -> Callable[[CallContext, list[Arg]], Arg]:
    key = _key(t)
    if t.short in ("float4", "float8"):
        return _float_cmp(kernel)
    if t.short == "numeric":  # different scales: compare in one wide decimal type
        fn0 = getattr(pc, kernel)

        def num_impl(ctx: CallContext, args: list[Arg]) -> Arg:
            a, b = args
            if isinstance(a.type, pa.ExtensionType):  # numeric held as its text: by value
                return _text_cmp(fn0, a, b)
            if a.type == b.type:
                return fn0(a, b)
            # a constant that converts exactly to the column's scale: compare without widening
            # the column (x > 1.5 on a numeric(12,2) or unconstrained numeric column)
            if isinstance(b, pa.Scalar) and not isinstance(a, pa.Scalar):
                exact = _exact_cast(b, a.type)
                if exact is not None:
                    return fn0(a, exact)
            elif isinstance(a, pa.Scalar) and not isinstance(b, pa.Scalar):
                exact = _exact_cast(a, b.type)
                if exact is not None:
                    return fn0(exact, b)
            s = max(a.type.scale, b.type.scale)
            return fn0(_wide_decimal(a, s), _wide_decimal(b, s))
        return num_impl
    fn = getattr(pc, kernel)

    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        a, b = args
        if t.short == "anyarray":
            return fn(*_array_keys(ctx, kernel in ("equal", "not_equal"), a, b))
        return fn(key(a, ctx.n), key(b, ctx.n))

    return impl


def _array_keys(ctx: CallContext, equality: bool, a: Arg, b: Arg) -> tuple[pa.Array, pa.Array]:
    """Both sides of an array comparison as keys Arrow compares as PostgreSQL's array_eq /
    array_cmp do: equality by the elements' equality bytes (storage/nested_keys: 1.0 = 1.00,
    '1 day' = '24 hours', -0 = 0, NaN = NaN, NULL elements equal), order by one ranking of
    both sides together (list_order_key: element by element, NaN above every number, NULL
    elements last, a prefix first). Arrays of different shapes (a 2-D and a 1-D one) by
    their text forms, each read with its own type: never equal."""
    from sqlvec.storage.nested_keys import nested_key

    a, b = as_array(a, ctx.n), as_array(b, ctx.n)
    if a.type == b.type:
        try:
            if equality:
                return nested_key(a), nested_key(b)
            both = list_order_key(pa.concat_arrays([a, b]))
            return both[:len(a)], both[len(a):]
        except (TypeError, pa.ArrowNotImplementedError):
            pass  # (an element type with no key: by text)
    ta, tb = ctx.arg_types
    return textio.format_text(a, ta), textio.format_text(b, tb if tb.is_array else ta)


def _bool_and(ctx: CallContext, args: list[Arg]) -> Arg:
    return pc.and_kleene(args[0], args[1])


def _bool_or(ctx: CallContext, args: list[Arg]) -> Arg:
    return pc.or_kleene(args[0], args[1])


def _bool_not(ctx: CallContext, args: list[Arg]) -> Arg:
    return pc.invert(args[0])


COMPARABLE: tuple[SqlType, ...] = (
    T.BOOL, T.INT2, T.INT4, T.INT8, T.FLOAT4, T.FLOAT8, T.NUMERIC, T.TEXT, T.BPCHAR, T.NAME,
    T.CHAR, T.BYTEA, T.DATE, T.TIME, T.TIMESTAMP, T.TIMESTAMPTZ, T.INTERVAL, T.UUID, T.OID,
    T.JSONB, T.XID,
)
# regclass, regtype, ... have no comparison operators of their own: as in PostgreSQL they
# compare as oid (binary-coercible, implicit), so text = integer finds no candidate through
# the implicit text -> regclass cast (42883, not a relation lookup)


def register(fr: FunctionRegistry) -> None:
    """Comparison operators per type plus the Kleene boolean connectives."""
    for sym, kernel in CMP.items():
        for t in COMPARABLE:
            fr.add(sym, [t, t], T.BOOL, _cmp(kernel, t))
        if sym in ("=", "<>", "!="):
            fr.add(sym, [T.ANYARRAY, T.ANYARRAY], T.BOOL, _cmp(kernel, T.ANYARRAY))
        else:
            fr.add(sym, [T.ANYARRAY, T.ANYARRAY], T.BOOL, _cmp(kernel, T.ANYARRAY))
    fr.add("=", [T.RECORD, T.RECORD], T.BOOL, _record_eq(False))
    fr.add("<>", [T.RECORD, T.RECORD], T.BOOL, _record_eq(True))
    fr.add("and", [T.BOOL, T.BOOL], T.BOOL, _bool_and, strict=False)
    fr.add("or", [T.BOOL, T.BOOL], T.BOOL, _bool_or, strict=False)
    fr.add("not", [T.BOOL], T.BOOL, _bool_not)


def list_order_key(col: pa.Array) -> pa.Array:
    """An int64 key that orders a list column as PostgreSQL orders arrays: element by element,
    a NULL element after every value, a shorter array before a longer one it begins; NULL
    lists stay NULL. Vectorised: elements are ranked once, rows are ranked by np.lexsort over
    the (rows x longest) matrix of element ranks (0 past an array's end)."""
    import numpy as np

    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    n = len(col)
    lens = np.asarray(pc.fill_null(pc.list_value_length(col), 0), dtype=np.int64)
    width = int(lens.max()) if n else 0
    flat = pc.list_flatten(col)
    ranks = _dense_ranks(flat)
    parents = np.asarray(pc.list_parent_indices(col), dtype=np.int64) if len(flat) else np.zeros(0, np.int64)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]) if n else np.zeros(0, np.int64)
    pos = np.arange(len(flat)) - starts[parents] if len(flat) else np.zeros(0, np.int64)
    m = np.zeros((n, max(width, 1)), np.int64)
    m[parents, pos] = ranks
    order = np.lexsort(m.T[::-1]) if n else np.zeros(0, np.int64)
    key = np.empty(n, np.int64)
    if n:
        row_keys = m[order]
        new = np.r_[True, np.any(row_keys[1:] != row_keys[:-1], axis=1)]
        key[order] = np.cumsum(new)
    valid = np.asarray(pc.is_valid(col))
    return pa.array(key, pa.int64(), mask=~valid if not valid.all() else None)


def _dense_ranks(a: pa.Array):
    """1-based dense ranks of values in PostgreSQL order, NULLs last (records field by
    field, arrays element by element)."""
    import numpy as np

    if not len(a):
        return np.zeros(0, np.int64)
    if pa.types.is_list(a.type) or pa.types.is_large_list(a.type):
        key = list_order_key(a)
        return np.asarray(pc.fill_null(key, np.iinfo(np.int64).max), dtype=np.int64)
    if pa.types.is_struct(a.type):
        cols = [_dense_ranks(pc.struct_field(a, i)) for i in range(a.type.num_fields)]
        null = ~np.asarray(pc.is_valid(a))
        m = np.stack([null.astype(np.int64)] + cols, axis=1) if cols else null.astype(np.int64)[:, None]
        order = np.lexsort(m.T[::-1])
        new = np.r_[True, np.any(m[order][1:] != m[order][:-1], axis=1)]
        out = np.empty(len(a), np.int64)
        out[order] = np.cumsum(new)
        return out
    if a.type == pa.month_day_nano_interval():  # (by total span, a month 30 days)
        a = interval_span(a, len(a))
    elif isinstance(a.type, pa.ExtensionType):  # numeric held as its text: by value
        from sqlvec.core.textio_numeric import order_key

        a = order_key(a)
    return np.asarray(pc.rank(a, sort_keys="ascending", tiebreaker="dense"), dtype=np.int64)  # NULLs last


def _record_eq(negate: bool):
    """record = record (<>) field by field: NULL when a NULL field decides it."""
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        a, b = (as_array(x, ctx.n) for x in args)
        if a.type.num_fields != b.type.num_fields:
            from sqlvec.core.errors import DatatypeMismatch
            raise DatatypeMismatch("cannot compare record types with different numbers of columns")
        out = pa.array([True] * ctx.n, pa.bool_())
        for i in range(a.type.num_fields):
            x, y = pc.struct_field(a, i), pc.struct_field(b, i)
            if x.type != y.type:
                x, y = x.cast(pa.string()), y.cast(pa.string())
            out = pc.and_kleene(out, pc.equal(x, y))
        out = pc.if_else(pc.or_(pc.is_null(a), pc.is_null(b)), pa.scalar(None, pa.bool_()), out)
        return pc.invert(out) if negate else out
    return impl
