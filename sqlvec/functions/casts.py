"""Casts between SQL types with PostgreSQL semantics, and the implicit-cast rules.

`CastRegistry.cast(array, from_t, to_t, explicit=...)` converts a whole Arrow array:
int narrowing checks range (22003 'integer out of range'), float/numeric to int rounds
(float: half to even, as rint; numeric: half away from zero), varchar(n)/char(n) check
length (22001) unless the cast is explicit (then truncate), text goes through
core.textio. `can_implicit` and `common_type` follow pg_cast's implicit entries and
PostgreSQL's select_common_type.

    >>> CastRegistry().cast(pa.array(["1", "2"]), TEXT, INT4, explicit=True).to_pylist()
    [1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core import types as T
from sqlvec.core.errors import (
    CannotCoerce,
    DatatypeMismatch,
    FeatureNotSupported,
    NumericValueOutOfRange,
    StringDataRightTruncation,
)
from sqlvec.core.textio_numeric import is_numeric_text, numeric_text_of, numeric_text_values
from sqlvec.core.types import SqlType
from sqlvec.functions import datetime_precision

INT_TYPES = ("int2", "int4", "int8")
FLOAT_TYPES = ("float4", "float8")
STRING_TYPES = ("text", "varchar", "bpchar", "name", "char", "unknown")
OID_TYPES = ("oid", "regproc", "regclass", "regtype", "regnamespace", "regrole")
INT_LIMITS = {"int2": (-(2**15), 2**15 - 1, "smallint"), "int4": (-(2**31), 2**31 - 1, "integer"),
              "int8": (-(2**63), 2**63 - 1, "bigint")}

# pg_cast entries with castcontext 'i' (implicit), by typname.
_IMPLICIT: dict[str, frozenset[str]] = {
    "int2": frozenset({"int4", "int8", "float4", "float8", "numeric", *OID_TYPES}),
    "int4": frozenset({"int8", "float4", "float8", "numeric", *OID_TYPES}),
    "int8": frozenset({"float4", "float8", "numeric", *OID_TYPES}),
    "float4": frozenset({"float8"}),
    "numeric": frozenset({"float4", "float8"}),
    "text": frozenset({"varchar", "bpchar", "name", "regclass"}),
    "varchar": frozenset({"text", "bpchar", "name", "regclass"}),
    "bpchar": frozenset({"text", "varchar", "name"}),
    "name": frozenset({"text", "varchar", "bpchar"}),
    "char": frozenset({"text", "varchar", "bpchar"}),
    "date": frozenset({"timestamp", "timestamptz"}),
    "timestamp": frozenset({"timestamptz"}),
    "time": frozenset({"interval", "timetz"}),
    "bit": frozenset({"varbit"}),
    "varbit": frozenset({"bit"}),
    **{o: frozenset(OID_TYPES) for o in OID_TYPES},
}
# casts allowed in assignment context on top of the implicit ones
_ASSIGN: dict[str, frozenset[str]] = {
    "int8": frozenset({"int2", "int4"}),
    "int4": frozenset({"int2"}),
    "float8": frozenset({"int2", "int4", "int8", "float4", "numeric"}),
    "float4": frozenset({"int2", "int4", "int8", "numeric"}),
    "numeric": frozenset({"int2", "int4", "int8"}),
    "json": frozenset({"jsonb"}),
    "jsonb": frozenset({"json"}),
    "timestamptz": frozenset({"date", "timestamp", "time"}),
    "timestamp": frozenset({"date", "time"}),
    "interval": frozenset({"time"}),
    "oid": frozenset({"int8", "int4"}),
}


def _is_string(t: SqlType) -> bool:
    return t.short in STRING_TYPES


def _as_array(a: pa.Array | pa.Scalar | pa.ChunkedArray) -> tuple[pa.Array, bool]:
    if isinstance(a, pa.Scalar):
        return pa.array([a.as_py()], type=a.type), True
    if isinstance(a, pa.ChunkedArray):
        return a.combine_chunks(), False
    return a, False


def int_range_check(a: pa.Array, short: str) -> pa.Array:
    """Cast an integer/float array to int2/4/8, raising 22003 '<type> out of range'."""
    lo, hi, name = INT_LIMITS[short]
    target = {"int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64()}[short]
    if pa.types.is_integer(a.type):
        if a.type.bit_width <= target.bit_width and pa.types.is_signed_integer(a.type):
            return pc.cast(a, target)
        bad = pc.or_(pc.less(a, lo), pc.greater(a, hi)) if pa.types.is_signed_integer(a.type) \
            else pc.greater(a, hi)
    else:
        x = a.to_numpy(zero_copy_only=False).astype(np.float64)
        bad_np = ~np.isfinite(x) | (x < lo - 0.5) | (x >= hi + 0.5) if short != "int8" else \
            ~np.isfinite(x) | (x < -9.223372036854775808e18) | (x >= 9.223372036854775808e18)
        bad = pa.array(bad_np & np.asarray(pc.is_valid(a)))
    if pc.any(pc.fill_null(bad, False)).as_py():
        raise NumericValueOutOfRange(f"{name} out of range")
    return pc.cast(a, target, safe=False)


def _to_int(a: pa.Array, from_t: SqlType, to_t: SqlType) -> pa.Array:
    if pa.types.is_floating(a.type):
        a = pc.round(a, round_mode="half_to_even")
    elif pa.types.is_decimal(a.type):
        a = pc.round(a, round_mode="half_towards_infinity")
        lo, hi, name = INT_LIMITS[to_t.short]
        wide = pc.cast(a, pa.decimal256(76, a.type.scale))
        bad = pc.or_(pc.less(wide, pa.scalar(lo).cast(pa.decimal256(76, a.type.scale))),
                     pc.greater(wide, pa.scalar(hi).cast(pa.decimal256(76, a.type.scale))))
        if pc.any(pc.fill_null(bad, False)).as_py():
            raise NumericValueOutOfRange(f"{name} out of range")
        return pc.cast(wide, to_t.arrow, safe=False)
    elif pa.types.is_boolean(a.type):
        return pc.cast(a, to_t.arrow)
    return int_range_check(a, to_t.short)


def _to_numeric(a: pa.Array, to_t: SqlType) -> pa.Array:
    target = to_t.arrow
    ps = T.numeric_precision_scale(to_t)
    if pa.types.is_floating(a.type):
        x = a.to_numpy(zero_copy_only=False)
        if (~np.isfinite(x[np.asarray(pc.is_valid(a))])).any():
            raise NumericValueOutOfRange("cannot convert infinity to numeric")
        # float -> numeric goes through the float's shortest text, as PostgreSQL does
        return textio.round_decimal(pc.cast(textio.format_text(a, T.FLOAT8), pa.decimal256(76, 30))
                                    if len(a) else pc.cast(a, pa.decimal256(76, 30)), target, ps)
    if pa.types.is_integer(a.type):
        return textio.round_decimal(pc.cast(a, pa.decimal256(76, 0)), target, ps)
    if pa.types.is_decimal(a.type):
        return textio.round_decimal(a, target, ps)
    raise CannotCoerce(f"cannot cast type {a.type} to numeric")


def _special_to(text: pa.Array, special: np.ndarray, to_t: SqlType) -> None:
    """The error PostgreSQL gives casting numeric NaN / +-Infinity to to_t (numeric(p, s)
    keeps NaN and cannot hold infinity; integers hold neither)."""
    words = set(text.filter(pa.array(special)).to_pylist())
    if to_t.short == "numeric":
        if words - {"NaN"}:
            p, sc = T.numeric_precision_scale(to_t) or (0, 0)
            raise NumericValueOutOfRange(
                "numeric field overflow", detail=f"A field with precision {p}, scale {sc} cannot hold an infinite value.")
        raise FeatureNotSupported("numeric NaN cannot be held in this numeric column")
    what = "NaN" if "NaN" in words else "infinity"
    name = {"int2": "smallint", "int4": "integer", "int8": "bigint"}.get(to_t.short, to_t.display())
    raise FeatureNotSupported(f"cannot convert {what} to {name}")


def _char_length_check(a: pa.Array, to_t: SqlType, explicit: bool) -> pa.Array:
    if to_t.typmod < 0 or to_t.short not in ("varchar", "bpchar"):
        return a
    n = to_t.typmod - 4
    trimmed_len = pc.utf8_length(pc.utf8_rtrim(a, " "))
    lengths = pc.utf8_length(a)
    if explicit:
        a = pc.utf8_slice_codeunits(a, 0, n)
    else:
        bad = pc.fill_null(pc.greater(trimmed_len, n), False)
        if pc.any(bad).as_py():
            raise StringDataRightTruncation(f"value too long for type {to_t.display()}")
        # trailing spaces beyond n are silently cut, as PostgreSQL does
        a = pc.if_else(pc.fill_null(pc.greater(lengths, n), False), pc.utf8_slice_codeunits(a, 0, n), a)
    if to_t.short == "bpchar":
        a = pc.utf8_rpad(a, n, " ")
    return a


def _element_typmod(t: SqlType) -> SqlType | None:
    """The element type, with its typmod, of an array type with one (varchar(2)[],
    numeric(3,1)[]: the element's or, for a column, the array type's), else None."""
    e = t.element
    while e is not None and e.is_array:  # (a 2-D array's type: varchar(2)[] of varchar(2)[])
        e = e.element
    if e is None:
        return None
    mod = e.typmod if e.typmod >= 0 else t.typmod
    return e.with_typmod(mod) if mod >= 0 else None


def _untyped(t: SqlType) -> SqlType:
    """An array type with no typmod at any level (what the text parses to)."""
    e = t.element
    return replace(t, typmod=-1, element=_untyped(e) if e.is_array else e.with_typmod(-1))


ExtraCast = Callable[[pa.Array, SqlType, SqlType, bool], pa.Array]


def numeric_literal_type(value: object) -> SqlType:
    """The type of a numeric literal such as 1.50: unconstrained numeric whose Arrow type
    keeps the literal's scale, so it prints as written (PostgreSQL keeps dscale per value).

    >>> numeric_literal_type(Decimal("1.50")).arrow
    Decimal128Type(decimal128(38, 2))
    """
    from decimal import Decimal

    d = value if isinstance(value, Decimal) else Decimal(str(value))
    exp = d.as_tuple().exponent
    scale = max(0, -exp) if isinstance(exp, int) else T.NUMERIC_DEFAULT_SCALE
    digits = len(d.as_tuple().digits)
    if scale > T.NUMERIC_PRECISION or digits - scale > T.NUMERIC_PRECISION - scale:
        return T.NUMERIC
    return replace(T.NUMERIC, arrow=pa.decimal128(T.NUMERIC_PRECISION, scale))


class CastRegistry:
    """Cast functions and implicit-cast rules; owned by the Database's registries."""

    def __init__(self) -> None:
        # extension casts by (source typname, target typname): (fn, context 'i'/'a'/'e')
        self.extra: dict[tuple[str, str], tuple[ExtraCast, str]] = {}

    def add_cast(self, from_short: str, to_short: str, fn: ExtraCast, context: str) -> None:
        """Register an extension type's cast, as CREATE CAST ... [AS IMPLICIT|AS ASSIGNMENT]."""
        self.extra[(from_short, to_short)] = (fn, context)

    def can_implicit(self, from_t: SqlType, to_t: SqlType) -> bool:
        """True when PostgreSQL would apply this cast without being asked (pg_cast 'i')."""
        if from_t.oid == to_t.oid:
            return True
        if from_t.short == "unknown":
            return True
        if to_t.short in ("any", "anyelement", "anynonarray", "anycompatible"):
            return True
        if to_t.short in ("anyarray", "anycompatiblearray"):
            return from_t.is_array
        ext = self.extra.get((from_t.short, to_t.short))
        if ext is not None:
            return ext[1] == "i"
        if from_t.is_array and to_t.is_array:
            return self.can_implicit(from_t.element, to_t.element)  # type: ignore[arg-type]
        return to_t.short in _IMPLICIT.get(from_t.short, ())

    def can_assign(self, from_t: SqlType, to_t: SqlType) -> bool:
        """True for implicit or assignment casts (INSERT/UPDATE targets)."""
        if self.can_implicit(from_t, to_t):
            return True
        ext = self.extra.get((from_t.short, to_t.short))
        if ext is not None:
            return ext[1] in ("i", "a")
        if _is_string(to_t) or _is_string(from_t) and to_t.short in STRING_TYPES:
            return True  # any type -> text is an assignment cast (I/O conversion)
        if from_t.is_array and to_t.is_array:
            return self.can_assign(from_t.element, to_t.element)  # type: ignore[arg-type]
        return to_t.short in _ASSIGN.get(from_t.short, ())

    def can_explicit(self, from_t: SqlType, to_t: SqlType) -> bool:
        """True when `CAST(x AS to_t)` is allowed at all."""
        if self.can_assign(from_t, to_t) or _is_string(from_t) or _is_string(to_t):
            return True
        if (from_t.short, to_t.short) in self.extra:
            return True
        nums = (*INT_TYPES, *FLOAT_TYPES, "numeric", *OID_TYPES)
        if from_t.short in nums and to_t.short in nums:
            return True
        if {from_t.short, to_t.short} <= {"bool", "int4"}:
            return True
        if from_t.short in ("json", "jsonb") and to_t.short in ("json", "jsonb", "bool", *nums):
            return True
        dates = ("date", "timestamp", "timestamptz", "time", "interval")
        return from_t.short in dates and to_t.short in dates

    def common_type(self, types: Sequence[SqlType], context: str = "UNION") -> SqlType:
        """PostgreSQL's select_common_type. An unconstrained numeric result keeps its inputs'
        display scale in its Arrow type when they share one (1.50 and 2.25 -> scale 2);
        inputs of different scales (or integers, or a NUMERIC_TEXT input) give NUMERIC_TEXT,
        whose values keep each its own scale as PostgreSQL's do (1.5 and 2.250)."""
        t = self._common_type(types, context)
        if t.short == "numeric" and t.typmod < 0:
            known = [x for x in types if x.short != "unknown"]
            if any(is_numeric_text(x.arrow) for x in known):
                return T.NUMERIC_TEXT  # each value keeps its own text
            arrows = {x.arrow for x in known if x.short == "numeric" and pa.types.is_decimal(x.arrow)}
            if len(arrows) == 1 and len(known) == sum(x.short == "numeric" for x in known):
                (arrow,) = arrows
                return replace(T.NUMERIC, arrow=arrow)
            fixed = {x.arrow.scale for x in known if x.short == "numeric" and x.typmod >= 0}
            free = [x.arrow.scale for x in known if x.short == "numeric" and x.typmod < 0
                    and pa.types.is_decimal(x.arrow)]
            if len(fixed) == 1 and max(free, default=0) <= min(fixed):
                # numeric(p, s) columns keep their scale: coalesce(price, 0); not when another
                # input shows more digits (n / 3 UNION ALL price would cut the quotient)
                return replace(T.NUMERIC, arrow=pa.decimal128(T.NUMERIC_PRECISION, fixed.pop()))
            return T.NUMERIC_TEXT  # scales differ: each value keeps its own, as in PostgreSQL
        return t

    def _common_type(self, types: Sequence[SqlType], context: str = "UNION") -> SqlType:
        """PostgreSQL's select_common_type: all unknown -> text; else the first known type's
        category must be shared; the preferred type or the one others convert to wins."""
        known = [t for t in types if t.short != "unknown"]
        if not known:
            return T.TEXT
        first = known[0]
        if all(t.oid == first.oid for t in known):
            if all(t.typmod == first.typmod for t in known):
                return first
            return T.SqlType(**{**first.__dict__, "typmod": -1}) if first.short != "numeric" \
                else T.NUMERIC
        cat = first.category
        result = first
        for t in known[1:]:
            if t.category != cat:
                raise DatatypeMismatch(
                    f"{context} types {result.display()} and {t.display()} cannot be matched")
            if t.oid == result.oid:
                continue
            if (not result.preferred and self.can_implicit(result, t)
                    and not self.can_implicit(t, result)):
                result = t
        for t in known:
            if not self.can_implicit(t, result):
                raise DatatypeMismatch(
                    f"{context} types {result.display()} and {t.display()} cannot be matched")
        if result.typmod >= 0 and any(t.oid != result.oid or t.typmod != result.typmod
                                      for t in known):  # select_common_typmod
            return {"numeric": T.NUMERIC, "varchar": T.VARCHAR, "bpchar": T.BPCHAR}.get(
                result.short, result)
        return result

    def cast(self, array: pa.Array | pa.Scalar | pa.ChunkedArray, from_t: SqlType,
             to_t: SqlType, *, explicit: bool = True, timezone: str = "UTC"
             ) -> pa.Array | pa.Scalar:
        """Convert values of from_t to to_t (a Scalar in gives a Scalar out); `timezone`
        (the session's TimeZone) governs timestamptz <-> text / timestamp / date / time."""
        a, scalar = _as_array(array)
        out = None
        if timezone and timezone.upper() not in ("UTC", "GMT", "ETC/UTC"):
            out = self._cast_zoned(a, from_t, to_t, explicit, timezone)
        if out is None:
            out = self._cast_array(a, from_t, to_t, explicit)
        if to_t.typmod >= 0 and to_t.short in datetime_precision.KINDS and to_t.typmod != from_t.typmod:
            out = datetime_precision.round_to_precision(out, to_t)  # timestamp(0), time(3) ...
        return out[0] if scalar else out

    def _cast_zoned(self, a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool,
                    tz: str) -> pa.Array | None:
        """The casts whose result depends on the session time zone (None: not one of them)."""
        from sqlvec.core.textio_datetime import zone_offsets
        f, t = from_t.short, to_t.short
        if f == "timestamptz" and t in STRING_TYPES and t != "unknown":
            return _char_length_check(textio.format_text(a, from_t, timezone=tz), to_t, explicit)
        if _is_string(from_t) and t == "timestamptz":
            return textio.parse_text(a, to_t, timezone=tz)
        if f == "timestamptz" and t in ("timestamp", "date", "time"):
            us = pc.cast(a, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
            local = us + zone_offsets(tz, us, local=False)
            mask = np.asarray(pc.is_null(a)) if a.null_count else None
            return self._cast_array(pa.array(local, pa.timestamp("us"), mask=mask), T.TIMESTAMP,
                                    to_t, explicit)
        if f in ("timestamp", "date") and t == "timestamptz":
            if f == "date":
                us = pc.cast(pc.cast(a, pa.int32()), pa.int64()).fill_null(0).to_numpy(
                    zero_copy_only=False) * 86_400_000_000
            else:
                us = pc.cast(a, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
            utc = us - zone_offsets(tz, us, local=True)
            mask = np.asarray(pc.is_null(a)) if a.null_count else None
            return pa.array(utc, to_t.arrow, mask=mask)
        return None

    def _cast_array(self, a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
        f, t = from_t.short, to_t.short
        if pa.types.is_null(a.type):
            return pa.nulls(len(a), to_t.arrow if not pa.types.is_null(to_t.arrow) else pa.null())
        if from_t.oid == to_t.oid and from_t.typmod == to_t.typmod and a.type == to_t.arrow:
            return a
        if from_t.oid == to_t.oid and t in datetime_precision.KINDS and a.type == to_t.arrow:
            return a  # another precision: cast() rounds
        if t in ("any", "anyelement", "anynonarray", "anycompatible", "anyarray",
                 "anycompatiblearray", "unknown") or pa.types.is_null(to_t.arrow):
            return a
        if is_numeric_text(a.type) or is_numeric_text(to_t.arrow):
            return self._cast_numeric_text(a, from_t, to_t, explicit)
        ext = self.extra.get((f, t))
        if ext is not None:
            return ext[0](a, from_t, to_t, explicit)
        # text-like source: PostgreSQL's input function (or a plain string relabel)
        if _is_string(from_t) and not to_t.is_array:
            if t in STRING_TYPES:
                out = pc.cast(a, pa.string())
                if t == "bpchar" and f == "bpchar":
                    out = pc.utf8_rtrim(out, " ") if to_t.typmod < 0 else out
                elif f == "bpchar":
                    out = pc.utf8_rtrim(out, " ")
                return _char_length_check(out, to_t, explicit) if t != "name" else \
                    pc.utf8_slice_codeunits(out, 0, 63)
            return textio.parse_text(a, to_t)
        if _is_string(from_t) and to_t.is_array:
            out = textio.parse_text(a, to_t)
            if _element_typmod(to_t) is None:
                return out
            return self._cast_list(out, _untyped(to_t), to_t, explicit)  # (each element's
            # length, scale)
        # anything to text: PostgreSQL's output function
        if t in STRING_TYPES:
            out = textio.format_text(a, from_t)
            if f == "bool":  # booltext(): the cast spells it out, the output function does not
                out = pc.if_else(a, "true", "false")
            if f in ("json", "jsonb"):
                out = pc.cast(a, pa.string())
            return _char_length_check(out, to_t, explicit)
        if from_t.is_array and to_t.is_array:
            return self._cast_list(a, from_t, to_t, explicit)
        return self._cast_scalar_types(a, from_t, to_t, explicit)

    def _cast_numeric_text(self, a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
        """Casts from and to numeric held as its text (NUMERIC_TEXT): the text is the value
        (to text types as is, to float through it, NaN and +-Infinity included); other targets
        read the finite values as decimals; a numeric, integer, float or text source becomes
        each value's PostgreSQL text."""
        t = to_t.short
        if is_numeric_text(a.type):
            if is_numeric_text(to_t.arrow):
                return a
            text = a.storage
            if t in STRING_TYPES:
                return _char_length_check(text, to_t, explicit) if t != "name" else text
            if t in FLOAT_TYPES:
                return self._cast_array(pc.cast(text, pa.float64()), T.FLOAT8, to_t, explicit)
            values, special = numeric_text_values(a)
            if special.any():
                _special_to(text, special, to_t)
            return self._cast_array(values, replace(T.NUMERIC, arrow=values.type), to_t, explicit)
        f = from_t.short
        if f == "numeric" or pa.types.is_integer(a.type) or (f in FLOAT_TYPES and pa.types.is_floating(a.type)) \
                or _is_string(from_t):
            return numeric_text_of(a if not _is_string(from_t) else pc.cast(a, pa.string()))
        if f in ("json", "jsonb"):
            return numeric_text_of(pc.cast(a, pa.string()))
        if f in OID_TYPES or f == "bool" and explicit:
            return numeric_text_of(pc.cast(a, pa.int64()))
        raise self._cannot(from_t, to_t)

    def _cast_list(self, a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
        assert from_t.element is not None and to_t.element is not None
        offsets = a.offsets
        flat = a.values[offsets[0].as_py():offsets[-1].as_py()] if len(a) else a.values[:0]
        if pa.types.is_list(flat.type):  # (a 2-D array: its rows, each an array alike)
            vals = self._cast_list(flat, from_t.element if from_t.element.is_array else from_t,
                                   to_t.element if to_t.element.is_array else to_t, explicit)
        else:
            elem = _element_typmod(to_t) or to_t.element  # (varchar(2)[]: each element varchar(2))
            vals = self._cast_array(flat, from_t.element, elem, explicit)
        rebased = pc.subtract(offsets, offsets[0])
        mask = pc.is_null(a) if a.null_count else None
        return pa.ListArray.from_arrays(rebased, vals, type=pa.list_(vals.type), mask=mask)

    def _cast_scalar_types(self, a: pa.Array, from_t: SqlType, to_t: SqlType,
                           explicit: bool) -> pa.Array:
        f, t = from_t.short, to_t.short
        if t in INT_TYPES:
            if f in (*INT_TYPES, *FLOAT_TYPES, "numeric", *OID_TYPES, "bool", "xid"):
                if f == "bool" and t != "int4" and not explicit:
                    raise self._cannot(from_t, to_t)
                return _to_int(a, from_t, to_t)
            if f in ("json", "jsonb"):
                return _to_int(textio.parse_text(pc.cast(a, pa.string()), T.NUMERIC), T.NUMERIC, to_t)
        if t in FLOAT_TYPES:
            if f == "numeric":  # through text: Arrow's decimal -> float is not correctly rounded
                out = pc.cast(pc.cast(a, pa.string()), pa.float64())
            elif f in (*INT_TYPES, *FLOAT_TYPES, *OID_TYPES):
                out = pc.cast(a, pa.float64(), safe=False)
            else:
                out = None
            if out is not None:
                if t == "float4":
                    x = out.to_numpy(zero_copy_only=False)
                    big = np.isfinite(x) & (np.abs(x) > np.finfo(np.float32).max)
                    if big.any():
                        raise NumericValueOutOfRange("value out of range: overflow")
                return pc.cast(out, to_t.arrow, safe=False)
            if f in ("json", "jsonb"):
                return textio.parse_text(pc.cast(a, pa.string()), to_t)
        if t == "numeric":
            if f in (*INT_TYPES, *FLOAT_TYPES, "numeric", *OID_TYPES):
                return _to_numeric(a, to_t)
            if f in ("json", "jsonb"):
                return textio.parse_text(pc.cast(a, pa.string()), to_t)
        if t in OID_TYPES and f in (*INT_TYPES, *OID_TYPES):
            bad = pc.fill_null(pc.less(a, 0), False) if pa.types.is_signed_integer(a.type) else None
            if bad is not None and pc.any(bad).as_py():
                a = pc.add(a, pa.scalar(2**32, a.type if a.type == pa.int64() else pa.int64()))
            return pc.cast(a, pa.uint32(), safe=False)
        if t == "bool" and f in ("int4", "int2", "int8"):
            if not explicit:
                raise self._cannot(from_t, to_t)
            return pc.not_equal(a, 0)
        if t == "bool" and f == "jsonb":
            return textio.parse_text(pc.cast(a, pa.string()), to_t)
        if t in ("json", "jsonb") and f in ("json", "jsonb"):
            return textio.parse_text(pc.cast(a, pa.string()), to_t) if t == "jsonb" else a
        if t in ("date", "timestamp", "timestamptz", "time", "interval"):
            return self._cast_datetime(a, from_t, to_t)
        if t in ("bit", "varbit") and f in ("bit", "varbit"):
            return a
        raise self._cannot(from_t, to_t)

    def _cast_datetime(self, a: pa.Array, from_t: SqlType, to_t: SqlType) -> pa.Array:
        f, t = from_t.short, to_t.short
        from sqlvec.core.textio_datetime import (
            DATE_INFINITY,
            DATE_NEG_INFINITY,
            TS_INFINITY,
            TS_NEG_INFINITY,
        )

        if f == "date" and t in ("timestamp", "timestamptz"):
            days = pc.cast(pc.cast(a, pa.int32()), pa.int64())
            us = _keep_infinities(days, DATE_INFINITY, DATE_NEG_INFINITY, pc.multiply(days, 86_400_000_000),
                                  TS_INFINITY, TS_NEG_INFINITY)
            return pc.cast(us, to_t.arrow)
        if f in ("timestamp", "timestamptz") and t == "date":
            us = pc.cast(a, pa.int64())
            days = pc.cast(pc.floor(pc.divide(pc.cast(us, pa.float64()), 86_400_000_000.0)), pa.int64())
            days = _keep_infinities(us, TS_INFINITY, TS_NEG_INFINITY, days, DATE_INFINITY, DATE_NEG_INFINITY)
            return pc.cast(pc.cast(days, pa.int32()), pa.date32())
        if f in ("timestamp", "timestamptz") and t in ("timestamp", "timestamptz"):
            return pc.cast(pc.cast(a, pa.int64()), to_t.arrow)
        if f in ("timestamp", "timestamptz") and t == "time":
            us = pc.cast(a, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
            tod = np.mod(us, 86_400_000_000)
            return pa.array(tod, pa.time64("us"), mask=np.asarray(pc.is_null(a)))
        if f == "time" and t == "interval":
            from sqlvec.core.textio_datetime import make_intervals
            us = pc.cast(a, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
            z = np.zeros(len(us), np.int64)
            return make_intervals(z, z, us * 1000, np.asarray(pc.is_null(a)))
        if f == "interval" and t == "time":
            from sqlvec.core.textio_datetime import interval_fields
            _m, _d, ns = interval_fields(a)
            return pa.array(np.mod(ns // 1000, 86_400_000_000), pa.time64("us"),
                            mask=np.asarray(pc.is_null(a)))
        raise self._cannot(from_t, to_t)

    @staticmethod
    def _cannot(from_t: SqlType, to_t: SqlType) -> CannotCoerce:
        return CannotCoerce(f"cannot cast type {from_t.display()} to {to_t.display()}")


def _keep_infinities(src: pa.Array, hi: int, lo: int, out: pa.Array, out_hi: int, out_lo: int) -> pa.Array:
    """`out` with 'infinity' / '-infinity' of `src` (its extreme values) mapped to the target's."""
    if not (pc.any(pc.equal(src, hi)).as_py() or pc.any(pc.equal(src, lo)).as_py()):
        return out
    out = pc.if_else(pc.equal(src, hi), pa.scalar(out_hi, out.type), out)
    return pc.if_else(pc.equal(src, lo), pa.scalar(out_lo, out.type), out)
