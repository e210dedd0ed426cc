"""The ANN planner rule: ORDER BY distance(col, const) LIMIT k over a scan -> VectorSearch.

`top_n_to_vector_search` rewrites

    Limit(k, offset) <- Sort(one key: d) <- Project(..., d = col <op> q, ...) <- [Filter] <- Scan

into the same Limit/Sort/Project over a `VectorSearch` leaf that yields only the best
k + offset rows of the (filtered) scan, in (distance, row id) order; the Sort above then
orders a handful of rows. Whether an index serves it, and how the filter is applied
(exact scan over the passing rows, or ANN with widening over-fetch), is decided when it
runs, from the table's indexes and the rows that pass (sqlvec/exec/vector_search.py).
Each bail-out below is an early return with its reason.

    >>> VECTOR_OPERATORS["<=>"]
    'cos'
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlvec.plan import expr as E
from sqlvec.plan import logical as L

VECTOR_OPERATORS = {"<->": "l2", "<#>": "ip", "<=>": "cos", "<+>": "l1", "<~>": "hamming",
                    "<%>": "jaccard", "l2_distance": "l2", "cosine_distance": "cos",
                    "l1_distance": "l1", "hamming_distance": "hamming",
                    "jaccard_distance": "jaccard"}
VECTOR_TYPES = ("vector", "halfvec", "bf16vec", "int8vec", "sparsevec", "bit", "varbit")


@dataclass(frozen=True)
class VectorSearch(L.Plan):
    """Top-k rows of a table by a distance to a constant, NULL distances last.

    Output fields are the scan's; `column` indexes them; `query` has no column refs;
    `k` = limit + offset, evaluated at run time (a Param is fine).
    """

    scan: L.Scan
    column: int
    operator: str
    metric: str
    distance: E.Func  # the distance expression over the scan's fields (exact path, re-check)
    query: E.Expr
    limit: E.Expr
    offset: E.Expr | None = None
    # one more output field after the scan's: the distance of each row (the value `distance`
    # gives), so the Project above reads it instead of computing it again
    with_distance: bool = False
    # whether the node's consumer reads the vector column itself (False: only the distance
    # needs the vectors, and the index path leaves that output column NULL)
    vector_read: bool = True

    @property
    def fields(self) -> tuple[L.Field, ...]:  # type: ignore[override]
        if self.with_distance:
            return (*self.scan.fields, L.Field("distance", self.distance.type))
        return self.scan.fields

    @property
    def table(self) -> object:
        return self.scan.table

    @property
    def filter(self) -> E.Expr | None:
        return self.scan.filter

    def explain_label(self) -> str:
        return f"Vector Search on {getattr(self.scan.table, 'name', '?')}"

    def explain_details(self) -> list[str]:
        f = self.scan.fields[self.column]
        col = next((str(e) for d, e in self.scan.derived if d == f), f.name)  # (an index's expression)
        out = [f"Order By: {col} {self.operator} {self.query}",
               f"Limit: {self.limit}" + (f" Offset: {self.offset}" if self.offset else "")]
        if self.scan.filter is not None:
            out.append(f"Filter: {self.scan.filter}")
        from sqlvec.exec.vector_search import STRATEGY  # filled when it ran (EXPLAIN ANALYZE)

        done = STRATEGY.get(id(self))
        out.append(f"Strategy: {done}" if done else
                   "Strategy: matching hnsw/ivfflat index with filter over-fetch when many rows "
                   "pass, else exact top-k scan (decided per execution)")
        return out


def _strip_casts(e: E.Expr) -> E.Expr:
    while isinstance(e, E.Cast) and not e.explicit:
        e = e.arg
    return e


def _is_constant(e: E.Expr) -> bool:
    """Constant for one execution of the scan: no column of it, subquery or volatile call.

    Outer references are fine (a LATERAL query vector: one search per outer row, the
    table read once per statement)."""
    for x in E.walk(e):
        if isinstance(x, E.ColRef | E.Subquery | E.AggCall):
            return False
        if isinstance(x, E.Func) and getattr(x.fn, "volatile", False):
            return False
    return isinstance(e, E.Const | E.Param | E.Cast | E.Func | E.OuterRef)


def _distance_expr(e: E.Expr) -> tuple[int, E.Expr, str] | None:
    """(column index, query expression, operator) when e is `col <op> const`."""
    if not isinstance(e, E.Func) or e.name not in VECTOR_OPERATORS or len(e.args) != 2:
        return None
    a, b = _strip_casts(e.args[0]), e.args[1]
    if not isinstance(a, E.ColRef) and isinstance(_strip_casts(b), E.ColRef):
        a, b = _strip_casts(b), e.args[0]  # const <op> col: every metric is symmetric
    if not isinstance(a, E.ColRef) or not _is_constant(b):
        return None
    if a.type.short not in VECTOR_TYPES:
        return None
    return a.index, b, e.name


def top_n_to_vector_search(plan: L.Plan) -> L.Plan | None:
    """Limit <- Sort(distance) <- Project <- [Filter] <- Scan  ==>  ... <- VectorSearch."""
    if not isinstance(plan, L.Limit) or plan.limit is None or plan.with_ties:
        return None  # no LIMIT (or WITH TIES): the whole order is wanted
    sort = plan.input
    if not isinstance(sort, L.Sort) or len(sort.keys) != 1:
        return None  # secondary sort keys: leave it to the general sort
    key = sort.keys[0]
    if key.desc or key.nulls_first:
        return None  # farthest-first is not what an ANN index serves
    proj = sort.input
    if not isinstance(proj, L.Project):
        return None
    sort_expr = key.expr
    through_project = isinstance(sort_expr, E.ColRef) and sort_expr.index < len(proj.exprs)
    if through_project:
        sort_expr = proj.exprs[sort_expr.index]
    found = _distance_expr(sort_expr)
    if found is None:
        return None  # not ORDER BY col <op> constant
    col, query, op = found
    src = proj.input
    pred: E.Expr | None = None
    if isinstance(src, L.Filter):
        pred, src = src.predicate, src.input
    if not isinstance(src, L.Scan) or src.with_rowid or getattr(src.table, "system", False):
        return None  # joins, subqueries, DML sources and catalog tables keep the plain plan
    if pred is not None and any(isinstance(x, E.Subquery | E.OuterRef) for x in E.walk(pred)):
        return None  # correlated or subquery filters: evaluated by the general path
    if pred is not None:
        both = pred if src.filter is None else E.BoolOp("and", (src.filter, pred), pred.type)
        src = dataclasses.replace(src, filter=both)
    assert isinstance(sort_expr, E.Func)
    # the select list's distance (the ORDER BY key) becomes a column the search yields
    dist = E.ColRef(len(src.fields), sort_expr.type, "distance")
    exprs = tuple(dist if through_project and x == sort_expr else x for x in proj.exprs)
    vs = VectorSearch(src, col, op, VECTOR_OPERATORS[op], sort_expr, query, plan.limit,
                      plan.offset, with_distance=exprs != proj.exprs)
    vs, exprs = _prune_columns(vs, exprs)
    return dataclasses.replace(plan, input=dataclasses.replace(
        sort, input=dataclasses.replace(proj, input=vs, exprs=exprs)))


def _remap(e: E.Expr, new_of: dict[int, int]) -> E.Expr | None:
    """e with its column references renumbered (ColRef, Cast and Func nodes; None when
    another node holds a column reference)."""
    if isinstance(e, E.ColRef):
        return dataclasses.replace(e, index=new_of[e.index])
    if isinstance(e, E.Cast):
        arg = _remap(e.arg, new_of)
        return None if arg is None else dataclasses.replace(e, arg=arg)
    if isinstance(e, E.Func):
        args = tuple(_remap(a, new_of) for a in e.args)
        return None if any(a is None for a in args) else dataclasses.replace(e, args=args)
    return None if any(isinstance(x, E.ColRef) for x in E.walk(e)) else e


def _prune_columns(vs: VectorSearch, exprs: tuple[E.Expr, ...]
                   ) -> tuple[VectorSearch, tuple[E.Expr, ...]]:
    """Keep the scan columns the select list reads and the vector column: the search then
    fetches only those for its k rows. Applies when the select list is plain columns (and
    the distance) and there is no filter (it reads its own columns); else unchanged.

        >>> # SELECT id FROM t(id, tag, emb) ORDER BY emb <-> $1: the search reads id, emb
    """
    n = len(vs.scan.fields)
    if vs.scan.filter is not None or not all(type(e) is E.ColRef for e in exprs):
        return vs, exprs
    used = sorted({e.index for e in exprs if e.index < n} | {vs.column})
    if len(used) == n and any(e.index == vs.column for e in exprs):
        return vs, exprs
    new_of = {old: i for i, old in enumerate(used)}
    distance = _remap(vs.distance, new_of)
    if not isinstance(distance, E.Func):
        return vs, exprs
    scan = dataclasses.replace(vs.scan, fields=tuple(vs.scan.fields[i] for i in used))
    read = any(e.index == vs.column for e in exprs)
    exprs = tuple(dataclasses.replace(e, index=new_of[e.index] if e.index < n else len(used))
                  for e in exprs)
    return dataclasses.replace(vs, scan=scan, column=new_of[vs.column], distance=distance,
                               vector_read=read), exprs
