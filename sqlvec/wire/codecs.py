"""Type codecs per OID: whole Arrow columns to wire bytes, and Bind parameters to Python.

Results are encoded a column at a time (`encode_column`): binary formats with numpy
(big-endian byte swaps of the whole buffer, epoch shifts), text through
`core.textio.format_text` (with direct Arrow casts where the text form is Arrow's own).
Only numeric in binary goes value by value (base-10000 digits have no vector form).

    >>> seg, valid = encode_column(pa.array([1, None, 3], pa.int32()), types.INT4, 1)
    >>> seg.to_list(), valid.tolist()
    ([b'\\x00\\x00\\x00\\x01', b'', b'\\x00\\x00\\x00\\x03'], [True, False, True])
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from collections.abc import Callable
from decimal import Decimal, localcontext

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types
from sqlvec.core.errors import (
    InvalidBinaryRepresentation,
    InvalidTextRepresentation,
    ProtocolViolation,
    SqlError,
)
from sqlvec.core.types import SqlType
from sqlvec.wire import vector_codecs
from sqlvec.wire.messages import decode_utf8
from sqlvec.wire.segments import (
    I32,
    Seg,
    be_bytes,
    binary_seg,
    concat_rows,
    expand,
    fixed_seg,
    group_rows,
)

PG_EPOCH_DAYS = 10957  # 2000-01-01 - 1970-01-01 in days
PG_EPOCH_US = PG_EPOCH_DAYS * 86_400_000_000
_PG_EPOCH_DATE = dt.date(2000, 1, 1)
_PG_EPOCH_DT = dt.datetime(2000, 1, 1)
_UTC = dt.UTC

STRINGY = frozenset({"text", "varchar", "bpchar", "name", "json", "char", "unknown", "xml"})
INTS = {"int2": ">i2", "int4": ">i4", "int8": ">i8", "oid": ">u4", "regproc": ">u4",
        "regclass": ">u4", "regtype": ">u4", "regnamespace": ">u4", "regrole": ">u4",
        "xid": ">u4"}
FLOATS = {"float4": ">f4", "float8": ">f8"}


# --- encoding result columns -----------------------------------------------------------------

def encode_column(arr: pa.Array, t: SqlType, fmt: int, timezone: str = "UTC") -> tuple[Seg, np.ndarray | None]:
    """Wire bytes of every value (null rows empty) and the validity mask (None: no nulls)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        valid = arr.is_valid().to_numpy(zero_copy_only=False)
        seg = _encode_valid(arr.filter(pa.array(valid)), t, fmt, timezone)
        return expand(seg, valid), valid
    return _encode_valid(arr, t, fmt, timezone), None


def _encode_valid(arr: pa.Array, t: SqlType, fmt: int, timezone: str) -> Seg:
    return encode_binary(arr, t) if fmt == 1 else binary_seg(format_text(arr, t, timezone))


def format_text(arr: pa.Array, t: SqlType, timezone: str = "UTC") -> pa.Array:
    """PostgreSQL text output of a column (string array); timestamptz in `timezone`."""
    short = t.short
    if short in STRINGY or short == "jsonb":
        return arr if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type) \
            else arr.cast(pa.string())
    if short in INTS and pa.types.is_integer(arr.type):
        return pc.cast(arr, pa.string())
    if short == "bool" and pa.types.is_boolean(arr.type):
        return pc.if_else(arr, "t", "f")
    from sqlvec.core import textio

    return textio.format_text(arr, t, timezone=timezone)


def _fixed_numpy(arr: pa.Array, dtype: np.dtype | str) -> np.ndarray:
    """The values buffer of a null-free fixed-width Arrow array as numpy (zero copy)."""
    dtype = np.dtype(dtype)
    buf = arr.buffers()[1]
    return np.frombuffer(buf, dtype=dtype, count=arr.offset + len(arr))[arr.offset:]


def _cast(arr: pa.Array, target: pa.DataType) -> pa.Array:
    return arr if arr.type == target else pc.cast(arr, target)


