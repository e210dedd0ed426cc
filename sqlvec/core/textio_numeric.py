"""Numeric text output with a display scale per value, vectorised over the digit strings.

PostgreSQL prints a numeric with its own display scale (dscale): 1/3 shows 20 digits,
1000000/7 shows 12. A decimal array has one scale, so callers pass the per-row dscale
as an int array; `format_decimal` writes each value with exactly that many fractional
digits (padding with zeros, or dropping digits the caller already rounded to zero).

The digits come from Arrow's exact integer form of the unscaled value (a decimal viewed
with scale 0), never from its decimal-to-string cast, which switches to exponent notation
for small values ('1.0E-10').

    >>> import pyarrow as pa, numpy as np
    >>> from decimal import Decimal
    >>> a = pa.array([Decimal("0.3333"), Decimal("-12.5000"), None, Decimal(0)], pa.decimal128(10, 4))
    >>> format_decimal(a, np.array([4, 1, 0, 2])).to_pylist()
    ['0.3333', '-12.5', None, '0.00']
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ZERO = ord("0")


def _as_integer(a: pa.Array) -> pa.Array:
    """The unscaled integers of a decimal array (same buffers, scale 0)."""
    t = pa.decimal256(76, 0) if pa.types.is_decimal256(a.type) else pa.decimal128(38, 0)
    return pa.Array.from_buffers(t, len(a), a.buffers()[:2], a.null_count, a.offset)


@dataclass(frozen=True)
class DecimalDigits:
    """The decimal digits of each value: `data[start[i]:end[i]]` are row i's digits (no sign),
    most significant first; the value is (-1 if neg) * int(digits) * 10**-scale."""

    data: np.ndarray  # uint8 ASCII digits of all rows
    start: np.ndarray  # int64 per row
    end: np.ndarray  # int64 per row
    neg: np.ndarray  # bool per row
    valid: np.ndarray  # bool per row
    scale: int

    @staticmethod
    def of(a: pa.Array) -> DecimalDigits:
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        s = pc.cast(_as_integer(a), pa.large_string())
        n = len(s)
        off = np.frombuffer(s.buffers()[1], dtype=np.int64, count=s.offset + n + 1)[s.offset:]
        buf = s.buffers()[2]
        data = np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)
        start, end = off[:-1].astype(np.int64), off[1:].astype(np.int64)
        valid = np.ones(n, dtype=bool) if a.null_count == 0 else \
            a.is_valid().to_numpy(zero_copy_only=False)
        nonempty = end > start
        neg = np.zeros(n, dtype=bool)
        neg[nonempty] = data[start[nonempty]] == ord("-")
        return DecimalDigits(data, start + neg, end, neg, valid, a.type.scale)

    @property
    def length(self) -> np.ndarray:
        """Digits per row (1 for zero, 0 for NULL)."""
        return self.end - self.start

    @property
    def is_zero(self) -> np.ndarray:
        """Which values are zero (never a NULL)."""
        ln = self.length
        first = np.where(ln > 0, self.data[np.minimum(self.start, max(len(self.data) - 1, 0))]
                         if len(self.data) else _ZERO, _ZERO)
        return (ln == 1) & (first == _ZERO) & self.valid

    def exponent(self) -> np.ndarray:
        """floor(log10(|x|)) of each nonzero value (0 for zero and NULL)."""
        return np.where(self.is_zero | ~self.valid, 0, self.length - 1 - self.scale)

    def leading(self, count: np.ndarray) -> np.ndarray:
        """The integer formed by the first count[i] digits of row i (missing digits are 0),
        count in 0..9."""
        n = len(self.start)
        out = np.zeros(n, dtype=np.int64)
        ln = self.length
        for k in range(int(count.max()) if n else 0):
            take = k < count
            has = take & (k < ln)
            digit = np.zeros(n, dtype=np.int64)
            digit[has] = self.data[self.start[has] + k].astype(np.int64) - _ZERO
            out = np.where(take, out * 10 + digit, out)
        return out

    def trailing_zeros(self) -> np.ndarray:
        """How many zero digits end each row's digit string (0 for zero and NULL)."""
        n = len(self.start)
        if n == 0 or len(self.data) == 0:
            return np.zeros(n, dtype=np.int64)
        idx = np.arange(len(self.data), dtype=np.int64)
        # a segment runs to the next row's start, past this row's end only over a '-'
        nz = np.where((self.data != _ZERO) & (self.data != ord("-")), idx, -1)
        rows = self.length > 0
        last = np.full(n, -1, dtype=np.int64)
        if rows.any():
            last[rows] = np.maximum.reduceat(nz, self.start[rows])
        tz = np.where(last >= self.start, self.end - 1 - last, 0)
        return np.where(self.is_zero, 0, tz)


