"""The compiled ANN top-k: a cached query plan `SELECT cols [, distance] ... ORDER BY emb <op>
$n LIMIT k [OFFSET o]` run as one function, without operators.

The shape (plan/vector_search.py's rewrite of ORDER BY distance LIMIT k):

    Project(plain columns) <- Limit(const k, const offset) <- Sort(the distance, presorted)
        <- Project(plain columns, the distance) <- VectorSearch($n the query)

is recognised once per plan (`compiled(plan)`), and what depends only on the plan, the
table version and the settings (index, parts, segments, column positions, each graph's
prepared usearch search, the over-fetch, joined numpy columns) once per table version and
settings (`_resolve`, through vector_index_path's own `_target`). An execution then does
only: the parameter -> float32 vector, one search per graph (merged only when there are
several; the rows outside the sealed segments' graphs, when few, are scanned exactly instead
of searching the delta graph: `_delta_scan`), the visibility check of the found row ids
(row-id arithmetic and the deleted bitmap), the gather of the returned rows' columns, and
one RecordBatch; no transaction object (a read of the committed snapshot writes nothing),
no ExecContext, no per-layer batches. Deleted keys widen the over-fetch as index_top does.
Under a WHERE (`_run_filtered`) the node's own filtered branch runs (exec/filtered_search.py:
the passing rows ranked exactly, or the index with an over-fetch) in a read-only transaction,
and only the operators above the node are skipped; when the exact strategy answers and no
output column is the vector, the rows come from the cached passing set itself
(`_exact_filtered`). A top-k without a WHERE that the general path ranks exactly (no index,
or no more live rows than sqlvec.exact_scan_threshold) is that exact strategy under a WHERE
every row passes (`_run_scan`: one passing set per table version).

Anything else returns None and the general path runs it, so results are identical: a
transaction block (own rows), NULL vectors or rows outside the index (fewer than k
found), a query the fast conversion refuses (NaN, a wrong dimension, not a list or numpy
vector), a plan with expressions to evaluate. `SET sqlvec.disabled_rules = 'ann_fast_path'`
turns it off (tests compare both: tests/vectors/test_ann_fast.py).

`search_together` searches the next executions of several sessions at once (the server's
requests that arrived in one loop pass): one batched graph search on several threads, each
result left on its state for run() to take (tests/vectors/test_search_together.py).
"""

from __future__ import annotations

import dataclasses
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from sqlvec.core.errors import SqlError
from sqlvec.core.types import BOOL
from sqlvec.exec import row_fetch as RF
from sqlvec.exec import vector_index_path as VIP
from sqlvec.exec import vector_search as VS
from sqlvec.functions.vectors import types as VT
from sqlvec.index.exact import rescore_one
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L
from sqlvec.plan.vector_search import VectorSearch

RULE = "ann_fast_path"  # its name in sqlvec.disabled_rules
# the settings index_top reads: a change resolves the search again
_SETTINGS = ("hnsw.ef_search", "sqlvec.exact_scan_threshold", "sqlvec.max_overfetch",
             "ivfflat.probes", "sqlvec.gpu", "enable_indexscan", "enable_seqscan")
_EF, _THRESHOLD, _OVERFETCH, _PROBES, _GPU, _INDEXSCAN, _SEQSCAN = _SETTINGS


@dataclass(eq=False)
class _State:
    """What one table version and settings give every execution (replaced whole)."""

    tv: Any  # the committed TableVersion it was resolved for
    built: Any  # the index entry (vector_search._CACHE) and its state then
    built_key: tuple
    idx_oid: int
    target: Any  # vector_index_path._Target
    lt: Any  # the transaction-free view of the table: .views, .inserts (none)
    want: int  # candidates asked of the index
    total: int
    fetch: int  # the over-fetch (want before the total caps it), its limit, the search's params
    limit: int
    params: Any
    search: Any  # qv -> (keys, distances), 1-D, found ones only
    # when one live segment of one row-id run holds the rows: (segment, its deleted bitmap,
    # first row id, last row id when a delta graph is searched (keys to range-check), per
    # output column (flat numpy values or None, name, type) or None when the vector column
    # is read, None when the search's distances are exact or the vector column (name, type))
    one_run: tuple | None
    multi: Any = None  # _Multi: several segments of one row-id run each
    # query row bytes -> (keys, distances) searched ahead for this state (search_together)
    ready: dict | None = None
    numpy: bool = False  # every output column is gathered as numpy (_FLAT, _DIST): RF.Columns