def encode_binary(arr: pa.Array, t: SqlType) -> Seg:
    """Binary wire format of a null-free column, vectorised per type."""
    short = t.short
    if t.element is not None:
        return _encode_array(arr, t.element)
    codec_out = getattr(t.codec, "format_binary", None)
    if codec_out is not None:  # an extension type's own binary send function
        return binary_seg(codec_out(arr, t))
    if short in INTS:
        np_t = INTS[short]
        return fixed_seg(be_bytes(arr.to_numpy(zero_copy_only=False), np_t))
    if short in FLOATS:
        return fixed_seg(be_bytes(arr.to_numpy(zero_copy_only=False), FLOATS[short]))
    if short == "bool":
        vals = arr.to_numpy(zero_copy_only=False).astype(np.uint8)
        return fixed_seg(vals.reshape(-1, 1))
    if short in STRINGY or short == "bytea":
        return binary_seg(arr)
    if short == "jsonb":
        return concat_rows(len(arr), [b"\x01", binary_seg(arr)])
    if short == "date":
        days = _fixed_numpy(_cast(arr, pa.date32()), np.int32).astype(np.int64) - PG_EPOCH_DAYS
        return fixed_seg(be_bytes(days, ">i4"))
    if short == "time":
        us = _fixed_numpy(_cast(arr, pa.time64("us")), np.int64)
        return fixed_seg(be_bytes(us, ">i8"))
    if short in ("timestamp", "timestamptz"):
        target = pa.timestamp("us", tz="UTC" if short == "timestamptz" else None)
        if arr.type.tz is not None and short == "timestamp":
            target = pa.timestamp("us", tz=arr.type.tz)
        us = _fixed_numpy(_cast(arr, target), np.int64) - PG_EPOCH_US
        return fixed_seg(be_bytes(us, ">i8"))
    if short == "interval":
        return _encode_interval(arr)
    if short == "uuid":
        n = len(arr)
        raw = np.frombuffer(arr.buffers()[1], dtype=np.uint8, count=(arr.offset + n) * 16)
        return fixed_seg(raw[arr.offset * 16:].reshape(n, 16))
    if short == "numeric":
        if isinstance(arr.type, pa.ExtensionType):  # numeric held as its text: Decimal(text)
            arr = arr.storage  # keeps the display scale
            values = [None if v is None else Decimal(v) for v in arr.to_pylist()]
            return binary_seg(pa.array([encode_numeric(v) for v in values], pa.binary()))
        values = arr.to_pylist()
        if _unconstrained(arr.type):  # display scale as the text output shows it (1.50 -> 1.5)
            values = [_trim(v) for v in values]
        return binary_seg(pa.array([encode_numeric(v) for v in values], pa.binary()))
    if short in vector_codecs.SHORTS:  # pgvector's types: vector/halfvec/sparsevec/bit/...
        return vector_codecs.encode(arr, short)
    raise SqlError(f"no binary output function available for type {t.name}")


def _encode_interval(arr: pa.Array) -> Seg:
    n = len(arr)
    rec = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])
    vals = np.frombuffer(arr.buffers()[1], dtype=rec, count=arr.offset + n)[arr.offset:]
    out = np.empty(n, dtype=[("us", ">i8"), ("days", ">i4"), ("months", ">i4")])
    out["us"] = vals["nanos"] // 1000
    out["days"] = vals["days"]
    out["months"] = vals["months"]
    return fixed_seg(out.view(np.uint8).reshape(n, 16))


def _encode_array(arr: pa.Array, elem: SqlType) -> Seg:
    """Binary 1-D arrays: ndim, hasnull, elem oid, [dim, lbound], (len, bytes) per element."""
    counts = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
    counts = counts.astype(np.int64)
    flat = arr.flatten()
    seg, valid = encode_column(flat, elem, 1)
    if valid is None:
        elem_len = seg.lengths
        nulls = np.zeros(len(arr), dtype=np.int64)
    else:
        elem_len = np.where(valid, seg.lengths, -1)
        ends = np.cumsum(counts)
        cnull = np.concatenate([[0], np.cumsum(~valid)])
        nulls = cnull[ends] - cnull[ends - counts]
    elems = concat_rows(len(flat), [I32(elem_len), seg])
    per_row = group_rows(elems, counts)
    nonempty = counts > 0
    dims = np.empty((int(nonempty.sum()), 2), dtype=np.int64)
    dims[:, 0] = counts[nonempty]
    dims[:, 1] = 1
    dim_seg = Seg(np.where(nonempty, 8, 0).astype(np.int64), be_bytes(dims.reshape(-1), ">i4").reshape(-1))
    return concat_rows(len(arr), [
        I32(nonempty.astype(np.int32)), I32((nulls > 0).astype(np.int32)),
        struct.pack("!I", elem.oid), dim_seg, per_row,
    ])


def _unconstrained(t: pa.DataType) -> bool:
    return (pa.types.is_decimal(t) and t.precision == types.NUMERIC_PRECISION
            and t.scale == types.NUMERIC_DEFAULT_SCALE)


