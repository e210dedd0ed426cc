"""The BatchedVectorJoin operator: a LATERAL top-k vector search for all outer rows at once.

The outer side is read once; its distinct query vectors form one (n, d) matrix that goes
to the index in ONE search call (`search_many`: hnsw/ivfflat with a widening over-fetch
for the queries short of k passing rows) or to one exact matrix top-k
(`sqlvec.index.exact.exact_search`: matrix product + argpartition, re-scored with the
operators' own formulas, ties by row id). The inner query's select list, ORDER BY and
LIMIT/OFFSET then run once over all (outer row, result row) pairs, with the outer
references read from the outer row's columns, and the join's ON condition / LEFT padding
are applied as the per-row path does (sqlvec/exec/join.py `_lateral`), with rows in outer
row order.

    >>> # queries q (100 rows) x LATERAL (... ORDER BY t.emb <-> q.emb LIMIT 10)
    >>> # -> 1 index.search(Q[100, d], k) instead of 100 searches
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.exec import vector_search as VS
from sqlvec.exec.evaluate import group_ids
from sqlvec.plan import expr as E
from sqlvec.plan.multi_search import BatchedVectorJoin, inner_shape
from sqlvec.plan.vector_search import VectorSearch

# what each recently executed BatchedVectorJoin did, by id(node): EXPLAIN ANALYZE prints it
STRATEGY: dict[int, str] = {}
# fewer distinct targets than this run the per-row path: a batch reads the scan's rows once
# per statement (~5 ms at 100k rows), a single index search does not; measured crossover 3-4
MIN_TARGETS = 3


# ---- batched top-k ---------------------------------------------------------------------------

def _rows(ctx: Any, p: VectorSearch) -> VS._Rows:
    """The scan's rows and passing mask, read once per statement (shared with VectorSearch)."""
    cache = ctx.__dict__.setdefault("_vector_search_rows", {})
    hit = cache.get(id(p))
    if hit is None or hit[0] is not p:
        cache[id(p)] = hit = (p, VS._read(ctx, p))
    return hit[1]


def _dim(a: pa.Array, short: str) -> int:
    """Dimensions (bits for bit strings) of the first value of a one-dimension array."""
    if short in ("bit", "varbit"):
        from sqlvec.functions.vectors.textio import bit_matrix
        return bit_matrix(a.slice(0, 1))[1]
    return int(np.asarray(VS._matrix(a.slice(0, 1), short)).shape[1])


def _check_dims(p: VectorSearch, rows: VS._Rows, queries: pa.Array, qshort: str) -> None:
    """A query of another dimension raises the operator's own error (22000), as per row."""
    if not rows.passing.any():
        return
    first = int(np.flatnonzero(rows.passing)[0])
    short = p.scan.fields[p.column].type.short
    vec = VS.take_rows(rows.table.column(p.column + 1), np.array([first]))
    if _dim(queries, qshort) == _dim(vec, short):
        return
    col_first = isinstance(VS._strip(p.distance.args[0]), E.ColRef)
    q = queries.slice(0, 1)
    p.distance.fn.call([vec, q] if col_first else [q, vec], 1)  # raises 22000
    raise AssertionError("dimension mismatch not reported")  # pragma: no cover


def _query_matrix(queries: pa.Array, short: str) -> np.ndarray:
    return np.asarray(VS.kernel_rows(VS._matrix(queries, short), short))


