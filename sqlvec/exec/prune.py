"""Segment pruning: a scan's filter turned into `prune(stats)` for storage's min/max skip.

Only conjuncts `column op constant` (op: = < <= > >=, either side; a bound parameter counts
as a constant) and `column IN (constants)` are used, the column possibly under a widening
cast that keeps every value and its order (`small_col = 3` on int2 binds as
`small_col::integer = 3`); a segment is
skipped when its [min, max] range cannot satisfy one of them. Anything uncertain (types
that do not compare) keeps the segment.

    >>> # WHERE a > 100 AND b = 'x'  ->  skip segments with max(a) <= 100 or b outside [min, max]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlvec.plan import expr as E

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


def _conjuncts(e: E.Expr) -> list[E.Expr]:
    if isinstance(e, E.BoolOp) and e.op == "and":
        out: list[E.Expr] = []
        for a in e.args:
            out += _conjuncts(a)
        return out
    return [e]


_NONE = object()


def _value(e: E.Expr, params: list[Any] | None) -> Any:
    """A constant's or a bound parameter's value (None for NULL), or _NONE for anything else.

    NaN is _NONE too: PostgreSQL orders it above every number, min/max statistics do not.
    """
    if isinstance(e, E.Const):
        v = e.value
    elif isinstance(e, E.Param) and params is not None and e.index < len(params):
        v = params[e.index]
    else:
        return _NONE
    return _NONE if isinstance(v, float) and v != v else v


# source type -> the types a cast to keeps each value exactly and in the same order, so
# the segment's [min, max] of the column bounds the cast values too (int8 -> float8 and
# int4 -> float4 round; text casts reorder)
_EXACT_WIDENING = {
    "int2": ("int2", "int4", "int8", "float4", "float8", "numeric"),
    "int4": ("int4", "int8", "float8", "numeric"),
    "int8": ("int8", "numeric"),
    "float4": ("float4", "float8"),
}


def _column(e: E.Expr) -> E.Expr:
    """The column under widening casts (`(small)::integer` -> small); e itself otherwise."""
    while isinstance(e, E.Cast) and isinstance(e.arg, E.Cast | E.ColRef) \
            and e.type.short in _EXACT_WIDENING.get(e.arg.type.short, ()):
        e = e.arg
    return e


def _term(c: E.Expr, names: list[str], params: list[Any] | None) -> tuple[str, str, Any] | None:
    if isinstance(c, E.InList) and not c.negate and isinstance(arg := _column(c.arg), E.ColRef):
        values = [_value(v, params) for v in c.values]
        if values and not any(v is _NONE or v is None for v in values):
            return names[arg.index], "in", values
        return None
    if not (isinstance(c, E.Func) and c.name in _FLIP and len(c.args) == 2):
        return None
    a, b = _column(c.args[0]), _column(c.args[1])
    if isinstance(a, E.ColRef) and (v := _value(b, params)) is not _NONE and v is not None:
        return names[a.index], c.name, v
    if isinstance(b, E.ColRef) and (v := _value(a, params)) is not _NONE and v is not None:
        return names[b.index], _FLIP[c.name], v
    return None


def pruner(
    predicate: E.Expr | None, names: list[str], params: list[Any] | None = None
) -> Callable[[dict], bool] | None:
    """prune(stats) for storage's scan, or None when the predicate gives nothing to prune on.

    `params`: the statement's parameter values, so `col < $1` prunes like `col < 10`.
    """
    if predicate is None:
        return None
    terms = [t for t in (_term(c, names, params) for c in _conjuncts(predicate)) if t is not None]
    if not terms:
        return None

    def prune(stats: dict) -> bool:
        for col, op, v in terms:
            mm = stats.get(col)
            if mm is None:
                continue
            lo, hi = mm
            try:
                if op == "in":
                    if not any(lo <= x <= hi for x in v):
                        return True
                    continue
                if (op == "=" and (v < lo or v > hi)) or (op == "<" and not lo < v) \
                        or (op == "<=" and not lo <= v) or (op == ">" and not hi > v) \
                        or (op == ">=" and not hi >= v):
                    return True
            except TypeError:
                continue
        return False

    return prune


def counted(prune: Callable[[dict], bool], into: dict[int, list[int]], key: int) -> Callable[[dict], bool]:
    """`prune` that also counts [segments checked, segments skipped] in into[key] (EXPLAIN ANALYZE)."""
    counts = into.setdefault(key, [0, 0])

    def counting(stats: dict) -> bool:
        skip = prune(stats)
        counts[0] += 1
        counts[1] += bool(skip)
        return skip

    return counting
