"""Constant folding: operators over constants become constants at plan time.

Only operators (functions named by a symbol: `+`, `=`, `||`, ...) and boolean logic are
folded; named functions may be stable (now()) and prepared plans are reused. A fold that
raises (1/0 under a CASE branch never taken) is left for run time.

    >>> # Filter(x > 1 + 1)  ->  Filter(x > 2);  Filter(TRUE AND p) -> Filter(p)
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.core.errors import SqlError
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L

_ONE = pa.RecordBatch.from_arrays([pa.array([0])], names=["_"])


def _const_value(fn: Any, args: tuple[E.Const, ...], t: Any) -> Any:
    arrays = [pa.array([a.value], type=a.type.arrow if a.type.short != "unknown" else pa.string())
              for a in args]
    out = fn.call(arrays, 1)
    return out[0].as_py()


def fold_expr(e: E.Expr) -> E.Expr:
    """e with constant subexpressions evaluated."""
    if isinstance(e, E.Subquery | E.AggCall | E.WindowCall | E.SrfCall):
        return e
    e = E.map_children(e, fold_expr)
    if isinstance(e, E.Func) and e.fn is not None and not e.name[:1].isalpha() \
            and all(isinstance(a, E.Const) for a in e.args) and not getattr(e.fn, "volatile", False):
        try:
            if e.type.short == "numeric":  # keep PostgreSQL's display scale of the value
                from sqlvec.functions.numeric_scale import fold_scaled

                hit = fold_scaled(e.fn, [(a.value, a.type) for a in e.args])  # type: ignore[attr-defined]
                if hit is not None:
                    return E.Const(*hit)
            return E.Const(_const_value(e.fn, e.args, e.type), e.type)  # type: ignore[arg-type]
        except (SqlError, pa.ArrowException, TypeError, ValueError):
            return e
    if isinstance(e, E.BoolOp):
        absorbing = e.op == "or"  # TRUE absorbs OR, FALSE absorbs AND
        keep = []
        for a in e.args:
            if isinstance(a, E.Const) and a.value is not None:
                if bool(a.value) == absorbing:
                    return E.Const(absorbing, T.BOOL)
                continue  # neutral element
            keep.append(a)
        if not keep:
            return E.Const(not absorbing, T.BOOL)
        if len(keep) == 1:
            return keep[0]
        return dataclasses.replace(e, args=tuple(keep)) if len(keep) != len(e.args) else e
    if isinstance(e, E.Not) and isinstance(e.arg, E.Const):
        return E.Const(None if e.arg.value is None else not e.arg.value, T.BOOL)
    if isinstance(e, E.IsNull) and isinstance(e.arg, E.Const):
        return E.Const((e.arg.value is None) != e.negate, T.BOOL)
    return e


def _fold_value(v: Any) -> Any:
    if isinstance(v, E.Expr):
        return fold_expr(v)
    if isinstance(v, tuple) and v and all(isinstance(x, E.Expr) for x in v):
        return tuple(fold_expr(x) for x in v)
    return v


def fold_constants(plan: L.Plan) -> L.Plan | None:
    """Fold the expressions of one Filter / Project / Scan filter / Join condition."""
    fields = {"Filter": ("predicate",), "Project": ("exprs",), "Scan": ("filter",), "Join": ("condition",)}
    names = fields.get(type(plan).__name__)
    if not names:
        return None
    changes = {}
    for name in names:
        old = getattr(plan, name)
        new = _fold_value(old)
        if new != old:
            changes[name] = new
    if not changes:
        return None
    return dataclasses.replace(plan, **changes)  # type: ignore[type-var]