class AnnFast:
    """One cached plan's compiled execution (shared by the sessions sharing the plan)."""

    def __init__(self, vs: VectorSearch, picks: list[int], limit: int, offset: int,
                 schema: pa.Schema) -> None:
        self.vs = vs
        self.picks = picks  # per output column: a scan column, or len(scan.fields) = distance
        self.limit, self.offset, self.k = limit, offset, limit + offset
        self.schema = schema
        self.prep = VIP._prep(vs)
        self.oid = vs.scan.table.oid
        self.states: dict[tuple, _State] = {}
        self._lock = threading.Lock()
        self.served = 0  # executions it answered (tests check the fast path ran)
        self._scanned: dict = {}  # _delta_scan's vectors of the segments it last read
        # settings key -> the table version whose top-k the general path ranks exactly (no
        # index, or few rows): run() answers it from a passing set of every row (_run_scan)
        self.scans: dict[tuple, Any] = {}
        self._every: VectorSearch | None = None  # the node with WHERE true (_run_scan's)

    def ahead(self, session: Any, params: list[Any], key: tuple | None = None
              ) -> tuple[_State, np.ndarray] | None:
        """What an execution with `params` searches: (its state, the query row), or None
        when it would not run here. `key`: _key(session), when the caller has it."""
        if self.vs.scan.filter is not None:
            return None  # (a WHERE: run_filtered, no search of its own to share)
        prep = self.prep
        i = prep.param
        if i >= len(params):
            return None
        qv = VIP.query_vector(params[i], prep.dim, prep.short)
        if qv is None:
            return None
        store, tv, skey = key or self._key(session)
        st = self.states.get(skey)
        if st is None or st.tv is not tv or not _same_built(st, store):
            if tv is not None and self.scans.get(skey) is tv:
                return None  # (ranked exactly: _run_scan, no search to share)
            st = self._resolve(session, tv, skey)
            if st is None:
                return None
        return st, qv

    def _key(self, session: Any) -> tuple[Any, Any, tuple]:
        """(the store, the committed table version, the settings key of `states`)."""
        store = session.db.store
        get = session.settings.values.get
        return store, store.version.tables.get(self.oid), (
            get(_EF), get(_THRESHOLD), get(_OVERFETCH), get(_PROBES), get(_GPU),
            get(_INDEXSCAN), get(_SEQSCAN))

    def run(self, session: Any, params: list[Any], columns: bool = False
            ) -> pa.RecordBatch | RF.Columns | None:
        """The result batch of one execution outside a transaction block, or None;
        `columns`: as numpy columns (RF.Columns) where the rows were gathered as numpy."""
        if self.vs.scan.filter is not None:
            return self._run_filtered(session, params, columns)
        key = self._key(session)
        got = self.ahead(session, params, key)
        if got is None:
            _store, tv, skey = key
            return self._run_scan(session, params, columns) \
                if tv is not None and self.scans.get(skey) is tv else None
        st, qv = got
        ready = st.ready
        found = ready.get(qv.tobytes()) if ready else None
        keys, dists = found if found is not None else st.search(qv)
        k = self.k
        one = st.one_run
        if one is None and st.multi is not None:
            return self._run_multi(st, st.multi, keys, dists, qv, columns)
        if one is None:
            found, hits = VIP._locate(st.lt, keys)
            n = len(hits[0][1]) if len(hits) == 1 else int(np.count_nonzero(found))
            if n < k:
                return self._widen(st, qv)
            chosen = hits[0][1][:k] if len(hits) == 1 else np.flatnonzero(found)[:k]
            return self._general_fetch(st, hits, chosen, keys, dists, qv)
        # one segment of consecutive row ids: positions by subtraction
        seg, deleted, first, last, gathers, vec = one
        pos = keys - first
        if last is not None:  # (the delta graph may still hold keys of segments gone since)
            inside = (keys >= first) & (keys <= last)
            if not _ALL(inside):
                keys, dists, pos = keys[inside], dists[inside], pos[inside]
        if deleted is not None and len(pos):
            keep = ~deleted[pos]
            if not _ALL(keep):
                keys, dists, pos = keys[keep], dists[keep], pos[keep]
        if len(pos) < k:
            return self._widen(st, qv)  # (deleted keys: a wider search)
        VS.LAST.strategy = st.target.shown[1]
        lo = self.offset
        m = None
        if vec is None:  # the search's distances are the operator's own (re-scored)
            at, d = pos[lo:k], dists[lo:k]
        else:  # the operator's kernel on the k rows' vectors, then their order by it (stable)
            at = pos[:k]
            name, vt, src = vec
            m = src.vectors(keys[:k]) if src is not None else None  # (the graph's full copy)
            if m is None:
                m = RF.values(seg, name, at, vt, st.target.cols)
                if m is None:
                    return self._general_fetch(st, [(seg, np.arange(len(pos)), pos)],
                                               np.arange(k), keys, dists, qv)
            at, d, m = self._ranked(m, qv, at)
        self.served += 1
        if st.numpy:  # (numpy gathers only: the wire writes them as they are)
            got = RF.Columns([a[at] if kind is _FLAT else d for kind, a, _t in gathers],
                             self.schema, len(at))
            return got if columns else got.to_batch()
        arrays = []
        for kind, a, t in gathers:
            if kind is _FLAT:  # (a fixed-width column: one numpy gather)
                arrays.append(_primitive(a[at], t))
            elif kind is _DIST:
                arrays.append(_primitive(d, t))
            elif kind is _VEC:
                arrays.append(RF.to_arrow(np.ascontiguousarray(m), t) if m is not None
                              else _nulls(self.prep, len(at), t))
            else:
                arrays.append(RF.rows(seg, a, at, t, st.target.cols))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _run_filtered(self, session: Any, params: list[Any], columns: bool = False
                      ) -> pa.RecordBatch | RF.Columns | None:
        """Under a WHERE: the rows the VectorSearch node's filtered branch chooses
        (exec/filtered_search.py: the passing rows ranked exactly, or the index with an
        over-fetch), in a read-only transaction of its own, fetched as the index path
        fetches its rows (numpy gathers, the operator's kernel for the distances), then
        OFFSET and the output columns: no operators above it."""
        from sqlvec.exec.filtered_search import filtered_rowids
        from sqlvec.exec.operators import ExecContext

        vs, db = self.vs, session.db
        txn = db.store.begin()
        try:
            ctx = ExecContext(txn, db.regs, params, session.cancel_event, session)
            b = self._exact_filtered(ctx, params, None, columns)
            if b is not None:
                ctx.evaluator = ctx.executor = None
                return b
            q = VS._eval_scalar(ctx, vs.query)
            got = filtered_rowids(ctx, vs, q, self.k)
            b = None
            if got is not None:
                chosen, lt = got
                found, hits = VIP._locate(lt, chosen)
                prep = self.prep
                qv = VT.to_float32(VS._query_vector(q, prep.short), prep.short) \
                    if prep.kernel is not None else None  # (the kernel's float32 query row)
                b = VIP._fetch(vs, prep, hits, np.flatnonzero(found), qv, q, None)
            ctx.evaluator = ctx.executor = None  # (both point back at ctx: no cycle)
        finally:
            txn.rollback()
        if b is None:
            return None
        lo = self.offset
        if lo:
            b = b.slice(lo)
        self.served += 1
        return pa.RecordBatch.from_arrays([b.column(j) for j in self.picks], schema=self.schema)

    def _run_scan(self, session: Any, params: list[Any], columns: bool = False
                  ) -> pa.RecordBatch | RF.Columns | None:
        """A top-k the general path ranks exactly (no index, or no more live rows than
        sqlvec.exact_scan_threshold): the exact strategy of a WHERE every row passes, its
        passing set cached per table version (_exact_filtered); None where that declines."""
        every = self._every
        if every is None:
            every = self._every = dataclasses.replace(self.vs, scan=dataclasses.replace(
                self.vs.scan, filter=E.Const(True, BOOL)))
        from sqlvec.exec.operators import ExecContext

        db = session.db
        txn = db.store.begin()
        try:
            ctx = ExecContext(txn, db.regs, params, session.cancel_event, session)
            b = self._exact_filtered(ctx, params, every, columns)
            ctx.evaluator = ctx.executor = None  # (both point back at ctx: no cycle)
        finally:
            txn.rollback()
        return b

    def _exact_filtered(self, ctx: Any, params: list[Any], every: VectorSearch | None = None,
                        columns: bool = False) -> pa.RecordBatch | RF.Columns | None:
        """The exact strategy's answer straight from the passing set: its k best rows by
        the operator's kernel (filtered_search.exact_ranked), the output columns taken
        from the set's own copies of them (read once per set), the distances the ranking
        computed. None when that does not apply (the vector column is read, a query the
        fast conversion refuses, another strategy): _run_filtered's general fetch.
        `every`: the node with WHERE true, whose strategy is exact already (_run_scan);
        `columns`: numpy columns (RF.Columns) where every output column is one."""
        from sqlvec.exec.filtered_search import exact_ranked

        vs = every or self.vs
        prep = self.prep
        i = prep.param
        if prep.kernel is None or i is None or i >= len(params) or self.vs.column in self.picks:
            return None
        qv = VIP.query_vector(params[i], prep.dim, prep.short)
        if qv is None:
            return None
        got = exact_ranked(ctx, vs, qv[0], self.k, decided=every is not None)
        if got is None:
            return None
        hit, lt, pos, d = got
        lo = self.offset
        pos, d = pos[lo:], d[lo:]  # (in ORDER BY's order: (distance, row id), NaN after numbers)
        nf = len(prep.names)
        cols = [d if j == nf else hit.column(vs, j, lt) for j in self.picks]
        self.served += 1
        if all(type(c) is np.ndarray for c in cols):
            got = RF.Columns([c if j == nf else c[pos] for c, j in zip(cols, self.picks)],
                             self.schema, len(pos))
            return got if columns else got.to_batch()
        arrays = [RF._primitive(c if j == nf else c[pos], f.type) if type(c) is np.ndarray
                  else c.take(pa.array(pos)) for c, j, f in zip(cols, self.picks, self.schema)]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _ranked(self, m: np.ndarray, qv: np.ndarray, at: np.ndarray) -> tuple:
        """The operator's kernel on the k rows' vectors `m`, rows in their order by it
        (stable: ties keep the index's order), then OFFSET: (positions, distances, vectors)."""
        d = self.prep.kernel(m, qv[0])
        order = VIP._order(d)
        if order is not None:
            at, d, m = at[order], d[order], m[order]
        lo = self.offset
        return at[lo:], d[lo:], m[lo:]

    def _run_multi(self, st: _State, mu: _Multi, keys: np.ndarray, dists: np.ndarray,
                   qv: np.ndarray, columns: bool = False) -> pa.RecordBatch | RF.Columns | None:
        """The candidates over several segments: which segment by one search of their first
        row ids, visibility by the row-id run and one joined deleted bitmap, the output
        columns from joined numpy columns; as _locate + _fetch give them."""
        k = self.k
        si = mu.starts.searchsorted(keys, "right") - 1
        si_ok = np.maximum(si, 0)
        pos = keys - mu.starts[si_ok]
        ok = (si >= 0) & (pos < mu.sizes[si_ok])
        gpos = mu.offsets[si_ok] + np.where(ok, pos, 0)
        if mu.deleted is not None:
            ok &= ~mu.deleted[gpos]
        if not _ALL(ok):
            keys, dists, gpos, si, pos = keys[ok], dists[ok], gpos[ok], si[ok], pos[ok]
        if len(gpos) < k:
            return self._widen(st, qv)
        VS.LAST.strategy = st.target.shown[1]
        lo = self.offset
        if mu.vec is None:  # (exact distances from the search)
            at, d = gpos[lo:k], dists[lo:k]
        else:
            at, si, pos = gpos[:k], si[:k], pos[:k]
            name, vt = mu.vec
            m = None
            for j in np.unique(si).tolist():
                sel = si == j
                src = mu.full[j]  # (a sealed segment's graph keeps its vectors: one take)
                part = src.vectors(keys[:k][sel]) if src is not None else None
                if part is None:
                    part = RF.values(mu.segs[j], name, pos[sel], vt, st.target.cols)
                if part is None:
                    return self._general_multi(st, keys, dists, qv)
                if m is None:
                    m = np.empty((k, *part.shape[1:]), part.dtype)
                m[sel] = part
            at, d, m = self._ranked(m, qv, at)
        self.served += 1
        if st.numpy:
            got = RF.Columns([flat[at] if kind is _FLAT else d for kind, flat, _t in mu.gathers],
                             self.schema, len(at))
            return got if columns else got.to_batch()
        arrays = []
        for kind, flat, t in mu.gathers:
            if kind is _FLAT:
                arrays.append(_primitive(flat[at], t))
            elif kind is _DIST:
                arrays.append(_primitive(d, t))
            else:  # the vector column (read: its vectors were gathered for the kernel)
                arrays.append(RF.to_arrow(np.ascontiguousarray(m), t))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _general_multi(self, st: _State, keys: np.ndarray, dists: np.ndarray,
                       qv: np.ndarray) -> pa.RecordBatch | None:
        found, hits = VIP._locate(st.lt, keys)
        chosen = hits[0][1][:self.k] if len(hits) == 1 else np.flatnonzero(found)[:self.k]
        return self._general_fetch(st, hits, chosen, keys, dists, qv)

    def _widen(self, st: _State, qv: np.ndarray) -> pa.RecordBatch | None:
        """Too few visible rows among the candidates (deleted keys): the over-fetch grows
        fourfold up to sqlvec.max_overfetch, as vector_index_path.index_top widens it."""
        from sqlvec.exec import segment_index as SI

        t, k, fetch, total = st.target, self.k, st.fetch, st.total
        while True:
            if fetch >= st.limit:
                return None
            fetch = min(fetch * 4, st.limit)
            want = min(fetch, total)
            keys, dists = SI.search(t.built, t.parts, qv, want, st.params)
            cand, d = keys[0], dists[0]
            ok = cand >= 0
            if not ok.all():
                cand, d = cand[ok], d[ok]
            found, hits = VIP._locate(st.lt, cand)
            n = len(hits[0][1]) if len(hits) == 1 else int(np.count_nonzero(found))
            if want >= total or n >= k:
                break
        if n < k:
            return None  # (NULL vectors or rows outside the index: the general path ranks them)
        chosen = hits[0][1][:k] if len(hits) == 1 else np.flatnonzero(found)[:k]
        return self._general_fetch(st, hits, chosen, cand, d, qv)

    def _general_fetch(self, st: _State, hits: list, chosen: np.ndarray, cand: np.ndarray,
                       dists: np.ndarray, qv: np.ndarray) -> pa.RecordBatch:
        """vector_index_path's own fetch of the chosen candidates (the vector column read,
        distances to compute, several segments), then OFFSET and the output columns."""
        t = st.target
        VS.LAST.strategy = t.shown[1]
        exact = dists if t.exact_d and not self.vs.vector_read else None
        b = VIP._fetch(self.vs, self.prep, hits, chosen, qv, None, t.cols, cand, t.by_seg, exact)
        if self.offset:
            b = b.slice(self.offset)
        self.served += 1
        return pa.RecordBatch.from_arrays([b.column(j) for j in self.picks], schema=self.schema)

    def _resolve(self, session: Any, tv: Any, skey: tuple) -> _State | None:
        """Work out the index, its parts and the search for this table version and settings
        (a transaction of its own, rolled back: it only reads), or None; a version the
        general path ranks exactly is kept in `scans` (run() answers it by _run_scan)."""
        if tv is None:
            return None
        from sqlvec.exec.operators import ExecContext

        db = session.db
        vs, prep = self.vs, self.prep
        txn = db.store.begin()
        try:
            ctx = ExecContext(txn, db.regs, [], None, session)
            lt = txn._local(self.oid)
            if lt.reset or lt.base is not tv or lt.inserts:
                return None
            views = lt.views
            n_live = sum(v.live for v in views)
            defs = VS._index_defs(ctx, vs) if n_live > VS.exact_threshold(ctx, p=vs) else None
            if not defs:  # (the general path ranks every row exactly: _run_scan answers it)
                if n_live * prep.dim <= SCAN_VALUES:
                    with self._lock:
                        if len(self.scans) > 8:
                            self.scans.clear()
                        self.scans[skey] = tv
                return None
            idx, oc = defs[0]
            t = VIP._target(ctx, vs, prep, lt, db, idx, oc, n_live)
            if t is None or not t.usable:
                return None
            built, total = t.built, t.total
            params = VS._search_params(ctx, built.kind)
            limit = VS._int_setting(ctx, "sqlvec.max_overfetch", VS.MAX_OVERFETCH)
        except SqlError:
            return None  # (the general path raises it)
        finally:
            txn.rollback()
        k = self.k
        fetch = k if total <= n_live else int(np.ceil(k * 1.2 * total / max(n_live, 1)))
        want = min(fetch, total)
        if want < k:
            return None  # (fewer indexed rows than k: NULL vectors or rows outside the index)
        parts = t.parts
        search = None
        exact_d = t.exact_d
        delta = built.index is not None and len(built.keys) > 0
        if built.kind == "hnsw" and len(parts) == 1 and not delta and len(parts[0].keys):
            one = getattr(parts[0].index, "one_search", None)
            if one is not None:
                search = one(min(want, len(parts[0].keys)), params)
        elif built.kind == "hnsw" and (not delta or not getattr(built.index, "reranks", True)):
            # several graphs (or the delta graph alone): each one's prepared search, merged
            # as segment_index.search merges them; a delta graph keeping no vectors beside
            # it is searched without the entry's lock, as there (usearch is thread-safe; its
            # size is fixed while _same_built holds)
            graphs = [(p.index, len(p.keys)) for p in parts if len(p.keys)]
            metric = vs.metric
            scan = _delta_scan(views, t, prep, want, self._scanned, metric) if delta and \
                graphs and prep.kernel is not None and \
                all(VIP.exact_for(g, metric) for g, _n in graphs) else None
            if delta and scan is None:
                graphs.append((built.index, len(built.keys)))
            ones = [getattr(g, "one_search", lambda *_: None)(min(want, n), params) for g, n in graphs]
            if scan is not None:
                ones.append(scan)
                exact_d = True  # (the graphs re-score as the scan scores: the operator's way)
            if ones and all(o is not None for o in ones):
                search = ones[0] if len(ones) == 1 else _merged(ones, want, not delta or scan is not None)
        if search is None:
            def search(qv: np.ndarray, _b: Any = built, _p: list = parts, _w: int = want,
                       _params: Any = params) -> tuple:
                from sqlvec.exec import segment_index as SI

                keys, dists = SI.search(_b, _p, qv, _w, _params)
                ok = keys[0] >= 0
                return (keys[0], dists[0]) if ok.all() else (keys[0][ok], dists[0][ok])
        live = [v for v in views if v.live]
        one_run = None
        if len(live) == 1:  # one segment, searched by its own graph or by the delta graph alone
            seg = live[0].seg
            own = len(parts) == 1 and parts[0].seg_id == seg.seg_id and not delta
            if seg.max_rowid - seg.min_rowid == seg.num_rows - 1 and (own or (not parts and delta)):
                nf, col = len(prep.names), vs.column
                gathers = [(_DIST, None, pa.float64()) if j == nf else
                           (_VEC, None, prep.types[j]) if j == col else
                           (_FLAT, f, prep.types[j]) if (f := RF.flat_values(
                               seg, prep.names[j], prep.types[j], t.cols)) is not None else
                           (_ROWS, prep.names[j], prep.types[j]) for j in self.picks]
                vec = None
                if not t.exact_d or vs.vector_read:  # (index_top: the kernel when the vectors are read)
                    g = parts[0].index if own else None
                    src = g if getattr(g, "kind", None) == "hnsw" and getattr(g, "full", None) \
                        is not None and g.full.dtype == np.float32 else None
                    vec = (prep.names[col], prep.types[col], src)
                one_run = (seg, live[0].deleted, seg.min_rowid, None if own else seg.max_rowid,
                           gathers, vec)
        multi = None
        if one_run is None and len(live) > 1:
            multi = _multi(live, prep, self.picks, t, exact_d)
        if not t.shown or t.shown[0] != n_live:
            t.shown = (n_live, t.strategy.split(";", 1)[0], t.strategy.replace("{n}", str(n_live)))
        if len(VS.STRATEGY) > 256:
            VS.STRATEGY.clear()
        VS.STRATEGY[id(vs)] = t.shown[2]
        gathers = one_run[4] if one_run is not None else multi.gathers if multi is not None else ()
        st = _State(tv, built, _built_key(built), idx.oid, t, _Views(views), want, total, fetch, limit,
                    params, search, one_run, multi,
                    numpy=bool(gathers) and all(g[0] is _FLAT or g[0] is _DIST for g in gathers))
        with self._lock:
            if len(self.states) > 8:
                self.states.clear()
            self.states[skey] = st
        return st


