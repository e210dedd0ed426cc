"""Multi-row INSERT ... VALUES: the constants of one target column cast in one call per type.

Binding folds each constant into the column's type one value at a time; for 1,000 rows
of '{...}'::float8[] embeddings that is 2,000 single-value casts and as many binder calls.
Here a column whose values are all of one simple shape is folded in bulk before the rows
are bound:

- untyped quoted literals ('[1,2]'): one text array cast to the column type;
- a quoted literal with an explicit cast, the same type in every row ('{..}'::float8[]):
  text -> that type (explicit), then that type -> the column type (assignment);
- numbers (1, -2, 0.25, 1e3): grouped by the type the binder gives each literal (int4,
  int8, numeric of the literal's scale, float8), one assignment cast per group;

NULL may appear among any of them. Each step makes the same decisions as the binder's
coerce() for one constant, only on whole arrays, so the folded constants are the values
the per-row path would give. A column whose bulk cast fails is left to the per-row path,
which raises exactly the error (and in the order) it always did.

    >>> # bind_insert: folded = fold_columns(b, rows_ast, idx, types); folded[(r, j)]
"""

from __future__ import annotations

import decimal
from typing import Any

import pyarrow as pa
from sqlglot import exp

from sqlvec.core import types as T
from sqlvec.core.errors import SqlError
from sqlvec.plan import expr as E
from sqlvec.sql.bind_expr import (
    _REG,
    _other_scale,
    _zone_dependent,
    literal_type,
    numeric_literal_type,
    type_from_ast,
)
from sqlvec.sql.bind_literals import numeric_literal_value

MIN_ROWS = 2
_NULL = object()


def _number(n: exp.Literal, negate: bool) -> Any:
    """The value the binder gives a numeric literal (see ExprBinder._b_Literal/_b_Neg)."""
    text = n.this
    try:
        v: Any = int(text)
    except ValueError:
        v = numeric_literal_value(text)
    return -v if negate else v


def _column(rows_ast: list, j: int) -> tuple[str, list, exp.DataType | None] | None:
    """(shape, per-row values, cast type node) of column j, or None when not all alike.

    shape 'str': untyped quoted literals (values are their texts); 'cast': quoted literals
    cast to one type; 'num': numeric literals (values as the binder reads them). NULL
    rows are _NULL in any shape.
    """
    shape: str | None = None
    to_node: exp.DataType | None = None
    out: list = []
    for r in rows_ast:
        vals = r.expressions if isinstance(r, exp.Tuple) else [r]
        if j >= len(vals):
            return None
        v = vals[j]
        t = type(v)
        if t is exp.Null:
            out.append(_NULL)
            continue
        if t is exp.Literal:
            kind = "str" if v.is_string else "num"
            val = v.this if v.is_string else _number(v, False)
        elif t is exp.Neg and type(v.this) is exp.Literal and not v.this.is_string:
            kind, val = "num", _number(v.this, True)
        elif t is exp.Cast and type(v.this) is exp.Literal and v.this.is_string:
            node = v.args["to"]
            if to_node is None:
                to_node = node
            elif node is not to_node and node != to_node:
                return None
            kind, val = "cast", v.this.this
        else:
            return None
        if shape is None:
            shape = kind
        elif shape != kind:
            return None
        out.append(val)
    return (shape, out, to_node) if shape is not None else None


def _coerce_all(b: Any, arr: pa.Array, src: T.SqlType, to: T.SqlType, explicit: bool,
                const_type: T.SqlType | None = None) -> tuple[pa.Array, T.SqlType] | None:
    """coerce() of constants of type `const_type` (default `src`; held as an array of type
    `src`) to `to`, on a whole array: the values and the type the folded constants get.
    None where coerce() would not fold to a constant (name lookups, time-zone casts)."""
    et = const_type or src
    if et == to and et.typmod == to.typmod:
        return arr, et  # coerce() hands the constant back unchanged
    if to.oid in _REG or src.oid in _REG or et.oid in _REG or _zone_dependent(src, to):
        return None
    if src.oid == to.oid and src.typmod == to.typmod and not _other_scale(src, to):
        return arr, to
    return b.regs.casts.cast(arr, src, to, explicit=explicit), to