def _trim(v: Decimal) -> Decimal:
    """Drop trailing fractional zeros of an unconstrained numeric (never below scale 0)."""
    if v.is_zero():
        return Decimal(0)
    with localcontext() as c:  # exact: the default context rounds to 28 digits
        c.prec = 1100
        v = v.normalize()
        return v.quantize(Decimal(1)) if v.as_tuple().exponent > 0 else v


def encode_numeric(v: Decimal) -> bytes:
    """PostgreSQL's binary numeric: ndigits, weight, sign, dscale, base-10000 digits."""
    if v.is_nan():
        return struct.pack("!hhHh", 0, 0, 0xC000, 0)
    if v.is_infinite():
        return struct.pack("!hhHh", 0, 0, 0xD000 if v > 0 else 0xF000, 0)
    sign, digits, exp = v.as_tuple()
    exp = int(exp)
    dscale = max(-exp, 0)
    pad = exp % 4
    s = "".join(map(str, digits)) + "0" * pad
    exp -= pad
    s = "0" * (-len(s) % 4) + s
    groups = [int(s[i:i + 4]) for i in range(0, len(s), 4)]
    weight = exp // 4 + len(groups) - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    return struct.pack(f"!hhHh{len(groups)}H", len(groups), weight,
                       0x4000 if sign else 0, dscale, *groups)


def decode_numeric(data: bytes) -> Decimal:
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHh", data)
    if sign == 0xC000:
        return Decimal("NaN")
    if sign in (0xD000, 0xF000):
        return Decimal("Infinity" if sign == 0xD000 else "-Infinity")
    digits = struct.unpack_from(f"!{ndigits}H", data, 8)
    value = 0
    for d in digits:
        value = value * 10000 + d
    exp = (weight - ndigits + 1) * 4
    with localcontext() as c:  # exact: the default context rounds to 28 digits
        c.prec = 1100
        result = Decimal(value).scaleb(exp)
        if sign == 0x4000:
            result = -result
        return result.quantize(Decimal(1).scaleb(-dscale)) if dscale >= 0 else result


# --- decoding Bind parameters -------------------------------------------------------------

def decode_param(raw: bytes | None, t: SqlType, fmt: int, index: int) -> object:
    """A Bind parameter as a Python value of type t (per docs/CONTRACTS.md)."""
    if raw is None:
        return None
    if fmt == 0:
        return decode_text(decode_utf8(raw), t)
    try:
        return decode_binary(raw, t)
    except SqlError:
        raise
    except (struct.error, ValueError, IndexError, UnicodeDecodeError):
        raise InvalidBinaryRepresentation(
            f"incorrect binary data format in bind parameter {index + 1}"
        ) from None


_INT_WIDTH = {"int2": 2, "int4": 4, "int8": 8}


def param_decoder(t: SqlType, fmt: int, index: int) -> Callable[[bytes | None], object]:
    """`decode_param` for one parameter slot, specialised once per prepared statement and
    format (a Bind of a cached statement then costs a call per value): binary integers,
    binary vectors and text take a direct path, everything else goes through decode_param."""
    short = t.short
    if t.element is None and getattr(t.codec, "parse_binary", None) is None:
        width = _INT_WIDTH.get(short)
        if fmt == 1 and width is not None:
            def binary_int(raw: bytes | None) -> object:
                if raw is None:
                    return None
                if len(raw) < width:  # as PostgreSQL's pq_getmsgint
                    raise ProtocolViolation("insufficient data left in message")
                if len(raw) != width:
                    raise InvalidBinaryRepresentation(
                        f"incorrect binary data format in bind parameter {index + 1}")
                return int.from_bytes(raw, "big", signed=True)
            return binary_int
        if fmt == 1 and short in vector_codecs.SHORTS:  # a vector: the ANN query's parameter
            def binary_vector(raw: bytes | None) -> object:
                if raw is None:
                    return None
                try:
                    return vector_codecs.decode(raw, short)
                except SqlError:
                    raise
                except (struct.error, ValueError, IndexError, UnicodeDecodeError):
                    raise InvalidBinaryRepresentation(
                        f"incorrect binary data format in bind parameter {index + 1}") from None
            return binary_vector
        if short in STRINGY and short != "unknown":
            def text(raw: bytes | None) -> object:
                if raw is None:
                    return None
                return raw.decode("ascii") if raw.isascii() else decode_utf8(raw)
            return text

    def general(raw: bytes | None) -> object:
        return decode_param(raw, t, fmt, index)
    return general


