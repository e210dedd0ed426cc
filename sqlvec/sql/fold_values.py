"""Multi-row INSERT ... VALUES: the quoted constants of one target column cast in one call.

Binding folds each untyped constant into the column's type one value at a time; for 1,000
rows of '{...}' embeddings that is 1,000 single-value parses. Here every column whose
values are all quoted literals is cast as one string array (core/textio's vectorised input)
before the rows are bound. When that batch cast fails, nothing is folded for the column and
the per-row path raises exactly the error (and in the order) it always did.

    >>> # bind_insert: folded = fold_string_columns(b, rows_ast, idx, types); folded[(r, j)]
"""

from __future__ import annotations

import pyarrow as pa
from sqlglot import exp

from sqlvec.core import types as T
from sqlvec.core.errors import SqlError
from sqlvec.plan import expr as E
from sqlvec.sql.bind_expr import _REG, _zone_dependent
from sqlvec.sql.scope import Scope

MIN_ROWS = 2


def _column_texts(b: object, rows_ast: list, j: int) -> list[str] | None:
    """The text of column j in every row when all are untyped quoted literals, else None."""
    out: list[str] = []
    for r in rows_ast:
        vals = r.expressions if isinstance(r, exp.Tuple) else [r]
        v = vals[j] if j < len(vals) else None
        if not (isinstance(v, exp.Literal) and v.is_string):
            return None
        try:
            c = b.bind_expr(v, Scope())  # type: ignore[attr-defined]
        except SqlError:
            return None
        if not isinstance(c, E.Const) or c.type.short != "unknown" or not isinstance(c.value, str):
            return None
        out.append(c.value)
    return out


def fold_string_columns(b: object, rows_ast: list, idx: list[int], types: list[T.SqlType]
                        ) -> dict[tuple[int, int], E.Const]:
    """(row, position) -> the constant already cast to its column's type, for the columns of
    a multi-row VALUES list whose values are all quoted literals and cast without error."""
    folded: dict[tuple[int, int], E.Const] = {}
    if len(rows_ast) < MIN_ROWS:
        return folded
    for j, i in enumerate(idx):
        to = types[i]
        if to.oid in _REG or to.short in ("unknown", "text") or _zone_dependent(T.TEXT, to):
            continue
        texts = _column_texts(b, rows_ast, j)
        if texts is None:
            continue
        try:
            out = b.regs.casts.cast(pa.array(texts, pa.string()), T.TEXT, to, explicit=False)  # type: ignore[attr-defined]
        except SqlError:
            continue  # the per-row path reports the first bad value as before
        for r, v in enumerate(out.to_pylist()):
            folded[(r, j)] = E.Const(v, to)
    return folded


__all__ = ["MIN_ROWS", "fold_string_columns"]