def _merged(searches: list, want: int, disjoint: bool) -> Any:
    """One search over several graphs: their found candidates merged into the best `want` by
    (distance, key), a key kept once (segment_index.search's merge). `disjoint`: no key can
    come from two of them (each sealed segment's graph and the scan of the other segments;
    a delta graph may still hold rows of a segment sealed since)."""
    from sqlvec.exec.segment_index import _merge_one

    concat, lexsort = np.concatenate, np.lexsort

    def search(qv: np.ndarray) -> tuple:
        return merge([s(qv) for s in searches])

    def many(qs: np.ndarray) -> list[tuple]:  # (each graph's batched search, then per query)
        return [merge(got) for got in zip(*(_many(s)(qs) for s in searches))]

    def merge(got: list[tuple]) -> tuple:
        keys, dists = concat([g[0] for g in got]), concat([g[1] for g in got])
        if disjoint:  # (found ones only, finite distances: no padding, no NaN to order)
            order = lexsort((keys, dists))[:want]
            return keys[order], dists[order]
        keys, dists = _merge_one(keys, dists, want)
        keys, dists = keys[0], dists[0]
        ok = keys >= 0
        return (keys, dists) if _ALL(ok) else (keys[ok], dists[ok])
    if any(hasattr(s, "many") for s in searches):
        search.many = many  # type: ignore[attr-defined]
    keys = [getattr(s, "key", None) for s in searches]
    if all(k is not None for k in keys):
        search.key = ("merged", *keys, want, disjoint)  # type: ignore[attr-defined]
    return search


