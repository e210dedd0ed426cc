"""PostgreSQL's bit string functions and operators on bit/varbit: length, bit_length,
octet_length, bit_count, get_bit, set_bit, substring, || & | # ~ << >>.

Each column is turned once into its '0'/'1' digits (one flat uint8 array and per-row
offsets, from the vectorised text form) and the results are built from those arrays with
numpy, then packed back (textio.parse_bit); no loop over rows.

    >>> from sqlvec.functions.vectors.textio import parse_bit
    >>> b = parse_bit(pa.array(["1011", None, "1"]), V.VARBIT)
    >>> _text(_shift(-1)(None, [b, pa.scalar(1, pa.int32())])).to_pylist()
    ['0110', None, '0']
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import (
    ArraySubscriptError,
    DataException,
    InvalidParameterValue,
    StringDataLengthMismatch,
)
from sqlvec.core.types import SqlType
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import arr
from sqlvec.functions.vectors import types as V
from sqlvec.functions.vectors.textio import format_bit, parse_bit

Digits = tuple[np.ndarray, np.ndarray, np.ndarray]  # (n + 1 offsets, 0/1 digits, valid)


def _rows(ctx: CallContext | None, args: list[Arg]) -> int:
    if all(isinstance(x, pa.Scalar) for x in args):
        return 1
    return next(len(x) for x in args if not isinstance(x, pa.Scalar))


def _digits(x: Arg, n: int) -> Digits:
    """A bit column's digits: per-row offsets into one flat 0/1 array, and its valid mask."""
    text = format_bit(arr(x, n), V.VARBIT)
    valid = np.asarray(pc.is_valid(text), bool)
    if text.buffers()[1] is None or not len(text):
        return np.zeros(n + 1, np.int64), np.zeros(0, np.uint8), valid
    offs = np.frombuffer(text.buffers()[1], np.int32, count=text.offset + n + 1)[text.offset:].astype(np.int64)
    data = text.buffers()[2]
    flat = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offs - offs[0], flat[offs[0]:offs[-1]] - np.uint8(ord("0")), valid


