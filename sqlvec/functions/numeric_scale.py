"""PostgreSQL's per-value display scale (dscale) of numeric results.

A PostgreSQL numeric carries its own display scale: a quotient's is chosen per value by
select_div_scale (at least 16 significant digits, at least either input's dscale), sqrt,
exp, ln, log and power choose theirs from the argument's magnitude, `*` adds the inputs'
dscales and `+ -` keep the larger. sqlvec's decimal arrays have one scale per column, so
`Scaled` pairs a decimal array with a per-row dscale array; `SCALED_OPS` computes it for
the operators and functions above, vectorised (numpy over the digit strings; the
transcendental functions in exact decimal arithmetic once per distinct argument, as their
plain variants do). The executor uses it where a value is written as text.

    >>> import pyarrow as pa
    >>> from decimal import Decimal
    >>> q = divide([Scaled.of(pa.array([1, 1000000, 0], pa.int32())), Scaled.of(pa.array([3, 7, 3]))])
    >>> q.text().to_pylist()
    ['0.33333333333333333333', '142857.142857142857', '0.00000000000000000000']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, Overflow, localcontext

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import (
    DivisionByZero,
    InvalidArgumentForLogarithm,
    InvalidArgumentForPowerFunction,
    NumericValueOutOfRange,
)
from sqlvec.core.textio_numeric import (
    DecimalDigits,
    NumericTextType,
    format_decimal,
    trimmed_scale,
)
from sqlvec.functions.vec import map_distinct

MIN_SIG_DIGITS = 16  # NUMERIC_MIN_SIG_DIGITS
MAX_DISPLAY_SCALE = 1000  # NUMERIC_MAX_DISPLAY_SCALE
_OVERFLOW = "value overflows numeric format"


def _decimal(a: pa.Array) -> pa.Array:
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    if pa.types.is_integer(a.type):
        return pc.cast(a, pa.decimal128(T.NUMERIC_PRECISION, 0))
    return a


@dataclass(frozen=True)
class Scaled:
    """Decimal values with PostgreSQL's display scale per row (values already rounded to it)."""

    values: pa.Array  # decimal128 or decimal256 of any scale
    dscale: np.ndarray  # int64 per row (0 for NULL)

    @staticmethod
    def of(a: pa.Array) -> Scaled:
        """A column as sqlvec shows it today: its Arrow scale, or for the storage form of an
        unconstrained numeric (decimal128(38, 16)) the digits left after trimming zeros."""
        if isinstance(a.type, NumericTextType):  # a NUMERIC_TEXT column: the scale its text shows
            return from_text(a.storage if isinstance(a, pa.ExtensionArray) else a.combine_chunks().storage)
        a = _decimal(a)
        t = a.type
        if t.precision == T.NUMERIC_PRECISION and t.scale == T.NUMERIC_DEFAULT_SCALE:
            return Scaled(a, trimmed_scale(a))
        return Scaled(a, np.full(len(a), max(t.scale, 0), dtype=np.int64))

    def text(self) -> pa.Array:
        """PostgreSQL's text output of each value."""
        return format_decimal(self.values, self.dscale)

    def take(self, idx: np.ndarray) -> Scaled:
        return Scaled(self.values.take(pa.array(idx)), self.dscale[idx])


def scatter(pieces: list[tuple[np.ndarray, Scaled]], n: int) -> Scaled:
    """n rows from pieces (row positions, their values); rows in no piece are NULL."""
    if len(pieces) == 1 and len(pieces[0][0]) == n:
        idx, v = pieces[0]
        order = np.empty(n, dtype=np.int64)
        order[idx] = np.arange(n)
        return v.take(order)
    top = max([int(v.values.type.scale) for _, v in pieces] + [0])
    digits = max([int(v.values.type.precision - v.values.type.scale) for _, v in pieces] + [1])
    t = pa.decimal256(min(digits + top, 76), top)
    pos = np.full(n, -1, dtype=np.int64)
    off = 0
    values, scales = [], []
    for idx, v in pieces:
        pos[idx] = np.arange(off, off + len(idx))
        off += len(idx)
        try:
            values.append(pc.cast(v.values, t))
        except pa.ArrowInvalid:
            raise NumericValueOutOfRange(_OVERFLOW) from None
        scales.append(v.dscale)
    if not values:
        return Scaled(pa.nulls(n, pa.decimal128(1, 0)), np.zeros(n, dtype=np.int64))
    allv = pa.concat_arrays(values)
    dscale = np.concatenate(scales)
    return Scaled(allv.take(pa.array(pos, mask=pos < 0)), np.where(pos < 0, 0, dscale[np.maximum(pos, 0)]))