def _many(search: Any) -> Any:
    """A prepared search's batched form: its own `many` (one graph search for all the
    rows), else one call per row."""
    many = getattr(search, "many", None)
    return many if many is not None else lambda qs: [search(qs[i:i + 1]) for i in range(len(qs))]


def search_together(found: list[tuple[_State, np.ndarray]]) -> list[_State]:
    """Several sessions' next executions, (state, query row) from AnnFast.ahead: those whose
    prepared searches are interchangeable (the same graphs, k and ef_search: their `key`)
    and can batch are searched at once, the graph on several of usearch's threads, and
    each result kept on its state (`ready`), where run() takes it instead of searching. The
    caller (the server, for the requests that arrived together) runs the executions, then
    calls forget() with what this returns. Results are the ones run() finds alone: each
    query's graph search is its own."""
    groups: dict[Any, list] = {}
    for st, qv in found:
        key = getattr(st.search, "key", None)
        if key is not None and hasattr(st.search, "many"):
            groups.setdefault(key, []).append((st, qv))
    done = []
    for group in groups.values():
        if len(group) < 2:
            continue
        got = group[0][0].search.many(np.concatenate([qv for _st, qv in group]))
        for (st, qv), res in zip(group, got):
            if st.ready is None:
                st.ready = {}
                done.append(st)
            st.ready[qv.tobytes()] = res
    return done


