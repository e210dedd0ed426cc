"""Arithmetic operators (+ - * / % and unary -) and abs() with PostgreSQL's errors.

Integers: int2/int4 compute in int64 and check the range ('smallint out of range',
'integer out of range'); int8 uses Arrow's checked kernels ('bigint out of range').
Division truncates toward zero; a zero divisor raises 22012 'division by zero'.
Floats report 'value out of range: overflow' when finite inputs give infinity.
Numeric (decimal128) keeps PostgreSQL's result scales: + and - the larger input scale,
* the sum of scales (at most 16 unless an input has more), / at least 16 digits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core import types as T
from sqlvec.core.errors import DivisionByZero, NumericValueOutOfRange
from sqlvec.core.types import SqlType
from sqlvec.functions.numeric_textfns import text_aware
from sqlvec.functions.registry import Arg, CallContext, FunctionRegistry

INT_NAME = {"int2": "smallint", "int4": "integer", "int8": "bigint"}
INT_BOUNDS = {"int2": (-(2**15), 2**15 - 1), "int4": (-(2**31), 2**31 - 1)}


def any_true(x: Arg) -> bool:
    """Whether any value of a boolean array/scalar is true (nulls count as false)."""
    if isinstance(x, pa.Scalar):
        return bool(x.as_py())
    return bool(pc.any(pc.fill_null(x, False)).as_py())


def _valid(x: Arg) -> Arg:
    return pc.is_valid(x)


def check_zero(a: Arg, b: Arg) -> Arg:
    """Raise 'division by zero' where b == 0 and a is not null; return b with zeros -> 1."""
    zero = pc.equal(b, pa.scalar(0, b.type) if not pa.types.is_decimal(b.type) else
                    pa.scalar(Decimal(0), b.type))
    if any_true(pc.and_(zero, _valid(a))):
        raise DivisionByZero("division by zero")
    one = pa.scalar(Decimal(1), b.type) if pa.types.is_decimal(b.type) else pa.scalar(1, b.type)
    return pc.if_else(pc.fill_null(zero, False), one, b)


def _int_op(kernel: str, short: str) -> Callable[[CallContext, list[Arg]], Arg]:
    target = {"int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64()}[short]

    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        a, b = args
        if kernel in ("divide", "mod"):
            b = check_zero(a, b)
        if short == "int8":
            try:
                if kernel == "mod":
                    b1 = pc.if_else(pc.equal(b, -1), pa.scalar(1, pa.int64()), b)
                    return pc.subtract(a, pc.multiply(pc.divide(a, b1), b1))
                return getattr(pc, kernel + "_checked")(a, b)
            except pa.ArrowInvalid:
                raise NumericValueOutOfRange("bigint out of range") from None
        if kernel != "mod" and a.type == target and b.type == target:
            try:  # same-width checked kernel: one call instead of widening, bounds-checking, narrowing
                return getattr(pc, kernel + "_checked")(a, b)
            except pa.ArrowInvalid:
                raise NumericValueOutOfRange(f"{INT_NAME[short]} out of range") from None
        a64, b64 = pc.cast(a, pa.int64()), pc.cast(b, pa.int64())
        if kernel == "mod":
            res = pc.subtract(a64, pc.multiply(pc.divide(a64, b64), b64))
        else:
            res = getattr(pc, kernel)(a64, b64)
        lo, hi = INT_BOUNDS[short]
        if any_true(pc.or_(pc.less(res, lo), pc.greater(res, hi))):
            raise NumericValueOutOfRange(f"{INT_NAME[short]} out of range")
        return pc.cast(res, target)

    return impl


def _float_op(kernel: str, short: str) -> Callable[[CallContext, list[Arg]], Arg]:
    target = pa.float32() if short == "float4" else pa.float64()

    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        a, b = args
        if short == "float8":
            a, b = pc.cast(a, pa.float64()), pc.cast(b, pa.float64())
        if kernel == "divide":
            zero = pc.equal(b, 0.0)
            if any_true(pc.and_(zero, _valid(a))):
                raise DivisionByZero("division by zero")
        res = getattr(pc, kernel)(a, b)
        if res.type != target:
            res = pc.cast(res, target)
        inf_out = pc.is_inf(res)
        finite_in = pc.and_(pc.is_finite(a), pc.is_finite(b))
        if any_true(pc.and_(inf_out, finite_in)):
            raise NumericValueOutOfRange("value out of range: overflow")
        if kernel in ("multiply", "divide"):
            under = pc.and_(pc.equal(res, 0.0), pc.and_(pc.not_equal(a, 0.0),
                                                        pc.is_finite(b) if kernel == "divide"
                                                        else pc.not_equal(b, 0.0)))
            if any_true(under):
                raise NumericValueOutOfRange("value out of range: underflow")
        return res

    return impl


def numeric_type(scale: int, *, fixed_display: bool = False) -> pa.DataType:
    """Arrow type of an unconstrained numeric result with this display scale.

    decimal128(38, 16) is the storage form whose display trims trailing zeros, so a
    result that must show all 16 digits (division, avg) uses precision 37 instead."""
    scale = max(0, min(scale, 38))
    if scale == T.NUMERIC_DEFAULT_SCALE and fixed_display:
        return pa.decimal128(37, scale)
    return pa.decimal128(T.NUMERIC_PRECISION, scale)


def _dec(x: Arg) -> Arg:
    if pa.types.is_integer(x.type):
        return pc.cast(x, pa.decimal128(T.NUMERIC_PRECISION, 0))
    return x


def _wide(x: Arg, p: int) -> Arg:
    t = x.type
    return pc.cast(x, pa.decimal256(max(min(t.precision, p), t.scale + 1), t.scale)) \
        if t.precision > p else pc.cast(x, pa.decimal256(t.precision, t.scale))


def _exact(x: Arg, p: int) -> Arg:
    """decimal256 of exactly precision p: Arrow sizes a quotient's scale from the divisor's
    precision, so a full-width divisor gives at least 17 fractional digits."""
    try:
        return pc.cast(x, pa.decimal256(p, x.type.scale))
    except pa.ArrowInvalid:
        raise NumericValueOutOfRange("value overflows numeric format") from None


def _finish_numeric(res: Arg, target: pa.DataType) -> Arg:
    if isinstance(res, pa.Scalar):
        res = pa.array([res.as_py()], res.type)
        return _finish_numeric(res, target)[0]
    try:
        return textio.round_decimal(res, target)
    except NumericValueOutOfRange:
        raise NumericValueOutOfRange("value overflows numeric format") from None


def numeric_result_arrow(kernel: str, sa: int, sb: int) -> pa.DataType:
    """The Arrow type (display scale) of a numeric operation on inputs of scales sa, sb."""
    if kernel in ("add", "subtract", "mod"):
        return numeric_type(max(sa, sb))
    if kernel == "multiply":
        return numeric_type(min(sa + sb, max(16, sa, sb)))
    return numeric_type(max(16, sa, sb), fixed_display=True)


def numeric_binary(kernel: str, a: Arg, b: Arg) -> Arg:
    """Exact decimal arithmetic through decimal256, result rounded to PostgreSQL's scale."""
    a, b = _dec(a), _dec(b)
    sa, sb = a.type.scale, b.type.scale
    target = numeric_result_arrow(kernel, sa, sb)
    try:
        if kernel in ("add", "subtract"):
            res = getattr(pc, kernel)(_wide(a, 38), _wide(b, 38))
        elif kernel == "multiply":
            res = pc.multiply(_wide(a, 37), _wide(b, 38))
        elif kernel == "divide":
            b = check_zero(a, b)
            res = _div_rounded(a, b)
            if res is None:
                res = pc.divide(_exact(a, 37), _exact(b, 38))
        else:  # mod: a - trunc(a / b) * b, scale = max(sa, sb)
            b = check_zero(a, b)
            q = pc.divide(_exact(a, 37), _exact(b, 38))
            q = pc.round(q, 0, round_mode="towards_zero")
            q = pc.cast(q, pa.decimal256(38, 0))
            prod = pc.multiply(q, _wide(b, 37))  # |q * b| <= |a|: narrow it again
            prod = pc.cast(prod, pa.decimal256(50, prod.type.scale))
            res = pc.subtract(_wide(a, 38), prod)
    except pa.ArrowInvalid:
        raise NumericValueOutOfRange("value overflows numeric format") from None
    return _finish_numeric(res, target)


