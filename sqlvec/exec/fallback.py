"""Core operators, casts and aggregates used until sqlvec.functions provides its registry.

Same shape as the functions contract (resolve / aggregate / cast / common_type), kept
small on purpose: arithmetic, comparison, LIKE, ||, a few scalar functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import (
    CannotCoerce,
    DivisionByZero,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
    StringDataRightTruncation,
    UndefinedFunction,
)
from sqlvec.core.types import SqlType

_INT_RANK = {"int2": 1, "int4": 2, "int8": 3}
_ARITH = {"+": "add_checked", "-": "subtract_checked", "*": "multiply_checked"}
_CMP = {"=": "equal", "<>": "not_equal", "!=": "not_equal", "<": "less", "<=": "less_equal",
        ">": "greater", ">=": "greater_equal"}


def _numeric_kind(t: SqlType) -> str | None:
    if t.short in _INT_RANK:
        return "int"
    if t.short in ("float4", "float8"):
        return "float"
    if t.short == "numeric":
        return "numeric"
    return None


def _arrow_errors(fn: Callable) -> Callable:
    def wrapped(args: list, n: int) -> pa.Array:
        try:
            return fn(args, n)
        except pa.ArrowInvalid as e:
            msg = str(e).lower()
            if "divide by zero" in msg:
                raise DivisionByZero("division by zero") from None
            if "overflow" in msg:
                raise NumericValueOutOfRange("integer out of range") from None
            raise
    return wrapped


@dataclass
class FallbackFunction:
    """A resolved function: call(args, n) -> array (BoundFunction shape)."""

    name: str
    arg_types: list[SqlType]
    return_type: SqlType
    impl: Callable = field(repr=False)
    volatile: bool = False
    strict: bool = True
    set_returning: bool = False

    def call(self, args: list, n: int) -> pa.Array:
        return self.impl(args, n)


def _div(args: list, n: int) -> pa.Array:
    a, b = args
    if pa.types.is_integer(a.type):
        bz = pc.equal(b, 0)
        if pc.any(bz).as_py():
            live = pc.and_kleene(bz, pc.is_valid(a))
            if pc.any(live).as_py():
                raise DivisionByZero("division by zero")
        # truncating integer division as PostgreSQL does (Arrow truncates too)
        return pc.divide_checked(a, pc.if_else(bz, 1, b))
    if pc.any(pc.equal(b, 0)).as_py():
        raise DivisionByZero("division by zero")
    return pc.divide(a, b)


def _mod(args: list, n: int) -> pa.Array:
    a, b = args
    if pc.any(pc.equal(b, 0)).as_py():
        raise DivisionByZero("division by zero")
    # remainder with the sign of the dividend
    q = pc.divide(a, b) if pa.types.is_integer(a.type) else pc.trunc(pc.divide(a, b))
    return pc.subtract(a, pc.multiply(q, b))


def _like(args: list, n: int, *, ci: bool = False) -> pa.Array:
    s, pat = args
    if len(pat) and pc.count_distinct(pat).as_py() <= 1 and pat[0].is_valid:
        return pc.match_like(s, pat[0].as_py(), ignore_case=ci)
    out = [None if (x is None or p is None) else pc.match_like(pa.array([x]), p, ignore_case=ci)[0].as_py()
           for x, p in zip(s.to_pylist(), pat.to_pylist())]
    return pa.array(out, pa.bool_())


class FallbackFunctions:
    """resolve/aggregate over a small built-in table."""

    def __init__(self, casts: FallbackCasts) -> None:
        self.casts = casts

    def resolve(self, name: str, arg_types: list[SqlType]) -> FallbackFunction:
        name = name.lower()
        ts = [T.TEXT if t.short == "unknown" else t for t in arg_types]
        if len(ts) == 2 and name in ("+", "-", "*", "/", "%"):
            k = [_numeric_kind(t) for t in ts]
            if None not in k:
                rt = self.casts.common_type(ts)
                if name in _ARITH:
                    impl = _arrow_errors(lambda a, n, f=_ARITH[name]: getattr(pc, f)(*a))
                elif name == "/":
                    impl = _arrow_errors(_div)
                else:
                    impl = _arrow_errors(_mod)
                return FallbackFunction(name, [rt, rt], rt, impl)
        if len(ts) == 1 and name in ("-", "+") and _numeric_kind(ts[0]):
            impl = _arrow_errors(lambda a, n: pc.negate_checked(a[0])) if name == "-" else (lambda a, n: a[0])
            return FallbackFunction(name, ts, ts[0], impl)
        if len(ts) == 2 and name in _CMP:
            ct = self.casts.common_type(ts)
            return FallbackFunction(name, [ct, ct], T.BOOL, lambda a, n, f=_CMP[name]: getattr(pc, f)(*a))
        if len(ts) == 2 and name == "||":
            return FallbackFunction(name, [T.TEXT, T.TEXT], T.TEXT,
                                    lambda a, n: pc.binary_join_element_wise(a[0], a[1], ""))
        if len(ts) == 2 and name in ("~~", "!~~", "~~*", "!~~*"):
            ci = "*" in name
            neg = name.startswith("!")
            def impl(a, n, ci=ci, neg=neg):
                r = _like(a, n, ci=ci)
                return pc.invert(r) if neg else r
            return FallbackFunction(name, [T.TEXT, T.TEXT], T.BOOL, impl)
        if name == "abs" and len(ts) == 1 and _numeric_kind(ts[0]):
            return FallbackFunction(name, ts, ts[0], _arrow_errors(lambda a, n: pc.abs_checked(a[0])))
        if name in ("lower", "upper") and len(ts) == 1:
            f = pc.utf8_lower if name == "lower" else pc.utf8_upper
            return FallbackFunction(name, [T.TEXT], T.TEXT, lambda a, n, f=f: f(a[0]))
        if name in ("length", "char_length") and len(ts) == 1:
            return FallbackFunction(name, [T.TEXT], T.INT4,
                                    lambda a, n: pc.cast(pc.utf8_length(a[0]), pa.int32()))
        sig = ", ".join(t.display() for t in arg_types)
        if not name[:1].isalpha():
            if len(arg_types) == 2:
                raise UndefinedFunction(f"operator does not exist: {arg_types[0].display()} {name} {arg_types[1].display()}")
            raise UndefinedFunction(f"operator does not exist: {name} {sig}")
        raise UndefinedFunction(f"function {name}({sig}) does not exist")

    def aggregate(self, name: str, arg_types: list[SqlType], distinct: bool) -> FallbackAggregate:
        name = name.lower()
        if name == "count":
            return FallbackAggregate(name, T.INT8, "count")
        if name in ("sum", "avg", "min", "max") and len(arg_types) == 1:
            t = arg_types[0]
            if t.short == "unknown":
                t = T.TEXT
            if name in ("min", "max"):
                return FallbackAggregate(name, t, name)
            if not _numeric_kind(t):
                raise UndefinedFunction(f"function {name}({t.display()}) does not exist")
            if name == "sum":
                rt = T.INT8 if t.short in ("int2", "int4") else (T.NUMERIC if t.short == "int8" else t)
                if t.short == "float4":
                    rt = T.FLOAT4
                return FallbackAggregate(name, rt, "sum")
            rt = T.FLOAT8 if t.short in ("float4", "float8") else T.NUMERIC
            return FallbackAggregate(name, rt, "mean")
        if name in ("bool_and", "bool_or", "every"):
            return FallbackAggregate(name, T.BOOL, {"every": "all", "bool_and": "all"}.get(name, "any"))
        sig = ", ".join(t.display() for t in arg_types)
        raise UndefinedFunction(f"function {name}({sig}) does not exist")

    def is_aggregate(self, name: str) -> bool:
        return name.lower() in ("count", "sum", "avg", "min", "max", "bool_and", "bool_or", "every")


@dataclass
class FallbackAggregate:
    name: str
    return_type: SqlType
    arrow_name: str


class FallbackCasts:
    """PostgreSQL-like casts through pyarrow."""

    def common_type(self, types: list[SqlType]) -> SqlType:
        known = [t for t in types if t.short != "unknown"]
        if not known:
            return T.TEXT
        kinds = {_numeric_kind(t) for t in known}
        if kinds <= {"int", "float", "numeric"} and None not in kinds:
            if "float" in kinds:
                return T.FLOAT8 if any(t.short == "float8" or _numeric_kind(t) != "float" for t in known) else T.FLOAT4
            if "numeric" in kinds:
                return T.NUMERIC
            return max(known, key=lambda t: _INT_RANK[t.short])
        first = known[0]
        for t in known[1:]:
            if t.oid != first.oid and not (t.category == first.category == "S"):
                raise CannotCoerce(f"{first.display()} and {t.display()} cannot be matched")
        if all(t.category == "S" for t in known) and any(t.short == "text" for t in known):
            return T.TEXT
        return first

    def can_implicit(self, from_t: SqlType, to_t: SqlType) -> bool:
        if from_t.oid == to_t.oid or from_t.short == "unknown":
            return True
        fk, tk = _numeric_kind(from_t), _numeric_kind(to_t)
        if fk and tk:
            order = {"int": 0, "numeric": 1, "float": 2}
            if order[fk] < order[tk]:
                return True
            if fk == tk == "int":
                return _INT_RANK[from_t.short] <= _INT_RANK[to_t.short]
            return fk == tk
        return from_t.category == to_t.category == "S"

    def cast(self, array: pa.Array, from_t: SqlType, to_t: SqlType, *, explicit: bool = False) -> pa.Array:
        if from_t == to_t and array.type == to_t.arrow:
            return array
        target = to_t.arrow
        if to_t.short in ("varchar", "bpchar") and to_t.typmod >= 4:
            arr = self.cast(array, from_t, T.TEXT, explicit=explicit)
            n = to_t.typmod - 4
            if explicit:
                return pc.utf8_slice_codeunits(arr, 0, n)
            too_long = pc.greater(pc.utf8_length(arr), n)
            if pc.any(too_long).as_py():
                raise StringDataRightTruncation(f"value too long for type {to_t.display()}")
            return arr
        if pa.types.is_string(array.type) and not pa.types.is_string(target):
            stripped = pc.utf8_trim_whitespace(array)
            if to_t.short == "bool":
                low = pc.utf8_lower(stripped)
                t = pc.is_in(low, pa.array(["t", "true", "yes", "on", "1", "y"]))
                f = pc.is_in(low, pa.array(["f", "false", "no", "off", "0", "n"]))
                bad = pc.and_(pc.invert(pc.or_(t, f)), pc.is_valid(low))
                if pc.any(bad).as_py():
                    v = pc.filter(array, bad)[0].as_py()
                    raise InvalidTextRepresentation(f'invalid input syntax for type boolean: "{v}"')
                return pc.if_else(pc.is_null(low), pa.nulls(len(low), pa.bool_()), t)
            try:
                return pc.cast(stripped, target)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                vals = array.to_pylist()
                for v in vals:
                    if v is None:
                        continue
                    try:
                        pc.cast(pa.array([v.strip()]), target)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                        if _numeric_kind(to_t) == "int":
                            try:
                                int(v)
                                raise NumericValueOutOfRange(f'value "{v}" is out of range for type {to_t.display()}') from None
                            except ValueError:
                                pass
                        raise InvalidTextRepresentation(
                            f'invalid input syntax for type {to_t.display()}: "{v}"'
                        ) from None
                raise
        if pa.types.is_string(target):
            if pa.types.is_boolean(array.type):
                return pc.if_else(array, "true" if explicit and False else "t", "f")
            if pa.types.is_floating(array.type):
                return pa.array([None if v is None else _fmt_float(v) for v in array.to_pylist()], pa.string())
            return pc.cast(array, target)
        try:
            if _numeric_kind(to_t) == "int" and pa.types.is_floating(array.type):
                array = pc.round(array, round_mode="half_to_even") if False else pc.round(array)
            return pc.cast(array, target)
        except pa.ArrowInvalid as e:
            if "overflow" in str(e).lower() or "out of bounds" in str(e).lower():
                name = {"int2": "smallint", "int4": "integer", "int8": "bigint"}.get(to_t.short, to_t.display())
                raise NumericValueOutOfRange(f"{name} out of range") from None
            raise CannotCoerce(f"cannot cast type {from_t.display()} to {to_t.display()}") from None
        except pa.ArrowNotImplementedError:
            raise CannotCoerce(f"cannot cast type {from_t.display()} to {to_t.display()}") from None


def _fmt_float(v: float) -> str:
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    r = repr(v)
    if r.endswith(".0"):
        r = r[:-2]
    return r


def make_fallback() -> tuple[FallbackFunctions, FallbackCasts]:
    casts = FallbackCasts()
    return FallbackFunctions(casts), casts
