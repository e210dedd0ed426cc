"""The per-query fast path of VectorSearch: search the index, fetch only the k rows by id.

The index keys ARE row ids. Every sealed segment the query's snapshot sees is served by
its own graph (exec/segment_index.py: built or opened as an mmap view on first use); the
rows of the other (growing, small) segments sit in one "delta" graph per index, for which
we remember which segments it already covers (segments are immutable, so "covers segment
S" never goes stale until rows are removed from it, which bumps a generation); a query
only adds the rows of segments not yet covered. Then it searches every graph, merges
their top lists by (distance, row id), fetches the candidate rows by row id (`txn.fetch`, a binary
search per segment: deleted or not-yet-visible keys simply do not come back) and widens
the over-fetch until k rows are found. The transaction's own inserted rows are ranked
exactly and merged. No table data is read besides the fetched rows.

Returns None whenever the general path must decide (filters, few rows, no built index,
truncated/altered tables, many deleted keys, fewer than k indexed rows visible).
"""

from __future__ import annotations

import bisect
import threading
import weakref
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.exec import segment_index as SI
from sqlvec.exec import vector_search as VS
from sqlvec.plan import expr as E
from sqlvec.plan.vector_search import VectorSearch

# k above this goes through the general path (LIMIT ALL, huge pages)
MAX_K = 1000


