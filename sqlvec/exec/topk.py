"""ORDER BY ... LIMIT k: the input streams through a bounded set of the best k rows so far.

`run_topn` keeps at most k candidate rows (sorted) while batches arrive: a batch's rows
that cannot beat the current k-th row's first key are dropped at once, the rest pile up
and are merged with the kept rows now and then (a partial selection when k is small next
to the rows, a stable full sort otherwise). Kept rows precede newer rows in each merge, so
ties keep input order and the result equals the stable full sort's.

`topk_indices` is the partial selection for one numeric key without NULLs or NaNs (whose
placement the full sort handles); rows tied with the k-th key are all kept as candidates
and ordered by input position.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from sqlvec.index.base import kth_smallest
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L

MERGE_ROWS = 65536  # candidate rows piled up before they are merged with the kept ones


def run_topn(ex: Any, sort: L.Sort, offset: int, limit: int) -> Iterator[pa.RecordBatch]:
    """Rows offset .. offset+limit of sort's input in key order, holding about k rows."""
    from sqlvec.exec.operators import empty_batch, schema_of
    from sqlvec.exec.stream import prefetch

    k = offset + limit
    if _presorted(sort):  # a vector search's rows arrive in the order of its distance column
        rows = _search_rows(ex, sort.input)
        if not rows:
            yield empty_batch(sort.input)
            return
        b = rows[0] if len(rows) == 1 else \
            pa.Table.from_batches(rows).combine_chunks().to_batches()[0]
        yield b if offset == 0 and b.num_rows <= limit else b.slice(offset, limit)
        return
    schema = schema_of(sort.input)
    batches = prefetch(ex.ctx, sort.input, ex.run(sort.input))  # scan/filter one batch ahead
    try:
        kept = _select(ex, sort, k, schema, batches)
    finally:
        batches.close()
    if kept is None:
        yield empty_batch(sort.input)
        return
    out = kept.slice(offset, limit).combine_chunks()
    yield from out.to_batches() or [empty_batch(sort.input)]


def _search_rows(ex: Any, proj: L.Project) -> list[pa.RecordBatch]:
    """The non-empty batches of a Project of plain columns over a VectorSearch: the search
    run directly and its batches' columns picked (what the executor's Project does for
    such a node, without its dispatch; EXPLAIN ANALYZE, which counts rows per node through
    its own `run`, goes the usual way)."""
    if "run" not in ex.__dict__:
        hit = _PICKED.get(id(proj))
        if hit is None or hit[0] is not proj:
            from sqlvec.exec.operators import _picks, node_schema
            from sqlvec.exec.vector_search import run_vector_search

            picks, same = _picks(proj)
            if len(_PICKED) > 1024:
                _PICKED.clear()
            hit = _PICKED[id(proj)] = (proj, picks if same else None, node_schema(proj),
                                       run_vector_search)
        _p, picks, schema, run = hit
        if picks is not None:
            ex.ctx.check_cancel()
            out = []
            for b in run(ex.ctx, proj.input):
                if b.num_rows:
                    if picks == _ALL.get(b.num_columns):  # (every column, in order)
                        arrays = b.columns
                    else:
                        arrays = [b.column(i) for i in picks]
                    if not all(a.type == f.type for a, f in zip(arrays, schema)):
                        return [b for b in ex.run(proj) if b.num_rows]  # (the Project casts)
                    out.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
            return out
    return [b for b in ex.run(proj) if b.num_rows]


# id(Project node) -> (the node, its plain column picks or None, its schema, the search)
_PICKED: dict[int, tuple] = {}
_ALL = {n: list(range(n)) for n in range(1, 9)}


_PRESORTED: dict[int, tuple[L.Sort, bool]] = {}


def _presorted(sort: L.Sort) -> bool:
    """Whether the sort's input already arrives in key order, so the sort has nothing to do:
    `ORDER BY d LIMIT k` over the Project of a VectorSearch (plan/vector_search.py) whose
    rows come in the (stable) order of the distance column it yields, which is d.
    Decided once per plan node."""
    hit = _PRESORTED.get(id(sort))
    if hit is not None and hit[0] is sort:
        return hit[1]
    from sqlvec.plan.vector_search import VectorSearch

    ok = False
    proj = sort.input
    if len(sort.keys) == 1 and isinstance(proj, L.Project) and isinstance(proj.input, VectorSearch):
        key, vs = sort.keys[0], proj.input
        e = key.expr
        if (not key.desc and not key.nulls_first and vs.with_distance
                and isinstance(e, E.ColRef) and e.index < len(proj.exprs)):
            d = proj.exprs[e.index]
            ok = isinstance(d, E.ColRef) and d.index == len(vs.scan.fields)
    if len(_PRESORTED) > 1024:
        _PRESORTED.clear()
    _PRESORTED[id(sort)] = (sort, ok)
    return ok


