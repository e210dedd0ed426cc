"""PostgreSQL's text input/output functions for every built-in type, vectorised over Arrow.

`format_text(array, t)` gives the exact text PostgreSQL prints (the wire text format,
`::text`, COPY); `parse_text(array, t)` reads it back, raising 22P02 / 22007 / 22003 with
PostgreSQL's messages. Both work on whole arrays; the few grammars too irregular for
pyarrow.compute (intervals, arrays, json, uuid, bytea input) run once per distinct value.

    >>> format_text(pa.array([1.5, None, float("inf")]), FLOAT8).to_pylist()
    ['1.5', None, 'Infinity']
    >>> parse_text(pa.array(["{1,NULL}"]), array_of(INT4)).to_pylist()
    [[1, None]]

Unconstrained numeric: a decimal128(38, 16) array (the storage form) prints with trailing
zeros trimmed, since the per-value display scale is not stored; any other decimal type
prints with its Arrow scale (numeric(10,2) -> '1.50').
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio_datetime as dt
from sqlvec.core.errors import (
    InvalidTextRepresentation,
    NumericValueOutOfRange,
    SqlError,
)
from sqlvec.core.textio_arrays import parse_arrays
from sqlvec.core.textio_literals import (  # jsonb_* re-exported for callers of textio
    json_check,
    jsonb_dumps,
    jsonb_normalize,
    parse_bytea_value,
    parse_uuid_value,
)
from sqlvec.core.textio_numeric import format_decimal, is_numeric_text, trimmed_scale
from sqlvec.core.types import INT2 as T_INT2
from sqlvec.core.types import (
    NUMERIC_DEFAULT_SCALE,
    NUMERIC_PRECISION,
    SqlType,
    numeric_precision_scale,
)
from sqlvec.core.types import OID as T_OID

_INT_NAMES = {"int2": "smallint", "int4": "integer", "int8": "bigint"}
_INT_RANGE = {"int2": (-(2**15), 2**15 - 1), "int4": (-(2**31), 2**31 - 1),
              "int8": (-(2**63), 2**63 - 1)}
_UNSIGNED = ("oid", "regproc", "regclass", "regtype", "regnamespace", "regrole", "xid")


def _arr(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _null_like(out: pa.Array, src: pa.Array) -> pa.Array:
    if src.null_count:
        return pc.if_else(pc.is_valid(src), out, pa.scalar(None, out.type))
    return out


def _first_bad(src: pa.Array, bad: pa.Array | np.ndarray) -> str:
    idx = int(np.flatnonzero(np.asarray(bad, dtype=bool))[0])
    return src[idx].as_py()


# ---- output ------------------------------------------------------------------------


def _format_float(a: pa.Array, bits: int) -> pa.Array:
    """Shortest round-trip text as PostgreSQL 12+ (exponent outside [1e-4, 1e15) / 1e6 for float4)."""
    hi = 1e15 if bits == 64 else 1e6
    s = pc.cast(a, pa.string())
    x = a.to_numpy(zero_copy_only=False).astype(np.float64)
    absx = np.abs(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0))
    finite = np.isfinite(x)
    plain = finite & ((absx == 0) | ((absx >= 1e-4) & (absx < hi)))
    plain &= ~np.asarray(pc.fill_null(pc.match_substring(s, "e"), False))
    slow = np.flatnonzero(~plain & np.asarray(pc.is_valid(a)))
    if slow.size:  # exponent form or specials: per value (rare in practice)
        if bits == 64:  # repr() is PostgreSQL's format here except 1e15 <= |x| < 1e16
            fixed = [_SPECIAL_OUT.get(r, r[:-2] if r.endswith(".0") else r)
                     if not 1e15 <= abs(v) < 1e16 else _float_text(v, 64)
                     for v, r in ((v, repr(v)) for v in x[slow].tolist())]
        else:
            fixed = [_float_text(float(x[i]), bits) for i in slow]
        mask = np.zeros(len(s), dtype=bool)
        mask[slow] = True
        s = pc.replace_with_mask(s, pa.array(mask), pa.array(fixed, pa.string()))
    return s


_SPECIAL_OUT = {"inf": "Infinity", "-inf": "-Infinity", "nan": "NaN"}


def _float_text(v: float, bits: int) -> str:
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "-0" if np.signbit(v) else "0"
    sci = np.format_float_scientific(np.float32(v) if bits == 32 else v, unique=True, trim="-")
    mant, _, exp = sci.partition("e")
    e = int(exp)
    hi = 15 if bits == 64 else 6
    if -4 <= e < hi:
        return np.format_float_positional(np.float32(v) if bits == 32 else v, unique=True, trim="-")
    return f"{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"


def _format_record(a: pa.StructArray, t: SqlType, timezone: str) -> pa.Array:
    """record_out: '(1,"a b",)', a field quoted when empty or holding one of ",()\\ or
    whitespace (quotes and backslashes doubled), NULL fields empty."""
    parts = []
    for i, (_, ft) in enumerate(t.fields):
        v = format_text(a.field(i), ft, timezone=timezone)
        esc = pc.replace_substring(pc.replace_substring(v, "\\", "\\\\"), '"', '""')
        quoted = pc.binary_join_element_wise('"', esc, '"', "")
        v = pc.if_else(pc.match_substring_regex(v, r'^$|[",\\()\s]'), quoted, v)
        parts.append(pc.fill_null(v, ""))
    body = pc.binary_join_element_wise(*parts, ",") if parts else pa.repeat(pa.scalar(""), len(a))
    return _null_like(pc.binary_join_element_wise("(", body, ")", ""), a)


def _format_numeric(a: pa.Array) -> pa.Array:
    s = pc.cast(a, pa.string())
    zero = "0" if a.type.scale <= 0 else "0." + "0" * a.type.scale
    s = pc.replace_substring_regex(s, r"^-?0E-(\d+)$", zero)  # arrow prints zero as 0E-n
    trim = a.type.precision == NUMERIC_PRECISION and a.type.scale == NUMERIC_DEFAULT_SCALE
    sci = pc.fill_null(pc.match_substring(s, "E"), False)
    if pc.any(sci).as_py():  # below 1e-6 Arrow writes an exponent: write those digit by digit
        small = a.filter(sci)
        plain = format_decimal(small, trimmed_scale(small) if trim else a.type.scale)
        s = pc.replace_with_mask(s, sci, plain)
    if trim:
        s = pc.replace_substring_regex(s, r"\.?0+$", "")
        s = pc.if_else(pc.equal(s, "-0"), "0", s)
        s = pc.if_else(pc.equal(s, ""), "0", s)
    return s


_HEX = np.array([list(f"{i:02x}".encode()) for i in range(256)], dtype=np.uint8)


def hex_encode(a: pa.Array, prefix: bytes = b"\\x") -> pa.Array:
    """Binary (or fixed-size binary) to lowercase hex text with a prefix, vectorised."""
    a = _arr(a)
    if pa.types.is_fixed_size_binary(a.type):
        w = a.type.byte_width
        data = np.frombuffer(a.buffers()[1], dtype=np.uint8)[a.offset * w:(a.offset + len(a)) * w]
        offsets = np.arange(len(a) + 1, dtype=np.int64) * w
    else:
        a = pc.cast(a, pa.large_binary())
        offsets = np.frombuffer(a.buffers()[1], dtype=np.int64)[a.offset:a.offset + len(a) + 1]
        buf = a.buffers()[2]
        data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
        data = data[offsets[0]:offsets[-1]]
        offsets = offsets - offsets[0]
    n, p = len(a), len(prefix)
    lengths = np.diff(offsets)
    new_off = offsets * 2 + np.arange(n + 1, dtype=np.int64) * p
    out = np.empty(int(new_off[-1]), dtype=np.uint8)
    for k in range(p):
        out[new_off[:-1] + k] = prefix[k]
    if data.size:
        owner = np.repeat(np.arange(n, dtype=np.int64), lengths)
        pos = 2 * np.arange(data.size, dtype=np.int64) + p * (owner + 1)
        pair = _HEX[data]
        out[pos] = pair[:, 0]
        out[pos + 1] = pair[:, 1]
    res = pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(new_off), pa.py_buffer(out)])
    return _null_like(pc.cast(res, pa.string()), a)


def _format_uuid(a: pa.Array) -> pa.Array:
    h = hex_encode(a, b"")
    sl = [pc.utf8_slice_codeunits(h, i, j) for i, j in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))]
    return pc.binary_join_element_wise(*sl, "-")


_NEEDS_QUOTE = r'^$|[{}",\\\s]|^[Nn][Uu][Ll][Ll]$'


def _format_array(a: pa.Array, t: SqlType) -> pa.Array:
    """list<elem> to '{1,2,NULL,"a b"}' (one-dimensional or nested lists)."""
    a = _arr(a)
    elem_t = t.element
    if elem_t is None:
        raise SqlError(f"cannot format {t.display()} as an array")
    if pa.types.is_large_list(a.type):
        a = pc.cast(a, pa.list_(a.type.value_type))
    flat = a.values[a.offsets[0].as_py():a.offsets[-1].as_py()] if len(a) else a.values[:0]
    inner = format_text(flat, elem_t)
    if not elem_t.is_array and not pa.types.is_list(flat.type):
        quote = pc.fill_null(pc.match_substring_regex(inner, _NEEDS_QUOTE), False)
        esc = pc.replace_substring_regex(inner, r'(["\\])', r"\\\1")
        inner = pc.if_else(quote, pc.binary_join_element_wise('"', esc, '"', ""), inner)
    inner = pc.fill_null(inner, "NULL")
    offsets = pc.subtract(a.offsets, a.offsets[0])
    lists = pa.ListArray.from_arrays(offsets, inner)
    body = pc.binary_join(lists, ",")
    return _null_like(pc.binary_join_element_wise("{", body, "}", ""), a)


def _format_vector(a: pa.Array) -> pa.Array:
    """fixed_size_list<float> (pgvector) to '[1,2.5,3]'."""
    flat = a.flatten()
    bits = 32 if flat.type in (pa.float32(), pa.float16()) else 64
    inner = _format_float(pc.cast(flat, pa.float32() if bits == 32 else pa.float64()), bits)
    w = a.type.list_size
    lists = pa.FixedSizeListArray.from_arrays(inner, w) if w else pa.array([[]] * len(a), pa.list_(pa.string()))
    body = pc.binary_join(pc.cast(lists, pa.list_(pa.string())), ",")
    return _null_like(pc.binary_join_element_wise("[", body, "]", ""), a)


def format_text(array: pa.Array | pa.ChunkedArray, t: SqlType, *, timezone: str = "UTC"
                ) -> pa.Array:
    """Arrow values of type t to PostgreSQL's text output (a string array, nulls kept);
    timestamptz values print in `timezone` (the session's TimeZone setting)."""
    a = _arr(array)
    if t.codec is not None:  # extension types (pgvector's) bring their own text I/O
        return t.codec.format_text(a, t)
    at = a.type
    if t.short in ("int2vector", "oidvector"):  # pg_index.indkey: '1 3', space-separated
        return _null_like(pc.binary_join(pc.cast(a, pa.list_(pa.string())), " "), a)
    if t.short in ("int2vector", "oidvector"):  # space-separated, as PostgreSQL prints them
        flat = pc.cast(a.flatten(), pa.string()) if len(a) else pa.array([], pa.string())
        lists = pa.ListArray.from_arrays(pc.subtract(a.offsets, a.offsets[0]), flat) if len(a) \
            else pa.array([], pa.list_(pa.string()))
        return _null_like(pc.binary_join(lists, " "), a)
    if t.is_array or (pa.types.is_list(at) and t.category == "A"):
        return _format_array(a, t)
    if t.fields and pa.types.is_struct(at):
        return _format_record(a, t, timezone)
    short = t.short
    if pa.types.is_null(at):
        return pa.nulls(len(a), pa.string())
    if short == "bool" or pa.types.is_boolean(at):
        return pc.if_else(a, "t", "f")
    if pa.types.is_floating(at):
        return _format_float(a, 32 if at in (pa.float32(), pa.float16()) else 64)
    if pa.types.is_decimal(at):
        return _format_numeric(a)
    if is_numeric_text(at):  # numeric held as its text (per-value display scale)
        return a.storage
    if pa.types.is_integer(at):
        return pc.cast(a, pa.string())
    if short == "bytea" or (pa.types.is_binary(at) or pa.types.is_large_binary(at)):
        return hex_encode(a)
    if short == "uuid" or pa.types.is_fixed_size_binary(at):
        return _format_uuid(a)
    if pa.types.is_date(at):
        return dt.format_date(a)
    if pa.types.is_timestamp(at):
        return dt.format_timestamp(a, timezone)
    if pa.types.is_time(at):
        return dt.format_time(pc.cast(a, pa.time64("us")))
    if at == pa.month_day_nano_interval():
        return dt.format_interval(a)
    if pa.types.is_fixed_size_list(at):
        return _format_vector(a)
    if pa.types.is_string(at) or pa.types.is_large_string(at):
        return pc.cast(a, pa.string())
    return pc.cast(a, pa.string())


# ---- input -------------------------------------------------------------------------


def _trimmed(a: pa.Array) -> pa.Array:
    return pc.utf8_trim_whitespace(a)


def _parse_bool(a: pa.Array) -> pa.Array:
    s = pc.utf8_lower(_trimmed(a))
    trues = ["t", "tr", "tru", "true", "y", "ye", "yes", "on", "1"]
    falses = ["f", "fa", "fal", "fals", "false", "n", "no", "of", "off", "0"]
    is_t = pc.is_in(s, pa.array(trues))
    is_f = pc.is_in(s, pa.array(falses))
    bad = pc.and_(pc.is_valid(a), pc.invert(pc.or_(is_t, is_f)))
    if pc.any(bad).as_py():
        raise InvalidTextRepresentation(
            f'invalid input syntax for type boolean: "{_first_bad(a, bad)}"')
    return _null_like(is_t, a)


def _parse_int(a: pa.Array, t: SqlType) -> pa.Array:
    name = _INT_NAMES.get(t.short, t.name)
    s = _trimmed(a)
    ok = pc.fill_null(pc.match_substring_regex(s, r"^[+-]?\d+$"), True)
    if pc.all(ok).as_py() is False:
        raise InvalidTextRepresentation(
            f'invalid input syntax for type {name}: "{_first_bad(a, pc.invert(ok))}"')
    s = pc.replace_substring_regex(s, r"^\+", "")
    lo, hi = _INT_RANGE.get(t.short, (0, 2**32 - 1))
    # 19+ digit strings may not fit int64: compare lengths first, then values
    digits = pc.utf8_length(pc.replace_substring_regex(s, r"^-?0*", ""))
    too_long = pc.fill_null(pc.greater(digits, 19), False)
    if pc.any(too_long).as_py():
        raise NumericValueOutOfRange(
            f'value "{_first_bad(a, too_long)}" is out of range for type {name}')
    try:
        v = pc.cast(s, pa.int64())
    except pa.ArrowInvalid:
        v = None
    if v is None:
        dec = pc.cast(s, pa.decimal128(20, 0))
        bad = pc.or_(pc.greater(dec, pa.scalar(Decimal(hi), pa.decimal128(20, 0))),
                     pc.less(dec, pa.scalar(Decimal(lo), pa.decimal128(20, 0))))
        raise NumericValueOutOfRange(
            f'value "{_first_bad(a, pc.fill_null(bad, False))}" is out of range for type {name}')
    bad = pc.fill_null(pc.or_(pc.greater(v, hi), pc.less(v, lo)), False)
    if pc.any(bad).as_py():
        raise NumericValueOutOfRange(
            f'value "{_first_bad(a, bad)}" is out of range for type {name}')
    return pc.cast(v, t.arrow if pa.types.is_integer(t.arrow) else pa.int64())


_FLOAT_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_SPECIAL_F = {"infinity": "inf", "+infinity": "inf", "-infinity": "-inf", "inf": "inf",
              "+inf": "inf", "-inf": "-inf", "nan": "nan", "+nan": "nan", "-nan": "nan"}


def _parse_float(a: pa.Array, t: SqlType) -> pa.Array:
    name = "real" if t.short == "float4" else "double precision"
    s = _trimmed(a)
    low = pc.utf8_lower(s)
    special = pc.is_in(low, pa.array(list(_SPECIAL_F)))
    ok = pc.fill_null(pc.or_(special, pc.match_substring_regex(s, _FLOAT_RE)), True)
    if pc.all(ok).as_py() is False:
        raise InvalidTextRepresentation(
            f'invalid input syntax for type {name}: "{_first_bad(a, pc.invert(ok))}"')
    if pc.any(special).as_py():
        for k, v in _SPECIAL_F.items():
            s = pc.if_else(pc.equal(low, k), v, s)
    v = pc.cast(s, pa.float64())
    x = v.to_numpy(zero_copy_only=False)
    lim = np.finfo(np.float32).max if t.short == "float4" else np.finfo(np.float64).max
    overflow = np.isinf(x) & ~np.asarray(pc.fill_null(special, True))
    overflow |= np.isfinite(x) & (np.abs(x) > lim)
    if overflow.any():
        raise NumericValueOutOfRange(
            f'"{_first_bad(a, overflow)}" is out of range for type {name}')
    return pc.cast(v, t.arrow if pa.types.is_floating(t.arrow) else pa.float64())


def numeric_overflow(p: int, s: int) -> NumericValueOutOfRange:
    return NumericValueOutOfRange(
        "numeric field overflow",
        detail=(f"A field with precision {p}, scale {s} must round to an absolute value "
                f"less than {'1' if p == s else f'10^{p - s}'}."),
    )


def round_decimal(a: pa.Array, target: pa.DataType, p_s: tuple[int, int] | None = None) -> pa.Array:
    """Round half away from zero to the target decimal's scale, checking its precision."""
    s = target.scale
    if a.type.scale > s:
        a = pc.round(pc.cast(a, pa.decimal256(76, a.type.scale)) if a.type.precision < 76 else a,
                     ndigits=s, round_mode="half_towards_infinity")
    try:
        return pc.cast(a, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        p, sc = p_s or (target.precision, target.scale)
        raise numeric_overflow(p, sc) from None


def _parse_numeric(a: pa.Array, t: SqlType) -> pa.Array:
    s = _trimmed(a)
    ok = pc.fill_null(pc.match_substring_regex(s, _FLOAT_RE), True)
    if pc.all(ok).as_py() is False:
        low = pc.utf8_lower(s)
        if pc.any(pc.is_in(low, pa.array(["nan", "infinity", "-infinity", "inf", "-inf"]))).as_py():
            raise InvalidTextRepresentation("numeric NaN and infinity are not supported")
        raise InvalidTextRepresentation(
            f'invalid input syntax for type numeric: "{_first_bad(a, pc.invert(ok))}"')
    try:
        wide = pc.cast(s, pa.decimal256(76, 38))
    except pa.ArrowInvalid:
        raise NumericValueOutOfRange("value overflows numeric format") from None
    target = t.arrow if pa.types.is_decimal(t.arrow) else pa.decimal128(NUMERIC_PRECISION, NUMERIC_DEFAULT_SCALE)
    return round_decimal(wide, target, numeric_precision_scale(t))


def _per_distinct(a: pa.Array, fn: Callable[[str], Any], typ: pa.DataType) -> pa.Array:
    """Apply a Python parser once per distinct value (for irregular grammars)."""
    enc = pc.dictionary_encode(a)
    values = pa.array([fn(v) for v in enc.dictionary.to_pylist()], type=typ)
    return values.take(enc.indices)


def _parse_array(a: pa.Array, t: SqlType) -> pa.Array:
    """Array text input: vectorised for flat numeric literals, per distinct literal otherwise."""
    return parse_arrays(a, t, parse_text)


def _parse_vector(a: pa.Array, t: SqlType) -> pa.Array:
    def one(s: str) -> list[float]:
        txt = s.strip()
        if not (txt.startswith("[") and txt.endswith("]")):
            raise InvalidTextRepresentation(f'invalid input syntax for type vector: "{s}"')
        try:
            return [float(x) for x in txt[1:-1].split(",")] if txt[1:-1].strip() else []
        except ValueError:
            raise InvalidTextRepresentation(f'invalid input syntax for type vector: "{s}"') from None
    return pc.cast(_per_distinct(a, one, pa.list_(pa.float64())), t.arrow)


def parse_text(array: pa.Array | pa.ChunkedArray, t: SqlType, *, timezone: str = "UTC"
               ) -> pa.Array:
    """PostgreSQL text input of type t: a string array to an array of t's Arrow type
    (timestamptz text without an offset is read in `timezone`)."""
    a = _arr(array)
    if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        a = pc.cast(a, pa.string())
    if pa.types.is_large_string(a.type):
        a = pc.cast(a, pa.string())
    if t.codec is not None:  # extension types (pgvector's) bring their own text I/O
        return t.codec.parse_text(a, t)
    if t.is_array:
        return _parse_array(a, t)
    short, at = t.short, t.arrow
    if short in ("int2vector", "oidvector"):
        parts = pc.split_pattern_regex(pc.utf8_trim_whitespace(a), r"\s+")
        flat = parts.flatten()
        flat = pc.if_else(pc.equal(flat, ""), pa.scalar(None, pa.string()), flat)
        elem = T_INT2 if short == "int2vector" else T_OID
        vals = parse_text(flat, elem).drop_null() if len(flat) else pa.array([], elem.arrow)
        counts = pc.list_value_length(parts).fill_null(0).to_numpy(zero_copy_only=False)
        empty = np.asarray(pc.fill_null(pc.equal(pc.utf8_trim_whitespace(a), ""), False))
        counts = np.where(empty, 0, counts)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        return pa.ListArray.from_arrays(pa.array(offsets), pc.cast(vals, at.value_type),
                                        mask=pc.is_null(a) if a.null_count else None)
    if short == "bool":
        return _parse_bool(a)
    if short in _INT_NAMES or short in _UNSIGNED:
        return _parse_int(a, t)
    if short in ("float4", "float8"):
        return _parse_float(a, t)
    if short == "numeric":
        if is_numeric_text(t.arrow):  # held as its text: each value's own scale, NaN, Infinity
            from sqlvec.core.textio_numeric import numeric_text_array, parse_numeric_text

            return numeric_text_array(parse_numeric_text(a))
        return _parse_numeric(a, t)
    if short == "bytea":
        return _per_distinct(a, parse_bytea_value, pa.binary())
    if short == "uuid":
        return _per_distinct(a, parse_uuid_value, pa.binary(16))
    if short == "date":
        return dt.parse_date(a)
    if short == "timestamp":
        return dt.parse_timestamp(a, tz=False)
    if short == "timestamptz":
        return dt.parse_timestamp(a, tz=True, timezone=timezone)
    if short == "time":
        return dt.parse_time(a)
    if short == "interval":
        return dt.parse_interval(a)
    if short == "json":
        return _per_distinct(a, json_check, pa.string())
    if short == "jsonb":
        return _per_distinct(a, jsonb_normalize, pa.string())
    if short == "name":
        return pc.utf8_slice_codeunits(a, 0, 63)
    if pa.types.is_fixed_size_list(at):
        return _parse_vector(a, t)
    if pa.types.is_string(at) or pa.types.is_null(at):
        return a
    raise InvalidTextRepresentation(f"cannot read text input for type {t.display()}")


def parse_text_value(s: str | None, t: SqlType) -> Any:
    """Scalar helper: one text value to the Python value of type t (None stays None)."""
    if s is None:
        return None
    return parse_text(pa.array([s], pa.string()), t)[0].as_py()


def format_value(v: Any, t: SqlType) -> str | None:
    """Scalar helper: one Python value of type t to its PostgreSQL text (None stays None)."""
    if v is None:
        return None
    if t.short == "numeric" and isinstance(v, Decimal | int):
        return format(Decimal(v), "f")
    return format_text(pa.array([v], type=t.arrow), t)[0].as_py()


__all__ = [
    "format_text", "format_value", "hex_encode", "jsonb_dumps", "jsonb_normalize",
    "numeric_overflow", "parse_text", "parse_text_value", "round_decimal",
]
