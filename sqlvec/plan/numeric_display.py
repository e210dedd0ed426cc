"""Client-facing numeric columns keep PostgreSQL's display scale per value.

A decimal array has one scale, but PostgreSQL prints each numeric with its own: `n / 3`
shows 20 digits for n = 1 and 12 for n = 1000000. For the result columns a client reads,
`show_numeric_scale` wraps each numeric expression whose scale is chosen per value (a
quotient, sqrt, exp, ln, log, power and + - * over them: functions/numeric_scale.py) in a
cast to NUMERIC_TEXT, a numeric column held as the text PostgreSQL would send. ORDER BY
keys on such a column read it back as a wide decimal, so rows still sort by value.

Only the outermost projection is rewritten (under Limit, Sort, DISTINCT and WITH):
subqueries, set operations, INSERT ... SELECT and CREATE TABLE AS see plain decimals.

    >>> from sqlvec.plan import logical as L
    >>> show_numeric_scale(L.Values((), ())) is not None
    True
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.functions.numeric_scale import NUMERIC_TEXT, scaled_capable
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L

SORT_NUMERIC = replace(T.NUMERIC, arrow=pa.decimal256(76, 38))  # an ORDER BY key read from text


def _scaled(e: E.Expr) -> bool:
    fn = getattr(e, "fn", None)
    return isinstance(e, E.Func) and hasattr(fn, "definition") and \
        scaled_capable(fn.name, [a.type for a in e.args], e.type)


def _refs(e: E.Expr, out: set[int]) -> set[int]:
    if isinstance(e, E.ColRef):
        out.add(e.index)
    for c in e.children():
        _refs(c, out)
    return out


def _project(p: L.Project, avoid: set[int]) -> L.Project:
    if all(isinstance(e, E.ColRef) for e in p.exprs):  # a column pick (hidden ORDER BY columns
        return _pick(p, avoid)  # dropped above a Sort): rewrite below it, pass the text on
    cols = [i for i, e in enumerate(p.exprs) if i not in avoid and _scaled(e)]
    if not cols:
        return p
    exprs, fields = list(p.exprs), list(p.fields)
    for i in cols:
        exprs[i] = E.Cast(exprs[i], NUMERIC_TEXT, explicit=False)
        fields[i] = replace(fields[i], type=NUMERIC_TEXT)
    return replace(p, exprs=tuple(exprs), fields=tuple(fields))


def _pick(p: L.Project, avoid: set[int]) -> L.Project:
    picked = {e.index for e in p.exprs}  # type: ignore[attr-defined]
    inner_avoid = {e.index for i, e in enumerate(p.exprs) if i in avoid}  # type: ignore[attr-defined]
    inner_avoid |= set(range(len(p.input.fields))) - picked
    inner = _rewrite(p.input, inner_avoid)
    if inner is p.input:
        return p
    exprs, fields = list(p.exprs), list(p.fields)
    for i, e in enumerate(p.exprs):
        t = inner.fields[e.index].type  # type: ignore[attr-defined]
        if t is NUMERIC_TEXT:
            exprs[i] = replace(e, type=NUMERIC_TEXT)
            fields[i] = replace(fields[i], type=NUMERIC_TEXT)
    return replace(p, input=inner, exprs=tuple(exprs), fields=tuple(fields))


def _sort_key(k: L.SortKey, changed: set[int]) -> L.SortKey:
    e = k.expr
    if isinstance(e, E.ColRef) and e.index in changed:
        return replace(k, expr=E.Cast(replace(e, type=NUMERIC_TEXT), SORT_NUMERIC, explicit=False))
    return k


def _rewrite(plan: L.Plan, avoid: set[int]) -> L.Plan:
    """plan with its output projection rewritten; columns in `avoid` are left alone (an
    expression above reads them as values)."""
    if isinstance(plan, L.Project):
        return _project(plan, avoid)
    if isinstance(plan, L.WithCtes):
        body = _rewrite(plan.body, avoid)
        return plan if body is plan.body else replace(plan, body=body)
    if isinstance(plan, L.Limit):
        ties = {i for k in plan.with_ties or () for i in _refs(k.expr, set())}
        inner = _rewrite(plan.input, avoid | ties)
        return plan if inner is plan.input else replace(plan, input=inner)
    if isinstance(plan, L.DistinctNode) and plan.on is None:
        inner = _rewrite(plan.input, avoid)
        return plan if inner is plan.input else replace(plan, input=inner)
    if isinstance(plan, L.Sort):
        # a key that is a plain column is read back by value; any other use keeps the decimal
        other = {i for k in plan.keys if not isinstance(k.expr, E.ColRef) for i in _refs(k.expr, set())}
        inner = _rewrite(plan.input, avoid | other)
        if inner is plan.input:
            return plan
        changed = {i for i, (a, b) in enumerate(zip(plan.input.fields, inner.fields))
                   if b.type is NUMERIC_TEXT and a.type is not NUMERIC_TEXT}
        return replace(plan, input=inner, keys=tuple(_sort_key(k, changed) for k in plan.keys))
    return plan


def show_numeric_scale(plan: L.Plan) -> L.Plan:
    """The plan of a query whose rows go to a client, with per-value numeric display scale."""
    return _rewrite(plan, set())


__all__ = ["SORT_NUMERIC", "show_numeric_scale"]