def _weight_first(d: DecimalDigits) -> tuple[np.ndarray, np.ndarray]:
    """Base-10000 weight and leading digit group of each value (0, 0 for zero), as
    PostgreSQL's NumericVar stores them."""
    e10 = d.exponent()
    w = e10 // 4
    first = d.leading(np.where(d.is_zero | ~d.valid, 0, e10 - 4 * w + 1))
    return np.where(d.is_zero, 0, w), first


def _int_digits(d: DecimalDigits) -> int:
    """The most integer digits any value has (at least 1)."""
    if not d.valid.any():
        return 1
    return int(max(1, (d.length - d.scale)[d.valid].max()))


def _quotient(a: pa.Array, b: pa.Array, rscale: int) -> pa.Array:
    """a / b rounded half away from zero to rscale digits (b has no zeros)."""
    da, db = DecimalDigits.of(a), DecimalDigits.of(b)
    sa, sb = da.scale, db.scale
    pb = _int_digits(db) + sb
    sa2 = max(sa, rscale + 1 + sb - pb - 1)  # Arrow's quotient scale: sa2 + pb - sb + 1
    av = pc.cast(a, pa.decimal256(_int_digits(da) + sa2, sa2))
    q = pc.divide(av, pc.cast(b, pa.decimal256(pb, sb)))  # truncated: one guard digit
    return pc.round(q, rscale, round_mode="half_towards_infinity")


def divide(args: list[Scaled]) -> Scaled:
    """a / b with select_div_scale's display scale per row (numeric.c); rows are divided in
    groups of equal scale, so a batch mixing magnitudes keeps each group's precision."""
    a, b = args
    da, db = DecimalDigits.of(a.values), DecimalDigits.of(b.values)
    valid = da.valid & db.valid
    if (valid & db.is_zero).any():
        raise DivisionByZero("division by zero")
    w1, f1 = _weight_first(da)
    w2, f2 = _weight_first(db)
    qweight = w1 - w2 - (f1 <= f2)
    rscale = np.maximum.reduce([MIN_SIG_DIGITS - qweight * 4, a.dscale, b.dscale, np.zeros_like(w1)])
    rscale = np.where(valid, np.minimum(rscale, MAX_DISPLAY_SCALE), 0)
    bv = pc.if_else(pa.array(db.is_zero), pa.scalar(Decimal(1), b.values.type), b.values)
    scales = np.unique(rscale)
    top = int(scales.max()) if len(scales) else 0
    try:
        if len(scales) <= 1:
            return Scaled(_quotient(a.values, bv, top), rscale)
        parts, order = [], []
        for r in scales:
            idx = np.nonzero(rscale == r)[0]
            take = pa.array(idx)
            q = _quotient(a.values.take(take), bv.take(take), int(r))
            parts.append(pc.cast(q, pa.decimal256(76, top)))
            order.append(idx)
        inverse = np.empty(len(rscale), dtype=np.int64)
        inverse[np.concatenate(order)] = np.arange(len(rscale))
        return Scaled(pa.concat_arrays(parts).take(pa.array(inverse)), rscale)
    except (pa.ArrowInvalid, ValueError):
        raise NumericValueOutOfRange(_OVERFLOW) from None


def _wide(d: DecimalDigits, a: pa.Array) -> pa.Array:
    return pc.cast(a, pa.decimal256(_int_digits(d) + d.scale, d.scale))


