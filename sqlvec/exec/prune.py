"""Segment pruning: a scan's filter turned into `prune(stats)` for storage's min/max skip.

Only conjuncts `column op constant` (op: = < <= > >=, either side) are used; a segment is
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


def _term(c: E.Expr, names: list[str]) -> tuple[str, str, Any] | None:
    if not (isinstance(c, E.Func) and c.name in _FLIP and len(c.args) == 2):
        return None
    a, b = c.args
    if isinstance(a, E.ColRef) and isinstance(b, E.Const) and b.value is not None:
        return names[a.index], c.name, b.value
    if isinstance(b, E.ColRef) and isinstance(a, E.Const) and a.value is not None:
        return names[b.index], _FLIP[c.name], a.value
    return None


def pruner(predicate: E.Expr | None, names: list[str]) -> Callable[[dict], bool] | None:
    """prune(stats) for storage's scan, or None when the predicate gives nothing to prune on."""
    if predicate is None:
        return None
    terms = [t for t in (_term(c, names) for c in _conjuncts(predicate)) if t is not None]
    if not terms:
        return None

    def prune(stats: dict) -> bool:
        for col, op, v in terms:
            mm = stats.get(col)
            if mm is None:
                continue
            lo, hi = mm
            try:
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