def _assign_all(b: Any, arr: pa.Array, src: T.SqlType, to: T.SqlType
                ) -> tuple[pa.Array, T.SqlType] | None:
    """bind_dml.assign() of constants of type `src` (None: leave to the per-row path)."""
    if src.oid != to.oid and not (getattr(b.regs.casts, "can_assign", None)
                                  or b.regs.casts.can_implicit)(src, to):
        return None  # the per-row path raises 42804 naming the column
    return _coerce_all(b, arr, src, to, False)


def _number_groups(values: list) -> list[tuple[T.SqlType, list[int]]]:
    """Row positions of the non-NULL numbers by the literal type the binder gives each
    (numeric literals of different scales are different Arrow types)."""
    groups: dict[tuple, tuple[T.SqlType, list[int]]] = {}
    dec_types: dict[tuple, T.SqlType] = {}
    for r, v in enumerate(values):
        if v is _NULL:
            continue
        if isinstance(v, decimal.Decimal):
            tup = v.as_tuple()
            key = (tup.exponent, v.adjusted()) if v.is_finite() else ("nan",)
            t = dec_types.get(key)
            if t is None:
                t = dec_types[key] = numeric_literal_type(v)
        else:
            t = literal_type(v)
        key = (t.oid, t.arrow)
        g = groups.get(key)
        if g is None:
            g = groups[key] = (t, [])
        g[1].append(r)
    return list(groups.values())


def _fold(b: Any, shape: str, values: list, to_node: exp.DataType | None, to: T.SqlType
          ) -> list[E.Const] | None:
    """The column's constants as the per-row path binds them, or None to bind per row."""
    out: list[E.Const] = [E.Const(None, to)] * len(values)  # NULL -> NULL of the column type
    if shape == "num":
        for src, rows in _number_groups(values):
            res = _assign_all(b, pa.array([values[r] for r in rows], type=src.arrow), src, to)
            if res is None:
                return None
            for r, v in zip(rows, res[0].to_pylist()):
                out[r] = E.Const(v, res[1])
        return out
    rows = [r for r, v in enumerate(values) if v is not _NULL]
    arr = pa.array([values[r] for r in rows], pa.string())
    if shape == "str":  # an unknown-typed literal: the column type's input function
        if to.short == "unknown" or _zone_dependent(T.TEXT, to):
            return None
        res = _coerce_all(b, arr, T.TEXT, to, False, T.UNKNOWN)
    else:
        assert to_node is not None
        mid = type_from_ast(to_node, b.regs.types)
        if mid.short == "unknown" or _zone_dependent(T.TEXT, mid):
            return None
        res = _coerce_all(b, arr, T.TEXT, mid, True, T.UNKNOWN)
        if res is not None:
            res = _assign_all(b, res[0], res[1], to)
    if res is None:
        return None
    for r, v in zip(rows, res[0].to_pylist()):
        out[r] = E.Const(v, res[1])
    return out


def fold_columns(b: Any, rows_ast: list, idx: list[int], types: list[T.SqlType]
                 ) -> dict[tuple[int, int], E.Const]:
    """(row, position) -> the constant already cast to its column's type, for the columns of
    a multi-row VALUES list whose values are all simple constants that cast without error."""
    folded: dict[tuple[int, int], E.Const] = {}
    if len(rows_ast) < MIN_ROWS:
        return folded
    for j, i in enumerate(idx):
        to = types[i]
        col = _column(rows_ast, j)
        if col is None:
            continue
        shape, values, to_node = col
        try:
            out = _fold(b, shape, values, to_node, to)
        except (SqlError, pa.ArrowException, ValueError, TypeError, OverflowError):
            continue  # the per-row path reports the first bad value as before
        if out is None:
            continue
        for r, c in enumerate(out):
            folded[(r, j)] = c
    return folded




__all__ = ["MIN_ROWS", "fold_columns"]