def _arith(kernel: str) -> Callable[[list[Scaled]], Scaled]:
    def op(args: list[Scaled]) -> Scaled:
        a, b = args
        try:
            res = getattr(pc, kernel)(_widened(a.values), _widened(b.values))
        except (pa.ArrowInvalid, ValueError):
            raise NumericValueOutOfRange(_OVERFLOW) from None
        valid = _valid(a.values) & _valid(b.values)
        ds = a.dscale + b.dscale if kernel == "multiply" else np.maximum(a.dscale, b.dscale)
        return Scaled(res, np.where(valid, ds, 0))
    return op


def _valid(a: pa.Array) -> np.ndarray:
    return a.is_valid().to_numpy(zero_copy_only=False) if a.null_count else np.ones(len(a), dtype=bool)


def _widened(a: pa.Array) -> pa.Array:
    """a as decimal256 for Arrow's + - * (its precision bounds the integer digits, so the
    digit strings are read only when a wider type would not fit 76 digits)."""
    a = _decimal(a)
    t = a.type
    if t.precision <= 37:  # a product of two such fits decimal256
        return a if pa.types.is_decimal256(t) else pc.cast(a, pa.decimal256(t.precision, t.scale))
    d = DecimalDigits.of(a)
    return _wide(d, a)


def _unary(fn: Callable[[pa.Array], pa.Array]) -> Callable[[list[Scaled]], Scaled]:
    def op(args: list[Scaled]) -> Scaled:
        (a,) = args
        return Scaled(fn(a.values), a.dscale)
    return op


# --- value-dependent functions: exact decimal arithmetic once per distinct argument -------

def _dscale(x: Decimal) -> int:
    return max(0, -int(x.as_tuple().exponent))


def _weight(x: Decimal) -> int:
    return 0 if x.is_zero() else x.adjusted() // 4


def _ln_dweight(x: Decimal) -> int:
    """estimate_ln_dweight (numeric.c): the decimal weight of ln(x)."""
    if x <= 0:
        return 0
    if Decimal("0.9") <= x <= Decimal("1.1"):
        y = x - 1
        return 0 if y.is_zero() else y.adjusted()
    w = _weight(x)
    digits = int(x.scaleb(-4 * (w - 1)))  # the first two base-10000 digit groups
    ln_var = math.log(digits) + 4 * (w - 1) * 2.302585092994046
    return int(math.log10(abs(ln_var))) if ln_var != 0 else 0


def _clamp(rscale: int, *inputs: Decimal) -> int:
    return min(max(rscale, *(_dscale(x) for x in inputs), 0), MAX_DISPLAY_SCALE)


def _sqrt(x: Decimal) -> tuple[Decimal, int]:
    if x < 0:
        raise InvalidArgumentForPowerFunction("cannot take square root of a negative number")
    sweight = 2 * _weight(x) + 1
    return x.sqrt(), _clamp(MIN_SIG_DIGITS - sweight, x)


def _exp(x: Decimal) -> tuple[Decimal, int]:
    val = max(min(float(x) * 0.434294481903252, 2000.0), -2000.0)
    return x.exp(), _clamp(MIN_SIG_DIGITS - int(val), x)


def _ln_check(x: Decimal) -> None:
    if x.is_zero():
        raise InvalidArgumentForLogarithm("cannot take logarithm of zero")
    if x < 0:
        raise InvalidArgumentForLogarithm("cannot take logarithm of a negative number")


def _ln(x: Decimal) -> tuple[Decimal, int]:
    _ln_check(x)
    return x.ln(), _clamp(MIN_SIG_DIGITS - _ln_dweight(x), x)


def _log(base: Decimal, x: Decimal) -> tuple[Decimal, int]:
    _ln_check(base)
    _ln_check(x)
    if base == 1:
        raise DivisionByZero("division by zero")
    rscale = MIN_SIG_DIGITS - (_ln_dweight(x) - _ln_dweight(base))
    return x.ln() / base.ln(), _clamp(rscale, base, x)


