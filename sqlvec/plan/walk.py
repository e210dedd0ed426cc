"""Generic traversal of plans and the expressions inside them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from sqlvec.plan import expr as E
from sqlvec.plan import logical as L


def _exprs_in(value: object) -> Iterator[E.Expr]:
    if isinstance(value, E.Expr):
        yield from E.walk(value)
        if isinstance(value, E.Subquery) and isinstance(value.plan, L.Plan):
            yield from plan_exprs(value.plan)
    elif isinstance(value, tuple | list):
        for v in value:
            yield from _exprs_in(v)
    elif isinstance(value, L.SortKey):
        yield from E.walk(value.expr)


def plan_exprs(plan: L.Plan) -> Iterator[E.Expr]:
    """Every expression node in plan and its inputs (pre-order)."""
    if not dataclasses.is_dataclass(plan):
        return
    for f in dataclasses.fields(plan):
        v = getattr(plan, f.name)
        if isinstance(v, L.Plan):
            yield from plan_exprs(v)
        elif isinstance(v, tuple) and v and all(isinstance(x, tuple) and len(x) == 4 for x in v) and f.name == "ctes":
            for _, p, rec, _ in v:
                yield from plan_exprs(p)
                if rec is not None:
                    yield from plan_exprs(rec)
        else:
            yield from _exprs_in(v)
