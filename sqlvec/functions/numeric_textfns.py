"""round, trunc, ceil, floor, abs, sign, mod, scale, min_scale, trim_scale on numeric held as
its text (NUMERIC_TEXT): each value keeps its own digits and display scale (no rounding to
16 fractional digits, no 22-integer-digit bound) and NaN / +-Infinity follow numeric.c
(round/trunc/ceil/floor/abs/trim_scale keep them, sign(NaN) is NaN, scale(NaN) is NULL,
mod(Infinity, x) is NaN, mod(x, Infinity) is x). Vectorised: the finite values are parsed
once per batch (numeric_scale.from_text), computed on decimal256 and written back with the
display scale PostgreSQL picks.

    >>> import pyarrow as pa
    >>> from sqlvec.core.textio_numeric import numeric_text_array
    >>> x = numeric_text_array(pa.array(["1.555", "-2.5", "NaN", None]))
    >>> round_text("round", x, 2, 4).storage.to_pylist()
    ['1.56', '-2.50', 'NaN', None]
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import (
    DivisionByZero,
    InvalidArgumentForLogarithm,
    InvalidArgumentForPowerFunction,
    NumericValueOutOfRange,
)
from sqlvec.core.textio_numeric import NUMERIC_TEXT_ARROW, format_decimal, numeric_text_array
from sqlvec.functions.numeric_scale import _NAN, _PINF, _codes, _signs, _text_arg, from_text
from sqlvec.functions.vec import map_distinct

_MODES = {"round": "half_towards_infinity", "trunc": "towards_zero"}
_OVERFLOW = "value overflows numeric format"


def _finite(s: pa.Array, codes: np.ndarray) -> pa.Array:
    """s with NaN / +-Infinity as '0' (their result is fixed apart)."""
    return pc.if_else(pa.array(codes > 0), pa.scalar("0", pa.string()), s) if codes.any() else s


def _room(values: pa.Array, extra: int = 1) -> pa.Array:
    """values with `extra` more integer digits (a carry: round(99.5) is 100)."""
    t = values.type
    if t.precision + extra > 76:
        return values
    return pc.cast(values, pa.decimal256(t.precision + extra, t.scale))


def _round_group(mode: str, values: pa.Array, k: int) -> pa.Array:
    k = max(-80, min(k, 1000))
    if k >= values.type.scale:
        return values
    if mode in _MODES:
        if k < -(values.type.precision - values.type.scale):  # every digit rounds away
            return pc.multiply(values, pa.scalar(0, pa.decimal256(1, 0))).cast(values.type)
        return pc.round(values, ndigits=k, round_mode=_MODES[mode])
    return pc.ceil(values) if mode == "ceil" else pc.floor(values)


def round_text(mode: str, x: object, digits: object, n: int) -> pa.Array:
    """round / trunc (digits: an int, an int array or None for 0) and ceil / floor over a
    NUMERIC_TEXT argument, as NUMERIC_TEXT: display scale max(digits, 0)."""
    s = _text_arg(x, n)
    codes = _codes(s)
    fin = from_text(_finite(s, codes))
    try:
        values = _room(fin.values)
        if mode in ("ceil", "floor") or digits is None or isinstance(digits, int):
            k = 0 if mode in ("ceil", "floor") or digits is None else int(digits)
            res = _round_group(mode, values, k)
            dscale = np.full(n, max(k, 0), dtype=np.int64)
        else:  # one digit count per row: once per distinct count
            ks = np.asarray(pc.fill_null(digits, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
            valid = digits.is_valid().to_numpy(zero_copy_only=False) if digits.null_count else np.ones(n, bool)
            res = values
            for k in np.unique(ks):
                mask = pa.array(ks == k)
                res = pc.if_else(mask, _round_group(mode, values, int(k)), res)
            dscale = np.maximum(ks, 0)
            res = pc.if_else(pa.array(valid), res, pa.scalar(None, res.type))
            codes = np.where(valid, codes, 0)
    except (pa.ArrowInvalid, ValueError):
        raise NumericValueOutOfRange(_OVERFLOW) from None
    out = format_decimal(res, np.minimum(dscale, 1000))
    return numeric_text_array(_keep_special(out, s, codes))


def _keep_special(out: pa.Array, s: pa.Array, codes: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(codes > 0), s, out) if codes.any() else out


def abs_text(x: object, n: int) -> pa.Array:
    """abs: the text without its minus sign (-Infinity -> Infinity)."""
    return numeric_text_array(pc.replace_substring_regex(_text_arg(x, n), "^-", ""))


def sign_text(x: object, n: int) -> pa.Array:
    """sign: -1, 0, 1 (scale 0); NaN for NaN, +-1 for +-Infinity."""
    s = _text_arg(x, n)
    codes = _codes(s)
    sg = _signs(s, codes)
    words = np.array(["-1", "0", "1"], dtype=object)[sg + 1]
    words = np.where(codes == _NAN, "NaN", words)
    out = pc.if_else(s.is_valid(), pa.array(words, pa.string()), pa.scalar(None, pa.string()))
    return numeric_text_array(out)


def _fraction(s: pa.Array) -> pa.Array:
    """The digits after the point ('' without one)."""
    return pc.replace_substring_regex(s, r"^[^.]*\.?", "")


def scale_text(kind: str, x: object, n: int) -> pa.Array:
    """scale / min_scale (int4; NULL for NaN and +-Infinity) and trim_scale (NUMERIC_TEXT)."""
    s = _text_arg(x, n)
    codes = _codes(s)
    if kind == "trim_scale":
        trimmed = pc.replace_substring_regex(s, r"(\.[0-9]*?)0+$", r"\1")
        return numeric_text_array(pc.replace_substring_regex(trimmed, r"\.$", ""))
    frac = _fraction(s)
    if kind == "min_scale":
        frac = pc.replace_substring_regex(frac, "0+$", "")
    out = pc.cast(pc.utf8_length(frac), pa.int32())
    return pc.if_else(pa.array(codes > 0), pa.scalar(None, pa.int32()), out) if codes.any() else out


def mod_text(a: object, b: object, n: int) -> pa.Array:
    """mod(a, b) = a - trunc(a / b) * b, display scale max of both; mod(x, 0) is 22012,
    NaN in either gives NaN, mod(+-Infinity, y) NaN (22012 for y = 0), mod(x, +-Infinity) x."""
    from sqlvec.functions.arith import numeric_binary

    ta, tb = _text_arg(a, n), _text_arg(b, n)
    ca, cb = _codes(ta), _codes(tb)
    sb = _signs(tb, cb)
    valid = np.asarray(pc.and_(ta.is_valid(), tb.is_valid()).to_numpy(zero_copy_only=False), dtype=bool)
    if (valid & (ca >= _PINF) & (cb == 0) & (sb == 0)).any():
        raise DivisionByZero("division by zero")
    special = valid & ((ca > 0) | (cb > 0))
    fa, fb = from_text(_finite(ta, ca | cb)), from_text(pc.if_else(pa.array(special), pa.scalar("1", pa.string()), tb))
    try:
        res = numeric_binary("mod", fa.values, fb.values)
        out = format_decimal(res, np.where(valid, np.maximum(fa.dscale, fb.dscale), 0))
    except NumericValueOutOfRange:  # beyond the decimal256 kernel: exact, once per distinct pair
        out = _mod_exact(fa.text(), fb.text(), n)
    if special.any():
        nan = (ca > 0) | (cb == _NAN)
        keep = pc.if_else(pa.array(nan), pa.scalar("NaN", pa.string()), ta)
        out = pc.if_else(pa.array(special), keep, out)
    return numeric_text_array(out)




def _mod_exact(ta: pa.Array, tb: pa.Array, n: int) -> pa.Array:
    def one(x: str, y: str) -> str:
        a, b = Decimal(x), Decimal(y)
        if b.is_zero():
            raise DivisionByZero("division by zero")
        with localcontext() as c:
            c.prec = 2000
            return format(a - (a / b).to_integral_value(ROUND_DOWN) * b, "f")
    return map_distinct(one, [ta, tb], n, pa.string())


def div_text(a: object, b: object, n: int) -> pa.Array:
    """div(a, b): trunc(a / b) with scale 0; NaN / Infinity and 22012 as a / b (numeric_div_trunc).
    The quotient rounded to its display scale can land on the next integer (an exact one of
    2.99...9 beyond that scale): a remainder of the other sign than a steps it back."""
    from sqlvec.functions.numeric_scale import text_binary

    q = text_binary("/", a, b, n)
    r = round_text("trunc", q, 0, n)
    ta, tb, tr = _text_arg(a, n), _text_arg(b, n), r.storage
    codes = _codes(ta) | _codes(tb) | _codes(tr)
    fin = pa.array((codes == 0) & np.asarray(tr.is_valid().to_numpy(zero_copy_only=False), dtype=bool))
    if not pc.any(fin).as_py():
        return r
    idx = pa.array(np.flatnonzero(fin.to_numpy(zero_copy_only=False)))
    ta_f, tb_f, tr_f = (numeric_text_array(t.take(idx)) for t in (ta, tb, tr))
    k = len(idx)
    rem = text_binary("-", ta_f, text_binary("*", tr_f, tb_f, k), k).storage
    sr, sa, sb = (_signs(t, np.zeros(k, np.int64)) for t in (rem, ta_f.storage, tb_f.storage))
    over = (sr != 0) & (sr != sa)
    if not over.any():
        return r
    step = numeric_text_array(pa.array(np.where(over, sa * sb, 0).astype(str), pa.string()))
    fixed = text_binary("-", tr_f, step, k).storage
    pos = np.full(n, -1, dtype=np.int64)
    pos[idx.to_numpy()] = np.arange(k)
    patched = fixed.take(pa.array(np.maximum(pos, 0)))
    return numeric_text_array(pc.if_else(fin, patched, tr))


_ONE = pa.scalar("1", pa.string())


def _sign_of(t: str) -> int:
    return 0 if t == "NaN" else (-1 if t.startswith("-") else (0 if Decimal(t).is_zero() else 1))


def _log2_special(b: str, x: str) -> str:
    """log(b, x) with NaN or an infinity in it (numeric_log, PostgreSQL 14+)."""
    if "NaN" in (b, x):
        return "NaN"
    if _sign_of(b) < 0 or _sign_of(x) < 0:
        raise InvalidArgumentForLogarithm("cannot take logarithm of a negative number")
    if _sign_of(b) == 0 or _sign_of(x) == 0:
        raise InvalidArgumentForLogarithm("cannot take logarithm of zero")
    if b == "Infinity":
        return "NaN" if x == "Infinity" else "0"
    return "Infinity"


def _power_special(x: str, y: str) -> str:
    """x ^ y with NaN or an infinity in it (numeric_power: POSIX pow(3)'s rules)."""
    fin_x, fin_y = x not in _WORDS, y not in _WORDS
    if x == "NaN":
        return "1" if fin_y and Decimal(y).is_zero() else "NaN"
    if y == "NaN":
        return "1" if fin_x and Decimal(x) == 1 else "NaN"
    s1, s2 = _sign_of(x), _sign_of(y)
    if s1 == 0 and s2 < 0:
        raise InvalidArgumentForPowerFunction("zero raised to a negative power is undefined")
    if s1 < 0 and fin_y and Decimal(y) != Decimal(y).to_integral_value():  # infinities are integral
        raise InvalidArgumentForPowerFunction("a negative number raised to a non-integer power yields a complex result")
    if fin_x and Decimal(x) == 1:
        return "1"
    if s2 == 0:
        return "1"
    if s1 == 0 and s2 > 0:
        return "0"
    if not fin_y:
        if fin_x and Decimal(x) == -1:
            return "1"
        gt_one = not fin_x or abs(Decimal(x)) > 1
        return "Infinity" if gt_one == (s2 > 0) else "0"
    if x == "Infinity":
        return "Infinity" if s2 > 0 else "0"
    if s2 < 0:
        return "0"
    return "-Infinity" if int(Decimal(y)) % 2 else "Infinity"


_WORDS = ("NaN", "Infinity", "-Infinity")
_UNARY_SPECIAL = {  # NaN, Infinity, -Infinity (None: an error)
    "sqrt": ("NaN", "Infinity", None), "exp": ("NaN", "Infinity", "0"),
    "ln": ("NaN", "Infinity", None), "log": ("NaN", "Infinity", None)}


def transcendental_text(name: str, args: list, n: int) -> pa.Array:
    """sqrt, exp, ln, log, log(b, x), power over NUMERIC_TEXT: the finite rows by
    numeric_scale's per-value display scale, NaN / +-Infinity by numeric.c's rules."""
    from sqlvec.functions.numeric_scale import SCALED_OPS

    texts = [_text_arg(a, n) for a in args]
    codes = [_codes(t) for t in texts]
    special = np.zeros(n, dtype=bool)
    for c in codes:
        special |= c > 0
    mask = pa.array(special)
    fin = [from_text(pc.if_else(mask, _ONE if i or len(args) == 1 or name != "log" else pa.scalar("2"), t))
           if special.any() else from_text(t) for i, t in enumerate(texts)]
    out = SCALED_OPS[(name, len(args))](fin).text()
    if not special.any():
        return numeric_text_array(out)
    idx = np.flatnonzero(special)
    if len(args) == 1:
        words = _UNARY_SPECIAL[name]
        c = codes[0][idx]
        if words[2] is None and (c == 3).any():
            if name == "sqrt":
                raise InvalidArgumentForPowerFunction("cannot take square root of a negative number")
            raise InvalidArgumentForLogarithm("cannot take logarithm of a negative number")
        fix = np.array([None, *words], dtype=object)[c]
    else:
        fn = _log2_special if name == "log" else _power_special
        sub = [t.take(pa.array(idx)) for t in texts]
        fix = np.asarray(map_distinct(fn, sub, len(idx), pa.string()).to_numpy(zero_copy_only=False), dtype=object)
    words_all = np.full(n, None, dtype=object)
    words_all[idx] = fix
    return numeric_text_array(pc.if_else(mask, pa.array(words_all, pa.string()), out))


def _is_text(a: object) -> bool:
    return isinstance(getattr(a, "type", None), pa.ExtensionType)


def text_aware(name: str, impl: Callable[[Any, list], Any]) -> Callable[[Any, list], Any]:
    """impl for decimal arguments; the functions above when an argument is NUMERIC_TEXT (the
    registry declares NUMERIC_TEXT for them then: registry._NUMERIC_TEXT_FNS)."""
    def call(ctx: Any, args: list) -> Any:
        if not any(_is_text(a) for a in args):
            return impl(ctx, args)
        n = ctx.n
        if name in ("round", "trunc"):
            d = args[1] if len(args) > 1 else None
            if isinstance(d, pa.Scalar):
                if not d.is_valid:
                    return pa.nulls(n, NUMERIC_TEXT_ARROW)
                d = int(d.as_py())
            return round_text(name, args[0], d, n)
        if name in ("ceil", "ceiling", "floor"):
            return round_text("floor" if name == "floor" else "ceil", args[0], None, n)
        if name in ("abs", "@"):
            return abs_text(args[0], n)
        if name == "sign":
            return sign_text(args[0], n)
        if name in ("mod", "%"):
            return mod_text(args[0], args[1], n)
        if name == "div":
            return div_text(args[0], args[1], n)
        if name in ("sqrt", "exp", "ln", "log", "power", "pow", "^"):
            return transcendental_text(name, list(args), n)
        return scale_text(name, args[0], n)
    return call


__all__ = ["abs_text", "div_text", "mod_text", "round_text", "scale_text", "sign_text", "text_aware", "transcendental_text"]