def _log10(x: Decimal) -> tuple[Decimal, int]:
    return _log(Decimal(10), x)


def _power(base: Decimal, exp: Decimal) -> tuple[Decimal, int]:
    """power_var (PostgreSQL 15): integral exponents keep 16 digits (or the base's dscale),
    others choose the scale from an 8-digit estimate of exp * ln(base)."""
    if base.is_zero() and exp < 0:
        raise InvalidArgumentForPowerFunction("zero raised to a negative power is undefined")
    integral = exp == exp.to_integral_value()
    if base < 0 and not integral:
        raise InvalidArgumentForPowerFunction(
            "a negative number raised to a non-integer power yields a complex result")
    if integral and abs(exp) <= 2**31 - 1:
        rscale = _clamp(MIN_SIG_DIGITS, base)
        return (Decimal(1) if exp.is_zero() else base ** int(exp)), rscale
    if base.is_zero():
        return Decimal(0), MIN_SIG_DIGITS
    local = max(8 - _ln_dweight(base), 0)
    q = Decimal(1).scaleb(-local)
    ln_num = (base.ln().quantize(q, rounding=ROUND_HALF_UP) * exp).quantize(q, rounding=ROUND_HALF_UP)
    val = float(ln_num) * 0.434294481903252
    return base ** exp, _clamp(MIN_SIG_DIGITS - int(val), base, exp)


def _transcendental(fn: Callable[..., tuple[Decimal, int]]) -> Callable[[list[Scaled]], Scaled]:
    def one(*texts: str) -> str:
        vals = [Decimal(t) for t in texts]  # the text form carries each value's dscale
        with localcontext() as c:
            c.prec = 120
            try:
                r, rscale = fn(*vals)
                r = r.quantize(Decimal(1).scaleb(-rscale), rounding=ROUND_HALF_UP)
            except (InvalidOperation, Overflow):
                raise NumericValueOutOfRange(_OVERFLOW) from None
        return format(r, "f")

    def op(args: list[Scaled]) -> Scaled:
        n = len(args[0].values)
        texts = [s.text() for s in args]
        consts = [t[0] if len(t) and pc.all(pc.equal(t, t[0])).as_py() else t for t in texts]
        out = map_distinct(one, consts, n, pa.string())
        return from_text(out)
    return op


def _sqrt_group(x: pa.Array, r: int, xint: int) -> tuple[pa.Array, np.ndarray]:
    """sqrt of positive decimals rounded half up to r digits: a float estimate, one Newton
    step in decimal256 (about 30 correct digits), then each result c is checked exactly,
    (c - h)^2 <= x < (c + h)^2 with h half a unit of the last digit; (values, which rows
    passed). Rows that fail or a group beyond decimal256 go to the exact path. xint: the most
    integer digits any x has."""
    n = len(x)
    bad = np.ones(n, dtype=bool)
    try:
        est = pc.sqrt(pc.cast(x, pa.float64()))
        g = r + 4
        cint = (xint + 1) // 2 + 1  # integer digits of any root (and a spare)
        p0 = cint + g
        r0 = pc.cast(pc.round(est, g), pa.decimal256(min(p0, 76), g))
        q = _quotient(x, r0, g)
        r1 = pc.round(pc.divide(pc.add(pc.cast(r0, pa.decimal256(min(p0 + 1, 76), g)), q),
                                pa.scalar(Decimal(2), pa.decimal256(1, 0))), g, round_mode="half_towards_infinity")
        c = pc.round(r1, r, round_mode="half_towards_infinity")
        pc_ = cint + r + 1
        if 2 * pc_ + 1 > 76:
            return c, bad
        c1 = pc.cast(c, pa.decimal256(pc_, r + 1))
        h = pa.scalar(Decimal(5).scaleb(-(r + 1)), pa.decimal256(r + 2, r + 1))
        lo, hi = pc.subtract(c1, h), pc.add(c1, h)
        lo, hi = pc.cast(lo, pa.decimal256(pc_, r + 1)), pc.cast(hi, pa.decimal256(pc_, r + 1))
        ok = pc.and_(pc.less_equal(pc.multiply(lo, lo), x), pc.less(x, pc.multiply(hi, hi)))
        bad = ~np.asarray(pc.fill_null(ok, False), dtype=bool)
        return c, bad
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError, OverflowError):
        return pa.nulls(n, pa.decimal256(76, 0)), bad