def _exact_many(ctx: Any, p: VectorSearch, rows: VS._Rows, qm: np.ndarray, k: int
                ) -> list[np.ndarray]:
    """Positions of the exact top-k passing rows per query: one matrix top-k for all."""
    from sqlvec.index.exact import exact_search

    pos = np.flatnonzero(rows.passing)
    if not len(pos) or not len(qm):
        return [np.zeros(0, np.int64) for _ in range(len(qm))]
    xp = VS.kernel_module(ctx, len(pos) * len(qm) // 100)
    if VS._kernel_fits(p):  # (the queries' dimension: _check_dims)
        out = []
        for s in range(0, len(qm), 1024):  # queries per call: bounds the distance blocks
            ctx.check_cancel()
            out += VS.exact_top(xp, p, rows, qm[s:s + 1024], k)
        return out
    short = p.scan.fields[p.column].type.short
    data = np.asarray(VS.kernel_rows(VS._matrix(VS.take_rows(rows.table.column(p.column + 1),
                                                              pos), short), short))
    # position order = row id order (a stable tie-break) when the scan is ascending
    keys = np.arange(len(pos), dtype=np.int64) if rows.order is None else rows.rowids[pos]
    out = []
    step = 1024  # queries per call: bounds the (queries x rows) distance block
    for s in range(0, len(qm), step):
        ctx.check_cancel()
        got, _d = exact_search(xp, data, keys, qm[s:s + step], k, p.metric)
        for row in got:
            row = row[row >= 0]
            out.append(pos[row] if rows.order is None else rows.positions(row)[0])
    return out


def _index(ctx: Any, p: VectorSearch, rows: VS._Rows, d: tuple) -> tuple[Any, int, Any]:
    """(search(queries, want) -> keys (nq, want), rows indexed, kind) of the index `d`.

    The index holds every row the query sees (VectorSearch's `_entry`); with per-segment
    graphs (exec/segment_index.py) the parts and the delta graph are searched and merged.
    """
    got = VS._entry(ctx, p, rows, *d)
    if isinstance(got, tuple):  # per-segment graphs + the delta graph
        from sqlvec.exec import segment_index as SI

        built, parts = got
        return (lambda qm, want, params: SI.search(built, parts, qm, want, params)[0],
                SI.size(built, parts), built.kind)
    built = got

    def search(qm: np.ndarray, want: int, params: Any) -> np.ndarray:
        if built.kind == "hnsw" and not getattr(built.index, "reranks", True):
            return built.index.search(qm, want, params)[0]  # usearch is thread-safe
        with built.lock:  # numpy-backed kinds swap arrays while growing
            return built.index.search(qm, want, params)[0]
    return search, len(built.keys), built.kind


def _ann_many(ctx: Any, p: VectorSearch, rows: VS._Rows, qm: np.ndarray, k: int,
              index: tuple[Any, int, Any]) -> list[np.ndarray | None]:
    """Positions of k passing rows per query through the index, all queries in one call.

    Queries short of k passing candidates are searched again (together) with a 4x wider
    over-fetch; None for those that exhaust `sqlvec.max_overfetch` (ranked exactly).
    """
    search, total, kind = index
    n_pass = int(rows.passing.sum())
    total = max(total, 1)
    fetch = max(k, int(math.ceil(k * 1.5 * total / max(n_pass, 1))))
    limit = VS._int_setting(ctx, "sqlvec.max_overfetch", VS.MAX_OVERFETCH)
    params = VS._search_params(ctx, kind)
    out: list[np.ndarray | None] = [None] * len(qm)
    todo = np.arange(len(qm))
    while len(todo):
        ctx.check_cancel()
        want = min(fetch, total)
        keys = np.asarray(search(qm[todo], want, params), np.int64).reshape(len(todo), -1)
        flat = keys.ravel()
        pos, found = rows.positions(np.where(flat >= 0, flat, -1))
        ok = (flat >= 0) & found & rows.passing[pos]
        ok = ok.reshape(keys.shape)
        pos = pos.reshape(keys.shape)
        enough = ok.sum(axis=1) >= k
        done = enough | (want >= total)
        for i in np.flatnonzero(done):
            out[todo[i]] = pos[i][ok[i]][:k]
        todo = todo[~done]
        if fetch >= limit:
            break  # the rest: rank the passing rows exactly
        fetch = min(fetch * 4, limit)
    return out


def search_many(ctx: Any, p: VectorSearch, queries: pa.Array, k: int
                ) -> tuple[VS._Rows, list[np.ndarray], str]:
    """Top-k passing rows of a VectorSearch for each query vector, in one batched search.

    Returns the scan's rows, per query the positions of its result rows in (distance,
    row id) order (NULL vectors last, a NULL query: any k passing rows), and the strategy.
    """
    rows = _rows(ctx, p)
    n_all = len(rows.rowids)
    k = min(k, n_all)
    nq = len(queries)
    if k <= 0:
        return rows, [np.zeros(0, np.int64)] * nq, "no rows"
    qvalid = np.asarray(queries.is_valid().to_numpy(zero_copy_only=False), bool) \
        if queries.null_count else np.ones(nq, bool)
    live = np.flatnonzero(qvalid)
    result: list[np.ndarray] = [np.flatnonzero(rows.passing | rows.null_vec)[:k]] * nq
    n_pass = int(rows.passing.sum())
    strategy = f"exact matrix top-k of {n_pass} passing rows for {len(live)} targets"
    if len(live):
        qshort = p.query.type.short if p.query.type.short in VS._DTYPE else \
            p.scan.fields[p.column].type.short
        qarr = queries.filter(pa.array(qvalid)) if queries.null_count else queries
        _check_dims(p, rows, qarr, qshort)
        qm = _query_matrix(qarr, qshort)
        defs = VS._index_defs(ctx, p) if n_pass > VS.exact_threshold(ctx, p=p) else []
        got: list[np.ndarray | None] = [None] * len(live)
        if defs:
            index = _index(ctx, p, rows, defs[0])
            got = _ann_many(ctx, p, rows, qm, k, index)
            exhausted = sum(g is None for g in got)
            strategy = (f"{index[2]} {defs[0][0].name}, one search of {len(live)} targets; "
                        f"{n_pass} of {n_all} rows pass" +
                        (f"; {exhausted} targets ranked exactly (over-fetch exhausted)"
                         if exhausted else ""))
        short_of = [i for i, g in enumerate(got) if g is None]
        if short_of:
            exact = _exact_many(ctx, p, rows, qm[short_of], k)
            for i, e in zip(short_of, exact):
                got[i] = e
        nulls = np.flatnonzero(rows.null_vec)
        for i, g in zip(live, got):
            assert g is not None
            result[i] = g if len(g) >= k or not len(nulls) else \
                np.concatenate([g, nulls[: k - len(g)]])  # NULL vectors come last
    return rows, result, strategy


# ---- the join --------------------------------------------------------------------------------

def _remap(e: E.Expr, lw: int) -> E.Expr:
    """An inner-side expression over [outer row columns, inner columns]: ColRef i -> lw + i,
    level-1 OuterRef j -> ColRef j."""
    if isinstance(e, E.ColRef):
        return E.ColRef(e.index + lw, e.type, e.name)
    if isinstance(e, E.OuterRef):
        return E.ColRef(e.index, e.type, e.name)
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(e):  # type: ignore[arg-type]
        v = getattr(e, f.name)
        if isinstance(v, E.Expr):
            changes[f.name] = _remap(v, lw)
        elif isinstance(v, tuple) and v and all(isinstance(x, E.Expr) for x in v):
            changes[f.name] = tuple(_remap(x, lw) for x in v)
        elif isinstance(v, tuple) and v and all(isinstance(x, tuple) for x in v):
            changes[f.name] = tuple(tuple(_remap(y, lw) if isinstance(y, E.Expr) else y
                                          for y in x) for x in v)
    return dataclasses.replace(e, **changes) if changes else e  # type: ignore[type-var]


def _eval_pairs(ex: Any, exprs: Any, outer: pa.RecordBatch, inner: list[pa.Array]) -> list[pa.Array]:
    """Inner-side expressions over row pairs: outer columns first, then the inner ones."""
    lw = outer.num_columns
    cols = [*outer.columns, *inner]
    batch = pa.RecordBatch.from_arrays(cols, names=[f"c{i}" for i in range(len(cols))])
    out = []
    for e in exprs:
        a = ex.ev.eval(_remap(e, lw), batch)
        out.append(a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a)
    return out


def _sort_key(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(class, value): numbers 0, NaN 1, NULL 2 (ascending, nulls last, as the Sort does)."""
    valid = np.asarray(a.is_valid().to_numpy(zero_copy_only=False), bool) if a.null_count \
        else np.ones(len(a), bool)
    v = np.asarray(pc.fill_null(a, 0).to_numpy(zero_copy_only=False), np.float64)
    nan = np.isnan(v)
    return np.where(valid, np.where(nan, 1, 0), 2), np.where(nan | ~valid, 0.0, v)


def _limit(ctx: Any, p: VectorSearch) -> tuple[int | None, int]:
    lim = VS._eval_scalar(ctx, p.limit)
    off = VS._eval_scalar(ctx, p.offset)
    limit = None if lim is None or not lim.is_valid else int(lim.as_py())
    offset = 0 if off is None or not off.is_valid else int(off.as_py())
    return limit, offset


def run_batched_join(ex: Any, p: BatchedVectorJoin) -> Iterator[pa.RecordBatch]:
    """Execute a BatchedVectorJoin: same rows as the LATERAL join, one batched search."""
    from sqlvec.exec.join import _combine, _lateral, _one_batch
    from sqlvec.exec.operators import schema_of

    ctx = ex.ctx
    shape = inner_shape(p.right)
    left = ex.table(p.left)
    if shape is None:  # another rule reshaped the inner side: the per-row path
        yield from _lateral(ex, p.join(), left)
        return
    vs = shape.search
    lb = _one_batch(left)
    nl = lb.num_rows
    keys = pa.table([lb.column(i) for i in p.lateral_cols], names=[f"k{i}" for i in p.lateral_cols])
    gid, _uniq = group_ids(keys) if nl else (np.zeros(0, np.int64), keys)
    ng = int(gid.max()) + 1 if nl else 0
    if ng < MIN_TARGETS:
        if len(STRATEGY) > 256:
            STRATEGY.clear()
        STRATEGY[id(p)] = f"{ng} distinct target(s): one search per outer row"
        yield from _lateral(ex, p.join(), left)
        return
    first = np.full(ng, nl, np.int64)
    np.minimum.at(first, gid, np.arange(nl))
    reps = lb.take(pa.array(first)) if ng else lb.slice(0, 0)  # one outer row per target
    limit, offset = _limit(ctx, vs)
    if limit is not None and limit < 0:
        from sqlvec.core.errors import InvalidRowCountInLimitClause
        raise InvalidRowCountInLimitClause("LIMIT must not be negative")
    if offset < 0:
        from sqlvec.core.errors import InvalidRowCountInResultOffsetClause
        raise InvalidRowCountInResultOffsetClause("OFFSET must not be negative")
    k = 2**62 if limit is None else limit + offset
    queries = _eval_pairs(ex, [vs.query], reps, [])[0] if ng else pa.array([], vs.query.type.arrow)
    rows, found, strategy = search_many(ctx, vs, queries, k) if ng and k > 0 else \
        (None, [np.zeros(0, np.int64)] * ng, "no rows")
    if len(STRATEGY) > 256:
        STRATEGY.clear()
    STRATEGY[id(p)] = strategy
    counts = np.array([len(f) for f in found], np.int64)
    rgid = np.repeat(np.arange(ng), counts)  # target of each result row
    if rows is not None and len(rgid):
        hits = VS.take_rows(rows.table, np.concatenate(found)).drop_columns(["_rowid"])
        inner = [c.combine_chunks() for c in hits.columns]
    else:
        inner = [pa.array([], f.type.arrow) for f in vs.fields]
    outer_rows = reps.take(pa.array(rgid)) if len(rgid) else reps.slice(0, 0)
    if vs.with_distance and len(inner) < len(vs.fields):  # the search's distance column
        inner += _eval_pairs(ex, [vs.distance], outer_rows, inner)
    # the inner query's select list, ORDER BY (stable over the search order) and LIMIT/OFFSET
    proj = _eval_pairs(ex, shape.project.exprs, outer_rows, inner)
    cls, val = _sort_key(_eval_pairs(ex, [shape.sort.keys[0].expr], outer_rows, proj)[0])
    order = np.lexsort((np.arange(len(rgid)), val, cls, rgid))
    rgid = rgid[order]
    starts = np.searchsorted(rgid, np.arange(ng))
    rank = np.arange(len(rgid)) - starts[rgid] if len(rgid) else rgid
    keep = order[(rank >= offset) & ((rank < offset + limit) if limit is not None else True)]
    rgid = rgid[(rank >= offset) & ((rank < offset + limit) if limit is not None else True)]
    proj = [a.take(pa.array(keep)) for a in proj]
    outer_rows = reps.take(pa.array(rgid)) if len(rgid) else reps.slice(0, 0)
    right_cols = _eval_pairs(ex, shape.outer_project.exprs, outer_rows, proj) \
        if shape.outer_project is not None else proj
    rschema = schema_of(p.right)
    rb = pa.RecordBatch.from_arrays([a.cast(f.type) if a.type != f.type else a
                                     for a, f in zip(right_cols, rschema)], schema=rschema)
    # pair every outer row with its target's result rows, in outer row order
    per = np.bincount(rgid, minlength=ng) if ng else np.zeros(0, np.int64)
    gstart = np.concatenate([[0], np.cumsum(per)[:-1]]) if ng else per
    n_out = per[gid] if nl else np.zeros(0, np.int64)
    li = np.repeat(np.arange(nl), n_out)
    ri = np.repeat(gstart[gid], n_out) + (np.arange(len(li)) - np.repeat(np.cumsum(n_out) - n_out, n_out))
    out_schema = pa.schema([pa.field(f"c{i}", f.type) for i, f in
                            enumerate(list(lb.schema) + list(rschema))])
    batch = _combine(lb, rb, li, ri.astype(np.int64), out_schema)
    if p.condition is not None and len(li):
        mask = pc.fill_null(ex.ev.eval(p.condition, batch), False)
        keepm = np.asarray(mask.to_numpy(zero_copy_only=False), bool)
        li, ri = li[keepm], ri[keepm]
        batch = batch.filter(mask)
    if p.kind == "left":
        un = np.setdiff1d(np.arange(nl), li)
        if len(un):  # outer rows without a match: NULL-padded, in outer row order
            li_all = np.concatenate([li, un])
            ri_all = np.concatenate([ri, np.full(len(un), -1)]).astype(np.int64)
            o = np.argsort(li_all, kind="stable")
            batch = _combine(lb, rb, li_all[o], ri_all[o], out_schema)
    yield batch
