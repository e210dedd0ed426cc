"""Math functions: round, trunc, ceil, floor, power, sqrt, cbrt, exp, ln, log, sign, pi,
random, trigonometry, div, gcd/lcm, greatest/least and the bitwise integer operators.

float8 variants follow C's libm (round(float8) is rint: half to even); numeric variants
round half away from zero and keep PostgreSQL's result scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, Overflow, localcontext

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import (
    InvalidArgumentForLogarithm,
    InvalidArgumentForPowerFunction,
    NumericValueOutOfRange,
)
from sqlvec.functions.arith import check_zero, numeric_binary, numeric_type
from sqlvec.functions.numeric_textfns import text_aware
from sqlvec.functions.registry import ANYCOMPATIBLE, Arg, CallContext, FunctionRegistry
from sqlvec.functions.vec import any_true, arr, map_distinct

F8, NUM = T.FLOAT8, T.NUMERIC
NUM16 = replace(T.NUMERIC, arrow=numeric_type(16, fixed_display=True))  # shows 16 digits
Impl = Callable[[CallContext, list[Arg]], Arg]


def _float_to_numeric(x: Arg, scale: int = 16) -> Arg:
    """float64 -> numeric through its shortest text (as PostgreSQL's float8 -> numeric)."""
    from sqlvec.core import textio
    a = arr(x, 1) if isinstance(x, pa.Scalar) else x
    txt = textio.format_text(a, T.FLOAT8)
    out = textio.round_decimal(pc.cast(txt, pa.decimal256(76, 30)), numeric_type(scale, fixed_display=True))
    return out[0] if isinstance(x, pa.Scalar) else out


def _scalar_int(x: Arg, default: int = 0) -> int | None:
    if isinstance(x, pa.Scalar):
        return x.as_py()
    if len(x) and pc.min_max(x)["min"].as_py() == pc.min_max(x)["max"].as_py():
        return x[0].as_py()
    return None


def _round_numeric(mode: str) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        v = args[0]
        if pa.types.is_integer(v.type):
            v = pc.cast(v, pa.decimal128(38, 0))
        digits = 0 if len(args) == 1 else _scalar_int(args[1])
        if digits is None:  # a per-row digit count: once per distinct (value, digits)
            from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR
            rounding = {"round": ROUND_HALF_UP, "trunc": ROUND_DOWN, "ceil": ROUND_CEILING,
                        "floor": ROUND_FLOOR}[mode]

            def one(x: Decimal, k: int) -> Decimal:
                k = max(-38, min(k, 16))
                with localcontext() as c:
                    c.prec = 80
                    return x.quantize(Decimal(1).scaleb(-k), rounding=rounding).quantize(
                        Decimal(1).scaleb(-16))
            out = map_distinct(one, [v, args[1]], ctx.n, pa.decimal128(38, 16))
            return out
        digits = max(-38, min(digits, 38))  # beyond +-38 digits nothing changes
        scale = max(0, digits)
        wide = pc.cast(v, pa.decimal256(76, max(v.type.scale, scale)))
        if mode == "round":
            r = pc.round(wide, ndigits=digits, round_mode="half_towards_infinity")
        elif mode == "trunc":
            r = pc.round(wide, ndigits=digits, round_mode="towards_zero")
        elif mode == "ceil":
            r = pc.ceil(wide) if hasattr(pc, "ceil") else pc.round(wide, 0, round_mode="up")
        else:
            r = pc.floor(wide)
        try:
            return pc.cast(r, pa.decimal128(38, scale))
        except pa.ArrowInvalid:
            raise NumericValueOutOfRange("value overflows numeric format") from None
    return impl


def _float_unary(fn: Callable[[Arg], Arg], check: Callable[[Arg], None] | None = None) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        x = pc.cast(args[0], pa.float64())
        if check:
            check(x)
        return fn(x)
    return impl


def _sqrt_check(x: Arg) -> None:
    if any_true(pc.less(x, 0.0)):
        raise InvalidArgumentForPowerFunction("cannot take square root of a negative number")


def _ln_check(x: Arg) -> None:
    if any_true(pc.equal(x, 0.0)):
        raise InvalidArgumentForLogarithm("cannot take logarithm of zero")
    if any_true(pc.less(x, 0.0)):
        raise InvalidArgumentForLogarithm("cannot take logarithm of a negative number")


def _exp(x: Arg) -> Arg:
    r = pc.exp(x)
    if any_true(pc.and_(pc.is_inf(r), pc.is_finite(x))):
        raise NumericValueOutOfRange("value out of range: overflow")
    return r


def _power(ctx: CallContext, args: list[Arg]) -> Arg:
    a, b = (pc.cast(x, pa.float64()) for x in args)
    if any_true(pc.and_(pc.equal(a, 0.0), pc.less(b, 0.0))):
        raise InvalidArgumentForPowerFunction("zero raised to a negative power is undefined")
    frac = pc.not_equal(pc.floor(b), b)
    if any_true(pc.and_(pc.less(a, 0.0), frac)):
        raise InvalidArgumentForPowerFunction(
            "a negative number raised to a non-integer power yields a complex result")
    r = pc.power(a, b)
    if any_true(pc.and_(pc.is_inf(r), pc.and_(pc.is_finite(a), pc.is_finite(b)))):
        raise NumericValueOutOfRange("value out of range: overflow")
    return r


def _numeric_via_float(fn: Impl) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        return _float_to_numeric(fn(ctx, [pc.cast(a, pa.float64()) for a in args]))
    return impl


def _decimal_fn(fn: Callable[..., Decimal], check: Callable[..., None] | None = None) -> Impl:
    """numeric math in exact decimal arithmetic (once per distinct argument tuple), rounded
    half away from zero to the 16-digit display scale."""
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        def one(*vals: Decimal) -> Decimal:
            if check:
                check(*vals)
            with localcontext() as c:
                c.prec = 60
                try:
                    r = fn(*(Decimal(v) for v in vals))
                except (InvalidOperation, Overflow):
                    raise NumericValueOutOfRange("value overflows numeric format") from None
                if r.is_finite() and r.adjusted() >= 21:  # beyond decimal128(37, 16)
                    raise NumericValueOutOfRange("value overflows numeric format")
                try:
                    return r.quantize(Decimal(1).scaleb(-16), rounding=ROUND_HALF_UP)
                except InvalidOperation:
                    raise NumericValueOutOfRange("value overflows numeric format") from None
        args = [pc.cast(x, pa.decimal128(38, 0)) if pa.types.is_integer(x.type) else x for x in args]
        out = map_distinct(one, args, ctx.n, pa.decimal128(38, 16))
        try:
            return pc.cast(out, ctx.return_type.arrow)
        except pa.ArrowInvalid:
            raise NumericValueOutOfRange("value overflows numeric format") from None
    return impl


def _pow_check(a: Decimal, b: Decimal) -> None:
    if a == 0 and b < 0:
        raise InvalidArgumentForPowerFunction("zero raised to a negative power is undefined")
    if a < 0 and b != b.to_integral_value():
        raise InvalidArgumentForPowerFunction(
            "a negative number raised to a non-integer power yields a complex result")


def _sqrt_check_d(a: Decimal) -> None:
    if a < 0:
        raise InvalidArgumentForPowerFunction("cannot take square root of a negative number")


def _ln_check_d(*vals: Decimal) -> None:
    for a in vals:
        if a == 0:
            raise InvalidArgumentForLogarithm("cannot take logarithm of zero")
        if a < 0:
            raise InvalidArgumentForLogarithm("cannot take logarithm of a negative number")


def _decimal_pow(a: Decimal, b: Decimal) -> Decimal:
    if b == 0:
        return Decimal(1)  # PostgreSQL: 0 ^ 0 = 1
    return a ** b


def _numeric_power(ctx: CallContext, args: list[Arg]) -> Arg:
    return _decimal_fn(_decimal_pow, _pow_check)(ctx, args)


def _sign(ctx: CallContext, args: list[Arg]) -> Arg:
    x = args[0]
    s = pc.sign(pc.cast(x, pa.float64()))
    return pc.cast(s, ctx.return_type.arrow if pa.types.is_floating(ctx.return_type.arrow)
                   else pa.decimal128(38, 0))


def _pi(ctx: CallContext, args: list[Arg]) -> Arg:
    return pa.scalar(math.pi, pa.float64())


def _div(ctx: CallContext, args: list[Arg]) -> Arg:
    a, b = args
    q = numeric_binary("divide", a, b)
    return pc.cast(pc.round(pc.cast(q, pa.decimal256(76, q.type.scale)), 0, round_mode="towards_zero"),
                   pa.decimal128(38, 0))


def _gcd(lcm: bool) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        a, b = (arr(x, ctx.n) for x in args)
        x = np.abs(a.to_numpy(zero_copy_only=False).astype(np.int64))
        y = np.abs(b.to_numpy(zero_copy_only=False).astype(np.int64))
        g = np.gcd(x, y)
        out = np.where(g == 0, 0, x // np.where(g == 0, 1, g) * y) if lcm else g
        mask = np.asarray(pc.or_(pc.is_null(a), pc.is_null(b)))
        try:
            return pc.cast(pa.array(out, mask=mask if mask.any() else None), ctx.return_type.arrow)
        except pa.ArrowInvalid:
            name = "integer" if ctx.return_type.short == "int4" else "bigint"
            raise NumericValueOutOfRange(f"{name} out of range") from None
    return impl


def _greatest(fn: str) -> Impl:
    """greatest/least ignore NULLs; temporal types compare on their integer storage and
    intervals on their total span (Arrow has no element-wise kernels for them)."""
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        f = pc.max_element_wise if fn == "max" else pc.min_element_wise
        if len(args) == 1:
            return args[0]
        t = ctx.return_type.arrow
        if any(pa.types.is_decimal(a.type) for a in args):  # one common decimal type
            scale = max(a.type.scale for a in args if pa.types.is_decimal(a.type))
            common = pa.decimal128(38, scale)
            out = f(*(pc.cast(a, common) for a in args), skip_nulls=True)
            return out
        if pa.types.is_boolean(t):  # false < true
            return pc.cast(f(*(pc.cast(a, pa.int8()) for a in args), skip_nulls=True), t)
        if pa.types.is_temporal(t) and t != pa.month_day_nano_interval():
            store = pa.int32() if pa.types.is_date32(t) else pa.int64()
            return pc.cast(f(*(pc.cast(a, store) for a in args), skip_nulls=True), t)
        if t == pa.month_day_nano_interval() or pa.types.is_nested(t) or pa.types.is_fixed_size_binary(t):
            from sqlvec.functions.compare import sort_key
            cols = [arr(a, ctx.n) for a in args]
            keys = [sort_key(c, ctx.return_type) for c in cols]
            best, best_key = cols[0], keys[0]
            for c, k in zip(cols[1:], keys[1:]):
                better = pc.greater(k, best_key) if fn == "max" else pc.less(k, best_key)
                take = pc.or_kleene(pc.fill_null(better, False), pc.is_null(best_key))
                take = pc.and_(pc.fill_null(take, False), pc.is_valid(k))
                best = pc.if_else(take, c, best)
                best_key = pc.if_else(take, k, best_key)
            return best
        return f(*args, skip_nulls=True)
    return impl


def _greatest_type(args: list) -> object:
    """The common type; numeric arguments keep the largest display scale."""
    t = args[0]
    if t.short == "numeric" and t.typmod < 0:
        scale = max(a.arrow.scale for a in args if pa.types.is_decimal(a.arrow))
        return replace(t, arrow=pa.decimal128(38, scale))
    return t


def _bitwise(kernel: str) -> Impl:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        if kernel in ("shift_left", "shift_right"):
            a, b = args
            # C semantics as PostgreSQL's int2shl etc.: bits shifted out are lost
            wide = pc.cast(a, pa.int64())
            res = getattr(pc, kernel)(wide, pc.cast(b, pa.int64()))
            return pc.cast(res, ctx.return_type.arrow, safe=False)
        return getattr(pc, kernel)(*args)
    return impl


def _degrees(ctx: CallContext, args: list[Arg]) -> Arg:
    return pc.multiply(pc.cast(args[0], pa.float64()), 180.0 / math.pi)


def _radians(ctx: CallContext, args: list[Arg]) -> Arg:
    return pc.multiply(pc.cast(args[0], pa.float64()), math.pi / 180.0)


def _cbrt(ctx: CallContext, args: list[Arg]) -> Arg:
    x = arr(pc.cast(args[0], pa.float64()), ctx.n)
    return pa.array(np.cbrt(x.to_numpy(zero_copy_only=False)), pa.float64(),
                    mask=np.asarray(pc.is_null(x)) if x.null_count else None)


def _width_bucket(ctx: CallContext, args: list[Arg]) -> Arg:
    def one(x: float, lo: float, hi: float, count: int) -> int:
        if count <= 0:
            raise InvalidArgumentForPowerFunction("count must be greater than zero")
        if x < lo:
            return 0
        if x >= hi:
            if count + 1 > 2**31 - 1:
                raise NumericValueOutOfRange("integer out of range")
            return count + 1
        return int((x - lo) / (hi - lo) * count) + 1
    return map_distinct(one, args, ctx.n, pa.int32())


def _scale_fn(kind: str) -> Impl:
    """scale / min_scale / trim_scale of numeric values (per distinct value)."""
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        from sqlvec.core import textio
        txt = textio.format_text(arr(args[0], ctx.n), ctx.arg_types[0])

        def one(t: str) -> object:
            frac = t.partition(".")[2]
            if kind == "scale":
                return len(frac)
            trimmed = frac.rstrip("0")
            if kind == "min_scale":
                return len(trimmed)
            return Decimal(t).quantize(Decimal(1).scaleb(-len(trimmed)))
        out_t = pa.int32() if kind != "trim_scale" else pa.decimal128(38, 16)
        return map_distinct(one, [txt], ctx.n, out_t)
    return impl


def _factorial(ctx: CallContext, args: list[Arg]) -> Arg:
    def one(k: int) -> Decimal:
        if k < 0:
            raise NumericValueOutOfRange("factorial of a negative number is undefined")
        return Decimal(math.factorial(k))
    return map_distinct(one, args, ctx.n, pa.decimal128(38, 0))


def register(fr: FunctionRegistry) -> None:
    """Math functions for float8 and numeric (ints resolve through implicit casts)."""
    for name in ("round", "trunc"):
        fr.add(name, [F8], F8, _float_unary(
            (lambda x: pc.round(x, round_mode="half_to_even")) if name == "round" else pc.trunc))
        fr.add(name, [NUM], NUM, text_aware(name, _round_numeric(name)))
        fr.add(name, [NUM, T.INT4], NUM, text_aware(name, _round_numeric(name)))
    for name in ("ceil", "ceiling"):
        fr.add(name, [F8], F8, _float_unary(pc.ceil))
        fr.add(name, [NUM], NUM, text_aware(name, _round_numeric("ceil")))
    fr.add("floor", [F8], F8, _float_unary(pc.floor))
    fr.add("floor", [NUM], NUM, text_aware("floor", _round_numeric("floor")))
    fr.add("sqrt", [F8], F8, _float_unary(pc.sqrt, _sqrt_check))
    fr.add("sqrt", [NUM], NUM16, text_aware("sqrt", _decimal_fn(lambda a: a.sqrt(), _sqrt_check_d)))
    fr.add("|/", [F8], F8, _float_unary(pc.sqrt, _sqrt_check))
    fr.add("cbrt", [F8], F8, _cbrt)
    fr.add("||/", [F8], F8, _cbrt)
    fr.add("exp", [F8], F8, _float_unary(_exp))
    fr.add("exp", [NUM], NUM16, text_aware("exp", _decimal_fn(lambda a: a.exp())))
    fr.add("ln", [F8], F8, _float_unary(pc.ln, _ln_check))
    fr.add("ln", [NUM], NUM16, text_aware("ln", _decimal_fn(lambda a: a.ln(), _ln_check_d)))
    fr.add("log", [F8], F8, _float_unary(pc.log10, _ln_check))
    fr.add("log10", [F8], F8, _float_unary(pc.log10, _ln_check))
    fr.add("log", [NUM], NUM16, text_aware("log", _decimal_fn(lambda a: a.log10(), _ln_check_d)))
    fr.add("log", [NUM, NUM], NUM16, text_aware("log", _decimal_fn(lambda b, x: x.ln() / b.ln(), _ln_check_d)))
    for name in ("power", "pow", "^"):
        fr.add(name, [F8, F8], F8, _power)
        fr.add(name, [NUM, NUM], NUM16, text_aware(name, _numeric_power))
    fr.add("sign", [F8], F8, _sign)
    fr.add("sign", [NUM], NUM, text_aware("sign", _sign))
    fr.add("pi", [], F8, _pi)
    for name, fn in (("sin", pc.sin), ("cos", pc.cos), ("tan", pc.tan), ("asin", pc.asin),
                     ("acos", pc.acos), ("atan", pc.atan)):
        fr.add(name, [F8], F8, _float_unary(fn))
    fr.add("atan2", [F8, F8], F8, lambda ctx, a: pc.atan2(*a))
    fr.add("cot", [F8], F8, _float_unary(lambda x: pc.divide(1.0, pc.tan(x))))
    fr.add("degrees", [F8], F8, _degrees)
    fr.add("radians", [F8], F8, _radians)
    fr.add("div", [NUM, NUM], replace(T.NUMERIC, arrow=pa.decimal128(38, 0)), text_aware("div", _div))
    for t in (T.INT4, T.INT8):
        fr.add("gcd", [t, t], t, _gcd(False))
        fr.add("lcm", [t, t], t, _gcd(True))
    fr.add("greatest", [ANYCOMPATIBLE], _greatest_type, _greatest("max"), variadic=True, strict=False)
    fr.add("least", [ANYCOMPATIBLE], _greatest_type, _greatest("min"), variadic=True, strict=False)
    fr.add("scale", [NUM], T.INT4, text_aware("scale", _scale_fn("scale")))
    fr.add("min_scale", [NUM], T.INT4, text_aware("min_scale", _scale_fn("min_scale")))
    fr.add("trim_scale", [NUM], NUM, text_aware("trim_scale", _scale_fn("trim_scale")))
    fr.add("factorial", [T.INT8], replace(T.NUMERIC, arrow=pa.decimal128(38, 0)), _factorial)
    fr.add("width_bucket", [F8, F8, F8, T.INT4], T.INT4, _width_bucket)
    for t in (T.INT2, T.INT4, T.INT8):
        fr.add("&", [t, t], t, _bitwise("bit_wise_and"))
        fr.add("|", [t, t], t, _bitwise("bit_wise_or"))
        fr.add("#", [t, t], t, _bitwise("bit_wise_xor"))
        fr.add("~", [t], t, _bitwise("bit_wise_not"))
        fr.add("<<", [t, T.INT4], t, _bitwise("shift_left"))
        fr.add(">>", [t, T.INT4], t, _bitwise("shift_right"))


__all__ = ["check_zero", "register"]