def _div_rounded(a: Arg, b: Arg) -> Arg | None:
    """a / b rounded per row to PostgreSQL's select_div_scale (fewer than 16 digits for a
    large quotient: 1000000 / 7 is 142857.142857142857, so round(n / 7, 16) and sums of
    quotients see PostgreSQL's values); None when it does not fit (the caller divides as
    before). b has no zeros (check_zero)."""
    from sqlvec.functions.numeric_scale import Scaled, divide

    n = max(len(x) if not isinstance(x, pa.Scalar) else 1 for x in (a, b))
    arrs = [pa.repeat(x, n) if isinstance(x, pa.Scalar) else x for x in (a, b)]
    if any(isinstance(x, pa.Scalar) and not x.is_valid for x in (a, b)):
        return None
    try:
        res = divide([Scaled.of(arrs[0]), Scaled.of(arrs[1])]).values
    except (NumericValueOutOfRange, pa.ArrowException, ValueError):
        return None
    return res[0] if all(isinstance(x, pa.Scalar) for x in (a, b)) else res


_SYMBOL = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}


def _numeric_op(kernel: str) -> Callable[[CallContext, list[Arg]], Arg]:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        a, b = args
        if kernel in _SYMBOL and (isinstance(a.type, pa.ExtensionType) or isinstance(b.type, pa.ExtensionType)):
            from sqlvec.functions.numeric_scale import text_binary  # numeric held as its text

            return text_binary(_SYMBOL[kernel], a, b, ctx.n)
        return numeric_binary(kernel, a, b)
    return impl


def _neg(short: str) -> Callable[[CallContext, list[Arg]], Arg]:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        (a,) = args
        if short in INT_NAME:
            try:
                res = pc.negate_checked(a)
            except pa.ArrowInvalid:
                raise NumericValueOutOfRange(f"{INT_NAME[short]} out of range") from None
            return res
        return pc.negate(a)
    return impl