def _sqrt_op(args: list[Scaled]) -> Scaled:
    """sqrt with sqrt_var's display scale per value (numeric.c), vectorised: the scale from
    each value's base-10000 weight, the root by `_sqrt_group` per distinct scale; zero,
    negative (22023... as PostgreSQL: 2201F) and rows it cannot settle take the exact path."""
    (a,) = args
    d = DecimalDigits.of(a.values)
    n = len(a.values)
    w, _ = _weight_first(d)
    rscale = np.clip(np.maximum(MIN_SIG_DIGITS - (2 * w + 1), a.dscale), 0, MAX_DISPLAY_SCALE)
    pos = d.valid & ~d.is_zero & ~d.neg
    if not pos.any() or n == 0:
        return _sqrt_exact(args)
    pieces: list[tuple[np.ndarray, Scaled]] = []
    slow = ~pos & d.valid
    xint = np.maximum(1, d.length - d.scale)
    for r in np.unique(rscale[pos]):
        idx = np.flatnonzero(pos & (rscale == r))
        vals, bad = _sqrt_group(a.values.take(pa.array(idx)), int(r), int(xint[idx].max()))
        good = np.flatnonzero(~bad)
        if len(good):
            pieces.append((idx[good], Scaled(vals.take(pa.array(good)), np.full(len(good), int(r), np.int64))))
        slow[idx[bad]] = True
    if slow.any():
        idx = np.flatnonzero(slow)
        pieces.append((idx, _sqrt_exact([a.take(idx)])))
    return scatter(pieces, n)


def from_text(s: pa.Array) -> Scaled:
    """Numeric text (plain notation) -> values and the dscale the text shows."""
    dot = pc.find_substring(s, ".").to_numpy(zero_copy_only=False)
    length = pc.binary_length(s).to_numpy(zero_copy_only=False)
    valid = s.is_valid().to_numpy(zero_copy_only=False) if s.null_count else np.ones(len(s), bool)
    dscale = np.where(valid & (dot >= 0), length - dot - 1, 0).astype(np.int64)
    top = int(dscale.max()) if len(s) else 0
    neg = pc.fill_null(pc.starts_with(s, "-"), False).to_numpy(zero_copy_only=False)
    ints = np.where(valid, np.where(dot >= 0, dot, length) - neg, 0)  # integer digits
    prec = int(ints.max(initial=1)) + top
    if max(prec, top + 1) > 76:  # beyond decimal256: PostgreSQL goes on, sqlvec cannot
        raise NumericValueOutOfRange(_OVERFLOW)
    try:
        values = pc.cast(s, pa.decimal256(max(prec, top + 1, 1), top))
    except pa.ArrowInvalid:
        raise NumericValueOutOfRange(_OVERFLOW) from None
    return Scaled(values, dscale)


_sqrt_exact = _transcendental(_sqrt)

SCALED_OPS: dict[tuple[str, int], Callable[[list[Scaled]], Scaled]] = {
    ("/", 2): divide,
    ("+", 2): _arith("add"),
    ("-", 2): _arith("subtract"),
    ("*", 2): _arith("multiply"),
    ("-", 1): _unary(pc.negate),
    ("+", 1): _unary(lambda a: a),
    ("abs", 1): _unary(pc.abs),
    ("@", 1): _unary(pc.abs),
    ("sqrt", 1): _sqrt_op,
    ("|/", 1): _sqrt_op,
    ("exp", 1): _transcendental(_exp),
    ("ln", 1): _transcendental(_ln),
    ("log", 1): _transcendental(_log10),
    ("log10", 1): _transcendental(_log10),
    ("log", 2): _transcendental(_log),
    ("power", 2): _transcendental(_power),
    ("pow", 2): _transcendental(_power),
    ("^", 2): _transcendental(_power),
}
"""Numeric operators and functions whose display scale `Scaled` tracks, by (name, arity)."""