def trimmed_scale(a: pa.Array) -> np.ndarray:
    """Fractional digits of each value with trailing zeros dropped (1.50 -> 1, 2 -> 0)."""
    d = DecimalDigits.of(a)
    return np.where(d.is_zero | ~d.valid, 0, np.maximum(d.scale - d.trailing_zeros(), 0))


def format_decimal(a: pa.Array, dscale: np.ndarray | int) -> pa.Array:
    """Each value written with dscale[i] fractional digits (digits beyond the array's scale
    are zeros; digits the value has beyond dscale[i] are dropped: round first).

    Arrow's own text has all of the scale's digits: each row is cut to its dscale by dropping
    its last bytes. Rows Arrow writes with an exponent (zero, |x| < 1e-6) or that need more
    digits than the scale are written digit by digit."""
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    n = len(a)
    ds = np.broadcast_to(np.asarray(dscale, dtype=np.int64), (n,))
    S = a.type.scale
    if S < 0 or n == 0:
        return _format_digits(a, ds)
    s = pc.cast(a, pa.large_string())
    slow = pc.fill_null(pc.match_substring(s, "E"), False).to_numpy(zero_copy_only=False) | (ds > S)
    off = np.frombuffer(s.buffers()[1], dtype=np.int64, count=s.offset + n + 1)[s.offset:]
    start, end = off[:-1], off[1:]
    cut = np.where(slow | (end == start), 0, (S - ds) + ((ds == 0) & (S > 0)))
    base = int(off[0])
    mark = np.zeros(int(off[-1]) - base + 1, dtype=np.int8)
    drop = cut > 0  # rows losing bytes: their end positions are distinct, as are the cuts
    mark[(end - cut)[drop] - base] = 1
    mark[end[drop] - base] = -1
    keep = np.cumsum(mark[:-1], dtype=np.int8) == 0
    buf = s.buffers()[2]
    data = np.frombuffer(buf, dtype=np.uint8)[base:int(off[-1])] if buf is not None else np.zeros(0, np.uint8)
    new_off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(end - start - cut, out=new_off[1:])
    out = pa.Array.from_buffers(pa.large_string(), n, [s.buffers()[0], pa.py_buffer(new_off),
                                                       pa.py_buffer(data[keep])], s.null_count)
    if slow.any():
        mask = pa.array(slow)
        out = pc.replace_with_mask(out, mask, _format_digits(a.filter(mask), ds[slow]).cast(pa.large_string()))
    return out.cast(pa.string())


