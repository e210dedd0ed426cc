"""Client-facing numeric columns keep PostgreSQL's display scale per value.

A decimal array has one scale, but PostgreSQL prints each numeric with its own: `n / 3`
shows 20 digits for n = 1 and 12 for n = 1000000. For the result columns a client reads,
`show_numeric_scale` wraps each numeric expression whose scale is chosen per value (a
quotient, sqrt, exp, ln, log, power and + - * over them: functions/numeric_scale.py) in a
cast to NUMERIC_TEXT, a numeric column held as the text PostgreSQL would send. ORDER BY
keys on such a column read it back as a wide decimal, so rows still sort by value.

Only the outermost projection is rewritten (under Limit, Sort, DISTINCT, WITH and a filter
that does not read the column):
subqueries, set operations, INSERT ... SELECT and CREATE TABLE AS see plain decimals.

    >>> from sqlvec.plan import logical as L
    >>> show_numeric_scale(L.Values((), ())) is not None
    True
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import replace
from typing import Any

import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.functions.numeric_scale import KEYED_TEXT, NUMERIC_TEXT, TEXT_OF_KEY
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L

_INTS_NUMERIC = frozenset({"int2", "int4", "int8", "numeric"})
SORT_NUMERIC = replace(T.NUMERIC, arrow=pa.decimal256(76, 38))  # an ORDER BY key read from text


def _scaled(e: E.Expr) -> bool:
    from sqlvec.exec.numeric_eval import scaled_capable

    return scaled_capable(e)


def _refs(e: E.Expr, out: set[int]) -> set[int]:
    if isinstance(e, E.ColRef):
        out.add(e.index)
    for c in e.children():
        _refs(c, out)
    return out


def _substitute(e: E.Expr, by: dict[int, E.Expr]) -> E.Expr:
    """e with the ColRefs in `by` replaced (an expression tree of frozen dataclasses)."""
    if isinstance(e, E.ColRef):
        return by.get(e.index, e)
    if isinstance(e, E.Func | E.Cast | E.Coalesce):
        kids = e.arg if isinstance(e, E.Cast) else e.args
        new = _substitute(kids, by) if isinstance(e, E.Cast) else tuple(_substitute(k, by) for k in kids)
        if new is kids or not isinstance(e, E.Cast) and all(a is b for a, b in zip(new, kids)):
            return e
        return replace(e, arg=new) if isinstance(e, E.Cast) else replace(e, args=new)
    if isinstance(e, E.Case):
        whens = tuple((_substitute(c, by), _substitute(v, by)) for c, v in e.whens)
        default = _substitute(e.default, by) if e.default is not None else None
        return replace(e, whens=whens, default=default)
    return e


def _avg_parts(p: L.Project, avoid: set[int], regs: Any) -> L.Project:
    """avg(x) of int/numeric in the select list -> sum(x) / count(x) of the same rows, whose
    quotient then takes select_div_scale per group (PostgreSQL's avg is that division).
    Looks through a HAVING filter; the new aggregates go last, so no column moves."""
    agg = p.input.input if isinstance(p.input, L.Filter) else p.input
    if regs is None or not isinstance(agg, L.Aggregate) or agg.grouping_sets is not None:
        return p
    g = len(agg.groups)
    used = {i for k, e in enumerate(p.exprs) if k not in avoid for i in _refs(e, set())}
    aggs, agg_fields = list(agg.aggs), list(agg.fields)
    by: dict[int, E.Expr] = {}
    div = None
    for j, a in enumerate(agg.aggs):
        if g + j not in used or a.name != "avg" or len(a.args) != 1 \
                or a.args[0].type.short not in _INTS_NUMERIC:
            continue
        div = div or regs.functions.resolve("/", [T.NUMERIC, T.NUMERIC])
        by[g + j], made = _sum_over_count(a.args[0].type, a.distinct, g + len(aggs), regs, div)
        for name, fn in made:
            aggs.append(replace(a, name=name, type=fn.return_type, fn=fn))
            agg_fields.append(L.Field(name, fn.return_type))
    if not by:
        return p
    exprs = tuple(e if k in avoid else _substitute(e, by) for k, e in enumerate(p.exprs))
    new_agg = replace(agg, aggs=tuple(aggs), fields=tuple(agg_fields))
    source = replace(p.input, input=new_agg) if isinstance(p.input, L.Filter) else new_agg
    return replace(p, input=source, exprs=exprs)


def _sum_over_count(arg: Any, distinct: bool, first: int, regs: Any, div: Any) -> tuple[E.Expr, list]:
    """avg(x) as sum(x) / count(x) in numeric: the quotient over the columns `first` (sum) and
    `first + 1` (count), and the (name, aggregate) pairs the caller adds as those columns."""
    parts: list[E.Expr] = []
    made = []
    for i, name in enumerate(("sum", "count")):
        fn = regs.functions.aggregate(name, [arg], distinct)
        ref = E.ColRef(first + i, fn.return_type)
        parts.append(ref if fn.return_type.short == "numeric" else E.Cast(ref, T.NUMERIC, explicit=False))
        made.append((name, fn))
    if parts[0].type is NUMERIC_TEXT:  # a sum held as its text: its quotient too (NaN, Infinity)
        div = regs.functions.resolve("/", [p.type for p in parts])
    return E.Func("/", tuple(parts), div.return_type, div), made


def _window_avg_parts(p: L.Project, avoid: set[int], regs: Any) -> L.Project:
    """avg(x) OVER (...) of int/numeric in the select list -> sum(x) OVER (...) / count(x)
    OVER (...) with the same window, whose quotient takes select_div_scale per row; the new
    window calls go last, so no column moves."""
    win = p.input
    if regs is None or not isinstance(win, L.Window):
        return p
    base = len(win.input.fields)
    used = {i for k, e in enumerate(p.exprs) if k not in avoid for i in _refs(e, set())}
    calls, fields = list(win.calls), list(win.fields)
    by: dict[int, E.Expr] = {}
    div = None
    for j, c in enumerate(win.calls):
        if base + j not in used or c.name != "avg" or len(c.args) != 1 or c.distinct \
                or c.args[0].type.short not in _INTS_NUMERIC:
            continue
        div = div or regs.functions.resolve("/", [T.NUMERIC, T.NUMERIC])
        by[base + j], made = _sum_over_count(c.args[0].type, False, len(fields), regs, div)
        for name, fn in made:
            calls.append(replace(c, name=name, type=fn.return_type, fn=fn))
            fields.append(L.Field(name, fn.return_type))
    if not by:
        return p
    exprs = tuple(e if k in avoid else _substitute(e, by) for k, e in enumerate(p.exprs))
    return replace(p, input=replace(win, calls=tuple(calls), fields=tuple(fields)), exprs=exprs)


def _project(p: L.Project, avoid: set[int], regs: Any) -> L.Project:
    q = _window_avg_parts(_avg_parts(p, avoid, regs), avoid, regs)
    if q is p and all(isinstance(e, E.ColRef) for e in p.exprs):  # a column pick (hidden ORDER
        return _pick(p, avoid, regs)  # BY columns dropped above a Sort): rewrite below it
    p = _scalar_subqueries(_through_derived(q, avoid, regs), avoid, regs)
    cols = [i for i, e in enumerate(p.exprs) if i not in avoid and e.type is not NUMERIC_TEXT and _scaled(e)]
    if not cols:
        return p
    exprs, fields = list(p.exprs), list(p.fields)
    for i in cols:
        exprs[i] = E.Cast(exprs[i], NUMERIC_TEXT, explicit=False)
        fields[i] = replace(fields[i], type=NUMERIC_TEXT)
    return replace(p, exprs=tuple(exprs), fields=tuple(fields))


def _scalar_subqueries(p: L.Project, avoid: set[int], regs: Any) -> L.Project:
    """A scalar subquery shown in the select list whose value has a scale per value: it
    returns the value's text, read back as numeric (text::numeric keeps that scale)."""
    exprs = list(p.exprs)
    for k, e in enumerate(exprs):
        if k not in avoid:
            exprs[k] = _subquery_text(e, regs)
    if all(a is b for a, b in zip(exprs, p.exprs)):
        return p
    return replace(p, exprs=tuple(exprs))


def _subquery_text(e: E.Expr, regs: Any) -> E.Expr:
    if isinstance(e, E.Subquery):
        if e.kind != "scalar" or e.type.short != "numeric" or e.type.typmod >= 0 or e.type is NUMERIC_TEXT or \
                not isinstance(e.plan, L.Plan) or len(e.plan.fields) != 1:
            return e
        inner = _rewrite(e.plan, set(), regs)
        if inner.fields[0].type is not NUMERIC_TEXT:
            return e
        text = L.Project(inner, (E.Cast(E.ColRef(0, NUMERIC_TEXT), T.TEXT, explicit=False),),
                         (replace(inner.fields[0], type=T.TEXT),))
        return E.Cast(replace(e, plan=text, type=T.TEXT), T.NUMERIC, explicit=False)
    if isinstance(e, E.Func | E.Coalesce):
        args = tuple(_subquery_text(a, regs) for a in e.args)
        return e if all(a is b for a, b in zip(args, e.args)) else replace(e, args=args)
    if isinstance(e, E.Cast):
        arg = _subquery_text(e.arg, regs)
        return e if arg is e.arg else replace(e, arg=arg)
    return e


def _through_derived(p: L.Project, avoid: set[int], regs: Any = None) -> L.Project:
    """p whose shown expressions read, instead of a derived table's column computed with a
    scale per value (and read as a value by a WHERE or ORDER BY in between), that column's
    text copy: SELECT q, q + 1 FROM (SELECT n / 3 AS q ...) s WHERE q > 1."""
    shown = [k for k in range(len(p.exprs)) if k not in avoid]
    refs: set[int] = set()
    for k in shown:
        _refs(p.exprs[k], refs)
    fields = p.input.fields
    refs = {i for i in refs if i < len(fields) and fields[i].type.short == "numeric"}
    shadow = _shadow(p.input, refs, regs) if refs else None
    if shadow is None:
        return p
    inner, copies = shadow
    by: dict[int, E.Expr] = {i: E.Cast(_copy_ref(inner, c), p.input.fields[i].type, explicit=False)
                             for i, c in copies.items()}
    exprs, fields = list(p.exprs), list(p.fields)
    for k in shown:
        e = exprs[k]
        if isinstance(e, E.ColRef):
            if e.index in copies:
                exprs[k] = _copy_ref(inner, copies[e.index])
                fields[k] = replace(fields[k], type=NUMERIC_TEXT)
        else:
            exprs[k] = _substitute(e, by)
    return replace(p, input=inner, exprs=tuple(exprs), fields=tuple(fields))


def _pick(p: L.Project, avoid: set[int], regs: Any) -> L.Project:
    picked = {e.index for e in p.exprs}  # type: ignore[attr-defined]
    inner_avoid = {e.index for i, e in enumerate(p.exprs) if i in avoid}  # type: ignore[attr-defined]
    inner_avoid |= set(range(len(p.input.fields))) - picked
    inner = _rewrite(p.input, inner_avoid, regs)
    exprs, fields = list(p.exprs), list(p.fields)
    # a column something between here and the Project computing it reads as a value (WHERE q > 1
    # over a derived table): that Project also computes its text, as an extra column
    inner_fields = inner.fields  # a property on Filter/Sort/Limit: read it once
    want = {e.index for i, e in enumerate(p.exprs)  # type: ignore[attr-defined]
            if i not in avoid and e.index < len(inner_fields)  # type: ignore[attr-defined]
            and inner_fields[e.index].type.short == "numeric"  # type: ignore[attr-defined]
            and inner_fields[e.index].type is not NUMERIC_TEXT}  # type: ignore[attr-defined]
    shadow = _shadow(inner, want, regs) if want else None
    copies: dict[int, int] = {}
    if shadow is not None:
        inner, copies = shadow
    if inner is p.input:
        return p
    for i, e in enumerate(p.exprs):
        if i not in avoid and e.index in copies:  # type: ignore[attr-defined]
            exprs[i] = _copy_ref(inner, copies[e.index])  # type: ignore[attr-defined]
            fields[i] = replace(fields[i], type=NUMERIC_TEXT)
            continue
        t = inner.fields[e.index].type  # type: ignore[attr-defined]
        if t is NUMERIC_TEXT:
            exprs[i] = replace(e, type=NUMERIC_TEXT)
            fields[i] = replace(fields[i], type=NUMERIC_TEXT)
    return replace(p, input=inner, exprs=tuple(exprs), fields=tuple(fields))


# the WITH queries of the statement being rewritten: "plans" by cte id (non-recursive, not
# DML), "done" the ones given text copies (each once; other references read only their columns)
_CTES: ContextVar[dict[str, dict[int, Any]] | None] = ContextVar("numeric_display_ctes", default=None)


def _union_all(plan: L.SetOp, avoid: set[int], regs: Any) -> L.Plan:
    """UNION ALL keeps each branch's values and their scales: a column either branch shows
    as text is text in both (the other branch's values as their own text)."""
    left, right = _rewrite(plan.left, avoid, regs), _rewrite(plan.right, avoid, regs)
    changed = {i for side in (left, right) for i, f in enumerate(side.fields) if f.type is NUMERIC_TEXT}
    if not changed:
        return plan
    fields = tuple(replace(f, type=NUMERIC_TEXT) if i in changed else f for i, f in enumerate(plan.fields))
    return replace(plan, left=_as_text(left, changed), right=_as_text(right, changed), fields=fields)


def _branch_text(plan: L.Plan, regs: Any) -> L.Plan:
    """A union branch whose NUMERIC_TEXT column (the binder's common type for numerics of
    different scales) casts a column computed below with a scale per value (a GROUP BY key,
    max/min, a derived table's quotient): that column's own text (`_shadow`)."""
    if isinstance(plan, L.SetOp) and plan.kind == "union":
        left, right = _branch_text(plan.left, regs), _branch_text(plan.right, regs)
        return plan if left is plan.left and right is plan.right else replace(plan, left=left, right=right)
    if not isinstance(plan, L.Project):
        return plan
    picks = {i: e.arg.index for i, e in enumerate(plan.exprs)  # type: ignore[attr-defined]
             if plan.fields[i].type is NUMERIC_TEXT and isinstance(e, E.Cast) and isinstance(e.arg, E.ColRef)}
    below = _shadow(plan.input, set(picks.values()), regs) if picks else None
    if below is None:
        return plan
    inner, copies = below
    exprs = list(plan.exprs)
    for i, c in picks.items():
        if c in copies:
            exprs[i] = _copy_ref(inner, copies[c])
    return replace(plan, input=inner, exprs=tuple(exprs))


def _own_scale(e: E.Expr) -> E.Expr:
    """e without its casts to unconstrained numeric (a branch's cast to the column type)."""
    while isinstance(e, E.Cast) and e.type.typmod < 0 and e.type.short == "numeric" and \
            e.arg.type.short == "numeric":
        e = e.arg
    return e


def _union_distinct(plan: L.SetOp, avoid: set[int], regs: Any) -> L.Plan:
    """UNION: rows are told apart by value as before (DISTINCT ON the decimal columns over a
    UNION ALL), and a column a branch computes with a scale per value shows each kept row's
    own text, carried as an extra column of each branch."""
    k = len(plan.fields)
    cols = [i for i in range(k) if i not in avoid and plan.fields[i].type.short == "numeric"
            and plan.fields[i].type is not NUMERIC_TEXT]
    if not cols:
        return plan
    union, scaled = _union_with_copies(plan, cols, regs)
    if not scaled:
        return plan
    exprs: list[E.Expr] = [E.ColRef(i, f.type) for i, f in enumerate(plan.fields)]
    fields = list(plan.fields)
    for j, i in enumerate(cols):
        exprs[i] = E.ColRef(k + j, NUMERIC_TEXT)
        fields[i] = replace(fields[i], type=NUMERIC_TEXT)
    return L.Project(union, tuple(exprs), tuple(fields))


def _union_with_copies(plan: L.SetOp, cols: list[int], regs: Any) -> tuple[L.Plan, set[int]]:
    """A UNION [ALL] whose branches also give a NUMERIC_TEXT copy of each column in cols (after
    the columns, in cols' order); UNION is DISTINCT ON the original columns over UNION ALL.
    Returns it and the columns whose copy has a scale per value."""
    (left, ls), (right, rs) = (_with_text_copies(b, cols, regs) for b in (plan.left, plan.right))
    extra = tuple(replace(plan.fields[i], type=NUMERIC_TEXT) for i in cols)
    union: L.Plan = replace(plan, all=True, left=left, right=right, fields=plan.fields + extra)
    if not plan.all:
        union = L.DistinctNode(union, on=tuple(E.ColRef(i, f.type) for i, f in enumerate(plan.fields)))
    return union, ls | rs


def _with_text_copies(plan: L.Plan, cols: list[int], regs: Any) -> tuple[L.Plan, set[int]]:
    """plan with a NUMERIC_TEXT copy of each column in cols appended (each value's own text),
    and the columns whose copy has a scale per value."""
    if isinstance(plan, L.SetOp) and plan.kind == "union":
        return _union_with_copies(plan, cols, regs)
    if not isinstance(plan, L.Project):
        plan = L.Project(plan, tuple(E.ColRef(i, f.type) for i, f in enumerate(plan.fields)), plan.fields)
    exprs, fields = list(plan.exprs), list(plan.fields)
    own = {i: _own_scale(exprs[i]) for i in cols}
    picks = {i: e.index for i, e in own.items() if isinstance(e, E.ColRef)}
    below = _shadow(plan.input, set(picks.values()), regs) if picks else None
    source = plan.input if below is None else below[0]
    scaled: set[int] = set()
    for i in cols:
        if below is not None and i in picks and picks[i] in below[1]:
            exprs.append(_copy_ref(source, below[1][picks[i]]))
            scaled.add(i)
        else:
            exprs.append(E.Cast(own[i], NUMERIC_TEXT, explicit=False))
            if _scaled(own[i]):
                scaled.add(i)
        fields.append(replace(fields[i], type=NUMERIC_TEXT))
    return replace(plan, input=source, exprs=tuple(exprs), fields=tuple(fields)), scaled


def _as_text(plan: L.Plan, cols: set[int]) -> L.Plan:
    """plan whose columns in cols are NUMERIC_TEXT (a Project's expressions cast, or a
    Project of casts above any other node)."""
    todo = [i for i in sorted(cols) if plan.fields[i].type is not NUMERIC_TEXT]
    if not todo:
        return plan
    if isinstance(plan, L.Project):
        exprs = list(plan.exprs)
    else:
        exprs = [E.ColRef(i, f.type) for i, f in enumerate(plan.fields)]
    fields = list(plan.fields)
    for i in todo:
        exprs[i] = E.Cast(_own_scale(exprs[i]), NUMERIC_TEXT, explicit=False)
        fields[i] = replace(fields[i], type=NUMERIC_TEXT)
    if isinstance(plan, L.Project):
        return replace(plan, exprs=tuple(exprs), fields=tuple(fields))
    return L.Project(plan, tuple(exprs), tuple(fields))


def _shadow(plan: L.Plan, cols: set[int], regs: Any = None) -> tuple[L.Plan, dict[int, int]] | None:
    """plan with a NUMERIC_TEXT copy of each column in cols that a Project under Filter, Sort
    and Limit nodes (or a WITH query read through them) computes with a scale per value,
    appended to that Project's output (the nodes above pass every column on); None when
    there is none. Returns col -> its copy."""
    if isinstance(plan, L.CteRef):
        return _shadow_cte(plan, cols, regs)
    if isinstance(plan, L.Filter | L.Sort | L.Limit):
        inner = _shadow(plan.input, cols, regs)
        if inner is None:
            return None
        return replace(plan, input=inner[0]), inner[1]
    if isinstance(plan, L.Aggregate):
        return _shadow_groups(plan, cols, regs)
    if isinstance(plan, L.SetOp) and plan.kind == "union":
        wanted = sorted(i for i in cols if plan.fields[i].type.short == "numeric")
        union, scaled = _union_with_copies(plan, wanted, regs) if wanted else (plan, set())
        if not scaled:
            return None
        k = len(plan.fields)
        return union, {i: k + j for j, i in enumerate(wanted)}
    if not isinstance(plan, L.Project):
        return None
    exprs, fields = list(plan.exprs), list(plan.fields)
    copies: dict[int, int] = {}
    picks = {i: e.index for i, e in enumerate(plan.exprs) if i in cols and isinstance(e, E.ColRef)}
    below = _shadow(plan.input, set(picks.values()), regs) if picks else None  # a pick: look below it
    source = plan.input if below is None else below[0]
    for i in sorted(cols):
        if i >= len(plan.exprs):
            continue
        e = plan.exprs[i]
        if below is not None and i in picks and picks[i] in below[1]:
            copy: E.Expr = _copy_ref(below[0], below[1][picks[i]])
        elif not isinstance(e, E.ColRef) and _scaled(e):
            copy = E.Cast(e, NUMERIC_TEXT, explicit=False)
        else:
            continue
        copies[i] = len(exprs)
        exprs.append(copy)
        fields.append(replace(fields[i], type=NUMERIC_TEXT))
    if not copies:
        return None
    return replace(plan, input=source, exprs=tuple(exprs), fields=tuple(fields)), copies


def _copy_ref(plan: L.Plan, c: int) -> E.Expr:
    """Column c of plan, a text copy (NUMERIC_TEXT, or a group key's text), as NUMERIC_TEXT."""
    t = plan.fields[c].type
    if t is NUMERIC_TEXT:
        return E.ColRef(c, NUMERIC_TEXT)
    if plan.fields[c].name == _KEYED:
        return E.Func(TEXT_OF_KEY.name, (E.ColRef(c, t),), NUMERIC_TEXT, TEXT_OF_KEY)
    return E.Cast(E.Cast(E.ColRef(c, t), T.NUMERIC, explicit=False), NUMERIC_TEXT, explicit=False)


_KEYED = "?numeric_keyed?"  # a copy column holding numeric_keyed_text (min/max of a value)


def _shadow_groups(plan: L.Aggregate, cols: set[int], regs: Any) -> tuple[L.Plan, dict[int, int]] | None:
    """A GROUP BY key computed with a scale per value: its text per group (min of the text of
    its rows, which share the key's value) as one more aggregate; max/min of such a value:
    max/min of its keyed text (numeric_keyed_text sorts as the value); each added last, so no
    column moves."""
    if regs is None or plan.grouping_sets is not None:
        return None
    g = len(plan.groups)
    keys = [i for i in sorted(cols) if i < g and _scaled(plan.groups[i])]
    extremes = [i for i in sorted(cols) if i >= g and _extreme(plan.aggs[i - g])]
    if not keys and not extremes:
        return None
    aggs, fields = list(plan.aggs), list(plan.fields)
    copies: dict[int, int] = {}
    for i in keys:
        fn = regs.functions.aggregate("min", [T.TEXT], False)
        arg = E.Cast(plan.groups[i], T.TEXT, explicit=False)
        copies[i] = len(fields)
        aggs.append(E.AggCall("min", (arg,), False, fn.return_type, fn=fn))
        fields.append(replace(fields[i], type=fn.return_type))
    for i in extremes:
        a = plan.aggs[i - g]
        fn = regs.functions.aggregate(a.name, [T.TEXT], False)
        x = a.args[0]
        keyed = E.Func(KEYED_TEXT.name, (x, E.Cast(x, T.TEXT, explicit=False)), T.TEXT, KEYED_TEXT)
        copies[i] = len(fields)
        aggs.append(E.AggCall(a.name, (keyed,), False, fn.return_type, filter=a.filter, fn=fn))
        fields.append(L.Field(_KEYED, fn.return_type))
    return replace(plan, aggs=tuple(aggs), fields=tuple(fields)), copies


def _extreme(a: E.AggCall) -> bool:
    """max/min of one numeric value whose scale is chosen per value (held as decimal128)."""
    return a.name in ("max", "min") and len(a.args) == 1 and not a.distinct and not a.order and \
        a.type.short == "numeric" and pa.types.is_decimal128(a.args[0].type.arrow) and _scaled(a.args[0])


def _shadow_cte(ref: L.CteRef, cols: set[int], regs: Any) -> tuple[L.Plan, dict[int, int]] | None:
    state = _CTES.get()
    cte = state["plans"].get(ref.cte_id) if state is not None else None
    if cte is None or ref.cte_id in state["done"] or len(cte[1].fields) != len(ref.fields):
        return None
    inner = _shadow(cte[1], cols, regs)
    if inner is None:
        return None
    new_plan, copies = inner
    state["done"][ref.cte_id] = new_plan
    extra = tuple(f if f.name == _KEYED else replace(f, name=ref.fields[i].name) for i, f in
                  sorted(((i, new_plan.fields[c]) for i, c in copies.items()), key=lambda x: copies[x[0]]))
    return replace(ref, fields=ref.fields + extra), copies


def _sort_key(k: L.SortKey, changed: set[int]) -> L.SortKey:
    e = k.expr
    if isinstance(e, E.ColRef) and e.index in changed:
        return replace(k, expr=E.Cast(replace(e, type=NUMERIC_TEXT), SORT_NUMERIC, explicit=False))
    return k


def _rewrite(plan: L.Plan, avoid: set[int], regs: Any) -> L.Plan:
    """plan with its output projection rewritten; columns in `avoid` are left alone (an
    expression above reads them as values)."""
    if isinstance(plan, L.Project):
        return _project(plan, avoid, regs)
    if isinstance(plan, L.WithCtes):
        ctes = {c[0]: c for c in plan.ctes if c[2] is None and not isinstance(c[1], L.Insert | L.Update | L.Delete)}
        token = _CTES.set({"plans": ctes, "done": {}})
        try:
            body = _rewrite(plan.body, avoid, regs)
            done = _CTES.get()["done"]  # type: ignore[index]
        finally:
            _CTES.reset(token)
        if done:
            plan = replace(plan, ctes=tuple((c[0], done[c[0]], *c[2:]) if c[0] in done else c for c in plan.ctes))
        return plan if body is plan.body else replace(plan, body=body)
    if isinstance(plan, L.SetOp) and plan.kind == "union":
        plan = _branch_text(plan, regs)
        return _union_all(plan, avoid, regs) if plan.all else _union_distinct(plan, avoid, regs)
    if isinstance(plan, L.Limit):
        ties = {i for k in plan.with_ties or () for i in _refs(k.expr, set())}
        inner = _rewrite(plan.input, avoid | ties, regs)
        return plan if inner is plan.input else replace(plan, input=inner)
    if isinstance(plan, L.Filter):  # a WHERE over a derived table: what it reads stays a value
        inner = _rewrite(plan.input, avoid | _refs(plan.predicate, set()), regs)
        return plan if inner is plan.input else replace(plan, input=inner)
    if isinstance(plan, L.DistinctNode) and plan.on is None:
        inner = _rewrite(plan.input, avoid, regs)
        return plan if inner is plan.input else replace(plan, input=inner)
    if isinstance(plan, L.Sort):
        # a key that is a plain column is read back by value; any other use keeps the decimal
        other = {i for k in plan.keys if not isinstance(k.expr, E.ColRef) for i in _refs(k.expr, set())}
        inner = _rewrite(plan.input, avoid | other, regs)
        if inner is plan.input:
            return plan
        changed = {i for i, (a, b) in enumerate(zip(plan.input.fields, inner.fields))
                   if b.type is NUMERIC_TEXT and a.type is not NUMERIC_TEXT}
        return replace(plan, input=inner, keys=tuple(_sort_key(k, changed) for k in plan.keys))
    return plan


def show_numeric_scale(plan: L.Plan, regs: Any = None) -> L.Plan:
    """The plan of a query whose rows go to a client, with per-value numeric display scale
    (with the registries, avg(int/numeric) in the select list too)."""
    return _rewrite(plan, set(), regs)


__all__ = ["SORT_NUMERIC", "show_numeric_scale"]