def _select(ex: Any, sort: L.Sort, k: int, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> pa.Table | None:
    """The best k rows of the batches, in key order (None without rows)."""
    kept: pa.Table | None = None
    pile: list[pa.RecordBatch] = []
    piled = 0
    for b in batches:
        ex.ctx.check_cancel()
        if not b.num_rows:
            continue
        if kept is not None and kept.num_rows >= k:
            b = _can_enter(ex, b, kept, sort.keys)
            if not b.num_rows:
                continue
        pile.append(b)
        piled += b.num_rows
        if piled >= max(k, MERGE_ROWS):
            kept = _merge(ex, kept, pile, sort.keys, k, schema)
            pile, piled = [], 0
    if pile:
        kept = _merge(ex, kept, pile, sort.keys, k, schema)
    return kept


def _merge(ex: Any, kept: pa.Table | None, pile: list[pa.RecordBatch], keys: tuple[L.SortKey, ...],
           k: int, schema: pa.Schema) -> pa.Table:
    """The best k rows of kept + pile, in key order (kept first: ties keep input order)."""
    from sqlvec.exec.operators import _conform, sort_indices

    batches = ([] if kept is None else kept.to_batches()) + [_conform(b, schema) for b in pile]
    t = pa.Table.from_batches(batches, schema=schema).combine_chunks()
    if len(keys) == 1 and t.num_rows <= max(k, 64) and _in_order(ex.ev, t, keys[0]):
        return t.slice(0, k)  # (a vector search's rows arrive ordered by their distance)
    idx = None
    if 0 < k * 4 < t.num_rows:
        idx = topk_indices(ex.ev, t, keys[0], k) if len(keys) == 1 else topk_multi(ex.ev, t, keys, k)
    if idx is None:
        idx = sort_indices(ex.ev, t, keys).slice(0, k) if t.num_rows > 1 else None
    return t.take(idx) if idx is not None else t


def _in_order(ev: Any, t: pa.Table, key: L.SortKey) -> bool:
    """Whether the rows already are in key order (numbers without NULL or NaN): a stable
    sort would leave them as they are."""
    bs = t.to_batches()
    if len(bs) != 1:
        return False
    col = ev.eval(key.expr, bs[0])
    if not isinstance(col, pa.Array) or col.null_count or not (
            pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return False
    v = col.to_numpy(zero_copy_only=False)
    if v.dtype.kind == "f" and np.isnan(v).any():
        return False
    return bool((v[1:] <= v[:-1]).all() if key.desc else (v[1:] >= v[:-1]).all())


def _can_enter(ex: Any, b: pa.RecordBatch, kept: pa.Table, keys: tuple[L.SortKey, ...]) -> pa.RecordBatch:
    """The rows of b that may still be among the first k: by the first key against the k-th
    kept row's (ties only when later keys can break them). b whole when that does not apply."""
    key = keys[0]
    col = ex.ev.eval(key.expr, b)
    if not isinstance(col, pa.Array) or col.null_count or not (
            pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return b
    last = ex.ev.eval(key.expr, kept.slice(kept.num_rows - 1).combine_chunks().to_batches()[0])
    kth = last[0].as_py() if isinstance(last, pa.Array) else None
    if kth is None or kth != kth:  # NULL or NaN k-th key: leave the order to the full merge
        return b
    v = col.to_numpy(zero_copy_only=False)
    if v.dtype.kind == "f" and np.isnan(v).any():
        return b
    if len(keys) > 1:
        keep = v >= kth if key.desc else v <= kth
    else:
        keep = v > kth if key.desc else v < kth
    return b if keep.all() else b.filter(pa.array(keep))


def topk_multi(ev: Any, t: pa.Table, keys: tuple[L.SortKey, ...], k: int) -> pa.Array | None:
    """Top-k under several keys: candidates by the first key's threshold, then a full sort of those."""
    from sqlvec.exec.operators import sort_indices

    first = topk_indices(ev, t, keys[0], k, candidates=True)
    if first is None:
        return None
    sub = t.take(first)
    order = np.asarray(sort_indices(ev, sub, keys))[:k]
    return pa.array(np.asarray(first)[order])


def topk_indices(ev: Any, t: pa.Table, key: L.SortKey, k: int, candidates: bool = False) -> pa.Array | None:
    """Row indices of the first k rows in key order, or None when the fast path does not apply.

    With candidates=True: every row that can be among the first k (all ties of the k-th
    key included), in input order."""
    bs = t.combine_chunks().to_batches()
    if not bs:
        return None
    col = ev.eval(key.expr, bs[0])
    if col.null_count or not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return None
    v = col.to_numpy(zero_copy_only=False)
    if v.dtype.kind == "f":
        if np.isnan(v).any():
            return None
        v = -v if key.desc else v
    else:
        v = v.astype(np.int64)
        if key.desc:
            if (v == np.iinfo(np.int64).min).any():
                return None
            v = -v
    n = len(v)
    if k >= n:
        return None
    kth = kth_smallest(v, k)
    cand = np.flatnonzero(v <= kth)
    if candidates:
        return pa.array(cand)
    order = np.lexsort((cand, v[cand]))  # key, then input position (stable)
    return pa.array(cand[order][:k])