def forget(states: list[_State]) -> None:
    """Drop what search_together left on these states (after the executions ran)."""
    for st in states:
        st.ready = None


# the rows outside the sealed segments' graphs, when there are at most this many, are scanned
# exactly instead of searching the delta graph: cheaper, and the distances are ops.l2's
DELTA_SCAN_MAX = 2048


def _delta_scan(views: Any, t: Any, prep: Any, want: int, seen: dict, metric: str) -> Any:
    """An exact search (l2, ip or cos: the operator's arithmetic, index.exact.rescore_one)
    over the live segments no graph part serves, or None: another metric, more rows than
    DELTA_SCAN_MAX, a segment that is not one row-id run, NULL vectors, a column without
    float32 rows. Each segment's vectors are read from storage once: `seen` (seg_id -> rows,
    replaced by the segments of this call) keeps them for the next table version (a segment
    never changes; new rows come in new segments)."""
    if metric not in ("l2", "ip", "cos"):
        return None
    segs = [v.seg for v in views if v.live and v.seg.seg_id not in t.by_seg]
    n = sum(s.num_rows for s in segs)
    name, vt = prep.names[prep.node.column], prep.types[prep.node.column]
    if not 0 < n <= DELTA_SCAN_MAX or type(vt) is not pa.FixedSizeListType or any(
            s.max_rowid - s.min_rowid != s.num_rows - 1 for s in segs):
        return None
    mats = {}
    for s in segs:
        m = seen.get(s.seg_id)
        if m is None:
            chunks = RF.column(s, name, t.cols).views
            if any(c is None or c.ndim != 2 or c.dtype != np.float32 for c in chunks):
                return None  # (NULLs in a chunk: no view)
            m = np.concatenate(chunks) if len(chunks) != 1 else chunks[0]
        mats[s.seg_id] = m
    seen.clear()
    seen.update(mats)
    rows = np.ascontiguousarray(np.concatenate(list(mats.values())))
    keys = np.concatenate([np.arange(s.min_rowid, s.max_rowid + 1, dtype=np.int64) for s in segs])
    norms = np.einsum("cd,cd->c", rows, rows)
    # cos ranks by -x.q / |x|, a zero vector (its distance is NaN) last
    with np.errstate(divide="ignore"):
        inv = np.where(norms > 0, 1 / np.sqrt(norms), 0).astype(np.float32)
    m = want + 8

    def rank(dots: np.ndarray) -> np.ndarray:
        if metric == "l2":
            return norms - 2 * dots
        return -dots if metric == "ip" else np.where(inv > 0, -dots * inv, np.inf)

    def scan(qv: np.ndarray) -> tuple:
        q0 = qv[0]
        if len(keys) > 4 * m:  # (a product picks the best m, a margin for its rounding,
            score = rank(rows @ q0)  # and every row tied with the last: equal vectors keep
            cut = score[np.argpartition(score, m - 1)[:m]].max()  # the lowest ids)
            pick = np.flatnonzero(score <= cut)
            return keys.take(pick), rescore_one(q0, rows.take(pick, axis=0), metric)
        return keys, rescore_one(q0, rows, metric)
    scan.key = ("scan", tuple(s.seg_id for s in segs), want, metric)  # type: ignore[attr-defined]
    return scan