def _format_digits(a: pa.Array, ds: np.ndarray) -> pa.Array:
    """format_decimal digit by digit, from the unscaled integer's digits (any value)."""
    d = DecimalDigits.of(a)
    n = len(a)
    S = d.scale
    L = d.length
    int_digits = np.maximum(1, L - S)
    sign = d.neg & ~d.is_zero
    lengths = np.where(d.valid, sign + int_digits + (ds > 0) + ds, 0).astype(np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    row = np.repeat(np.arange(n, dtype=np.int64), lengths)
    c = np.arange(total, dtype=np.int64) - offsets[:-1][row] - sign[row]
    idig = int_digits[row]
    # decimal exponent of the digit at output position c: idig-1-c before the point, idig-c after
    e = np.where(c < idig, idig - 1 - c, idig - c)
    p = e + S  # its position in the unscaled integer, 0 = least significant
    have = (p >= 0) & (p < L[row]) & (c >= 0)
    out = np.full(total, _ZERO, dtype=np.uint8)
    out[have] = d.data[d.end[row[have]] - 1 - p[have]]
    out[c == idig] = ord(".")
    out[c < 0] = ord("-")
    validity = None if a.null_count == 0 else pa.array(d.valid).buffers()[1]
    return pa.Array.from_buffers(pa.large_string(), n, [validity, pa.py_buffer(offsets),
                                                        pa.py_buffer(out)], a.null_count).cast(pa.string())




def _decimal_inside(t: pa.DataType) -> bool:
    if pa.types.is_decimal(t):
        return True
    return (pa.types.is_list(t) or pa.types.is_large_list(t)) and _decimal_inside(t.value_type)


def fit_to(a: pa.Array | pa.ChunkedArray, t: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """a as Arrow type t for a numeric target: a decimal (also as list elements) is rounded
    half away from zero to t's scale, as PostgreSQL's assignment to numeric(p, s) does (an
    unconstrained numeric column is held at scale 16), and a value whose integer digits do not
    fit is 22003, never an Arrow error. Other types: a plain cast."""
    if a.type == t:
        return a
    if isinstance(a, pa.ChunkedArray):
        return pa.chunked_array([fit_to(c, t) for c in a.chunks], type=t)
    if is_numeric_text(t):
        return numeric_text_of(a)
    if is_numeric_text(a.type):
        values, special = numeric_text_values(a)
        if special.any():
            from sqlvec.core.errors import FeatureNotSupported

            raise FeatureNotSupported("numeric NaN and infinity cannot be held in this column")
        a = values
    if not (_decimal_inside(a.type) and _decimal_inside(t)):
        return a.cast(t)
    if pa.types.is_list(a.type) or pa.types.is_large_list(a.type):
        if type(a.type) is not type(t):
            a = a.cast(pa.large_list(a.type.value_type) if pa.types.is_large_list(t) else pa.list_(a.type.value_type))
        values = fit_to(a.values, t.value_type)
        cls = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
        return cls.from_arrays(a.offsets, values, type=t, mask=a.is_null() if a.null_count else None)
    from sqlvec.core.errors import NumericValueOutOfRange

    try:
        if a.type.scale > t.scale:
            wide = a if a.type.precision == 76 else pc.cast(a, pa.decimal256(76, a.type.scale))
            a = pc.round(wide, ndigits=t.scale, round_mode="half_towards_infinity")
        return pc.cast(a, t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise NumericValueOutOfRange("numeric field overflow") from None


class NumericTextScalar(pa.ExtensionScalar):
    """A value of a NumericTextType array: as_py() is the Decimal of its text (scale kept)."""

    def as_py(self, *args: object, **kwargs: object) -> Decimal | None:  # type: ignore[override]
        return None if self.value is None else Decimal(self.value.as_py())


class NumericTextType(pa.ExtensionType):
    """numeric values held as PostgreSQL's text of each (its own display scale): result
    columns of quotients and the like (plan/numeric_display.py). to_pylist() gives Decimals."""

    def __init__(self) -> None:
        super().__init__(pa.string(), "sqlvec.numeric_text")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> NumericTextType:
        return cls()

    def __arrow_ext_scalar_class__(self) -> type:
        return NumericTextScalar

    def __hash__(self) -> int:
        return hash("sqlvec.numeric_text")

    def __reduce__(self) -> tuple:
        return NumericTextType, ()


NUMERIC_TEXT_ARROW = NumericTextType()
try:  # IPC (WAL, segment files) reads the type back by name
    pa.register_extension_type(NUMERIC_TEXT_ARROW)
except pa.ArrowKeyError:
    pass


def is_numeric_text(t: pa.DataType) -> bool:
    return isinstance(t, NumericTextType)


def numeric_text_array(text: pa.Array) -> pa.Array:
    """A string array of numeric text as a NumericTextType array."""
    return pa.ExtensionArray.from_storage(NUMERIC_TEXT_ARROW, pc.cast(text, pa.string()))


_SPECIAL = {"nan": "NaN", "infinity": "Infinity", "+infinity": "Infinity", "inf": "Infinity",
            "+inf": "Infinity", "-infinity": "-Infinity", "-inf": "-Infinity", "+nan": "NaN", "-nan": "NaN"}
_PLAIN_RE = r"^[+-]?(\d+\.?\d*|\.\d+)$"
_EXP_RE = r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$"


def _storage(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    return a.storage if isinstance(a, pa.ExtensionArray) else a


def parse_numeric_text(s: pa.Array) -> pa.Array:
    """numeric input text -> PostgreSQL's output text of each value (its own scale kept:
    ' +007.50 ' -> '7.50', '1.5e3' -> '1500', '-0.0' -> '0.0', 'nan' -> 'NaN', '-inf' ->
    '-Infinity'); 22P02 for anything else. Plain notation is rewritten by string kernels,
    exponents and the special values once per distinct text."""
    from sqlvec.core.errors import InvalidTextRepresentation

    s = pc.utf8_trim_whitespace(pc.cast(_storage(s), pa.string()))
    plain = pc.fill_null(pc.match_substring_regex(s, _PLAIN_RE), True)
    out = s
    if not pc.all(plain).as_py():
        low = pc.utf8_lower(s)
        special = pc.fill_null(pc.is_in(low, pa.array(list(_SPECIAL))), False)
        expo = pc.fill_null(pc.match_substring_regex(s, _EXP_RE), False)
        bad = pc.invert(pc.or_(pc.or_(plain, special), expo))
        if pc.any(bad).as_py():
            first = s.filter(bad)[0].as_py()
            raise InvalidTextRepresentation(f'invalid input syntax for type numeric: "{first}"')
        if pc.any(expo).as_py():
            def one(t: str) -> str:
                d = Decimal(t)
                if abs(d.adjusted()) > 100000:
                    from sqlvec.core.errors import NumericValueOutOfRange
                    raise NumericValueOutOfRange("value overflows numeric format")
                return format(d, "f")
            enc = pc.dictionary_encode(pc.if_else(expo, s, pa.scalar(None, pa.string())))
            words = pa.array([None if v is None else one(v) for v in enc.dictionary.to_pylist()], pa.string())
            out = pc.if_else(expo, words.take(enc.indices), out)
        if pc.any(special).as_py():
            names = pc.index_in(low, pa.array(list(_SPECIAL)))
            out = pc.if_else(special, pc.take(pa.array(list(_SPECIAL.values())), names), out)
        plain = pc.or_(plain, expo)
    # plain notation: no '+', no leading zeros (one before the point), '.5' -> '0.5', no
    # trailing point, no sign on zero
    body = pc.replace_substring_regex(out, r"^\+", "")
    body = pc.replace_substring_regex(body, r"^(-?)0+(\d)", r"\1\2")
    body = pc.replace_substring_regex(body, r"^(-?)\.", r"\10.")
    body = pc.replace_substring_regex(body, r"\.$", "")
    body = pc.replace_substring_regex(body, r"^-(0(\.0*)?)$", r"\1")
    return pc.if_else(plain, body, out)


def numeric_py_text(v: object) -> str | None:
    """A Python value (Decimal, int, float, str) as numeric's canonical text (scale kept)."""
    if v is None:
        return None
    if isinstance(v, str):
        return parse_numeric_text(pa.array([v]))[0].as_py()
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return numeric_text_of(pa.array([v], pa.float64())).storage[0].as_py()
    d = Decimal(v)  # type: ignore[arg-type]
    if d.is_nan():
        return "NaN"
    if d.is_infinite():
        return "-Infinity" if d < 0 else "Infinity"
    out = format(d, "f")
    return out[1:] if out.startswith("-") and d.is_zero() else out


def numeric_text_scalar(v: object) -> pa.Scalar:
    """v as a NUMERIC_TEXT scalar (None: NULL)."""
    return pa.ExtensionScalar.from_storage(NUMERIC_TEXT_ARROW, numeric_py_text(v))


def numeric_key(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A string that sorts (bytewise) and compares equal as PostgreSQL's numeric values do,
    from their canonical text (NUMERIC_TEXT storage): -Infinity < negatives < 0 < positives
    < Infinity < NaN, NaN = NaN, 1.5 = 1.50. For ORDER BY, GROUP BY, DISTINCT, joins, unique
    keys and min/max. A finite nonzero value is its sign class, its decimal exponent (6
    digits, offset) and its significant digits, ended by a byte that orders a shorter digit
    string correctly (digits and exponent complemented for negatives)."""
    s = pc.cast(_storage(a), pa.string())
    neg = pc.fill_null(pc.starts_with(s, "-"), False)
    parts = pc.extract_regex(pc.utf8_ltrim(s, "-"), r"^(?P<i>\d*)\.?(?P<f>\d*)$")
    ip = pc.utf8_ltrim(pc.struct_field(parts, [0]), "0")
    digits = pc.binary_join_element_wise(ip, pc.struct_field(parts, [1]), "")
    stripped = pc.utf8_ltrim(digits, "0")
    sig = pc.utf8_rtrim(stripped, "0")
    intlen = pc.utf8_length(ip)
    lz = pc.subtract(pc.utf8_length(digits), pc.utf8_length(stripped))
    e = pc.if_else(pc.greater(intlen, 0), pc.subtract(intlen, 1), pc.negate(pc.add(lz, 1)))
    e = pc.add(pc.cast(e, pa.int64()), 500000)
    zero = pc.equal(pc.utf8_length(sig), 0)
    pos_key = pc.binary_join_element_wise("3", pc.utf8_lpad(pc.cast(e, pa.string()), 6, "0"), sig, "!", "")
    comp = pc.cast(sig, pa.large_string())
    buf = comp.buffers()[2]
    if buf is not None and buf.size:
        flipped = pa.py_buffer((105 - np.frombuffer(buf, dtype=np.uint8)).astype(np.uint8))
        comp = pa.Array.from_buffers(pa.large_string(), len(comp), [comp.buffers()[0], comp.buffers()[1], flipped],
                                     comp.null_count, comp.offset)
    neg_key = pc.binary_join_element_wise(
        "1", pc.utf8_lpad(pc.cast(pc.subtract(999999, e), pa.string()), 6, "0"), pc.cast(comp, pa.string()), "~", "")
    key = pc.if_else(zero, "2", pc.if_else(neg, neg_key, pos_key))
    special = pc.fill_null(pc.is_in(s, pa.array(["NaN", "Infinity", "-Infinity"])), False)
    if pc.any(special).as_py():
        key = pc.if_else(pc.equal(s, "NaN"), "5", pc.if_else(pc.equal(s, "Infinity"), "4",
                                                              pc.if_else(pc.equal(s, "-Infinity"), "0", key)))
    return pc.if_else(pc.is_valid(s), key, pa.scalar(None, pa.string()))


def order_key(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A key of one array's values that sorts, groups and compares as the values do: the
    values as decimal128 when none is NaN / +-Infinity and all fit (a parse, no text work),
    else `numeric_key`. Keys of different calls may differ in type: compare keys of one call
    only (concatenate both sides of a join first)."""
    from sqlvec.core.errors import NumericValueOutOfRange

    try:
        values, special = numeric_text_values(a)
    except NumericValueOutOfRange:
        return numeric_key(a)
    if special.any() or not pa.types.is_decimal128(values.type):
        return numeric_key(a)
    return values


def value_keys(*xs: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    """Keys of several numeric arrays (any of them NUMERIC_TEXT, the others decimal, integer
    or float) from one `order_key` call, so they compare with each other."""
    texts = [numeric_text_of(x).storage for x in xs]
    both = order_key(pa.concat_arrays(texts)) if texts else pa.array([], pa.string())
    out, at = [], 0
    for t in texts:
        out.append(both.slice(at, len(t)))
        at += len(t)
    return out


def numeric_text_of(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Any numeric-valued array (decimal, integer, float, string, NUMERIC_TEXT) as a NUMERIC_TEXT
    array: decimals print with their Arrow scale (the old storage form decimal128(38, 16)
    trimmed), floats as their shortest text ('NaN', 'Infinity' kept), strings parsed."""
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    t = a.type
    if is_numeric_text(t):
        return a
    if pa.types.is_null(t):
        return pa.ExtensionArray.from_storage(NUMERIC_TEXT_ARROW, pa.nulls(len(a), pa.string()))
    if pa.types.is_decimal(t):
        if t.precision == 38 and t.scale == 16:
            text = format_decimal(a, trimmed_scale(a))
        else:
            text = format_decimal(a, max(t.scale, 0))
    elif pa.types.is_integer(t):
        text = pc.cast(a, pa.string())
    elif pa.types.is_floating(t):
        from sqlvec.core import types as T
        from sqlvec.core.textio import format_text

        text = parse_numeric_text(format_text(pc.cast(a, pa.float64()), T.FLOAT8))
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        text = parse_numeric_text(a)
    else:
        raise TypeError(f"not numeric: {t}")
    return numeric_text_array(text)


def numeric_text_values(a: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """A NUMERIC_TEXT array's finite values as a decimal array (the batch's largest scale;
    decimal128 when it fits, else decimal256) and which rows are NaN / +-Infinity (NULL in
    the decimals). 22003 beyond decimal256's 76 digits."""
    from sqlvec.core.errors import NumericValueOutOfRange

    s = pc.cast(_storage(a), pa.string())
    special = pc.fill_null(pc.is_in(s, pa.array(["NaN", "Infinity", "-Infinity"])), False)
    flags = special.to_numpy(zero_copy_only=False)
    if flags.any():
        s = pc.if_else(special, pa.scalar(None, pa.string()), s)
    n = len(s)
    valid = s.is_valid().to_numpy(zero_copy_only=False) if s.null_count else np.ones(n, bool)
    dot = pc.find_substring(s, ".").to_numpy(zero_copy_only=False)
    length = pc.utf8_length(s).to_numpy(zero_copy_only=False)
    scale = np.where(valid & (dot >= 0), length - dot - 1, 0)
    top = int(scale.max()) if n else 0
    ints = np.where(valid, np.where(dot >= 0, dot, length) - (pc.fill_null(pc.starts_with(s, "-"), False)
                                                               .to_numpy(zero_copy_only=False)), 0)
    prec = max(int(ints.max(initial=1)) + top, top + 1, 1)
    if prec > 76:
        raise NumericValueOutOfRange("value overflows numeric format")
    t = pa.decimal128(prec, top) if prec <= 38 else pa.decimal256(prec, top)
    try:
        return pc.cast(s, t), flags
    except pa.ArrowInvalid:
        raise NumericValueOutOfRange("value overflows numeric format") from None


__all__ = ["NUMERIC_TEXT_ARROW", "DecimalDigits", "NumericTextType", "fit_to", "format_decimal", "is_numeric_text",
           "numeric_key", "numeric_py_text", "order_key", "value_keys", "numeric_text_array", "numeric_text_scalar", "numeric_text_of", "numeric_text_values",
           "parse_numeric_text", "trimmed_scale"]
