"""What plain EXPLAIN says a vector search will do, without running it.

EXPLAIN ANALYZE reports the strategy an execution took (vector_search.STRATEGY, filled as
it runs). Plain EXPLAIN runs nothing, so it states the choice the execution will make
from what is known before the query vector and the WHERE clause are evaluated: the index
that serves the column and operator (pgvector's EXPLAIN names it too), the table's row
count against `sqlvec.exact_scan_threshold`, and, with a filter, that the count of
passing rows decides between the index with over-fetch and an exact scan of those rows.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from sqlvec.exec import vector_search as VS
from sqlvec.plan import logical as L
from sqlvec.plan.vector_search import VectorSearch


def vector_searches(plan: L.Plan) -> list[VectorSearch]:
    """The VectorSearch nodes of a plan tree (inputs, CTEs and subquery plans not followed)."""
    out: list[VectorSearch] = []
    todo: list[Any] = [plan]
    while todo:
        node = todo.pop()
        if isinstance(node, VectorSearch):
            out.append(node)
        if isinstance(node, L.Plan) and dataclasses.is_dataclass(node):
            for f in dataclasses.fields(node):
                v = getattr(node, f.name)
                if isinstance(v, L.Plan):
                    todo.append(v)
                elif isinstance(v, tuple | list):
                    todo.extend(x for x in v if isinstance(x, L.Plan))
    return out


def planned_strategy(ctx: Any, p: VectorSearch) -> str:
    """One line: the index the search will use (and when), or why it scans exactly."""
    rows = ctx.txn.row_count(p.scan.table.oid)
    threshold = VS.exact_threshold(ctx, p=p)
    defs = VS._index_defs(ctx, p)
    if not defs:
        return f"exact top-k scan of {rows} rows (no matching index)"
    idx, oc = defs[0]
    name = f"{idx.method} index {idx.name} ({oc.name})"
    if rows <= threshold:
        if threshold == sys.maxsize:
            return f"exact top-k scan of {rows} rows (enable_indexscan = off; not {name})"
        return (f"exact top-k scan of {rows} rows ({VS.exact_reason(ctx, p)}; "
                f"{name} serves bigger tables)")
    if p.scan.filter is not None:
        return (f"{name} with filter over-fetch when more than {threshold} of {rows} rows "
                f"pass, else an exact scan of the passing rows (counted per execution)")
    return f"{name} over {rows} rows"


def note_planned(ctx: Any, plan: L.Plan) -> None:
    """Record each vector search's planned strategy where EXPLAIN's details read it."""
    for p in vector_searches(plan):
        if len(VS.STRATEGY) > 256:
            VS.STRATEGY.clear()
        VS.STRATEGY[id(p)] = planned_strategy(ctx, p)