# several segments' columns are joined (copied) per plan and table version up to this many
# rows (a few MB); bigger tables take vector_index_path's _locate and _fetch
MULTI_MAX_ROWS = 1 << 20


@dataclass(eq=False)
class _Multi:
    """Several live segments, each one run of row ids, in row-id order without overlap: a
    candidate's segment is one search of their first row ids away."""

    segs: list
    starts: np.ndarray  # each segment's first row id (ascending)
    sizes: np.ndarray  # its row count (its row ids: starts .. starts + sizes - 1)
    offsets: np.ndarray  # where its rows start in the joined arrays
    deleted: np.ndarray | None  # the joined deleted bitmaps (None: nothing deleted)
    gathers: list  # per output column: (_FLAT, joined numpy values, type), _DIST or _VEC
    vec: tuple | None  # (name, type) of the vector column when the distances need its kernel
    full: list  # per segment: its part's index when it keeps the full vectors (else None)


def _multi(live: list, prep: Any, picks: list[int], t: Any, exact_d: bool) -> _Multi | None:
    """The _Multi of these segments, or None (an overlap, a segment not one run, a column
    without joined numpy values: the general _locate and _fetch serve them)."""
    views = sorted(live, key=lambda v: v.seg.min_rowid)
    segs = [v.seg for v in views]
    if any(s.max_rowid - s.min_rowid != s.num_rows - 1 for s in segs):
        return None
    starts = np.array([s.min_rowid for s in segs], np.int64)
    sizes = np.array([s.num_rows for s in segs], np.int64)
    if int(sizes.sum()) > MULTI_MAX_ROWS:
        return None  # (joined copies per plan and table version: kept small)
    if np.any(starts[1:] <= starts[:-1] + sizes[:-1] - 1):
        return None
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    deleted = None
    if any(v.deleted is not None for v in views):
        deleted = np.concatenate([v.deleted if v.deleted is not None else np.zeros(s.num_rows, bool)
                                  for v, s in zip(views, segs)])
    nf, col = len(prep.names), prep.node.column
    gathers = []
    for j in picks:
        if j == nf:
            gathers.append((_DIST, None, pa.float64()))
            continue
        if j == col:
            gathers.append((_VEC, None, prep.types[j]))
            continue
        parts = [RF.flat_values(s, prep.names[j], prep.types[j], t.cols) for s in segs]
        if any(p is None for p in parts):
            return None
        gathers.append((_FLAT, np.concatenate(parts), prep.types[j]))
    read = prep.node.vector_read
    vec = None if exact_d and not read else (prep.names[col], prep.types[col])
    full = []
    for s in segs:
        g = t.by_seg.get(s.seg_id)
        full.append(g if getattr(g, "kind", None) == "hnsw" and getattr(g, "full", None) is not None
                    and g.full.dtype == np.float32 else None)
    return _Multi(segs, starts, sizes, offsets, deleted, gathers, vec, full)


