"""Optimizer rules: pure functions `rule(plan) -> plan | None`, listed in RULES, switchable by name.

`SET sqlvec.disabled_rules = 'push_filter_into_scan'` turns a rule off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlvec.plan import expr as E
from sqlvec.plan import logical as L
from sqlvec.plan.fold import fold_constants
from sqlvec.plan.key_lookup import scan_to_key_lookup
from sqlvec.plan.multi_search import lateral_top_n_to_batched_search
from sqlvec.plan.vector_search import top_n_to_vector_search


def _conjuncts(e: E.Expr) -> list[E.Expr]:
    if isinstance(e, E.BoolOp) and e.op == "and":
        out: list[E.Expr] = []
        for a in e.args:
            out += _conjuncts(a)
        return out
    return [e]


def _and(parts: list[E.Expr]) -> E.Expr:
    return parts[0] if len(parts) == 1 else E.BoolOp("and", tuple(parts), parts[0].type)


def _volatile_or_sub(e: E.Expr) -> bool:
    return any(isinstance(x, E.Subquery | E.OuterRef | E.AggCall) or getattr(getattr(x, "fn", None), "volatile", False)
               for x in E.walk(e))


def push_filter_into_scan(plan: L.Plan) -> L.Plan | None:
    """Filter(Scan) -> Scan(filter): the scan filters each batch as it reads it.

    >>> # Filter(Scan(t), a > 1) becomes Scan(t, filter=a > 1)
    """
    if isinstance(plan, L.Filter) and isinstance(plan.input, L.Scan) and not plan.input.with_rowid:
        scan = plan.input
        if _volatile_or_sub(plan.predicate):
            return None
        pred = plan.predicate if scan.filter is None else _and([scan.filter, plan.predicate])
        return dataclasses.replace(scan, filter=pred)
    return None


def push_filter_into_join(plan: L.Plan) -> L.Plan | None:
    """Filter over an inner/cross Join: conjuncts on one side go below it, the rest join the condition."""
    if not (isinstance(plan, L.Filter) and isinstance(plan.input, L.Join)):
        return None
    j = plan.input
    if j.kind not in ("inner", "cross"):
        return None
    lw = len(j.left.fields)
    left, right, rest = [], [], []
    for c in _conjuncts(plan.predicate):
        if _volatile_or_sub(c):
            rest.append(c)
            continue
        cols = [x.index for x in E.walk(c) if isinstance(x, E.ColRef)]
        if cols and all(i < lw for i in cols):
            left.append(c)
        elif cols and all(i >= lw for i in cols):
            from sqlvec.exec.join import _shift

            right.append(_shift(c, lw))
        else:
            rest.append(c)
    if not left and not right and not rest:
        return None
    if not left and not right and j.condition is not None and all(r in _conjuncts(j.condition) for r in rest):
        return None
    new_left = L.Filter(j.left, _and(left)) if left else j.left
    new_right = L.Filter(j.right, _and(right)) if right else j.right
    cond_parts = (_conjuncts(j.condition) if j.condition is not None else []) + [r for r in rest]
    if not left and not right and not rest:
        return None
    cond = _and(cond_parts) if cond_parts else None
    kind = "inner" if cond is not None else "cross"
    if j.lateral_cols:
        kind = j.kind if j.kind != "cross" or cond is None else "inner"
    return dataclasses.replace(j, left=new_left, right=new_right, kind=kind, condition=cond)


RULES: tuple[Callable[[L.Plan], L.Plan | None], ...] = (
    fold_constants,
    push_filter_into_join,
    push_filter_into_scan,
    top_n_to_vector_search,
    lateral_top_n_to_batched_search,
    scan_to_key_lookup,
)


def _rewrite(plan: L.Plan, rules: list[Callable]) -> L.Plan:
    changed = True
    n = 0
    while changed and n < 50:
        changed = False
        n += 1
        for r in rules:
            new = r(plan)
            if new is not None:
                plan = new
                changed = True
    # recurse into children
    changes = {}
    for f in dataclasses.fields(plan):  # type: ignore[arg-type]
        v = getattr(plan, f.name)
        if isinstance(v, L.Plan):
            nv = _rewrite(v, rules)
            if nv is not v:
                changes[f.name] = nv
    return dataclasses.replace(plan, **changes) if changes else plan  # type: ignore[type-var]


def optimize(plan: L.Plan, disabled: str = "") -> L.Plan:
    off = {x.strip() for x in disabled.split(",") if x.strip()}
    rules = [r for r in RULES if r.__name__ not in off]
    if not rules:
        return plan
    return _rewrite(plan, rules)