_SPECIALS = pa.array(["NaN", "Infinity", "-Infinity"])
_NAN, _PINF, _NINF = 1, 2, 3
_SPECIAL_TEXT = np.array([None, "NaN", "Infinity", "-Infinity"], dtype=object)


def _text_arg(x: object, n: int) -> pa.Array:
    """A NUMERIC_TEXT argument (array or scalar) as its n strings."""
    if isinstance(x, pa.Scalar):
        v = x.value.as_py() if isinstance(x, pa.ExtensionScalar) and x.is_valid else None
        return pa.repeat(pa.scalar(v, pa.string()), n) if v is not None else pa.nulls(n, pa.string())
    if isinstance(x, pa.ChunkedArray):
        x = x.combine_chunks()
    return x.storage if isinstance(x, pa.ExtensionArray) else pc.cast(x, pa.string())


def _codes(s: pa.Array) -> np.ndarray:
    """0 for a finite value (or NULL), 1 NaN, 2 Infinity, 3 -Infinity."""
    idx = pc.index_in(s, value_set=_SPECIALS)
    return np.asarray(pc.fill_null(pc.add(idx, 1), 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _signs(s: pa.Array, codes: np.ndarray) -> np.ndarray:
    """-1, 0, 1 per value (Infinity +1, -Infinity -1, NaN and NULL 0)."""
    neg = np.asarray(pc.fill_null(pc.starts_with(s, "-"), False).to_numpy(zero_copy_only=False), dtype=bool)
    zero = np.asarray(pc.fill_null(pc.match_substring_regex(s, r"^-?0*\.?0*$"), False).to_numpy(zero_copy_only=False),
                      dtype=bool)
    out = np.where(zero, 0, np.where(neg, -1, 1))
    out = np.where(codes == _PINF, 1, np.where(codes == _NINF, -1, out))
    return np.where(codes == _NAN, 0, out)


def _special_result(op: str, ca: np.ndarray, cb: np.ndarray, sa: np.ndarray, sb: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
    """PostgreSQL's NaN / +-Infinity rules (numeric.c, 14+): the special code of each row's
    result (0: finite, computed as usual) and the rows that divide Infinity by zero."""
    inf_a, inf_b = ca >= _PINF, cb >= _PINF
    nan = (ca == _NAN) | (cb == _NAN)
    out = np.zeros(len(ca), dtype=np.int64)
    bad = np.zeros(len(ca), dtype=bool)

    def inf(sign: np.ndarray) -> np.ndarray:
        return np.where(sign > 0, _PINF, _NINF)

    if op in ("+", "-"):
        sb_eff = sb if op == "+" else -sb
        both = inf_a & inf_b
        out = np.where(inf_a, inf(sa), out)
        out = np.where(inf_b & ~inf_a, inf(sb_eff), out)
        out = np.where(both & (sa != sb_eff), _NAN, out)
    elif op == "*":
        any_inf = inf_a | inf_b
        prod = sa * sb
        out = np.where(any_inf, np.where(prod == 0, _NAN, inf(prod)), out)
    else:  # "/"
        out = np.where(inf_a & inf_b, _NAN, out)
        out = np.where(inf_a & ~inf_b & (sb != 0), inf(sa * sb), out)
        bad = inf_a & ~inf_b & (sb == 0) & ~nan
        out = np.where(~inf_a & inf_b, -1, out)  # finite / +-Infinity is 0
    return np.where(nan, _NAN, out), bad


def text_binary(op: str, a: object, b: object, n: int) -> pa.Array:
    """a op b (+ - * /) over numeric held as its text, as a NUMERIC_TEXT array: the finite
    values by `SCALED_OPS` (PostgreSQL's display scale per value), NaN and +-Infinity by
    PostgreSQL's rules; division by zero is 22012 (NaN / 0 is NaN)."""
    from sqlvec.core.textio_numeric import numeric_text_array

    ta, tb = _text_arg(a, n), _text_arg(b, n)
    ca, cb = _codes(ta), _codes(tb)
    special = (ca > 0) | (cb > 0)
    if special.any():
        sa, sb = _signs(ta, ca), _signs(tb, cb)
        res_code, bad = _special_result(op, ca, cb, sa, sb)
        if bad.any():
            raise DivisionByZero("division by zero")
        mask = pa.array(special)
        ta = pc.if_else(mask, pa.scalar("0", pa.string()), ta)
        tb = pc.if_else(mask, pa.scalar("1", pa.string()), tb)
    try:
        out = SCALED_OPS[(op, 2)]([from_text(ta), from_text(tb)]).text()
    except NumericValueOutOfRange:
        if op == "/":
            raise
        out = _wide_python(op, ta, tb)
    if special.any():
        words = _SPECIAL_TEXT[np.maximum(res_code, 0)]
        words = np.where(res_code == -1, "0", words)
        fix = pa.array(words, pa.string())
        out = pc.if_else(pa.array(special), fix, out)
    return numeric_text_array(out)


def text_sum(v: pa.Array, gid: np.ndarray, n: int) -> pa.Array:
    """sum() per group of numeric held as its text, as NUMERIC_TEXT: the largest display
    scale of the group's values (as PostgreSQL's), NaN if any is NaN or both infinities
    occur, else an infinity if one occurs; NULL for a group without values."""
    from sqlvec.core.textio_numeric import NUMERIC_TEXT_ARROW, numeric_text_array

    if len(v) == 0:
        return pa.nulls(n, NUMERIC_TEXT_ARROW)
    s = _text_arg(v, len(v))
    codes = _codes(s)
    valid = np.asarray(s.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    has = np.bincount(gid[valid], minlength=n) > 0
    finite = valid & (codes == 0)
    fs = pc.if_else(pa.array(finite), s, pa.scalar(None, pa.string()))
    x = from_text(fs)
    dscale = np.zeros(n, dtype=np.int64)
    if finite.any():  # the largest scale per group: one sort, then the last of each group's run
        order = np.lexsort((x.dscale[finite], gid[finite]))
        g_sorted = gid[finite][order]
        last = np.r_[g_sorted[1:] != g_sorted[:-1], True]
        dscale[g_sorted[last]] = x.dscale[finite][order][last]
    tbl = pa.table({"g": pa.array(gid), "v": x.values})
    agg = tbl.group_by("g", use_threads=False).aggregate([("v", "sum")])
    total = pa.nulls(n, agg.column(1).type)
    pos = np.full(n, -1, dtype=np.int64)
    pos[np.asarray(agg.column(0).to_numpy(), dtype=np.int64)] = np.arange(agg.num_rows)
    total = agg.column(1).combine_chunks().take(pa.array(pos, mask=pos < 0)) if agg.num_rows else total
    text = format_decimal(pc.fill_null(total, pa.scalar(Decimal(0), total.type)), dscale)
    out = text
    if codes.any():
        nan, pinf, ninf = (np.bincount(gid, weights=codes == c, minlength=n) > 0 for c in (_NAN, _PINF, _NINF))
        word = np.where(nan | (pinf & ninf), "NaN", np.where(pinf, "Infinity", np.where(ninf, "-Infinity", "")))
        out = pc.if_else(pa.array(word != ""), pa.array(word, pa.string()), text)
    return numeric_text_array(pc.if_else(pa.array(has), out, pa.scalar(None, pa.string())))


def _wide_python(op: str, ta: pa.Array, tb: pa.Array) -> pa.Array:
    """+ - * beyond decimal256's 76 digits: exact Decimal arithmetic per row (its exponent is
    PostgreSQL's display scale for these three)."""
    fn = {"+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y}[op]
    with localcontext() as c:
        c.prec = 200000
        out = [None if x is None or y is None else format(fn(Decimal(x), Decimal(y)), "f")
               for x, y in zip(ta.to_pylist(), tb.to_pylist())]
    return pa.array(out, pa.string())


def scaled_op(name: str, arity: int) -> Callable[[list[Scaled]], Scaled] | None:
    return SCALED_OPS.get((name, arity))


class _KeyedText:
    """`numeric_keyed_text(x, text)`: x's text behind a fixed-width key that sorts as x does
    (61 digits of x's unscaled integer + 10**60, then '|'), so min/max over the strings pick
    the least/greatest value and keep its text (max(n / 3) shows that quotient's own scale).
    x is a decimal128 column (one Arrow scale)."""

    name = "numeric_keyed_text"

    def call(self, args: list, n: int) -> pa.Array:
        x, text = (a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in args)
        ints = pa.Array.from_buffers(pa.decimal128(38, 0), len(x), x.buffers()[:2], x.null_count, x.offset)
        shifted = pc.add(pc.cast(ints, pa.decimal256(70, 0)), pa.scalar(Decimal(10) ** 60, pa.decimal256(70, 0)))
        key = pc.utf8_lpad(pc.cast(shifted, pa.string()), 61, "0")
        return pc.binary_join_element_wise(key, pc.cast(text, pa.string()), "|")


class _TextOfKey:
    """The text behind `numeric_keyed_text`'s key, as a NUMERIC_TEXT column."""

    name = "numeric_text_of_key"

    def call(self, args: list, n: int) -> pa.Array:
        from sqlvec.core.textio_numeric import numeric_text_array

        s = args[0].combine_chunks() if isinstance(args[0], pa.ChunkedArray) else args[0]
        return numeric_text_array(pc.utf8_slice_codeunits(s, 62))


KEYED_TEXT = _KeyedText()
TEXT_OF_KEY = _TextOfKey()

NUMERIC_TEXT = T.NUMERIC_TEXT
"""A numeric result column held as PostgreSQL's text of each value, so every value keeps its
own display scale on its way to the client (text, binary and dbapi output read it)."""

_SCALED_ARGS = frozenset({"numeric", "int2", "int4", "int8"})


def scaled_capable(name: str, arg_types: list[T.SqlType], return_type: T.SqlType) -> bool:
    """Whether a numeric call's display scale is one `SCALED_OPS` computes per value."""
    return return_type.short == "numeric" and (name, len(arg_types)) in SCALED_OPS and \
        all(t.short in _SCALED_ARGS for t in arg_types)




def fold_scaled(fn: object, args: list[tuple[object, T.SqlType]]) -> tuple[Decimal, T.SqlType] | None:
    """A numeric operator over constants as a constant that keeps PostgreSQL's display scale
    (value, numeric typed with that scale), or None when no scale per value applies or the
    value does not fit decimal128. Raises what the operator raises (1 / 0)."""
    name = getattr(fn, "name", "")
    op = scaled_op(name, len(args))
    if op is None or not all(t.short in _SCALED_ARGS for _, t in args):
        return None
    vals = [Scaled.of(pa.array([v], t.arrow)) for v, t in args]
    res = op(vals)
    text = res.text()[0].as_py()
    if text is None:
        return None
    scale = int(res.dscale[0])
    value = Decimal(text)
    if scale > T.NUMERIC_PRECISION:
        return None
    # scale 16 at precision 38 is the storage form (shown trimmed): 37 shows all 16 digits
    arrow = pa.decimal128(T.NUMERIC_PRECISION - (scale == T.NUMERIC_DEFAULT_SCALE), scale)
    if len(value.as_tuple().digits) > arrow.precision:
        return None
    return value, replace(T.NUMERIC, arrow=arrow)


__all__ = ["KEYED_TEXT", "NUMERIC_TEXT", "SCALED_OPS", "TEXT_OF_KEY", "Scaled", "divide", "fold_scaled", "from_text", "scaled_capable",
           "scaled_op", "scatter", "text_binary", "text_sum"]