@dataclass(eq=False)
class _Views:
    """A table's committed segments as vector_index_path._locate reads a LocalTable."""

    views: tuple
    inserts: tuple = ()


def _built_key(built: Any) -> tuple:
    return (built.generation, len(built.keys), id(built.index), len(built.parts))


def _same_built(st: _State, store: Any) -> bool:
    """Whether the index entry is still the one resolved, in the same state (no graph added
    for a newly sealed segment, no delta rows added, not rebuilt)."""
    built = st.built
    per = VS._CACHE.get(store)
    return per is not None and per.get(st.idx_oid) is built and _built_key(built) == st.built_key


# _run_scan serves tables of up to this many values, live rows x dimension (its passing set
# keeps a float32 copy of them, within filtered_search.MAX_PASSING_BYTES)
SCAN_VALUES = 8 << 20

_FLAT, _DIST, _VEC, _ROWS = "flat", "distance", "vector", "rows"  # one_run's column readers


def _nulls(prep: Any, n: int, t: pa.DataType) -> pa.Array:
    """n NULLs of the vector column's type (kept per count, as vector_index_path._fetch)."""
    vec = prep.nulls.get(n)
    if vec is None:
        vec = prep.nulls[n] = pa.nulls(n, t)
    return vec


_primitive = RF._primitive
_ALL = np.logical_and.reduce


