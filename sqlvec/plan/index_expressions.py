"""Expression indexes: where a query computes an indexed expression, it reads its values.

A vector index on an expression (pgvector's `CREATE INDEX ... USING hnsw
((emb::halfvec(3)) halfvec_l2_ops)`) keeps the expression's values in a hidden stored column
of the table (exec/ddl.py), and the binder lists such columns on the table's Scan
(`L.Scan.derived`: the hidden column's field, and the expression bound over the scan's
fields). `read_index_expressions` rewrites the Project right above such a scan, the Filter
between them and the scan's own filter: a subexpression equal to an indexed expression
becomes a reference to the hidden column, which the scan then reads too (one more field).
The ANN rule (plan/vector_search.py) then finds `hidden <-> q` and the index on it, as for
a column; PostgreSQL's planner matches index expressions the same way, by equal trees.
The session runs it after binding, only when a scan has such columns (BindContext.derived).
"""

from __future__ import annotations

import dataclasses

from sqlvec.plan import expr as E
from sqlvec.plan import logical as L


def read_index_expressions(plan: L.Plan) -> L.Plan:
    """plan, with the rewrite above made under every node (a copy where it changed)."""
    changes = {}
    for f in dataclasses.fields(plan):  # type: ignore[arg-type]
        v = getattr(plan, f.name)
        if isinstance(v, L.Plan):
            nv = read_index_expressions(v)
            if nv is not v:
                changes[f.name] = nv
    if changes:
        plan = dataclasses.replace(plan, **changes)  # type: ignore[type-var]
    return _over_scan(plan) or plan


def _over_scan(plan: L.Plan) -> L.Plan | None:
    """A Project over [a Filter over] a Scan with derived columns, reading them (or None).
    (Only under a Project: it fixes the row above, so the scan's wider row stays below it.)"""
    if not isinstance(plan, L.Project):
        return None
    below = plan.input
    scan = below.input if isinstance(below, L.Filter) else below
    if not isinstance(scan, L.Scan) or not scan.derived or scan.with_rowid:
        return None
    added: list[L.Field] = []

    def read(e: E.Expr) -> E.Expr:
        for f, d in scan.derived:
            if e == d:
                if f not in added:
                    added.append(f)
                return E.ColRef(len(scan.fields) + added.index(f), f.type, f.name)
        return E.map_children(e, read)

    exprs = tuple(read(e) for e in plan.exprs)
    where = read(below.predicate) if isinstance(below, L.Filter) else None
    pred = read(scan.filter) if scan.filter is not None else None
    if not added:
        return None
    scan = dataclasses.replace(scan, fields=scan.fields + tuple(added), filter=pred)
    below = dataclasses.replace(below, input=scan, predicate=where) if where is not None else scan
    return dataclasses.replace(plan, input=below, exprs=exprs)
