"""Types of literals and type names for the binder: numeric literals keep their display
scale, '{{...}}' literals their dimensions, type_from_ast reads sqlglot DataTypes."""

from __future__ import annotations

import decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from sqlvec.core import types as T
from sqlvec.core.errors import (
    SqlError,
    UndefinedObject,
)
from sqlvec.core.types import SqlType

_REG = (24, 2205, 2206, 4089, 4096)  # regproc regclass regtype regnamespace regrole


def literal_type(value: Any) -> SqlType:
    if isinstance(value, bool):
        return T.BOOL
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return T.INT4
        if -(2**63) <= value < 2**63:
            return T.INT8
        return numeric_literal_type(decimal.Decimal(value))
    if isinstance(value, float):
        return T.FLOAT8
    if isinstance(value, decimal.Decimal):
        return numeric_literal_type(value)
    return T.UNKNOWN


def numeric_literal_value(text: str) -> decimal.Decimal | float:
    """A numeric literal's value (PostgreSQL: 1e30 and 1.5e-3 are numeric, not float8), in
    plain notation: 1e30 -> Decimal('1000000000000000000000000000000'), dscale 0. An
    exponent literal beyond the 76 digits sqlvec's numeric holds (1e300) stays float8."""
    v = decimal.Decimal(text)
    exponent = v.as_tuple().exponent
    if not isinstance(exponent, int):
        return v
    if "e" in text.lower() and max(v.adjusted() + 1, 1) + max(-exponent, 0) > T.NUMERIC_MAX_ARROW_PRECISION:
        return float(text)
    if exponent > 0:
        return decimal.Decimal(int(v))
    return v


def numeric_literal_type(value: decimal.Decimal) -> SqlType:
    """numeric whose Arrow scale is the literal's display scale (1.50 -> decimal128(38, 2)).

    Unconstrained numeric values keep their display scale in the Arrow type of the array
    (see functions/arith.numeric_type); a literal knows its own, as in PostgreSQL."""
    from sqlvec.functions.arith import numeric_with

    exponent = value.as_tuple().exponent
    if not isinstance(exponent, int):
        return T.NUMERIC
    scale = max(0, -exponent)
    if scale > T.NUMERIC_PRECISION or value.adjusted() >= T.NUMERIC_PRECISION - 1 - scale:
        digits = max(value.adjusted() + 1, 1) + scale
        if digits <= T.NUMERIC_MAX_ARROW_PRECISION:  # beyond decimal128: decimal256 keeps it exact
            return numeric_with(pa.decimal256(T.NUMERIC_MAX_ARROW_PRECISION, scale))
        from sqlvec.core.errors import NumericValueOutOfRange

        raise NumericValueOutOfRange("value overflows numeric format")  # sqlvec: 76 digits at most
    return numeric_with(numeric_display_arrow(scale))


def numeric_display_arrow(scale: int) -> pa.DataType:
    from sqlvec.functions.arith import numeric_type

    return numeric_type(scale, fixed_display=True)


def type_from_ast(dt: exp.DataType, types: Any) -> SqlType:
    """A sqlglot DataType -> SqlType (with typmod), via the type registry."""
    if dt.this == exp.DType.ARRAY or (dt.args.get("nested") and dt.expressions and dt.this == exp.DType.ARRAY):
        elem = type_from_ast(dt.expressions[0], types)
        return T.array_of(elem)
    if dt.this == exp.DType.USERDEFINED:
        name = dt.args.get("kind") or dt.sql()
    elif dt.this == exp.DType.INTERVAL:  # interval(p): sqlglot writes it 'INTERVAL p'
        name = "interval"
    else:
        name = dt.sql(dialect="postgres")
    if isinstance(name, exp.Dot):  # pg_catalog.regclass
        name = name.expression.name
    name = str(name).lower()
    if name.startswith("pg_catalog."):
        name = name[len("pg_catalog."):]
    params = [p for p in dt.expressions if not isinstance(p, exp.DataType)]
    base = name.split("(")[0].strip()
    array = False
    if base.endswith("[]"):
        base, array = base[:-2].strip(), True
    fixes = {"int": "integer", "double precision": "double precision", "timestamptz": "timestamptz",
             "timestamp": "timestamp", "decimal": "numeric", "char": "bpchar", "character": "bpchar",
             "varchar": "varchar", "character varying": "varchar", "boolean": "bool"}
    t = types.by_name(fixes.get(base, base))
    if t is None:
        t = types.by_name(base.replace(" ", ""))
    if t is None:
        raise UndefinedObject(f'type "{base}" does not exist')
    vals = []
    for p in params:
        node = p.this if isinstance(p, exp.DataTypeParam) else p
        try:
            vals.append(int(node.name if hasattr(node, "name") else str(node)))
        except (TypeError, ValueError):
            pass
    if vals:
        if t.short in ("varchar", "bpchar"):
            t = t.with_typmod(vals[0] + 4)
        elif t.short == "numeric":
            t = t.with_typmod(T.numeric_typmod(vals[0], vals[1] if len(vals) > 1 else 0))
        elif t.short in ("timestamp", "timestamptz", "time", "interval"):
            t = t.with_typmod(max(0, min(vals[0], 6)))  # PostgreSQL caps a larger one at 6
        else:
            t = t.with_typmod(vals[0])
    elif t.short == "bpchar" and base in ("char", "character"):
        t = t.with_typmod(1 + 4)
    elif t.short == "bit" and base == "bit":  # as PostgreSQL's grammar: bit is bit(1)
        t = t.with_typmod(1)
    if array or dt.this == exp.DType.ARRAY:
        t = T.array_of(t)
    return t


def _literal_dims(text: str, to: SqlType) -> SqlType:
    """The array type `to` with as many dimensions as the literal '{{..},{..}}' has."""
    from sqlvec.core.textio_literals import parse_array_literal

    if not text.lstrip().startswith(("{{", "[")):
        return to
    try:
        v: Any = parse_array_literal(text)
    except SqlError:
        return to  # the cast itself reports the malformed literal
    depth = 0
    while isinstance(v, list):
        depth += 1
        v = v[0] if v else None
    while to.ndims < depth:
        to = T.array_of(to)
    return to


def _flatten_value(v: list, levels: int) -> list:
    for _ in range(levels):
        v = [y for x in v if x is not None for y in x]
    return v


def _other_scale(a: SqlType, b: SqlType) -> bool:
    """Two numerics whose values are held at different Arrow scales."""
    return a.short == "numeric" and a.arrow != b.arrow


_ZONED = frozenset({"timestamptz", "timetz"})


_ZONE_PEERS = frozenset({"text", "varchar", "bpchar", "name", "unknown", "timestamp", "date", "time"})


def _zone_dependent(src: SqlType, to: SqlType) -> bool:
    """Whether a cast's result depends on the TimeZone setting (timestamptz <-> text/timestamp/...)."""
    return (to.short in _ZONED and src.short in _ZONE_PEERS) or (src.short in _ZONED and to.short in _ZONE_PEERS)