def decode_text(s: str, t: SqlType) -> object:
    """Text-format parameter -> Python value through the type's input function."""
    short = t.short
    if short in STRINGY or short == "jsonb" or t.oid == 0:
        return s
    if short in ("int2", "int4", "int8"):
        try:
            return int(s.strip())
        except ValueError:
            raise InvalidTextRepresentation(
                f'invalid input syntax for type {t.name}: "{s}"'
            ) from None
    if short == "vector":  # (one numpy parse: the column parser's Arrow kernels take ~1 ms)
        v = vector_codecs.decode_text(s, t.typmod)
        if v is not None:
            return v
    from sqlvec.core import textio

    return textio.parse_text_value(s, t)


def _decode_array(raw: bytes, t: SqlType) -> list:
    ndim, _flags, _elem_oid = struct.unpack_from("!iiI", raw)
    if ndim == 0:
        return []
    if ndim != 1:
        from sqlvec.core.textio_arrays import multidim_error  # 0A000, as the text input's (issue 3)

        raise multidim_error(f"of {ndim} dimensions (binary)", t)
    count, _lbound = struct.unpack_from("!ii", raw, 12)
    pos, out = 20, []
    for _ in range(count):
        (ln,) = struct.unpack_from("!i", raw, pos)
        pos += 4
        if ln == -1:
            out.append(None)
            continue
        if pos + ln > len(raw):
            raise ValueError("truncated array")
        out.append(decode_binary(raw[pos:pos + ln], t.element))
        pos += ln
    return out


def _exact(n: int) -> Callable[[bytes], bytes]:
    def check(raw: bytes) -> bytes:
        if len(raw) != n:
            raise ValueError("wrong length")
        return raw
    return check


def decode_binary(raw: bytes, t: SqlType) -> object:
    """Binary-format parameter -> Python value."""
    short = t.short
    if t.element is not None:
        return _decode_array(raw, t)
    codec_in = getattr(t.codec, "parse_binary", None)
    if codec_in is not None:  # an extension type's own binary receive function
        return codec_in(raw, t)
    if short in INTS:
        if len(raw) < int(INTS[short][-1]):  # as PostgreSQL's pq_getmsgint
            raise ProtocolViolation("insufficient data left in message")
        return int.from_bytes(_exact(int(INTS[short][-1]))(raw), "big", signed=short[0] == "i")
    if short in FLOATS:
        return struct.unpack("!f" if short == "float4" else "!d", raw)[0]
    if short == "bool":
        return _exact(1)(raw) != b"\x00"
    if short in STRINGY:
        return decode_utf8(raw)
    if short == "jsonb":
        if not raw or raw[0] != 1:
            raise InvalidBinaryRepresentation("unsupported jsonb version number")
        return decode_utf8(raw[1:])
    if short == "bytea":
        return bytes(raw)
    if short == "date":
        return _PG_EPOCH_DATE + dt.timedelta(days=struct.unpack("!i", raw)[0])
    if short == "time":
        us = struct.unpack("!q", raw)[0]
        return (dt.datetime.min + dt.timedelta(microseconds=us)).time()
    if short in ("timestamp", "timestamptz"):
        value = _PG_EPOCH_DT + dt.timedelta(microseconds=struct.unpack("!q", raw)[0])
        return value.replace(tzinfo=_UTC) if short == "timestamptz" else value
    if short == "interval":
        us, days, months = struct.unpack("!qii", raw)
        return pa.MonthDayNano([months, days, us * 1000])
    if short == "uuid":
        return uuid.UUID(bytes=_exact(16)(raw))
    if short == "numeric":
        return decode_numeric(raw)
    if short in vector_codecs.SHORTS:  # pgvector's types: vector/halfvec/sparsevec/bit/...
        return vector_codecs.decode(raw, short)
    raise InvalidBinaryRepresentation(f"no binary input function available for type {t.name}")


def result_formats(codes: tuple[int, ...], ncols: int) -> list[int]:
    """Expand Bind's result format codes (none: all text; one: all that; else one each)."""
    if not codes:
        return [0] * ncols
    if len(codes) == 1:
        return [codes[0]] * ncols
    if len(codes) != ncols:
        from sqlvec.core.errors import ProtocolViolation

        raise ProtocolViolation(
            f"bind message has {len(codes)} result formats but query has {ncols} columns"
        )
    return list(codes)


__all__ = ["encode_column", "decode_param", "param_decoder", "result_formats", "types"]
