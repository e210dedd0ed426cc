"""Filtered top-k: `WHERE <predicate> ORDER BY emb <op> $1 LIMIT k`, the true top k.

The per-query fast path of a filtered VectorSearch (vector_index_path.index_path is the
unfiltered one). The WHERE clause is evaluated over the committed rows once per (table
version, predicate, parameter values), with min/max segment skipping (exec/prune.py): as
one numpy kernel per comparison over each segment's held columns where it compiles
(exec/filtered_predicate.py), else by the evaluator per batch. That gives the passing-row
set: sorted row ids and where their vectors lie (batches read in place); only a strategy
that needs them gathers them, the exact one into one contiguous float32 matrix with
squared norms (each segment's norms computed once and held). The set is cached (LRU,
bounded in bytes), so a repeated predicate costs a dictionary look-up.

Then one of two strategies, chosen by cost:

- exact: from 512 passing rows, one float32 matrix-vector product (einsum: no BLAS
  threads) ranks them, and the rows within its rounding bound of the k-th
  (index/exact.candidates) are re-scored; fewer rows are all scored. Scores come from the
  distance operator's own numpy kernel on the float32 rows (the operator's numbers), or
  from the operator itself for other types and casts; the k best by (distance, row id)
  are the answer: the operator's exact top k, ties included;
- index: the matching hnsw/ivfflat index is searched for OVERFETCH (3) x k x rows /
  passing rows candidates, those in the passing set kept (a binary search per segment in
  its mask), the search widened 4x at a time until k pass; past `sqlvec.max_overfetch`,
  or once the next widening would cost more than the exact strategy, the exact one answers.

The exact strategy's cost grows with the passing rows p, the index's with its over-fetch
(3 k n / p candidates, each a graph walk of random accesses), so exact wins while
p <= max(C0, C 3 k n / p) (`INDEX_MIN_COST`, `INDEX_COST_RATIO`): up to about 21,000
passing rows of 100,000 at k = 10, 67,000 of 1,000,000. `SET sqlvec.exact_scan_threshold
= N` pins the switch at N passing rows.
Only the k result rows are read from the table. A compiled plan (exec/ann_fast.py) takes
the exact strategy's answer as positions in the passing set and the kernel's distances
(`exact_ranked`), and its output columns from the set's own copies of them (`Passing.column`,
read once per set), so a repeated predicate reads nothing from the table at all.

Returns None when the general path of exec/vector_search.py must run (own writes to the
table, volatile predicates, an index not opened yet, GPU exact scans, LIMIT beyond MAX_K).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.exec import segment_index as SI
from sqlvec.exec import vector_search as VS
from sqlvec.exec.filtered_predicate import Columns, Fallback, compile_mask
from sqlvec.plan import expr as E
from sqlvec.plan.vector_search import VectorSearch

MAX_K = 1000  # k above this goes through the general path (LIMIT ALL, huge pages)
# the cost model, in passing rows ranked exactly (a matrix-vector product: ~15 ns a row
# at d = 128): an hnsw search costs INDEX_COST_RATIO per candidate it returns, and at
# least INDEX_MIN_COST (measured on 100k x 128, m = 16: 2.5 us a candidate, 120 us least)
INDEX_COST_RATIO = 150
INDEX_MIN_COST = 8000
# index candidates fetched per wanted row, over the passing fraction (3: recall@10 >= 0.99
# at 20-50% passing with hnsw.ef_search = 40 on the clustered bench set; 1.5 gave 0.988)
OVERFETCH = 3.0
_SAFE = (E.Const, E.ColRef, E.Param, E.Func, E.Cast, E.BoolOp, E.Not, E.IsNull, E.IsBool,
         E.Distinct, E.Case, E.Coalesce, E.InList)
_DENSE = ("vector", "halfvec")  # exact strategy by matrix product (others: the operator)
# fewer passing rows than this: the operator's kernel ranks them all (no candidate step);
# 128-d, k 10: 1,000 rows 154 -> 70 us by the product (the kernel's row-sized temporaries
# cost more than the candidate step from ~500 rows on)
PRODUCT_MIN_ROWS = 512
_PASSING: OrderedDict[tuple, Passing] = OrderedDict()
_PASSING_LOCK = threading.Lock()
MAX_PASSING = 8
MAX_PASSING_BYTES = 128 << 20  # vectors and matrices held by the cached sets, all together
# filter expression (by id, held to keep the id) -> (key part, parameter indexes) or None
_SHAPE: dict[int, tuple[E.Expr, Any]] = {}


@dataclass
class Passing:
    """The committed rows passing a WHERE: how many, NULL-vector ids, and, once `ready()`,
    sorted ids and where their vectors are: `sources`, (vector array of a scan batch,
    positions of its passing rows), read in place (mmap'd segments) and gathered only into
    what a strategy needs. Segments decided by a compiled program stay a mask over their
    positions until then: the index strategy only asks `contains` of its candidates."""

    base: Any  # the committed TableVersion it was computed on (keys hold its id)
    n: int  # passing rows with a vector
    null_rowids: np.ndarray  # ascending
    # segments not expanded yet: (segment, mask of its passing positions, vector column,
    # its held columns' dict, the vector column's name)
    masks: list[tuple[Any, np.ndarray, pa.ChunkedArray, dict, str]]
    # evaluator-decided rows: (row ids, sources, norms), in source order
    found: tuple[list, list, list]
    rowids: np.ndarray | None = None  # ascending (ready())
    sources: list[tuple[pa.Array, np.ndarray]] = field(default_factory=list)
    order: np.ndarray | None = None  # sorted index -> index in source order (None: the same)
    vectors: pa.Array | None = None  # every passing vector, in row id order (on demand)
    mat: np.ndarray | None = None  # (passing, d) float32, in row id order (on demand)
    sq: np.ndarray | None = None  # squared norms of mat's rows
    # per source: None, or (a held dict, key) where its batch's squared norms are kept
    norms: list | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    uses: int = 0  # exact rankings so far (the first streams; a second keeps a matrix)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    # scan column -> its values at the passing rows, in row id order (column())
    cols: dict = field(default_factory=dict)

    def ready(self) -> np.ndarray:
        """Expand the masks: sorted row ids and sources (once); returns the row ids."""
        with self.lock:
            if self.rowids is None:
                ids, sources, norms = (list(x) for x in self.found)
                for seg, mask, vec, held, name in self.masks:
                    pos = np.flatnonzero(mask)
                    ids.append(seg.rowids[pos])
                    at = 0
                    for j, chunk in enumerate(vec.chunks):
                        lo, hi = np.searchsorted(pos, [at, at + len(chunk)])
                        if hi > lo:
                            sources.append((chunk, pos[lo:hi] - at))
                            norms.append((held, (name, "sq", j)))
                        at += len(chunk)
                rowids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
                if len(rowids) > 1 and not bool((rowids[1:] > rowids[:-1]).all()):
                    self.order = np.argsort(rowids, kind="stable")
                    rowids = rowids[self.order]  # (sorted index -> index in source order)
                self.sources, self.norms = sources, norms
                self.starts = np.cumsum([0] + [len(pos) for _v, pos in sources])
                self.rowids = rowids
            return self.rowids

    def contains(self, cand: np.ndarray) -> np.ndarray:
        """Which of the row ids `cand` pass (a mask over cand)."""
        rowids = self.rowids
        if rowids is not None:
            if not len(rowids):
                return np.zeros(len(cand), bool)
            at = np.minimum(np.searchsorted(rowids, cand), len(rowids) - 1)
            return rowids[at] == cand
        ok = np.zeros(len(cand), bool)
        if not len(cand):
            return ok
        order = np.argsort(cand, kind="stable")
        want = cand[order]
        for seg, mask, _vec, _held, _name in self.masks:
            which, pos = seg.locate(want)
            ok[order[which]] = mask[pos]
        if self.found[0]:
            ok |= np.isin(cand, np.concatenate(self.found[0]))
        return ok

    def rows_at(self, idx: np.ndarray, vtype: pa.DataType) -> pa.Array:
        """The vectors of passing rows `idx` (indexes into rowids), in that order."""
        src = idx if self.order is None else self.order[idx]
        which = np.searchsorted(self.starts, src, side="right") - 1
        if len(self.sources) == 1:
            vec, pos = self.sources[0]
            out = vec.take(pa.array(pos[src]))
            return out.cast(vtype) if out.type != vtype else out
        by = np.argsort(which, kind="stable")
        parts = []
        for w in np.unique(which):
            sel = src[by][which[by] == w] - self.starts[w]
            vec, pos = self.sources[w]
            part = vec.take(pa.array(pos[sel]))
            parts.append(part.cast(vtype) if part.type != vtype else part)
        inverse = np.empty(len(idx), np.int64)
        inverse[by] = np.arange(len(idx))
        return pa.concat_arrays(parts).take(pa.array(inverse))

    def gathered(self, vtype: pa.DataType) -> pa.Array:
        """Every passing vector, in row id order (the operator's exact path)."""
        with self.lock:
            if self.vectors is None:
                self.vectors = self.rows_at(np.arange(len(self.rowids)), vtype) \
                    if len(self.rowids) else pa.array([], vtype)
            return self.vectors

    def matrix(self, short: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(passing, d) float32 matrix in row id order and its rows' squared norms; None
        when the batches differ in dimension (a `vector` column without one: the operator
        ranks, and raises its error)."""
        from sqlvec.functions.vectors.types import matrix

        with self.lock:
            if self.mat is None:
                views = [matrix(vec, tname=short)[0] for vec, _pos in self.sources]
                d = views[0].shape[1] if views else 0
                if any(m.shape[1] != d for m in views):
                    return None
                mat = np.empty((int(self.starts[-1]), d), views[0].dtype if views else np.float32)
                for m, (_vec, pos), at in zip(views, self.sources, self.starts):
                    np.take(m, pos, axis=0, out=mat[at:at + len(pos)])  # one copy, in place
                if self.order is not None:
                    mat = mat[self.order]
                self.mat = np.ascontiguousarray(mat, np.float32)
                self.sq = np.einsum("ij,ij->i", self.mat, self.mat)
            return self.mat, self.sq

    def streamed(self, qv: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """(float32 products with qv, squared norms) of every passing row of a float32
        column, in row id order, through a reused scratch block: no matrix of all the
        passing rows is allocated (a predicate seen once). None: not that layout."""
        from sqlvec.functions.vectors.types import matrix

        if self.order is not None:
            return None
        n = int(self.starts[-1])
        dots, sq = np.empty(n, np.float32), np.empty(n, np.float32)
        for i, ((vec, pos), at) in enumerate(zip(self.sources, self.starts)):
            m = matrix(vec, tname="vector")[0]
            if m.dtype != np.float32 or m.shape[1] != len(qv):
                return None
            held = _held_norms(m, self.norms[i] if self.norms else None)
            span = slice(int(at), int(at) + len(pos))
            if held is not None:
                np.take(held, pos, out=sq[span])
            _products(m, pos, qv, dots[span], None if held is not None else sq[span])
        return dots, sq

    def rows_f32(self, idx: np.ndarray) -> np.ndarray:
        """The float32 vectors of passing rows `idx` (row id order; streamed layout)."""
        from sqlvec.functions.vectors.types import matrix

        which = np.searchsorted(self.starts, idx, side="right") - 1
        out = np.empty((len(idx), 0), np.float32)
        for w in np.unique(which):
            vec, pos = self.sources[w]
            m = matrix(vec, tname="vector")[0]
            if out.shape[1] != m.shape[1]:
                out = np.empty((len(idx), m.shape[1]), np.float32)
            sel = which == w
            out[sel] = np.take(m, pos[idx[sel] - self.starts[w]], axis=0)
        return out

    def column(self, p: VectorSearch, j: int, lt: Any) -> np.ndarray | pa.Array:
        """Scan column j's values at the passing rows, in row id order, read once from the
        table view `lt` (the committed version the set was computed on) and kept: a numpy
        array for a fixed-width column without NULLs, else an Arrow array."""
        with self.lock:
            got = self.cols.get(j)
        if got is not None:
            return got
        from sqlvec.exec.vector_index_path import _gather, _locate

        name, schema = _column_schema(p, j)
        found, hits = _locate(lt, self.ready())
        col = _gather(hits, np.flatnonzero(found), [name], schema).column(1).combine_chunks()
        got = col
        if not col.null_count and (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                                   or pa.types.is_boolean(col.type)):
            got = np.asarray(col.to_numpy(zero_copy_only=False))
        with self.lock:
            self.cols[j] = got
        with _PASSING_LOCK:
            _trim()  # (its bytes count against the cache's)
        return got

    @property
    def nbytes(self) -> int:
        return (self.vectors.nbytes if self.vectors is not None else 0) + \
            (self.mat.nbytes if self.mat is not None else 0) + \
            sum(m.nbytes for _s, m, *_r in self.masks) + sum(c.nbytes for c in self.cols.values())


_LOCAL = threading.local()


def _held_norms(m: np.ndarray, where: tuple[dict, tuple] | None) -> np.ndarray | None:
    """The squared norms of every row of a segment's batch `m`, computed once and kept
    beside its held columns (4 bytes a row); None for batches not from a segment."""
    if where is None:
        return None
    held, key = where
    got = held.get(key)
    if got is None or len(got) != len(m):
        got = held[key] = np.einsum("ij,ij->i", m, m)
    return got


def _scratch(d: int) -> np.ndarray:
    """This thread's block of SCRATCH_BYTES of float32 rows for streamed products (reused:
    it stays in the core's cache between the gather and the product)."""
    buf = getattr(_LOCAL, "buf", None)
    if buf is None or buf.shape[1] != d:
        buf = _LOCAL.buf = np.empty((max(64, SCRATCH_BYTES // (4 * max(d, 1))), d), np.float32)
    return buf


SCRATCH_BYTES = 256 << 10
# passing rows in a run of consecutive positions at least this long are multiplied where
# they lie (one product call per run, ~2 us); shorter runs are gathered into the scratch
# block first (a copy, ~50 ns a row at d = 128)
RUN_ROWS = 64


def _products(m: np.ndarray, pos: np.ndarray, qv: np.ndarray, dots: np.ndarray,
              sq: np.ndarray | None) -> None:
    """dots[i] = m[pos[i]] . qv (and sq[i] = |m[pos[i]]|^2 unless sq is None), float32:
    long runs of consecutive positions in place, the other rows through the scratch block."""
    long_at = np.zeros(0, np.int64)
    if len(pos) >= RUN_ROWS:
        cut = np.flatnonzero(np.diff(pos) != 1) + 1
        starts = np.concatenate(([0], cut))
        lengths = np.diff(np.concatenate((starts, [len(pos)])))
        long_at = np.flatnonzero(lengths >= RUN_ROWS)
        for r in long_at.tolist():
            a, b = int(starts[r]), int(starts[r] + lengths[r])
            rows = m[pos[a]:pos[a] + (b - a)]
            np.einsum("ij,j->i", rows, qv, out=dots[a:b])
            if sq is not None:
                np.einsum("ij,ij->i", rows, rows, out=sq[a:b])
        if len(long_at) == len(starts):
            return
    if len(long_at):  # the positions (indexes into pos) outside the long runs
        inside = np.zeros(len(pos) + 1, np.int64)
        np.add.at(inside, starts[long_at], 1)
        np.add.at(inside, starts[long_at] + lengths[long_at], -1)
        rest = np.flatnonzero(np.cumsum(inside[:-1]) == 0)
    else:
        rest = None
    buf = _scratch(m.shape[1])
    n = len(pos) if rest is None else len(rest)
    for s in range(0, n, len(buf)):
        idx = slice(s, min(n, s + len(buf))) if rest is None else rest[s:s + len(buf)]
        sel = pos[idx]
        blk = np.take(m, sel, axis=0, out=buf[:len(sel)])
        if rest is None:
            np.einsum("ij,j->i", blk, qv, out=dots[idx])
            if sq is not None:
                np.einsum("ij,ij->i", blk, blk, out=sq[idx])
        else:
            dots[idx] = np.einsum("ij,j->i", blk, qv)
            if sq is not None:
                sq[idx] = np.einsum("ij,ij->i", blk, blk)


class _Filter:
    """A filter expression as a cache key part: its hash computed once (hashing the
    frozen expression tree re-walks it: ~500 calls, 3 times a query), equal to another
    when the same object or structurally equal."""

    __slots__ = ("expr", "h")

    def __init__(self, expr: E.Expr) -> None:
        self.expr, self.h = expr, hash(expr)

    def __hash__(self) -> int:
        return self.h

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Filter) and (other.expr is self.expr or other.expr == self.expr)


def _shape_of(f: E.Expr) -> tuple[_Filter, tuple[int, ...]] | None:
    """(key part, indexes of the parameters it reads), or None when it may vary between
    runs (volatile functions, unknown nodes) or cannot be hashed."""
    hit = _SHAPE.get(id(f))
    if hit is not None and hit[0] is f:
        return hit[1]
    out: list[int] | None = []
    for e in E.walk(f):
        if not isinstance(e, _SAFE) or (isinstance(e, E.Func) and (
                e.fn is None or getattr(e.fn, "volatile", True))):
            out = None
            break
        if isinstance(e, E.Param):
            out.append(e.index)
    shape = None
    if out is not None:
        try:
            shape = (_Filter(f), tuple(out))
        except TypeError:
            shape = None
    if len(_SHAPE) > 4096:
        _SHAPE.clear()
    _SHAPE[id(f)] = (f, shape)
    return shape


def _param_key(v: Any) -> Any:
    """A parameter's value as a key: its repr, or a numpy array's bytes (whose repr elides
    the middle of long arrays: two vectors would look the same)."""
    if isinstance(v, np.ndarray):
        return (v.dtype.str, v.shape, v.tobytes())
    return repr(v)


def _cache_key(ctx: Any, p: VectorSearch, lt: Any) -> tuple | None:
    """A key for the passing set, or None when the filter may differ between runs."""
    assert p.scan.filter is not None
    shape = _shape_of(p.scan.filter)
    if shape is None:
        return None
    fkey, which = shape
    params = tuple((i, _param_key(ctx.params[i] if i < len(ctx.params) else None)) for i in which)
    key = (id(lt.base), fkey, params, tuple(f.name for f in p.scan.fields), p.column)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def passing(ctx: Any, p: VectorSearch, lt: Any) -> Passing:
    """Evaluate the WHERE over the committed rows, skipping segments by min/max statistics:
    a compiled numpy program over each segment's held columns (exec/filtered_predicate.py),
    else the evaluator batch by batch."""
    from sqlvec.exec.prune import pruner

    names = [f.name for f in p.scan.fields]
    prune = pruner(p.scan.filter, names, ctx.params)
    prog = compile_mask(p.scan.filter)
    ids, nulls, sources, norms, masks = [], [], [], [], []
    count = 0
    for v in lt.views:
        if v.live == 0:
            continue
        seg = v.seg
        if prune is not None:
            if seg.stats is None and not seg.growing and seg.loaded:
                from sqlvec.storage.segment import column_stats
                seg.stats = column_stats(seg.data)
            if seg.stats is not None and prune(seg.stats):
                continue
        ctx.check_cancel()
        got = None if prog is None else _segment_mask(ctx, p, prog, v, names, nulls)
        if got is not None:
            if got[0] is not None:
                masks.append(got[0])
                count += got[1]
            continue
        for b in v.table(names).to_batches():
            ctx.check_cancel()
            data = pa.RecordBatch.from_arrays([b.column(i) for i in range(1, b.num_columns)],
                                              names=names)
            m = pc.fill_null(ctx.evaluator.eval(p.scan.filter, data), False)
            mask = np.asarray(m.to_numpy(zero_copy_only=False), dtype=bool)
            vec = b.column(p.column + 1)
            if vec.null_count:
                valid = np.asarray(vec.is_valid().to_numpy(zero_copy_only=False), bool)
                nulls.append(np.asarray(b.column(0))[mask & ~valid])
                mask &= valid
            if mask.any():
                pos = np.flatnonzero(mask)
                ids.append(np.asarray(b.column(0))[pos])
                sources.append((vec, pos))
                norms.append(None)
                count += len(pos)
    null_rowids = np.sort(np.concatenate(nulls)) if nulls else np.zeros(0, np.int64)
    return Passing(lt.base, count, null_rowids, masks, (ids, sources, norms))


def _segment_mask(ctx: Any, p: VectorSearch, prog: Any, v: Any, names: list[str],
                  nulls: list) -> tuple[tuple | None, int] | None:
    """One segment's passing rows by the compiled program: ((segment, mask, vector column,
    held columns, its name) or None when no row passes, how many pass); its NULL-vector
    rows appended to `nulls`. None when the program declines it (the evaluator decides)."""
    seg = v.seg
    table = seg.data
    cols = Columns(table, names, seg)
    try:
        m = prog(cols, ctx.params)
    except Fallback:
        return None
    mask = np.full(table.num_rows, bool(m)) if isinstance(m, bool | np.bool_) else m
    if v.deleted is not None:
        mask = mask & ~v.deleted
    vec = table.column(names[p.column])
    if vec.null_count:
        valid = cols.valid(p.column)
        nulls.append(seg.rowids[mask & ~valid])
        mask = mask & valid
    count = int(np.count_nonzero(mask))
    if not count:
        return None, 0
    return (seg, mask, vec, cols.held, names[p.column]), count


def _cached_passing(ctx: Any, p: VectorSearch, lt: Any, key: tuple) -> Passing:
    with _PASSING_LOCK:
        hit = _PASSING.get(key)
        if hit is not None and hit.base is not lt.base:  # an id reused by another version
            hit = None
        elif hit is not None:
            _PASSING.move_to_end(key)
    if hit is None:
        hit = passing(ctx, p, lt)
        with _PASSING_LOCK:
            _PASSING[key] = hit
            _trim()
    return hit


def _trim() -> None:
    while len(_PASSING) > MAX_PASSING or (len(_PASSING) > 1 and sum(
            e.nbytes for e in _PASSING.values()) > MAX_PASSING_BYTES):
        _PASSING.popitem(last=False)


def exact_wins(ctx: Any, n_pass: int, n_all: int, k: int) -> bool:
    """Whether ranking the passing rows exactly is cheaper than the index's over-fetch.

    `SET sqlvec.exact_scan_threshold = N` pins it (exact up to N passing rows), as do
    enable_indexscan / enable_seqscan off (VS.exact_threshold)."""
    pinned = VS.exact_threshold(ctx, None)
    if pinned is not None:
        return n_pass <= pinned
    fetch = OVERFETCH * k * n_all / max(n_pass, 1)
    return n_pass <= max(INDEX_MIN_COST, INDEX_COST_RATIO * fetch)


# the dense distance functions by SQL name (functions/vectors/ops.py registers these names)
_KERNELS = {"<->": "l2_distance", "<#>": "negative_inner_product", "<=>": "cosine_distance",
            "l2_distance": "l2_distance", "cosine_distance": "cosine_distance"}


def _kernel(p: VectorSearch, short: str) -> tuple[Any, bool] | None:
    """(the operator's numpy kernel, column first) when the distance is the dense operator
    applied to the bare column and the query (no casts): the kernel on the float32 rows
    gives the operator's own numbers. None otherwise."""
    f = p.distance
    name = _KERNELS.get(getattr(f, "name", ""))
    if name is None or short not in _DENSE or len(f.args) != 2:
        return None
    col = [_bare(a) for a in f.args]
    col = [isinstance(a, E.ColRef) and a.index == p.column for a in col]
    if col[0] == col[1] or any(a.type.short != short for a in f.args):
        return None
    from sqlvec.functions.vectors.ops import DENSE_METRICS
    return DENSE_METRICS[name], col[0]


def _node_kernel(p: VectorSearch) -> tuple[Any, bool] | None:
    """_kernel of a plan node, worked out once (exact_ranked runs it every execution)."""
    return _per_node(_KERNEL, id(p), p, lambda: _kernel(p, p.scan.fields[p.column].type.short))


def _bare(e: E.Expr) -> E.Expr:
    """The expression under casts that keep a dense vector's values (same type, any or the
    same dimension: vector(128) -> vector), else the expression itself."""
    inner = e
    while isinstance(inner, E.Cast) and inner.type.short == inner.arg.type.short and \
            getattr(inner.type, "typmod", -1) in (-1, getattr(inner.arg.type, "typmod", -1)):
        inner = inner.arg
    return inner if isinstance(inner, E.ColRef) else e


def exact_top(p: VectorSearch, hit: Passing, q: Any, k: int) -> np.ndarray:
    """Row ids of the k best passing rows by (operator distance, row id)."""
    if not len(hit.ready()):
        return np.zeros(0, np.int64)
    short = p.scan.fields[p.column].type.short
    kern = _kernel(p, short)
    qv = None
    if kern is not None:
        from sqlvec.functions.vectors.types import scalar_vector, to_float32
        qv = to_float32(np.asarray(scalar_vector(q)), short)
    return hit.rowids[_exact_pos(p, hit, q, k, kern, qv)[0]]  # type: ignore[index]


def _exact_pos(p: VectorSearch, hit: Passing, q: Any, k: int, kern: tuple[Any, bool] | None,
               qv: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None] | None:
    """(positions in the passing set's row id order of its k best rows by (operator
    distance, row id), their distances as float64 when the kernel `kern` scored them
    with the float32 query row `qv`, else None: the operator ranked with `q`). None when
    the operator must rank and `q` is None."""
    short = p.scan.fields[p.column].type.short
    n = len(hit.ready())
    product = n >= PRODUCT_MIN_ROWS and k < n // 4 and p.metric in ("l2", "ip", "cos")
    first, hit.uses = hit.uses == 0, hit.uses + 1
    if qv is not None and product and first and hit.mat is None and short == "vector":
        # a predicate seen once (a parameter that changes every query): stream the
        # products through a scratch block instead of gathering a matrix to cache
        got = hit.streamed(qv)
        if got is not None:
            from sqlvec.index.exact import candidates_of
            cand = candidates_of(np, got[0], got[1], qv, k, p.metric, len(qv))
            if cand is not None:
                sel, d = _scored(kern, hit.rows_f32(cand), qv, hit.rowids[cand], k)
                return cand[sel], d
    got = hit.matrix(short) if qv is not None else None
    if got is None or len(qv) != got[0].shape[1]:
        if q is None:
            return None  # (exact_ranked's caller: the general path gives the operator's error)
        fld = p.scan.fields[p.column]
        d, valid = _distances(p, hit.gathered(fld.type.arrow), q)  # the operator, every row
        return VS._rank(d, valid, hit.rowids, k), None
    mat, sq = got
    cand = None
    if product:
        from sqlvec.index.exact import candidates
        cand = candidates(np, mat, sq, qv, k, p.metric)
    if cand is None:
        return _scored(kern, mat, qv, hit.rowids, k)
    sel, d = _scored(kern, mat[cand], qv, hit.rowids[cand], k)
    return cand[sel], d


def _scored(kern: tuple[Any, bool], rows: np.ndarray, qv: np.ndarray, ids: np.ndarray,
            k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best of `ids` by the operator's kernel on their float32 rows, then row id:
    (their indexes in ids, their distances as float64)."""
    fn, col_first = kern
    d = np.asarray(fn(rows, qv) if col_first else fn(qv, rows), np.float64)
    if len(d) <= _FEW and not np.isnan(d).any():  # (a few candidates: one sort, no classes)
        sel = np.lexsort((ids, d))[:k]
    else:
        sel = VS._rank(d, np.ones(len(d), bool), ids, k)
    return sel, d[sel]


_FEW = 64  # _scored sorts up to this many rows whole (VS._rank partitions first)


def _distances(p: VectorSearch, col: pa.Array, q: Any) -> tuple[np.ndarray, np.ndarray]:
    """(distance as float64, valid) of each vector to the query, with the SQL operator."""
    col_first = isinstance(VS._strip(p.distance.args[0]), E.ColRef)
    d = p.distance.fn.call([col, q] if col_first else [q, col], len(col))
    valid = np.asarray(d.is_valid().to_numpy(zero_copy_only=False), bool) if d.null_count \
        else np.ones(len(d), bool)
    return np.asarray(pc.fill_null(d, 0.0).to_numpy(zero_copy_only=False), np.float64), valid


def filtered_path(ctx: Any, p: VectorSearch, q: Any, k: int) -> pa.Table | None:
    """The k best rows (`_rowid` + the scan's columns) under a WHERE, or None."""
    got = filtered_rowids(ctx, p, q, k)
    if got is None:
        return None
    chosen, lt = got
    from sqlvec.exec.vector_index_path import _gather, _locate

    names, schema = _output(p)
    found, hits = _locate(lt, chosen)
    return _gather(hits, np.flatnonzero(found), names, schema)


def filtered_rowids(ctx: Any, p: VectorSearch, q: Any, k: int) -> tuple[np.ndarray, Any] | None:
    """The row ids of the k best rows under a WHERE, best first (NULL vectors last), and
    the transaction's view of the table they are read from; or None (the general path)."""
    if q is None or not q.is_valid:
        return None
    got = _passing_for(ctx, p, k)
    if got is None:
        return None
    lt, hit, n_all = got
    n_pass = hit.n
    exact = exact_wins(ctx, n_pass, n_all, k)
    chosen = None
    defs = VS._index_defs(ctx, p) if not exact else []
    strategy = "exact"
    if defs:
        idx, oc = defs[0]
        built = VS._CACHE.get(ctx.session.db.store, {}).get(idx.oid)
        if built is None or built.signature != VS._signature(idx, oc):
            return None  # first use of the index: the general path opens or builds it
        chosen = _index_top(ctx, p, q, k, lt, hit, built, idx)
        strategy = f"{built.kind} {idx.name}" if chosen is not None else \
            "exact (index over-fetch exhausted)"
    if chosen is None:
        chosen = exact_top(p, hit, q, k)
        with _PASSING_LOCK:
            _trim()  # a matrix gathered just now counts against the cache's bytes
    if len(chosen) < k:  # NULL vectors come last
        chosen = np.concatenate([chosen, hit.null_rowids[: k - len(chosen)]])
    _shown(p, strategy, n_pass, n_all, bool(defs), exact)
    return chosen, lt


def exact_ranked(ctx: Any, p: VectorSearch, qv: np.ndarray, k: int, decided: bool = False
                 ) -> tuple[Passing, Any, np.ndarray, np.ndarray] | None:
    """filtered_rowids' answer when the exact strategy gives it and the operator's kernel
    scores (a dense column, `qv` the float32 query row): (the passing set, the view of
    the table it was computed on, positions of the k best in its row id order, their
    distances as float64, best first). None in every other case, and when fewer than k
    rows with a vector pass (filtered_rowids answers, NULL vectors after them).
    `decided`: the caller chose the exact strategy (exact_wins is not asked)."""
    got = _passing_for(ctx, p, k)
    if got is None:
        return None
    lt, hit, n_all = got
    kern = _node_kernel(p)
    if kern is None or hit.n < k or not (decided or exact_wins(ctx, hit.n, n_all, k)):
        return None
    gathered = hit.mat is not None
    ranked = _exact_pos(p, hit, None, k, kern, qv)
    if not gathered and hit.mat is not None:
        with _PASSING_LOCK:
            _trim()  # (a matrix gathered just now counts against the cache's bytes)
    if ranked is None or ranked[1] is None:
        return None
    _shown(p, "exact", hit.n, n_all, False, True)
    return hit, lt, ranked[0], ranked[1]


def _passing_for(ctx: Any, p: VectorSearch, k: int) -> tuple[Any, Passing, int] | None:
    """(the transaction's view of the table, its cached passing set, its live rows), or
    None where the general path runs: no WHERE, LIMIT beyond MAX_K, SET sqlvec.gpu = on
    (exact scans on the device; under auto the passing set's cached matrix serves), own
    writes to the table, a filter that may differ between runs."""
    if p.scan.filter is None or k <= 0 or k > MAX_K:
        return None
    local = getattr(ctx.txn, "_local", None)
    session = getattr(ctx, "session", None)
    if local is None or getattr(session, "db", None) is None:
        return None
    from sqlvec.index.xp import parse_gpu_setting
    if parse_gpu_setting(VS._setting(ctx, "sqlvec.gpu", "auto")) is True:
        return None  # exact scans on the device: the general path
    lt = local(p.scan.table.oid)
    if lt.reset or lt.base is None or lt.inserts or lt.deleted:
        return None  # own writes to this table: the general path
    key = _cache_key(ctx, p, lt)
    if key is None:
        return None
    hit = _cached_passing(ctx, p, lt, key)
    return lt, hit, sum(v.live for v in lt.views)


def _shown(p: VectorSearch, strategy: str, n_pass: int, n_all: int, indexed: bool,
           exact: bool) -> None:
    """What EXPLAIN ANALYZE and VS.LAST say of the strategy a filtered search took."""
    VS.LAST.strategy = strategy
    if len(VS.STRATEGY) > 256:
        VS.STRATEGY.clear()
    VS.STRATEGY[id(p)] = (f"{strategy}; {n_pass} of {n_all} rows pass" if indexed else
                          f"exact top-k scan of {n_pass} passing rows" +
                          (" (no matching index)" if not exact else ""))


# what is worked out once per plan node (a cached plan runs the same node again and again):
# key -> (the node, held so that its id is not reused, the value)
_OUTPUT: dict[int, tuple[VectorSearch, Any]] = {}  # id -> scan names, `_rowid` + their schema
_COLUMN: dict[tuple[int, int], tuple[VectorSearch, Any]] = {}  # (id, j) -> name, `_rowid` + it
_KERNEL: dict[int, tuple[VectorSearch, Any]] = {}  # id -> _kernel


def _per_node(cache: dict, key: Any, p: VectorSearch, make: Callable[[], Any]) -> Any:
    """cache[key]'s value for node p, made by make() the first time (one schema object per
    node and columns: _gather's per-segment batches are kept by schema)."""
    hit = cache.get(key)
    if hit is None or hit[0] is not p:
        if len(cache) > 256:
            cache.clear()
        hit = cache[key] = (p, make())
    return hit[1]


def _column_schema(p: VectorSearch, j: int) -> tuple[str, pa.Schema]:
    fld = p.scan.fields[j]
    return _per_node(_COLUMN, (id(p), j), p, lambda: (fld.name, pa.schema(
        [pa.field("_rowid", pa.int64()), pa.field(fld.name, fld.type.arrow)])))


def _output(p: VectorSearch) -> tuple[list[str], pa.Schema]:
    return _per_node(_OUTPUT, id(p), p, lambda: (
        [f.name for f in p.scan.fields],
        pa.schema([pa.field("_rowid", pa.int64())] +
                  [pa.field(f.name, f.type.arrow) for f in p.scan.fields])))


def _index_top(ctx: Any, p: VectorSearch, q: Any, k: int, lt: Any, hit: Passing, built: Any,
               idx: Any) -> np.ndarray | None:
    """Row ids of k passing rows through the index; None when they are not found within
    `sqlvec.max_overfetch` candidates, or when the next widening would cost more than
    ranking the passing rows exactly (the exact strategy answers: a wider search starts
    again from the top, so widening is only worth it while it stays cheaper)."""
    from sqlvec.exec.vector_index_path import _ensure_covered

    fld = p.scan.fields[p.column]
    parts = _ensure_covered(built, lt.views, fld.name, fld.type.short, ctx.session.db.store,
                            idx, ctx)
    qv = VS._query_vector(q, fld.type.short)
    params = VS._search_params(ctx, built.kind)
    total = max(SI.size(built, parts), 1)
    n_pass = hit.n
    fetch = max(k, int(np.ceil(k * OVERFETCH * total / max(n_pass, 1))))
    limit = VS._int_setting(ctx, "sqlvec.max_overfetch", VS.MAX_OVERFETCH)
    while True:
        want = min(fetch, total)
        keys, _d = SI.search(built, parts, qv, want, params)
        cand = keys[0]
        cand = cand[cand >= 0]
        ok = cand[hit.contains(cand)]
        if len(ok) >= min(k, n_pass):
            return ok[:k]
        fetch = min(fetch * 4, limit)
        if want >= total or want >= limit or \
                INDEX_COST_RATIO * fetch > max(n_pass, INDEX_MIN_COST):
            return None  # (a search of every row that still misses some: the graph's reach)