def _bits(offs: np.ndarray, digits: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Digits back to bit values (NULL where not valid)."""
    n = len(valid)
    lens = np.where(valid, np.diff(offs), 0)
    keep = np.repeat(valid, np.diff(offs))
    o = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    nulls = int((~valid).sum())
    text = pa.StringArray.from_buffers(
        n, pa.py_buffer(o), pa.py_buffer((digits[keep] + np.uint8(ord("0"))).tobytes()),
        None if not nulls else pa.py_buffer(np.packbits(valid, bitorder="little")), nulls)
    return parse_bit(text, V.VARBIT)


def _text(a: pa.Array) -> pa.Array:
    return format_bit(a, V.VARBIT)


def _ints(x: Arg, n: int) -> tuple[np.ndarray, np.ndarray]:
    a = pc.cast(arr(x, n), pa.int64())
    return np.asarray(a.fill_null(0), np.int64), np.asarray(pc.is_valid(a), bool)


def _int_result(v: np.ndarray, valid: np.ndarray, t: pa.DataType) -> pa.Array:
    return pa.array(v, t, mask=None if valid.all() else ~valid)


def _length(per_row: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray], t: pa.DataType
            ) -> Callable[[CallContext, list[Arg]], pa.Array]:
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        offs, d, valid = _digits(args[0], _rows(ctx, args))
        return _int_result(per_row(offs, d, np.diff(offs)), valid, t)
    return impl


def _ones(offs: np.ndarray, d: np.ndarray, lens: np.ndarray) -> np.ndarray:
    cs = np.concatenate([[0], np.cumsum(d, dtype=np.int64)])
    return cs[offs[1:]] - cs[offs[:-1]]


def _concat(ctx: CallContext, args: list[Arg]) -> pa.Array:
    n = _rows(ctx, args)
    a, b = (_text(arr(x, n)) for x in args)
    return parse_bit(pc.binary_join_element_wise(a, b, ""), V.VARBIT)


def _bitwise(word: str, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]
             ) -> Callable[[CallContext, list[Arg]], pa.Array]:
    """& | #: bit by bit over two strings of one size (22026 otherwise, as PostgreSQL)."""
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = _rows(ctx, args)
        (oa, da, va), (ob, db, vb) = (_digits(x, n) for x in args)
        valid = va & vb
        la, lb = np.diff(oa), np.diff(ob)
        if (valid & (la != lb)).any():
            raise StringDataLengthMismatch(f"cannot {word} bit strings of different sizes")
        ka, kb = np.repeat(valid, la), np.repeat(valid, lb)  # (a NULL row's other side dropped)
        o = np.concatenate([[0], np.cumsum(np.where(valid, la, 0))])
        return _bits(o, fn(da[ka], db[kb]).astype(np.uint8), valid)
    return impl


def _not(ctx: CallContext, args: list[Arg]) -> pa.Array:
    offs, d, valid = _digits(args[0], _rows(ctx, args))
    return _bits(offs, np.uint8(1) - d, valid)


def _positions(offs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every digit: its row, its position in the row, the row's length."""
    lens = np.diff(offs)
    row = np.repeat(np.arange(len(lens)), lens)
    return row, np.arange(len(row)) - offs[:-1][row], lens[row]


def _shift(sign: int) -> Callable[[CallContext, list[Arg]], pa.Array]:
    """<< (sign -1: digits move left) and >> (sign 1), zero-filled, the length kept."""
    def impl(ctx: CallContext, args: list[Arg]) -> pa.Array:
        n = _rows(ctx, args)
        offs, d, valid = _digits(args[0], n)
        k, kv = _ints(args[1], n)
        row, pos, ln = _positions(offs)
        src = pos - sign * k[row]
        ok = (src >= 0) & (src < ln)
        out = np.where(ok, d[np.clip(offs[:-1][row] + src, 0, max(len(d) - 1, 0))] if len(d) else d, 0)
        return _bits(offs, out.astype(np.uint8), valid & kv)
    return impl


def _index_check(k: np.ndarray, lens: np.ndarray, valid: np.ndarray) -> None:
    bad = valid & ((k < 0) | (k >= lens))
    if bad.any():
        i = int(np.argmax(bad))
        raise ArraySubscriptError(f"bit index {int(k[i])} out of valid range (0..{int(lens[i]) - 1})")


def _get_bit(ctx: CallContext, args: list[Arg]) -> pa.Array:
    n = _rows(ctx, args)
    offs, d, valid = _digits(args[0], n)
    k, kv = _ints(args[1], n)
    valid &= kv
    _index_check(k, np.diff(offs), valid)
    at = np.where(valid, offs[:-1] + k, 0)
    return _int_result(d[at].astype(np.int32) if len(d) else np.zeros(n, np.int32), valid, pa.int32())


def _set_bit(ctx: CallContext, args: list[Arg]) -> pa.Array:
    n = _rows(ctx, args)
    offs, d, valid = _digits(args[0], n)
    (k, kv), (v, vv) = _ints(args[1], n), _ints(args[2], n)
    valid &= kv & vv
    _index_check(k, np.diff(offs), valid)
    if (valid & (v != 0) & (v != 1)).any():
        raise InvalidParameterValue("new bit must be 0 or 1")
    d = d.copy()
    d[(offs[:-1] + k)[valid]] = v[valid]
    return _bits(offs, d, valid)


def _substring(ctx: CallContext, args: list[Arg]) -> pa.Array:
    """substring(bits from s [for l]), as PostgreSQL's bitsubstr (1-based, clipped)."""
    n = _rows(ctx, args)
    offs, d, valid = _digits(args[0], n)
    s, sv = _ints(args[1], n)
    valid &= sv
    lens = np.diff(offs)
    if len(args) > 2:
        ln, lv = _ints(args[2], n)
        valid &= lv
        if (valid & (ln < 0)).any():
            raise DataException("negative substring length not allowed")  # (as text's)
        end = np.minimum(s + ln - 1, lens)  # (inclusive)
    else:
        end = lens
    lo = np.maximum(s, 1)
    cnt = np.where(valid, np.maximum(end - lo + 1, 0), 0)
    o = np.concatenate([[0], np.cumsum(cnt)])
    take = np.repeat(offs[:-1] + lo - 1 - o[:-1], cnt) + np.arange(int(o[-1]))
    return _bits(o, d[take] if len(take) else np.zeros(0, np.uint8), valid)


def register(fr: FunctionRegistry, bit: SqlType, varbit: SqlType) -> None:
    i4, i8 = T.INT4, T.INT8
    fr.add("length", [bit], i4, _length(lambda o, d, ln: ln, pa.int32()))
    fr.add("bit_length", [bit], i4, _length(lambda o, d, ln: ln, pa.int32()))
    fr.add("octet_length", [bit], i4, _length(lambda o, d, ln: (ln + 7) // 8, pa.int32()))
    fr.add("bit_count", [bit], i8, _length(_ones, pa.int64()))
    fr.add("get_bit", [bit, i4], i4, _get_bit)
    fr.add("set_bit", [bit, i4, i4], bit, _set_bit)
    fr.add("substring", [bit, i4], bit, _substring)
    fr.add("substring", [bit, i4, i4], bit, _substring)
    fr.add("||", [varbit, varbit], varbit, _concat)
    fr.add("&", [bit, bit], bit, _bitwise("AND", np.bitwise_and))
    fr.add("|", [bit, bit], bit, _bitwise("OR", np.bitwise_or))
    fr.add("#", [bit, bit], bit, _bitwise("XOR", np.bitwise_xor))
    fr.add("~", [bit], bit, _not)
    fr.add("<<", [bit, i4], bit, _shift(-1))
    fr.add(">>", [bit, i4], bit, _shift(1))
