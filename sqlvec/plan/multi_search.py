"""Multi-target search: a LATERAL top-k vector search per outer row -> one batched search.

`lateral_top_n_to_batched_search` rewrites

    Join(LATERAL, cross | inner | left) <- outer rows
                                        <- [Project] <- Limit <- Sort(d) <- Project(.., d = col <op> q.emb)
                                                                          <- [Filter] <- Scan

(`SELECT q.id, r.* FROM queries q CROSS JOIN LATERAL (SELECT ... ORDER BY t.emb <-> q.emb
LIMIT k) r`) into a `BatchedVectorJoin`: at run time every distinct query vector of the
outer side goes to the index (or the exact matrix top-k) in ONE call with an (n, d)
matrix, instead of running the inner query once per outer row
(sqlvec/exec/multi_search.py). The inner side is rewritten by `top_n_to_vector_search`
first; each bail-out below is an early return with its reason, and the plain LATERAL join
stays (one search per outer row). Switch it off with
`SET sqlvec.disabled_rules = 'lateral_top_n_to_batched_search'`.

    >>> # Join(q, Limit(Sort(Project(Scan t))), lateral) -> BatchedVectorJoin(q, ... VectorSearch)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlvec.plan import expr as E
from sqlvec.plan import logical as L
from sqlvec.plan.vector_search import VectorSearch, top_n_to_vector_search


@dataclass(frozen=True)
class InnerShape:
    """The parts of the inner side: [outer_project] <- limit <- sort <- project <- search."""

    limit: L.Limit
    sort: L.Sort
    project: L.Project
    search: VectorSearch
    outer_project: L.Project | None


def inner_shape(right: L.Plan) -> InnerShape | None:
    """The inner side's parts when it is a (rewritten) top-k vector search, else None."""
    top = right if isinstance(right, L.Project) else None
    lim = right.input if top is not None else right
    if not isinstance(lim, L.Limit) or lim.with_ties:
        return None
    sort = lim.input
    if not isinstance(sort, L.Sort) or len(sort.keys) != 1:
        return None
    proj = sort.input
    if not isinstance(proj, L.Project) or not isinstance(proj.input, VectorSearch):
        return None
    return InnerShape(lim, sort, proj, proj.input, top)


@dataclass(frozen=True)
class BatchedVectorJoin(L.Plan):
    """A LATERAL join whose inner side is a top-k vector search, run for all outer rows at once.

    Same fields and rows as the `Join(left, right, kind, condition, lateral)` it replaces.
    """

    left: L.Plan
    right: L.Plan
    kind: str  # cross | inner | left
    condition: E.Expr | None
    fields: tuple[L.Field, ...]
    lateral_cols: tuple[int, ...]

    def inputs(self) -> tuple[L.Plan, ...]:
        return (self.left, self.right)

    def join(self) -> L.Join:
        """The plain LATERAL join (the per-row path)."""
        return L.Join(self.left, self.right, self.kind, self.condition, self.fields, True,
                      self.lateral_cols)

    def explain_label(self) -> str:
        shape = inner_shape(self.right)
        table = getattr(shape.search.scan.table, "name", "?") if shape else "?"
        kind = {"cross": "Cross", "inner": "Inner", "left": "Left"}[self.kind]
        return f"Batched Vector Search on {table} ({kind} Join Lateral)"

    def explain_details(self) -> list[str]:
        shape = inner_shape(self.right)
        out = []
        if shape is not None:
            out.append(f"Targets: {shape.search.query} of every outer row, one batched search")
        if self.condition is not None and not _is_true(self.condition):
            out.append(f"Join Filter: {self.condition}")
        from sqlvec.exec.multi_search import STRATEGY  # filled when it ran (EXPLAIN ANALYZE)

        done = STRATEGY.get(id(self))
        out.append(f"Strategy: {done}" if done else
                   "Strategy: one index search with an (n, d) query matrix when many rows pass, "
                   "else one exact matrix top-k (decided per execution)")
        return out


def _is_true(e: E.Expr) -> bool:
    return isinstance(e, E.Const) and e.value is True


def _outer_ok(e: E.Expr) -> bool:
    """No subqueries or aggregates; outer references only to the lateral row (level 1)."""
    for x in E.walk(e):
        if isinstance(x, E.Subquery | E.AggCall | E.WindowCall):
            return False
        if isinstance(x, E.OuterRef) and x.level != 1:
            return False
    return True


def _reads_outer(e: E.Expr) -> bool:
    return any(isinstance(x, E.OuterRef) for x in E.walk(e))


def _vectorised_search(right: L.Plan) -> L.Plan | None:
    """The inner side with its Limit <- Sort <- Project <- [Filter] <- Scan rewritten."""
    if inner_shape(right) is not None:
        return right
    top = right if isinstance(right, L.Project) else None
    lim = right.input if top is not None else right
    new = top_n_to_vector_search(lim)
    if new is None:
        return None
    return dataclasses.replace(top, input=new) if top is not None else new


def lateral_top_n_to_batched_search(plan: L.Plan) -> L.Plan | None:
    """LATERAL Join <- (... ORDER BY col <op> outer.vec LIMIT k)  ==>  BatchedVectorJoin."""
    if not isinstance(plan, L.Join) or not plan.lateral_cols:
        return None  # not a LATERAL join
    if plan.kind not in ("cross", "inner", "left"):
        return None  # semi/anti/right/full: the general path
    right = _vectorised_search(plan.right)
    if right is None:
        return None  # the inner side is not a top-k vector search
    shape = inner_shape(right)
    assert shape is not None
    vs = shape.search
    if not _reads_outer(vs.query) or not _outer_ok(vs.query):
        return None  # the query vector is not the outer row's: nothing to batch
    if vs.scan.fields[vs.column].type.short == "sparsevec":
        return None  # sparse queries: one search per row (the inverted index has no matrix form)
    for e in (vs.limit, vs.offset, vs.scan.filter):
        if e is not None and (_reads_outer(e) or not _outer_ok(e)):
            return None  # a per-row LIMIT or WHERE: one search per outer row
    exprs = [*shape.project.exprs, shape.sort.keys[0].expr,
             *(shape.outer_project.exprs if shape.outer_project else ())]
    if not all(_outer_ok(e) for e in exprs):
        return None  # subqueries or outer references further out
    return BatchedVectorJoin(plan.left, right, plan.kind, plan.condition, plan.fields,
                             plan.lateral_cols)
