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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.exec import segment_index as SI
from sqlvec.exec import vector_search as VS
from sqlvec.functions.vectors import ops as VO
from sqlvec.functions.vectors import types as VT
from sqlvec.plan import expr as E
from sqlvec.plan.vector_search import VectorSearch

# k above this goes through the general path (LIMIT ALL, huge pages)
MAX_K = 1000
_MIN, _MAX = np.minimum.reduce, np.maximum.reduce
_ALL = np.logical_and.reduce  # (no ndarray.all wrapper)


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

    A segment whose row ids are one run (min .. max, as a sealed segment's usually are)
    locates by subtraction; others by a binary search in their sorted row ids. Deleted
    positions drop out. Each segment's candidate indexes come in ascending order (so with
    one segment, the first k found candidates are its first k).
    """
    found = np.zeros(len(cand), bool)
    hits: list[tuple[Any, np.ndarray, np.ndarray]] = []
    if not len(cand):
        return found, hits
    lo, hi = int(_MIN(cand)), int(_MAX(cand))  # (the ufuncs: no ndarray.min/max wrappers)
    order = want = None
    for v in (*lt.views, *lt.inserts):
        seg = v.seg
        if v.live == 0 or seg.max_rowid < lo or seg.min_rowid > hi:
            continue
        first = seg.min_rowid
        if seg.max_rowid - first == seg.num_rows - 1:  # one run of row ids
            if first <= lo and hi <= seg.max_rowid:
                which = np.arange(len(cand))
                pos = cand - first
            else:
                which = np.flatnonzero((cand >= first) & (cand <= seg.max_rowid))
                pos = cand[which] - first
        else:
            if order is None:
                order = np.argsort(cand, kind="stable")
                want = cand[order]
            w, pos = seg.locate(want)
            which = order[w]
            if len(which) > 1:  # (ascending, as the one-run cases give them)
                s = np.argsort(which, kind="stable")
                which, pos = which[s], pos[s]
        if v.deleted is not None and len(pos):
            keep = ~v.deleted[pos]
            which, pos = which[keep], pos[keep]
        if len(pos):
            found[which] = True
            hits.append((seg, which, pos))
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


# ---- the per-query path: what does not depend on the parameter is resolved once -----------

@dataclass(eq=False)
class _Prep:
    """What a VectorSearch node needs on every execution, worked out once per plan node (a
    cached plan runs the same node again and again)."""

    node: VectorSearch
    names: list[str]  # the scan's columns
    types: list[pa.DataType]
    schema: pa.Schema  # `_rowid` + the scan's columns (what _gather returns)
    out: pa.Schema  # the node's output: the scan's columns [+ distance]
    short: str  # the vector column's type
    kernel: Any  # the operator's numpy kernel on float32 vectors (distance_values' own), or None
    param: int | None  # the query is $n (or a cast of it to its own type): n - 1
    dim: int | None  # the vector column's dimension
    target: tuple | None = None  # (what it was resolved for, its objects, _Target)
    nulls: dict = field(default_factory=dict)  # n -> n NULL vectors (an unread vector column)


_PREPS: dict[int, _Prep] = {}


def _prep(p: VectorSearch) -> _Prep:
    hit = _PREPS.get(id(p))
    if hit is not None and hit.node is p:
        return hit
    names = [f.name for f in p.scan.fields]
    types = [f.type.arrow for f in p.scan.fields]
    schema = pa.schema([pa.field("_rowid", pa.int64(), nullable=False)] +
                       [pa.field(n, t) for n, t in zip(names, types)])
    out = [pa.field(n, t) for n, t in zip(names, types)]
    if p.with_distance:
        out.append(pa.field("distance", p.distance.type.arrow))
    field_ = p.scan.fields[p.column]
    ftype = field_.type.arrow
    short = field_.type.short
    dense = pa.types.is_fixed_size_list(ftype) and ftype.value_type == _ELEMENT.get(short)
    name = VS._KERNELS.get(p.metric)
    kernel = getattr(VO, name) if (name is not None and dense
                                  and p.distance.type.arrow == pa.float64()) else None
    if kernel is not None and short != "vector":
        kernel = _upcast(kernel, short)
    dim = ftype.list_size if dense else None
    qe = p.query
    while isinstance(qe, E.Cast) and qe.type.short == short and qe.type.typmod in (-1, dim):
        qe = qe.arg  # `$1::vector`, `$1::vector(3)` of a vector parameter of the column's size
    param = None
    if kernel is not None and isinstance(qe, E.Param) and qe.type.short == short:
        pt = qe.type.arrow
        if not pa.types.is_fixed_size_list(pt) or pt.list_size == dim:
            param = qe.index
    hit = _Prep(p, names, types, schema, pa.schema(out), field_.type.short, kernel, param, dim)
    if len(_PREPS) > 256:
        _PREPS.clear()
    _PREPS[id(p)] = hit
    return hit


# the dense types whose rows the index paths read as numpy: element type per column type
_ELEMENT = {"vector": pa.float32(), "halfvec": pa.float16(), "bf16vec": pa.uint16(),
            "int8vec": pa.int8()}


def _upcast(kernel: Any, short: str) -> Any:
    """A float32 kernel for the rows of a low-precision type: the operator's arithmetic
    (its arguments are converted to float32 first: functions/vectors/ops.dense_arg)."""
    def low(m: np.ndarray, q: np.ndarray) -> np.ndarray:
        return kernel(VT.to_float32(m, short), q)
    return low


def _query(ctx: Any, prep: _Prep) -> np.ndarray | None:
    """The query as a (1, d) float32 matrix straight from the parameter's Python value, or
    None: the evaluator converts it (and raises its errors)."""
    i = prep.param
    if i is None or i >= len(ctx.params):
        return None
    return query_vector(ctx.params[i], prep.dim, prep.short)


def query_vector(v: Any, dim: int | None, short: str = "vector") -> np.ndarray | None:
    """The query as a C-contiguous (1, dim) float32 matrix from a parameter's Python value
    (a numpy vector, as the wire's vector decoder gives, or a list of numbers: what Arrow
    would make of it), or None: the general path converts it and raises its errors (NaN, a
    wrong dimension, a value float32 cannot hold, an integer it cannot hold exactly). A
    query of a low-precision type: only numbers the type holds exactly (a parsed halfvec's
    or int8vec's, a float16 / int8 vector; a bf16vec's bit patterns, its Python form), so
    no rounding is decided here."""
    if short != "vector":
        return _low_query(v, dim, short)
    if type(v) is np.ndarray:
        if v.ndim != 1 or len(v) != dim or v.dtype.kind != "f":
            return None
        if v.dtype == np.float32:
            a = v if v.flags.c_contiguous else np.ascontiguousarray(v)
            if not _ALL(np.isfinite(a)):
                return None
            return a.reshape(1, dim)
        if not _MAX(np.abs(v)) <= _F32_MAX:  # (NaN fails too)
            return None
        return v.astype(np.float32).reshape(1, dim)
    if type(v) is not list or len(v) != dim:
        return None
    try:
        a = np.array(v)
    except (TypeError, ValueError):
        return None
    kind = a.dtype.kind
    if a.ndim != 1 or kind not in "fi" or not dim:
        return None
    if kind == "f":
        if not _MAX(np.abs(a)) <= _F32_MAX:
            return None
    elif not (a.min() >= -(1 << 24) and a.max() <= 1 << 24):
        return None
    return a.astype(np.float32).reshape(1, dim)


_F32_MAX = float(np.finfo(np.float32).max)
_LOW_NUMPY = {"halfvec": np.float16, "int8vec": np.int8}  # a parameter's own numpy form


def _low_query(v: Any, dim: int | None, short: str) -> np.ndarray | None:
    """query_vector of a halfvec, bf16vec or int8vec query, or None."""
    if type(v) is np.ndarray and v.dtype == _LOW_NUMPY.get(short) and v.shape == (dim,):
        a = v.astype(np.float32)
    elif type(v) is list and len(v) == dim and short == "bf16vec":  # (bit patterns, as stored)
        try:
            b = np.array(v)
        except (TypeError, ValueError):
            return None
        if b.ndim != 1 or b.dtype.kind != "i" or not (_MIN(b) >= 0 and _MAX(b) <= 0xFFFF):
            return None
        a = VT.bf16_to_f32(b.astype(np.uint16))
    elif type(v) is list and len(v) == dim:
        try:
            a = np.array(v, np.float64)
        except (TypeError, ValueError):
            return None
        if a.ndim != 1:
            return None
        with np.errstate(over="ignore", invalid="ignore"):  # (the type's value, or not: NaN,
            if short == "halfvec":  # beyond its range, between two of its numbers)
                exact = a.astype(np.float16)
            else:
                exact = a.astype(np.int8) if _MAX(np.abs(a)) <= 128 else None
        if exact is None or not _ALL(exact == a):
            return None
        a = a.astype(np.float32)
    else:
        return None
    return a.reshape(1, dim) if _ALL(np.isfinite(a)) else None


@dataclass(eq=False)
class _Target:
    """What the index path searches for one table version: the index, its parts, sizes."""

    built: Any
    idx: Any
    parts: list
    total: int  # keys in the parts and the delta
    n_live: int  # visible rows of the committed segments
    usable: bool  # False: deleted keys pile up in the delta (the general path drops them)
    strategy: str
    cols: dict = field(default_factory=dict)  # row_fetch's columns of its segments (held here)
    by_seg: dict = field(default_factory=dict)  # segment id -> its part's index
    exact_d: bool = False  # the search's distances are the operator's own (see _fetch)
    shown: tuple = ()  # (row count, EXPLAIN's strategy text for it)


def _target(ctx: Any, p: VectorSearch, prep: _Prep, lt: Any, db: Any, idx: Any, oc: Any,
            n_live: int) -> _Target | None:
    """The index entry and parts serving the node over this table version, or None (first
    use: the general path opens or builds it). Worked out again only when the snapshot's
    segments or the index entry changed since the last execution."""
    built = VS._CACHE.get(db.store, {}).get(idx.oid)
    if built is None:
        return None
    views = lt.views
    key = (id(views), id(built), id(idx), id(built.index), built.generation, len(built.keys),
           len(built.parts))
    hit = prep.target
    if hit is not None and hit[0] == key:
        return hit[2]
    if built.signature != VS._signature(idx, oc):
        return None
    field_ = p.scan.fields[p.column]
    parts = _ensure_covered(built, views, field_.name, field_.type.short, db.store, idx, ctx)
    served = {part.seg_id for part in parts}
    delta_live = sum(v.live for v in views if v.seg.seg_id not in served)
    usable = len(built.keys) - delta_live <= max(1000, len(built.keys) // 5)
    strategy = f"{built.kind} {idx.name}"
    t = _Target(built, idx, parts, SI.size(built, parts), n_live, usable,
                f"{strategy}; {{n}} of {{n}} rows pass; {SI.describe(built, parts)}")
    t.by_seg = {part.seg_id: part.index for part in parts}
    # every graph searched (the parts, the delta graph when it holds rows) re-scores its
    # candidates on the full float32 vectors with the operator's own arithmetic (a graph
    # without them gives usearch's distances, which round otherwise)
    delta = built.index is not None and len(built.keys) > 0
    t.exact_d = prep.kernel is not None and bool(parts or delta) and all(
        exact_for(part.index, p.metric) for part in parts) and (
        not delta or exact_for(built.index, p.metric))
    prep.target = (key, (views, built, idx, built.index), t)  # (holding them keeps the ids)
    return t


def exact_for(index: Any, metric: str) -> bool:
    """Whether `index`'s searches return `metric`'s distances as the operator computes them
    (HnswIndex.exact_for; an index without the method never does)."""
    fn = getattr(index, "exact_for", None)
    return fn is not None and fn(metric)


def index_top(ctx: Any, p: VectorSearch, k: int) -> pa.RecordBatch | None:
    """The node's output batch (the k best rows in distance order, their distance appended
    when the node yields it) through the index, or None (the general path decides).

    Per execution: one conversion of the parameter to a float32 vector, one search per
    index part (merged with numpy), the row-id visibility check, and a gather of the k
    rows' columns (numpy for fixed-width ones); everything else is resolved per plan node
    and table version (_prep, _target)."""
    if p.scan.filter is not None or k <= 0 or k > MAX_K:
        return None
    txn = ctx.txn
    local = getattr(txn, "_local", None)
    if local is None:
        return None
    lt = local(p.scan.table.oid)
    if lt.reset or lt.base is None:
        return None
    prep = _prep(p)
    views = lt.views
    n_live = sum(v.live for v in views)
    n_own = sum(v.live for v in lt.inserts) if lt.inserts else 0
    if n_live + n_own <= VS.exact_threshold(ctx, p=p):
        return None
    session = getattr(ctx, "session", None)
    db = getattr(session, "db", None)
    if db is None:
        return None
    defs = VS._index_defs(ctx, p)
    if not defs:
        return None
    idx, oc = defs[0]
    t = _target(ctx, p, prep, lt, db, idx, oc, n_live)
    if t is None or not t.usable:
        return None
    qv = _query(ctx, prep)
    q = None
    if qv is None:
        q = VS._eval_scalar(ctx, p.query)
        if q is None or not q.is_valid:
            return None
        qv = VS._query_vector(q, prep.short)
        if prep.dim is not None and np.shape(qv)[-1] != prep.dim:
            return None  # the general path raises the operator's error
    built, total = t.built, t.total
    params = VS._search_params(ctx, built.kind)
    limit = VS._int_setting(ctx, "sqlvec.max_overfetch", VS.MAX_OVERFETCH)
    fetch = k if total <= n_live else int(np.ceil(k * 1.2 * total / max(n_live, 1)))
    while True:
        want = min(fetch, total)
        keys, dists = SI.search(built, t.parts, qv, want, params)
        cand = keys[0]
        ok = cand >= 0
        if not _ALL(ok):
            cand = cand[ok]
        found, hits = _locate(lt, cand)  # visible rows only, by row id
        if want >= total or (len(hits[0][1]) if len(hits) == 1 else np.count_nonzero(found)) >= k:
            break
        if fetch >= limit:
            return None
        fetch = min(fetch * 4, limit)
    chosen = hits[0][1][:k] if len(hits) == 1 else np.flatnonzero(found)[:k]
    if len(chosen) < k and (n_own == 0 or n_live > total):
        return None  # NULL vectors or rows outside the index: the general path ranks them
    shown = t.shown
    if not shown or shown[0] != n_live + n_own:  # (worked out once per row count)
        rows = n_live + n_own
        shown = t.shown = (rows, t.strategy.split(";", 1)[0], t.strategy.replace("{n}", str(rows)))
    VS.LAST.strategy = shown[1]
    if len(VS.STRATEGY) > 256:
        VS.STRATEGY.clear()
    VS.STRATEGY[id(p)] = shown[2]
    if n_own:
        if q is None:
            q = VS._eval_scalar(ctx, p.query)
        top = _own_merged(p, prep, lt, hits, chosen, q, k)
        if top is None:
            return None
        return _finish(p, top, q)
    exact = None
    if t.exact_d and qv.dtype == np.float32 and not p.vector_read:
        exact = dists[0] if len(cand) == dists.shape[1] else dists[0][ok]
    return _fetch(p, prep, hits, chosen, qv, q, t.cols, cand, t.by_seg, exact)


def _fetch(p: VectorSearch, prep: _Prep, hits: list, chosen: np.ndarray, qv: np.ndarray,
           q: Any, cache: dict | None, cand: np.ndarray | None = None,
           by_seg: dict | None = None, exact: np.ndarray | None = None) -> pa.RecordBatch:
    """The chosen candidates' rows as the node's output batch, ordered by their distance
    (stable: ties keep the index's order), the distance appended when the node yields it.
    Only the k rows are read: numpy gathers of fixed-width columns (row_fetch). `exact`:
    the candidates' distances as the operator computes them, in (distance, row id) order
    (the index re-scored them), when no consumer reads the vector column: nothing to
    gather or compute again."""
    from sqlvec.exec import row_fetch as RF

    n = len(chosen)
    seg = at = None
    groups: list = []
    if len(hits) == 1:  # one segment: the chosen rows are its first n (index_top, _locate)
        seg, _idx, pos = hits[0]
        at = pos[:n]
    else:
        rank = np.full(max((int(i.max()) + 1 for _s, i, _p in hits if len(i)), default=0), -1,
                       np.int64)
        rank[chosen] = np.arange(n)
        for s_, idx, pos in hits:
            r = rank[idx]
            sel = r >= 0
            if sel.any():
                groups.append((s_, r[sel], pos[sel]))
    col, vt = p.column, prep.types[p.column]
    name = prep.names[col]
    m = None
    if exact is not None:
        d = exact[chosen]  # (a subsequence of the candidates: already in distance order)
        vec = prep.nulls.get(n)
        if vec is None:
            vec = prep.nulls[n] = pa.nulls(n, vt)
        if seg is not None:
            cols = [vec if i == col else RF.rows(seg, nm, at, t, cache)
                    for i, (nm, t) in enumerate(zip(prep.names, prep.types))]
        else:
            cols = [vec if i == col else RF.gather(groups, nm, t, n, cache)
                    for i, (nm, t) in enumerate(zip(prep.names, prep.types))]
        if p.with_distance:
            cols.append(RF.to_arrow(d, pa.float64()))
        return pa.RecordBatch.from_arrays(cols, schema=prep.out)
    if prep.kernel is not None and n:
        part = by_seg.get(seg.seg_id) if seg is not None and by_seg and cand is not None else None
        if getattr(part, "kind", None) == "hnsw":  # its full copy (just read to re-rank)
            m = part.vectors(cand[chosen])
        if m is None:
            m = RF.values(seg, name, at, vt, cache) if seg is not None else \
                RF.gather_values(groups, name, vt, n, cache)
    order = None
    if m is not None:
        d = prep.kernel(m, qv[0])  # (distance_values' numbers: the same kernel and vectors)
        order = _order(d)
        if order is not None:
            d = d[order]
        if p.vector_read:
            vec = RF.to_arrow(m if order is None else m[order], vt)
        else:  # (no consumer reads it: the plan's Project takes other columns)
            vec = prep.nulls.get(n)
            if vec is None:
                vec = prep.nulls[n] = pa.nulls(n, vt)
        dist = pa.array(d, pa.float64())
    else:  # (other vector types: the operator's own function)
        vec = RF.rows(seg, name, at, vt, cache) if seg is not None else \
            RF.gather(groups, name, vt, n, cache)
        if q is None:
            q = pa.scalar(qv[0].tolist(), vt)
        dist = VS.distance_values(p, vec, q) if n else pa.array([], p.distance.type.arrow)
        order = _arrow_order(dist)
        if order is not None:
            vec, dist = vec.take(pa.array(order)), dist.take(pa.array(order))
    if order is not None:  # the other columns are gathered in distance order
        if seg is not None:
            at = at[order]
        else:
            inverse = np.empty(n, np.int64)
            inverse[order] = np.arange(n)
            groups = [(s_, inverse[out], pos) for s_, out, pos in groups]
    cols = [vec if i == col else (RF.rows(seg, nm, at, t, cache) if seg is not None
                                  else RF.gather(groups, nm, t, n, cache))
            for i, (nm, t) in enumerate(zip(prep.names, prep.types))]
    if p.with_distance:
        cols.append(dist)
    return pa.RecordBatch.from_arrays(cols, schema=prep.out)


def _arrow_order(d: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """The stable order of rows by a distance column as ORDER BY puts them (numbers, then
    NaN, then NULL), or None when they already are in it."""
    if isinstance(d, pa.ChunkedArray):
        d = d.combine_chunks()
    v = np.asarray(d.to_numpy(zero_copy_only=False), np.float64)
    if not d.null_count:
        return _order(v)
    null = np.asarray(d.is_null().to_numpy(zero_copy_only=False), bool)
    cls = np.where(null, 2, np.where(np.isnan(v), 1, 0))
    order = np.lexsort((np.where(cls == 0, v, 0.0), cls))
    return None if (order == np.arange(len(order))).all() else order


def _order(d: np.ndarray) -> np.ndarray | None:
    """The stable order of rows by distance as ORDER BY puts them (NaN after numbers), or
    None when they already are in it."""
    if len(d) < 2:
        return None
    if not np.isnan(d).any():
        if (d[1:] >= d[:-1]).all():
            return None
        return np.argsort(d, kind="stable")
    return np.argsort(d, kind="stable")  # NaN sorts last


def _finish(p: VectorSearch, top: pa.Table, q: Any) -> pa.RecordBatch:
    """A `_rowid` + scan columns table of the best rows as the node's output batch: in
    distance order, the distance appended when the node yields it."""
    bs = top.to_batches()
    if len(bs) == 1:
        b = bs[0]
    elif bs:
        b = top.combine_chunks().to_batches()[0]
    else:
        b = pa.RecordBatch.from_pylist([], schema=top.schema)
    b = b.drop_columns(["_rowid"])
    dist = VS.distance_values(p, b.column(p.column), q) if b.num_rows else \
        pa.array([], p.distance.type.arrow)
    order = _arrow_order(dist)
    if order is not None:
        b, dist = b.take(pa.array(order)), dist.take(pa.array(order))
    if p.with_distance:
        b = b.append_column(pa.field("distance", p.distance.type.arrow), dist)
    return b


def _own_merged(p: VectorSearch, prep: _Prep, lt: Any, hits: list, chosen: np.ndarray, q: Any,
                k: int) -> pa.Table | None:
    """The index's best rows merged with the transaction's own inserted rows, ranked
    exactly; None when fewer than k come together (the general path ranks them)."""
    top = _gather(hits, chosen, prep.names, prep.schema)
    own = _own_rows(lt, prep.names, prep.schema)
    if own is None:
        return None if len(top) < k else top
    if len(top) + len(own) < k and len(top) < k:
        return None
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