def _abs(short: str) -> Callable[[CallContext, list[Arg]], Arg]:
    def impl(ctx: CallContext, args: list[Arg]) -> Arg:
        try:
            return pc.abs_checked(args[0])
        except pa.ArrowInvalid:
            raise NumericValueOutOfRange(f"{INT_NAME.get(short, short)} out of range") from None
    return impl


def select_div_scale(a: Decimal, b: Decimal, sa: int, sb: int) -> int:
    """PostgreSQL's display scale of a / b: at least 16 significant digits (numeric.c).

    Weights and leading digits are in base 10000, as PostgreSQL stores numerics.

        >>> select_div_scale(Decimal("1.0"), Decimal(3), 1, 0)
        20
    """
    def weight_first(x: Decimal) -> tuple[int, int]:
        if x == 0:
            return 0, 0
        w = x.adjusted() // 4
        return w, int(abs(x).scaleb(-4 * w))
    w1, f1 = weight_first(a)
    w2, f2 = weight_first(b)
    qweight = w1 - w2 - (1 if f1 <= f2 else 0)
    return max(16 - qweight * 4, sa, sb, 0)


def const_quotient(a: Decimal, b: Decimal, ta: SqlType, tb: SqlType) -> Decimal | None:
    """a / b of two numeric constants rounded to PostgreSQL's display scale; None when b is
    zero or the result does not fit (left to run time, which raises the error)."""
    from decimal import ROUND_HALF_UP, localcontext

    if b == 0:
        return None
    sa, sb = (t.arrow.scale if pa.types.is_decimal(t.arrow) else 0 for t in (ta, tb))
    scale = select_div_scale(a, b, sa, sb)
    if scale > T.NUMERIC_PRECISION:
        return None
    with localcontext() as c:
        c.prec = 120
        q = (a / b).quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    return q if len(q.as_tuple().digits) <= T.NUMERIC_PRECISION else None


def numeric_with(arrow: pa.DataType) -> SqlType:
    """Unconstrained numeric whose Arrow type carries a display scale (SqlType equality
    ignores .arrow, so this is still `numeric` to clients)."""
    return replace(T.NUMERIC, arrow=arrow)


def _ret_numeric(kernel: str) -> Callable[[list[SqlType]], SqlType]:
    def ret(args: list[SqlType]) -> SqlType:
        if kernel != "mod" and any(isinstance(t.arrow, pa.ExtensionType) for t in args):
            return T.NUMERIC_TEXT  # numeric held as its text: each value its own scale
        sa, sb = (t.arrow.scale if pa.types.is_decimal(t.arrow) else 0 for t in args)
        return numeric_with(numeric_result_arrow(kernel, sa, sb))
    return ret


NUM_TYPES: tuple[SqlType, ...] = (T.INT2, T.INT4, T.INT8, T.FLOAT4, T.FLOAT8, T.NUMERIC)
_OPS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "mod"}


def register(fr: FunctionRegistry) -> None:
    """+ - * / % for int2/4/8, float4/8 and numeric; unary - and +; abs()."""
    for sym, kernel in _OPS.items():
        for t in NUM_TYPES:
            if t.short in INT_NAME:
                fr.add(sym, [t, t], t, _int_op(kernel, t.short))
            elif t.short == "numeric":
                fr.add(sym, [t, t], _ret_numeric(kernel),
                       text_aware(sym, _numeric_op(kernel)) if kernel == "mod" else _numeric_op(kernel))
            elif kernel != "mod":
                fr.add(sym, [t, t], t, _float_op(kernel, t.short))
    for kernel_sym, kernel in _OPS.items():  # float48 / float84 operators return float8
        if kernel == "mod":
            continue
        fr.add(kernel_sym, [T.FLOAT4, T.FLOAT8], T.FLOAT8, _float_op(kernel, "float8"))
        fr.add(kernel_sym, [T.FLOAT8, T.FLOAT4], T.FLOAT8, _float_op(kernel, "float8"))
    for t in NUM_TYPES:
        same = (lambda a: a[0]) if t.short == "numeric" else t  # numeric keeps its scale
        fr.add("-", [t], same, _neg(t.short))
        fr.add("+", [t], same, lambda ctx, args: args[0])
        fr.add("abs", [t], same, text_aware("abs", _abs(t.short)))
        fr.add("@", [t], same, text_aware("@", _abs(t.short)))
    fr.add("mod", [T.INT2, T.INT2], T.INT2, _int_op("mod", "int2"))
    fr.add("mod", [T.INT4, T.INT4], T.INT4, _int_op("mod", "int4"))
    fr.add("mod", [T.INT8, T.INT8], T.INT8, _int_op("mod", "int8"))
    fr.add("mod", [T.NUMERIC, T.NUMERIC], _ret_numeric("mod"), text_aware("mod", _numeric_op("mod")))


__all__ = ["any_true", "check_zero", "const_quotient", "numeric_binary", "numeric_type", "numeric_with",
           "register", "np", "select_div_scale"]