def _ensure_covered(built: Any, views: tuple, column: str, short: str, store: Any, idx: Any,
                    ctx: Any = None) -> list:
    """The parts of the sealed segments (opened or built), and the rows of the other
    segments added to the delta graph when it does not hold them yet (the delta since the
    last sync). Returns the parts."""
    from sqlvec.exec import segment_index as SI

    parts = SI.ensure(built, views, None if ctx is None else (lambda m: VS._notice(ctx, m)),
                      None, column, store)
    served = {p.seg_id for p in parts}
    covered = built.covered
    gen = built.generation
    todo = [v for v in views if v.live and v.seg.seg_id not in served
            and covered.get(v.seg) != gen]
    if not todo:
        return parts
    path = VS._index_path(store, idx)
    with built.lock:
        delta_rows = sum(v.seg.num_rows for v in views if v.seg.seg_id not in served)
        if len(built.keys) > delta_rows + max(1000, len(built.keys) // 2):
            # most delta rows now sit in parts (their segments were sealed): start afresh
            built.index, built.keys, built.view = None, np.zeros(0, np.int64), False
            built.generation += 1
            built.unsaved += 1
        for v in todo:
            seg = v.seg
            if covered.get(seg) == built.generation:
                continue
            ids = seg.rowids
            col = seg.data.column(column)
            if col.null_count:
                ok = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), bool)
            else:
                ok = None
            keys = built.keys
            at = np.minimum(np.searchsorted(keys, ids), max(len(keys) - 1, 0))
            missing = (keys[at] != ids) if len(keys) else np.ones(len(ids), bool)
            if ok is not None:
                missing &= ok
            if missing.any():
                pos = np.flatnonzero(missing)
                VS._grow(built, path, VS._matrix(VS.take_rows(col, pos), short), ids[pos])
                if built.unsaved > max(1000, len(built.keys) // 10):
                    VS._save(built, path)
            covered[seg] = built.generation
    return parts


def _locate(lt: Any, cand: np.ndarray) -> tuple[np.ndarray, list[tuple[Any, np.ndarray, np.ndarray]]]:
    """Which candidates are visible rows, and where: (found mask, [(segment, cand idx, pos)]).

    One binary search per segment in its sorted row ids; deleted positions drop out.
    """
    found = np.zeros(len(cand), bool)
    hits: list[tuple[Any, np.ndarray, np.ndarray]] = []
    if not len(cand):
        return found, hits
    order = np.argsort(cand, kind="stable")
    want = cand[order]
    lo, hi = int(want[0]), int(want[-1])
    for v in (*lt.views, *lt.inserts):
        seg = v.seg
        if v.live == 0 or seg.max_rowid < lo or seg.min_rowid > hi:
            continue
        which, pos = seg.locate(want)
        if v.deleted is not None and len(pos):
            keep = ~v.deleted[pos]
            which, pos = which[keep], pos[keep]
        if len(pos):
            found[order[which]] = True
            hits.append((seg, order[which], pos))
    return found, hits


def _gather(hits: list, chosen: np.ndarray, names: list[str], schema: pa.Schema) -> pa.Table:
    """The chosen candidates' rows (`_rowid` + names), in the order of `chosen` (indexes)."""
    if len(chosen) <= 32:
        return _gather_few(hits, chosen, names, schema)
    rank = np.full(max(int(chosen.max()) + 1, 1) if len(chosen) else 1, -1, np.int64)
    rank[chosen] = np.arange(len(chosen))
    parts, where = [], []
    for seg, idx, pos in hits:
        idx_ok = idx < len(rank)
        r = np.where(idx_ok, rank[np.minimum(idx, len(rank) - 1)], -1)
        sel = np.flatnonzero(r >= 0)
        if len(sel):
            sel = sel[np.argsort(r[sel])]  # rank order: one segment needs no reordering
            data = seg.data.select(["_rowid", *names])
            taken = pos[sel]
            if data.num_columns and data.column(0).num_chunks == 1:
                parts.append(data.take(pa.array(taken)))  # one chunk: a single take
            elif len(taken) <= 32:  # a few rows: zero-copy one-row slices, no chunk bookkeeping
                parts.extend(data.slice(int(i), 1) for i in taken)
            else:
                parts.append(VS.take_rows(data, taken))
            where.append(r[sel])
    if not parts:
        return schema.empty_table()
    out = VS._conform_table(pa.concat_tables(parts, promote_options="permissive")
                            if len(parts) > 1 else parts[0], schema)
    if len(where) == 1:
        return out
    at = np.concatenate(where)
    inverse = np.empty(len(at), np.int64)
    inverse[at] = np.arange(len(at))
    return out.take(pa.array(inverse))


# sealed file-backed segment -> {id(schema): (schema, the segment's table they view, its
# record batches under schema, batch starts)}
_BATCHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BATCHES_LOCK = threading.Lock()


def _batches(seg: Any, names: list[str], schema: pa.Schema) -> tuple[list, list[int]]:
    """The segment's record batches of `_rowid` + names under `schema`, and where each
    starts; kept for sealed segments served from their file (immutable memory-mapped
    views: nothing is copied or pinned in memory; a reopened file makes new ones), so a
    query only slices them."""
    table = seg.data
    keep = not seg.growing and getattr(seg, "path", None) is not None
    per = _BATCHES.get(seg) if keep else None
    hit = per.get(id(schema)) if per is not None else None
    if hit is not None and hit[0] is schema and hit[1] is table:
        return hit[2], hit[3]
    data = table.select(["_rowid", *names])
    batches = [_conform_batch(b, schema) for b in data.to_batches()]
    starts = [0]
    for b in batches:
        starts.append(starts[-1] + b.num_rows)
    if keep and data.schema.types == schema.types:  # (views, no cast copies)
        with _BATCHES_LOCK:
            per = _BATCHES.setdefault(seg, {})
            if len(per) > 8:
                per.clear()
            per[id(schema)] = (schema, table, batches, starts)
    return batches, starts


def _gather_few(hits: list, chosen: np.ndarray, names: list[str], schema: pa.Schema) -> pa.Table:
    """_gather of a few rows: zero-copy one-row slices of the segments' record batches put
    in the order of `chosen`, one concatenation into one batch (no take, which on a
    many-chunk segment would first concatenate the whole column)."""
    if not len(chosen) or not hits:
        return schema.empty_table()
    n = max(int(chosen.max()), *(int(idx.max()) for _s, idx, _p in hits)) + 1
    where = np.full(n, -1, np.int64)  # candidate -> its hit
    at = np.zeros(n, np.int64)  # candidate -> its position in that hit's segment
    for h, (_seg, idx, pos) in enumerate(hits):
        where[idx] = h
        at[idx] = pos
    rows = []
    segs: dict[int, tuple[list, list[int]]] = {}
    for h, i in zip(where[chosen].tolist(), at[chosen].tolist()):
        if h < 0:
            continue
        got = segs.get(h)
        if got is None:
            got = segs[h] = _batches(hits[h][0], names, schema)
        batches, starts = got
        w = bisect.bisect_right(starts, i) - 1
        rows.append(batches[w].slice(i - starts[w], 1))
    if not rows:
        return schema.empty_table()
    return pa.Table.from_batches([pa.concat_batches(rows) if len(rows) > 1 else rows[0]],
                                 schema=schema)


def _conform_batch(b: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The batch under `schema` (as is when it already matches: no relabelling)."""
    return b if b.schema.equals(schema) else VS._conform(b, schema)


def _own_rows(lt: Any, names: list[str], schema: pa.Schema) -> pa.Table | None:
    """The transaction's own inserted rows (None when there are none)."""
    parts = [VS._conform_table(v.table(names), schema) for v in lt.inserts if v.live]
    if not parts:
        return None
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def _distances(p: VectorSearch, col: pa.ChunkedArray | pa.Array, q: Any) -> tuple[np.ndarray, np.ndarray]:
    """(distance as float64, valid) of each vector to the query, with the SQL operator."""
    a = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    col_first = isinstance(VS._strip(p.distance.args[0]), E.ColRef)
    d = p.distance.fn.call([a, q] if col_first else [q, a], len(a))
    valid = np.asarray(d.is_valid().to_numpy(zero_copy_only=False), bool) if d.null_count \
        else np.ones(len(d), bool)
    return np.asarray(pc.fill_null(d, 0.0).to_numpy(zero_copy_only=False), np.float64), valid


# id(node) -> (node, column names, output schema) of recently run VectorSearch nodes
_SHAPES: dict[int, tuple[VectorSearch, list[str], pa.Schema]] = {}


def _shape(p: VectorSearch) -> tuple[list[str], pa.Schema]:
    """The scan's column names and the schema of the rows we return (`_rowid` first), once
    per plan node (a cached plan runs the same node again and again)."""
    hit = _SHAPES.get(id(p))
    if hit is None or hit[0] is not p:
        names = [f.name for f in p.scan.fields]
        schema = pa.schema([pa.field("_rowid", pa.int64(), nullable=False)] +
                           [pa.field(f.name, f.type.arrow) for f in p.scan.fields])
        if len(_SHAPES) > 256:
            _SHAPES.clear()
        hit = _SHAPES[id(p)] = (p, names, schema)
    return hit[1], hit[2]


def index_path(ctx: Any, p: VectorSearch, q: Any, k: int) -> pa.Table | None:
    """The k best rows (`_rowid` + the scan's columns) through the index, or None."""
    if p.scan.filter is not None or k <= 0 or k > MAX_K or q is None or not q.is_valid:
        return None
    txn = ctx.txn
    oid = p.scan.table.oid
    local = getattr(txn, "_local", None)
    if local is None:
        return None
    lt = local(oid)
    if lt.reset or lt.base is None:
        return None
    n_live = sum(v.live for v in lt.views)
    n_own = sum(v.live for v in lt.inserts)
    threshold = VS._int_setting(ctx, "sqlvec.exact_scan_threshold", VS.EXACT_THRESHOLD)
    if n_live + n_own <= threshold:
        return None
    session = getattr(ctx, "session", None)
    db = getattr(session, "db", None)
    if db is None:
        return None
    defs = VS._index_defs(ctx, p)
    if not defs:
        return None
    idx, oc = defs[0]
    built = VS._CACHE.get(db.store, {}).get(idx.oid)
    if built is None or built.signature != VS._signature(idx, oc):
        return None  # first use: the general path opens or builds it
    field = p.scan.fields[p.column]
    short = field.type.short
    parts = _ensure_covered(built, lt.views, field.name, short, db.store, idx, ctx)
    served = {part.seg_id for part in parts}
    delta_live = sum(v.live for v in lt.views if v.seg.seg_id not in served)
    if len(built.keys) - delta_live > max(1000, len(built.keys) // 5):
        return None  # deleted keys pile up in the delta graph: the general path drops them
    total = SI.size(built, parts)
    names, schema = _shape(p)
    qv = VS._query_vector(q, short)
    params = VS._search_params(ctx, built.kind)
    limit = VS._int_setting(ctx, "sqlvec.max_overfetch", VS.MAX_OVERFETCH)
    fetch = k if total <= n_live else int(np.ceil(k * 1.2 * total / max(n_live, 1)))
    while True:
        want = min(fetch, total)
        keys, _d = SI.search(built, parts, qv, want, params)
        cand = keys[0]
        cand = cand[cand >= 0]
        found, hits = _locate(lt, cand)  # visible rows only, by row id
        if found.sum() >= k or want >= total:
            break
        if fetch >= limit:
            return None
        fetch = min(fetch * 4, limit)
    top = _gather(hits, np.flatnonzero(found)[:k], names, schema)
    own = _own_rows(lt, names, schema) if n_own else None
    if len(top) < k and (own is None or len(top) + len(own) < k or n_live > total):
        return None  # NULL vectors or rows outside the index: the general path ranks them
    VS.LAST.strategy = f"{built.kind} {idx.name}"
    if len(VS.STRATEGY) > 256:
        VS.STRATEGY.clear()
    VS.STRATEGY[id(p)] = (f"{VS.LAST.strategy}; {n_live + n_own} of {n_live + n_own} rows pass; "
                          f"{SI.describe(built, parts)}")
    if own is None:
        return top
    # merge the transaction's own rows, ranked exactly with the index's top k
    both = pa.concat_tables([top, own])
    ids = np.asarray(both.column(0).combine_chunks())
    _u, first = np.unique(ids, return_index=True)
    both = both.take(pa.array(np.sort(first)))
    d, valid = _distances(p, both.column(p.column + 1), q)
    pos = VS._rank(d, valid, np.asarray(both.column(0).combine_chunks()), k)
    return both.take(pa.array(pos))


# ---- filtered search: exec/filtered_search.py ------------------------------------------

def filtered_path(ctx: Any, p: VectorSearch, q: Any, k: int) -> pa.Table | None:
    """The k best rows under a WHERE, or None (exec/filtered_search.py decides)."""
    from sqlvec.exec.filtered_search import filtered_path as run

    return run(ctx, p, q, k)