# ---- recognising the shape, once per plan ----------------------------------------------------

# id(plan) -> (weak reference to the plan, its AnnFast or None); an entry goes with its plan
# (the AnnFast holds only the plan's VectorSearch node and what it resolved, no cycle back)
_PLANS: dict[int, tuple[Any, AnnFast | None]] = {}


def compiled(plan: Any) -> AnnFast | None:
    """The plan's compiled execution, or None when it is not the ANN top-k shape."""
    hit = _PLANS.get(id(plan))
    if hit is not None and hit[0]() is plan:
        return hit[1]
    try:
        fast = _compile(plan)
    except Exception:  # (a shape this reading does not expect: the general path runs it)
        fast = None
    if len(_PLANS) > 1024:
        _PLANS.clear()
    _PLANS[id(plan)] = (weakref.ref(plan), fast)
    weakref.finalize(plan, _PLANS.pop, id(plan), None)
    return fast


def _const_int(e: Any) -> int | None:
    return e.value if type(e) is E.Const and type(e.value) is int and e.value >= 0 else None


def _compile(plan: Any) -> AnnFast | None:
    from sqlvec.exec.operators import node_schema
    from sqlvec.exec.topk import _presorted

    top = plan if type(plan) is L.Project else None  # (absent when the Sort's Project is the output)
    lim = plan.input if top is not None else plan
    if type(lim) is not L.Limit:
        return None
    limit = _const_int(lim.limit)
    offset = 0 if lim.offset is None else _const_int(lim.offset)
    if limit is None or offset is None or not limit or lim.with_ties or type(lim.input) is not L.Sort:
        return None
    sort = lim.input
    inner = sort.input
    if not _presorted(sort) or type(inner) is not L.Project or type(inner.input) is not VectorSearch:
        return None
    vs = inner.input
    if getattr(vs.scan, "with_rowid", False) or not vs.with_distance:
        return None
    if _const_int(vs.limit) != limit or (0 if vs.offset is None else _const_int(vs.offset)) != offset \
            or limit + offset > VIP.MAX_K:
        return None
    prep = VIP._prep(vs)
    if prep.kernel is None or prep.param is None or prep.dim is None:
        return None
    nf = len(vs.scan.fields)
    if any(type(e) is not E.ColRef or e.index > nf for e in inner.exprs):
        return None  # (an expression to evaluate, errors included: the general path)
    if top is None:
        picks = [e.index for e in inner.exprs]
    elif all(type(e) is E.ColRef for e in top.exprs):
        picks = [inner.exprs[e.index].index for e in top.exprs]
    else:
        return None
    schema = node_schema(plan)
    nodes = [*prep.types, pa.float64()]
    if vs.distance.type.arrow != pa.float64():
        return None
    if any(nodes[j] != f.type for j, f in zip(picks, schema)):
        return None  # (a cast in a Project: the general path)
    return AnnFast(vs, picks, limit, offset, schema)
