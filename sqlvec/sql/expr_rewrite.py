"""Rewrites of bound expressions: child mapping, post-aggregate references, lifting
window and set-returning calls out of the select list, outer-reference shifts."""

from __future__ import annotations

from sqlglot import exp

from sqlvec.core.errors import (
    FeatureNotSupported,
    GroupingError,
)
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L


def _rewrite_post_agg(e: E.Expr, groups: list[E.Expr], aggs: list[E.AggCall], ng: int) -> E.Expr:
    """Express e over an Aggregate's output (groups then aggs); bare columns -> 42803."""
    if e in groups:
        i = groups.index(e)
        return E.ColRef(i, e.type, getattr(e, "name", ""))
    if isinstance(e, E.AggCall):
        if e.name == "grouping" and any(a not in groups for a in e.args):
            raise GroupingError("arguments to GROUPING must be grouping expressions of the associated query level")
        return E.ColRef(ng + aggs.index(e), e.type, e.name)
    if isinstance(e, E.WindowCall):
        import dataclasses

        f = lambda x: _rewrite_post_agg(x, groups, aggs, ng)  # noqa: E731
        return dataclasses.replace(e, args=tuple(map(f, e.args)), partition=tuple(map(f, e.partition)),
                                   order=tuple((f(o), d, nf) for o, d, nf in e.order))
    if isinstance(e, E.ColRef):
        name = f"{e.table}.{e.name}" if e.table else e.name  # (as PostgreSQL: "t.col")
        raise GroupingError(
            f'column "{name}" must appear in the GROUP BY clause or be used in an aggregate function'
        )
    if isinstance(e, E.Subquery):
        if e.correlated and e.outer_cols:
            # re-map level-1 outer columns through the grouping
            new_cols = []
            for idx in e.outer_cols:
                probe = next((g for g in groups if isinstance(g, E.ColRef) and g.index == idx), None)
                if probe is None:
                    raise GroupingError(f'subquery uses ungrouped column "{_outer_name(e, idx)}" '
                                        "from outer query")
                new_cols.append(groups.index(probe))
            if new_cols != list(e.outer_cols):
                raise FeatureNotSupported("correlated subquery over grouped columns is not supported yet")
        arg = _rewrite_post_agg(e.arg, groups, aggs, ng) if e.arg is not None else None
        return E.Subquery(e.kind, e.plan, e.type, arg, e.negate, e.correlated, e.outer_cols, e.uid)
    return _map_children(e, lambda c: _rewrite_post_agg(c, groups, aggs, ng))


def _lift_calls(plan, items, order_exprs, kind, node, in_order_by: bool):
    """Compute the `kind` calls (window or set-returning) of the select list (and ORDER BY when
    `in_order_by`) in one `node` above `plan`; the expressions then read them as columns."""
    found: list = []
    exprs = [e for _, e in items]
    if in_order_by:
        exprs += [t for t, _, _ in order_exprs if isinstance(t, E.Expr)]
    for e in exprs:
        for x in E.walk(e):
            if isinstance(x, kind) and x not in found:
                found.append(x)
    if not found:
        return plan, items, order_exprs
    base = len(plan.fields)
    plan = node(plan, tuple(found), tuple(plan.fields) + tuple(L.Field(x.name, x.type) for x in found))

    def post(e: E.Expr) -> E.Expr:
        if isinstance(e, kind):
            return E.ColRef(base + found.index(e), e.type, e.name)
        return _map_children(e, post)

    items = [(n, post(e)) for n, e in items]
    order_exprs = [(post(t) if isinstance(t, E.Expr) else t, d, nf) for t, d, nf in order_exprs]
    return plan, items, order_exprs


_map_children = E.map_children  # (its older name, used across the binder)


def _outer_name(sub: E.Subquery, index: int) -> str:
    """The subquery's reference to column `index` one level out, as PostgreSQL names it in
    errors ("t.col")."""
    from sqlvec.plan.walk import plan_exprs

    for x in plan_exprs(sub.plan):
        if isinstance(x, E.OuterRef) and x.level == 1 and x.index == index:
            return f"{x.table}.{x.name}" if x.table else x.name
    return "?"


def _outer_down(e: E.Expr) -> E.Expr:
    """Table-function arguments are bound one scope out; their level-1 refs stay level 1."""
    return e


def _references(node: exp.Expr, name: str) -> bool:
    return any(t.name == name and not t.db for t in node.find_all(exp.Table))
