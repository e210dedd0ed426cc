"""The VectorSearch operator: top-k rows by distance, through an index or an exact scan.

First it tries the per-query fast paths of sqlvec/exec/vector_index_path.py, which read no
table data beyond the k result rows (unfiltered: index over committed segments + own
inserts ranked exactly; filtered: a passing-row set cached per table version). When they
decline (own writes under a filter, volatile filters, LIMIT ALL, first use of an index,
many deleted keys), the general path below reads the scan's columns once (zero-copy
Arrow batches), evaluates the WHERE clause over every row to get the passing row ids,
then either

- ranks the passing rows exactly with the distance operator (no index, or few passing
  rows: fewer than `sqlvec.exact_scan_threshold`, default 20,000 rows and no more than
  2,560,000 values: 3,333 rows at 768-d), or
- searches the matching hnsw/ivfflat/sparse index for k x (rows / passing rows) x 1.5
  candidates and widens the search 4x at a time until k of them pass (bounded by
  `sqlvec.max_overfetch`, after which the passing rows are ranked exactly),

so k rows come back whenever k rows match. An index (one per CREATE INDEX, kept per
Database) is one graph per sealed segment (exec/segment_index.py, built at CREATE INDEX,
behind the commit that sealed the segment, by VACUUM/compaction, or on first use) plus a
delta graph over the other rows; rows visible to a query but missing from the delta
(new or own writes) are added before searching, rows a graph holds that a query cannot
see (deleted, or newer) are skipped by the row-id check.
NULL vectors sort last, ties break by row id.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import InvalidParameterValue
from sqlvec.functions.vectors import ops as VO
from sqlvec.functions.vectors.types import _np
from sqlvec.index import default_index_kinds, opclass, parse_options
from sqlvec.index.base import kth_smallest
from sqlvec.plan import expr as E
from sqlvec.plan.vector_search import VectorSearch

EXACT_THRESHOLD = 20_000
# ... and at most this many values (rows x dimension, the scan's work): 20,000 rows at 128-d,
# 3,333 at 768-d (an exact scan of 19,000 x 768 took ~10x an hnsw search's time here)
EXACT_VALUES = EXACT_THRESHOLD * 128
GRAPH_QUANTIZER = "bf16"  # graph precision of hnsw indexes on vector columns (no quantizer given)
GRAPH_RERANK = "2"  # candidates fetched per result row from such a graph, then re-scored
MAX_OVERFETCH = 100_000
_KINDS = default_index_kinds()


@dataclass
class _Built:
    """An index structure for one CREATE INDEX, with the row ids it holds (sorted)."""

    index: Any
    keys: np.ndarray
    kind: str
    signature: tuple
    lock: threading.Lock = field(default_factory=threading.Lock)
    view: bool = False  # opened as a read-only memory-mapped view (reopened to add rows)
    unsaved: int = 0  # rows added since the files were written
    generation: int = 0  # bumped when rows are removed (segment coverage must be re-checked)
    covered: weakref.WeakKeyDictionary = field(default_factory=weakref.WeakKeyDictionary)
    # per-segment graphs of sealed segments (exec/segment_index.py), by segment id; the
    # fields above then describe the "delta" graph over the other segments' rows
    parts: dict = field(default_factory=dict)
    part_lock: threading.Lock = field(default_factory=threading.Lock)
    table_oid: int = -1
    column: str = ""
    short: str = ""
    idx: Any = None
    oc: Any = None
    files: str | None = None  # <data dir>/indexes/<index oid> (None in memory)
    builder: threading.Thread | None = None  # segment graphs built behind commits
    centroids: Any = None  # ivfflat: the index's lists, shared by parts and delta (segment_index)

    def describe(self, idx: Any, oc: Any, table_oid: int, column: str, short: str,
                 files: str | None) -> _Built:
        """Remember what the index is over (segment parts are built from it)."""
        self.idx, self.oc, self.table_oid, self.column, self.short = idx, oc, table_oid, column, short
        self.files = files
        return self


_CACHE: weakref.WeakKeyDictionary[Any, dict[int, _Built]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()
# what the last VectorSearch on this thread did ('exact', 'hnsw items_idx', ...): diagnostics
LAST = threading.local()
# what each recently executed VectorSearch node did, by id(node): EXPLAIN ANALYZE prints it
STRATEGY: dict[int, str] = {}


def _setting(ctx: Any, name: str, default: str) -> str:
    s = getattr(ctx, "session", None)
    vals = getattr(getattr(s, "settings", None), "values", None) or {}
    return str(vals.get(name, default) or default)


# pgvector's documented uses of PostgreSQL's planner switches, before the threshold: off,
# enable_indexscan ranks always exactly (the exact answer), enable_seqscan uses the index
# whenever there is one (a small table's query through its index)
_SWITCHES = (("enable_indexscan", sys.maxsize), ("enable_seqscan", 0))


def _switched_off(ctx: Any) -> tuple[str, int] | None:
    """The first of _SWITCHES the session has off: (its name, the threshold it gives)."""
    vals = getattr(getattr(getattr(ctx, "session", None), "settings", None), "values", None)
    return next(((n, t) for n, t in _SWITCHES if vals and vals.get(n) == "off"), None)


def exact_threshold(ctx: Any, default: int | None = EXACT_THRESHOLD,
                    p: VectorSearch | None = None) -> int | None:
    """Up to how many rows (passing rows, under a WHERE) a top-k is ranked exactly rather
    than through an index: a planner switch's (_SWITCHES), else `SET
    sqlvec.exact_scan_threshold`, else `default`; for the default and the dense column of
    a known dimension of `p`, no more than EXACT_VALUES / dimension rows."""
    off = _switched_off(ctx)
    if off:
        return off[1]
    got = _int_setting(ctx, "sqlvec.exact_scan_threshold", None)
    if got is not None or default is None:
        return got
    t = p.scan.fields[p.column].type if p is not None else None
    dim = t.typmod if t is not None and t.short in _KERNEL_TYPES and t.short != "bit" else 0
    return max(1, min(default, EXACT_VALUES // dim)) if dim > 0 else default


def exact_reason(ctx: Any, p: VectorSearch | None = None) -> str:
    """Why a top-k of at most exact_threshold rows is exact, as EXPLAIN says it."""
    off = _switched_off(ctx)
    if off:
        return f"{off[0]} = off"
    n = exact_threshold(ctx, p=p)
    said = _int_setting(ctx, "sqlvec.exact_scan_threshold", None) is not None or \
        n == EXACT_THRESHOLD
    return f"not more than sqlvec.exact_scan_threshold = {n}" if said else \
        f"not more than {n} rows of this dimension (sqlvec.exact_scan_threshold unset)"


def _int_setting(ctx: Any, name: str, default: int | None) -> int | None:
    s = getattr(ctx, "session", None)
    vals = getattr(getattr(s, "settings", None), "values", None)
    v = vals.get(name) if vals else None
    if not v:  # (unset or empty: the default, as _setting gives it)
        return default
    try:
        return int(v if type(v) is str or type(v) is int else str(v))
    except ValueError:
        raise InvalidParameterValue(f'invalid value for parameter "{name}"') from None


_ONE = pa.RecordBatch.from_arrays([pa.array([0])], names=["_"])  # a 1-row input for constants


def _eval_scalar(ctx: Any, e: E.Expr | None) -> Any:
    if e is None:
        return None
    if isinstance(e, E.Const) and type(e.value) is int:  # LIMIT 10: no evaluator round trip
        return pa.scalar(e.value, pa.int64())
    return ctx.evaluator.eval(e, _ONE)[0]


# ---- the table's rows ------------------------------------------------------------------

@dataclass
class _Rows:
    table: pa.Table  # _rowid + the scan's columns
    rowids: np.ndarray
    passing: np.ndarray  # WHERE true and vector not NULL
    null_vec: np.ndarray  # WHERE true and vector NULL
    valid: np.ndarray  # vector not NULL (whatever the WHERE says)
    order: np.ndarray | None = None  # argsort of rowids, None when already ascending

    def positions(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in the scan, found) of each row id: O(log n) each, no per-query sort."""
        if not len(self.rowids):
            return np.zeros(len(keys), np.int64), np.zeros(len(keys), dtype=bool)
        if self.order is None:
            pos = np.minimum(np.searchsorted(self.rowids, keys), len(self.rowids) - 1)
        else:
            pos = self.order[np.minimum(np.searchsorted(self.rowids, keys, sorter=self.order),
                                        len(self.rowids) - 1)]
        return pos, self.rowids[pos] == keys


def _read(ctx: Any, p: VectorSearch) -> _Rows:
    names = [f.name for f in p.scan.fields]
    batches: list[pa.RecordBatch] = []
    masks: list[np.ndarray] = []
    for b in ctx.txn.scan(p.scan.table.oid, names):
        ctx.check_cancel()
        batches.append(b)
        if p.scan.filter is not None:
            data = pa.RecordBatch.from_arrays([b.column(i) for i in range(1, b.num_columns)],
                                              names=names)
            m = pc.fill_null(ctx.evaluator.eval(p.scan.filter, data), False)
            masks.append(np.asarray(m.to_numpy(zero_copy_only=False), dtype=bool))
    schema = pa.schema([pa.field("_rowid", pa.int64())] +
                       [pa.field(f.name, f.type.arrow) for f in p.scan.fields])
    table = _stack(batches, schema) if batches else schema.empty_table()
    rowids = table.column(0).to_numpy()
    where = np.concatenate(masks) if masks else np.ones(len(rowids), dtype=bool)
    vec = table.column(p.column + 1)
    valid = np.asarray(vec.is_valid().to_numpy(zero_copy_only=False), dtype=bool) if vec.null_count \
        else np.ones(len(rowids), dtype=bool)
    ascending = len(rowids) < 2 or bool((rowids[1:] > rowids[:-1]).all())
    return _Rows(table, rowids, where & valid, where & ~valid, valid,
                 None if ascending else np.argsort(rowids, kind="stable"))


def _conform_table(t: pa.Table, schema: pa.Schema) -> pa.Table:
    """The table under our schema (relabelled, columns cast only where types differ)."""
    cols = [c if c.type == f.type else c.cast(f.type) for c, f in zip(t.columns, schema)]
    return pa.Table.from_arrays(cols, schema=schema)


def _stack(batches: list[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    """The batches as one table under our schema, column by column (no per-batch relabelled
    copy: a table of many small growing segments gives one batch per segment), columns
    cast only where types differ."""
    cols = []
    for j, f in enumerate(schema):
        t = f.type
        cols.append(pa.chunked_array([c if c.type == t else c.cast(t)
                                      for c in (b.column(j) for b in batches)], type=t))
    return pa.Table.from_arrays(cols, schema=schema)


def _conform(b: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    """The batch under our schema: relabel when only names/nullability differ (no copy)."""
    cols = [c if c.type == f.type else c.cast(f.type) for c, f in zip(b.columns, schema)]
    return pa.RecordBatch.from_arrays(cols, schema=schema)


# ---- exact ranking -------------------------------------------------------------------------

def _rank(d: np.ndarray, valid_d: np.ndarray, rowids: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k best by (distance, row id); NaN after numbers, NULL last."""
    key = np.where(valid_d, np.where(np.isnan(d), np.inf, d), np.inf)
    cls = np.where(valid_d, np.where(np.isnan(d), 1, 0), 2)
    if k < len(d):
        kth = kth_smallest(key, k)
        cand = np.flatnonzero(key <= kth)
    else:
        cand = np.arange(len(d))
    order = np.lexsort((rowids[cand], key[cand], cls[cand]))
    return cand[order][:k]


def _exact(ctx: Any, p: VectorSearch, rows: _Rows, q: Any, k: int, n_pass: int) -> np.ndarray:
    """Positions of the k passing rows nearest to q (n_pass of them), exactly."""
    if not n_pass:
        return np.zeros(0, np.int64)
    qm = _query_matrix(q, p) if _kernel_fits(p) else None
    if qm is not None:
        xp = kernel_module(ctx, n_pass)
        LAST.device = xp is not np
        return exact_top(xp, p, rows, qm, k)[0]
    pos = np.flatnonzero(rows.passing)
    col = rows.table.column(p.column + 1)
    fn = p.distance.fn
    col_first = isinstance(_strip(p.distance.args[0]), E.ColRef)
    dists, valids = [], []
    start = 0
    for chunk in col.chunks:  # per segment chunk: no concatenation of the whole column
        end = start + len(chunk)
        lo, hi = np.searchsorted(pos, [start, end])
        if hi > lo:
            local = pos[lo:hi] - start
            vec = chunk if len(local) == len(chunk) else chunk.take(pa.array(local))
            d = fn.call([vec, q] if col_first else [q, vec], len(vec))
            valids.append(np.asarray(d.is_valid().to_numpy(zero_copy_only=False), bool)
                          if d.null_count else np.ones(len(d), bool))
            dists.append(np.asarray(pc.fill_null(d, 0.0).to_numpy(zero_copy_only=False),
                                    np.float64))
        start = end
    dn, valid_d = np.concatenate(dists), np.concatenate(valids)
    return pos[_rank(dn, valid_d, rows.rowids[pos], k)]


def take_rows(data: pa.Table | pa.ChunkedArray, pos: np.ndarray) -> pa.Table | pa.Array:
    """Rows at global positions, gathered chunk by chunk (Arrow's take on a chunked input
    would first concatenate every chunk: the whole column per query)."""
    pos = np.asarray(pos, np.int64)
    is_table = isinstance(data, pa.Table)
    chunks = data.to_batches() if is_table else data.chunks
    if len(chunks) <= 1:
        return data.take(pa.array(pos)) if is_table else \
            (chunks[0].take(pa.array(pos)) if chunks else pa.array([], data.type))
    starts = np.cumsum([0] + [len(c) for c in chunks])
    which = np.searchsorted(starts, pos, side="right") - 1
    order = np.argsort(which, kind="stable")
    parts = []
    for w in np.unique(which):
        sel = pos[order][which[order] == w] - starts[w]
        parts.append(chunks[w].take(pa.array(sel)))
    if is_table:
        gathered = pa.Table.from_batches(parts, schema=data.schema)
    else:
        gathered = pa.concat_arrays(parts) if parts else pa.array([], data.type)
    inverse = np.empty(len(pos), np.int64)
    inverse[order] = np.arange(len(pos))
    return gathered.take(pa.array(inverse))


_KERNEL_TYPES = frozenset({"vector", "halfvec", "bf16vec", "int8vec", "bit"})


def _kernel_fits(p: VectorSearch) -> bool:
    """Whether exact_top ranks this scan: a dense column of fixed dimension under the bare
    operator. Not for sparse vectors, an expression over the column (`emb::halfvec(3) <-> q`
    ranks rounded values) or a column of no fixed dimension: the operator path ranks those
    (and gives their errors)."""
    t = p.scan.fields[p.column].type
    col_arg = [_unmodified(a) for a in p.distance.args if not _is_const(a)]
    return t.short in _KERNEL_TYPES and t.typmod > 0 and len(col_arg) == 1 \
        and isinstance(col_arg[0], E.ColRef)


def kernel_module(ctx: Any, work: int) -> Any:
    """The array module exact_top runs on: numpy, or CuPy under SET sqlvec.gpu = on (auto:
    with CuPy and a device, from 50,000 rows x queries / 100 of work, e.g. one query over
    50,000 passing rows)."""
    from sqlvec.index.xp import array_module, gpu_available, parse_gpu_setting

    gpu = parse_gpu_setting(_setting(ctx, "sqlvec.gpu", "auto"))
    if gpu is None:
        gpu = work >= 50_000 and gpu_available()
    return array_module(gpu)  # 0A000 when asked for and absent


def _unmodified(e: E.Expr) -> E.Expr:
    """e without casts that only drop a type modifier (vector(3) -> vector)."""
    while isinstance(e, E.Cast) and e.type.short == e.arg.type.short:
        e = e.arg
    return e


def _is_const(e: E.Expr) -> bool:
    return not any(isinstance(n, E.ColRef) for n in E.walk(e))


def _query_matrix(q: Any, p: VectorSearch) -> np.ndarray | None:
    """A query value as exact_top's one-row matrix (kernel_rows'), or None for a NULL query
    or one of another dimension than the column's (the operator path gives its error)."""
    t = p.scan.fields[p.column].type
    if q is None or (isinstance(q, pa.Scalar) and not q.is_valid):
        return None
    if t.short == "bit":
        from sqlvec.functions.vectors import textio as VT
        if int(VT.bit_lengths(pa.array([q.as_py()], q.type))[0]) != t.typmod:
            return None
    qv = _query_vector(q, t.short)
    return kernel_rows(qv, t.short) if t.short == "bit" or qv.shape[1] == t.typmod else None


def kernel_rows(m: np.ndarray, short: str) -> np.ndarray:
    """A dense matrix (`_matrix`'s) as exact_search takes it: bfloat16 bit patterns as
    float32, the other types as they are (bits packed)."""
    if short == "bf16vec":
        from sqlvec.functions.vectors.types import bf16_to_f32
        return bf16_to_f32(m)
    return m


def exact_top(xp: Any, p: VectorSearch, rows: _Rows, qm: np.ndarray, k: int
              ) -> list[np.ndarray]:
    """Per query row of `qm`, the positions of its k nearest passing rows, in (distance,
    row id) order: exact.exact_search over the column's matrices (_column_parts), the rows
    the WHERE clause drops masked out; the rows and order of the operator path."""
    from sqlvec.index.base import order_by_distance_then_key
    from sqlvec.index.exact import exact_search

    keys, dists = [], []
    for start, host, dev, sq in _column_parts(xp, rows.table.column(p.column + 1),
                                              p.scan.fields[p.column].type.short):
        end = start + len(host)
        live = rows.passing[start:end]
        if live.any():
            kk, dd = exact_search(xp, dev, rows.rowids[start:end], qm, k, p.metric,
                                  live=live, x_sq=sq, host=host)
            keys.append(kk)
            dists.append(dd)
    if not keys:
        return [np.zeros(0, np.int64) for _ in range(len(qm))]
    found = order_by_distance_then_key(np.hstack(keys), np.hstack(dists), k)[0] \
        if len(keys) > 1 else keys[0]
    return [rows.positions(f[f >= 0])[0] for f in found]


_PARTS = None  # DeviceCache of vector columns as exact_search's matrices (made at first use)


def _column_parts(xp: Any, col: pa.ChunkedArray, short: str) -> list[tuple]:
    """(first row, host matrix, xp matrix, xp squared norms or None) per part of a vector
    column: on numpy one part per chunk (a zero-copy view where the chunk's layout allows)
    or per run of small chunks stacked (_runs), on a device the whole column copied there
    once. Kept per column state: keyed by the chunks' buffers, which the entry holds (Arrow
    buffers are immutable: a write makes new ones, hence a new key); the entries' arrays,
    views included, kept within $SQLVEC_MATRIX_CACHE_BYTES (1 GiB; the newest entry stays
    whatever its size)."""
    global _PARTS
    from sqlvec.index.xp import DeviceCache

    if _PARTS is None:
        _PARTS = DeviceCache(budget=int(os.environ.get("SQLVEC_MATRIX_CACHE_BYTES", 1 << 30)))
    chunks = tuple(col.chunks)
    key = (id(xp), short) + tuple((c.offset, len(c)) + tuple(b.address if b is not None else 0
                                                               for b in c.buffers())
                                  for c in chunks)

    def part(start: int, values: pa.Array | pa.ChunkedArray) -> tuple:
        host = kernel_rows(_matrix(values, short), short)
        dev = xp.asarray(host)
        sq = None
        if host.dtype.kind == "f":
            d32 = dev.astype(xp.float32, copy=False)
            sq = (d32 * d32).sum(axis=1)
        return start, host, dev, sq

    def make() -> list[tuple]:
        if xp is not np:
            return [part(0, col)]
        return [part(start, run[0] if len(run) == 1 else pa.chunked_array(run))
                for start, run in _runs(chunks)]
    return _PARTS.get(key, chunks, make)


SMALL_CHUNK = 2048  # chunks of fewer rows are stacked with their small neighbours ...
STACK_ROWS = 16384  # ... into one part of up to this many rows (a copy: the cache keeps it)


def _runs(chunks: tuple) -> list[tuple[int, list]]:
    """(first row, chunks) of each part: a chunk of SMALL_CHUNK rows or more alone (its
    zero-copy view), runs of smaller neighbours together up to STACK_ROWS rows. A table
    filled by small commits holds up to 16 growing pieces, most of a few rows, and every
    part is one exact_search call (~60 us here: 16 pieces made a 19,000-row scan 2x
    slower than one segment)."""
    out: list[tuple[int, list]] = []
    start = rows = 0
    for c in chunks:
        n = len(c)
        small = 0 < n < SMALL_CHUNK
        if out and small and rows and rows + n <= STACK_ROWS:
            out[-1][1].append(c)
            rows += n
        elif n:
            out.append((start, [c]))
            rows = n if small else 0
        start += n
    return out


def _strip(e: E.Expr) -> E.Expr:
    while isinstance(e, E.Cast):
        e = e.arg
    return e


# ---- index structures ------------------------------------------------------------------------

# (id of a committed catalog dict, table, column, type, metric) -> (that dict, index defs)
_DEFS: dict[tuple, tuple[dict, list]] = {}


def _index_defs(ctx: Any, p: VectorSearch) -> list[tuple[Any, Any]]:
    """(IndexDef, OpClass) of the table's vector indexes that serve this column and operator."""
    db = getattr(getattr(ctx, "session", None), "db", None)
    if db is None:
        return []
    from sqlvec.catalog.catalog import Catalog

    col = p.scan.fields[p.column]
    txn = ctx.txn
    snap = getattr(txn, "snapshot", None)
    committed = getattr(snap, "catalog", None) if not getattr(txn, "_catalog", True) else None
    key = (id(committed), p.scan.table.oid, col.name, col.type.short, p.metric)
    if committed is not None:  # no DDL of its own: the committed catalog decides
        hit = _DEFS.get(key)
        if hit is not None and hit[0] is committed:
            return hit[1]
    out = []
    for idx in Catalog(ctx.txn, db.store).indexes_of(p.scan.table.oid):
        if idx.method not in ("hnsw", "ivfflat") or len(idx.columns) != 1:
            continue
        parts = str(idx.columns[0]).replace('"', "").split()
        if not parts or parts[0] != col.name:
            continue
        try:
            oc = opclass(parts[1] if len(parts) > 1 else None, col.type.short)
        except Exception:
            continue
        if oc.metric == p.metric:
            out.append((idx, oc))
    if committed is not None:
        if len(_DEFS) > 1024:
            _DEFS.clear()
        _DEFS[key] = (committed, out)  # (holding the dict keeps its id from being reused)
    return out


def _matrix(col: pa.ChunkedArray | pa.Array, short: str) -> Any:
    """Column values as what index kinds take (dense matrix, packed bits, CSR parts)."""
    from sqlvec.functions.vectors import textio as VT
    from sqlvec.functions.vectors import types as V

    a = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if short in ("bit", "varbit"):
        return VT.bit_matrix(a)[0]
    if short == "sparsevec":
        idx_l, val_l = a.field("indices"), a.field("values")
        offs = idx_l.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        return (offs - offs[0], V._np(V.element_values(idx_l)).astype(np.int64),
                V._np(V.element_values(val_l)).astype(np.float32))
    m, _ = V.matrix(a, tname=short)
    return m


_DTYPE = {"vector": "f32", "halfvec": "f16", "bf16vec": "bf16", "int8vec": "i8", "bit": "b1",
          "varbit": "b1"}


def _build(idx: Any, oc: Any, short: str, vectors: Any, keys: np.ndarray,
           sealed: bool = False) -> tuple[Any, str]:
    """A new index over `vectors`; `sealed`: the graph of an immutable segment."""
    if short == "sparsevec":
        kind = _KINDS.get("sparse")
        return kind.build(vectors, keys, metric=oc.metric), "sparse"
    kind = _KINDS.get(idx.method)
    raw = {k: v for k, v in (idx.options or {}).items() if v not in (None, "None", "")}
    if sealed and idx.method == "hnsw" and short == "vector" and oc.metric in ("l2", "ip", "cos") \
            and "quantizer" not in {k.lower() for k in raw}:
        # float32 columns: a segment's graph holds bfloat16 copies (builds ~1.8x faster,
        # recall@10 within 0.002 on the clustered bench set) and the k candidates are
        # re-scored on the full vectors kept beside it, so distances stay exact (the delta
        # graph, which grows a few rows at a time, keeps float32 and no copy)
        raw.update(quantizer=GRAPH_QUANTIZER, rerank=GRAPH_RERANK)
    options = parse_options(kind.options, raw)
    return kind.build(vectors, keys, options, metric=oc.metric, dtype=_DTYPE[short]), idx.method


def _notice(ctx: Any, message: str) -> None:
    notice = getattr(getattr(ctx, "session", None), "notice", None)
    if callable(notice):
        notice(message)


def _index_path(store: Any, idx: Any) -> str | None:
    """Where an index of a durable database lives: <data dir>/indexes/<index oid>."""
    root = getattr(store, "path", None)
    if not root or not os.path.isdir(root):
        return None
    d = os.path.join(root, "indexes")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, str(idx.oid))


def _save(built: _Built, path: str | None) -> None:
    """Write the index, the row ids it covers and its signature (atomically last)."""
    if path is None or built.view or built.index is None:
        return
    if os.path.exists(path + ".sig"):  # unsigned until fully rewritten: a crash between
        os.unlink(path + ".sig")  # the graph and its row ids must not leave them paired
    built.index.save(path)
    np.save(path + ".rowids.npy", built.keys)
    with open(path + ".sig.tmp", "w") as f:
        json.dump({"signature": repr(built.signature), "kind": built.kind}, f)
    os.replace(path + ".sig.tmp", path + ".sig")
    built.unsaved = 0


def _open_saved(path: str | None, sig: tuple) -> _Built | None:
    """The persisted index as a memory-mapped view when its signature still matches."""
    if path is None or not os.path.exists(path + ".sig"):
        return None
    try:
        with open(path + ".sig") as f:
            doc = json.load(f)
        if doc.get("signature") != repr(sig):
            return None
        index = _KINDS.get(doc["kind"]).load(path, view=True)
        keys = np.load(path + ".rowids.npy")
        if len(index) != len(keys):
            return None
    except Exception:  # damaged or foreign files: rebuild from the table (never trusted)
        return None
    return _Built(index, keys, doc["kind"], sig, view=True)


def _signature(idx: Any, oc: Any) -> tuple:
    return (idx.oid, idx.method, tuple(sorted((idx.options or {}).items())), oc.name)


def _kind_name(idx: Any, short: str) -> str:
    return "sparse" if short == "sparsevec" else idx.method


def _part_views(txn: Any, oid: int) -> tuple:
    """The committed segments a transaction sees (the ones segment parts may serve)."""
    local = getattr(txn, "_local", None)
    if local is None:
        return ()
    lt = local(oid)
    return () if lt.reset or lt.base is None else lt.views


def _grow(built: _Built, path: str | None, vecs: Any, ids: np.ndarray) -> None:
    """Add rows to the delta graph (created on first rows; a read-only view is reopened)."""
    if built.index is None:
        from sqlvec.exec import segment_index as SI
        built.index = SI.fresh(built, vecs, ids)  # (ivfflat: on the index's centroids)
    else:
        if built.view:  # a read-only mapping: reopen in memory to grow it
            built.index = _KINDS.get(built.kind).load(path, view=False)
            built.view = False
        built.index.add(vecs, ids)
    built.keys = np.union1d(built.keys, ids)
    built.unsaved += len(ids)


def _cached(store: Any, idx: Any, oc: Any, short: str, table_oid: int, column: str) -> _Built:
    """The index entry of the Database (opened from disk or empty), described."""
    sig = _signature(idx, oc)
    with _CACHE_LOCK:
        per_db = _CACHE.setdefault(store, {})
        build_lock = per_db.setdefault(("build", idx.oid), threading.Lock())
    with build_lock:
        built = per_db.get(idx.oid)
        if built is None or built.signature != sig:
            built = _open_saved(_index_path(store, idx), sig) or \
                _Built(None, np.zeros(0, np.int64), _kind_name(idx, short), sig)
            per_db[idx.oid] = built
            from sqlvec.exec import segment_index as SI
            SI.register(store)
    return built.describe(idx, oc, table_oid, column, short, _index_path(store, idx))


def build_on_create(txn: Any, store: Any, types: Any, rel: Any, idx: Any,
                    notice: Any = None, progress: dict | None = None) -> None:
    """CREATE INDEX ... USING hnsw|ivfflat: build now from the visible rows (as pgvector
    does): one graph per sealed segment (saved beside it) plus the delta graph over the
    other rows (saved under indexes/). A rolled-back CREATE INDEX leaves an entry no
    catalog row points to. `progress` (pg_stat_progress_create_index's row) gets
    tuples_total, and tuples_done as each segment graph and the delta are done."""
    from sqlvec.exec import segment_index as SI

    parts = str(idx.columns[0]).replace('"', "").split()
    ci = rel.column_index(parts[0]) if parts else None
    if ci is None:
        return
    coldef = rel.columns[ci]
    t = types.by_oid(coldef.type_oid)
    if t is None:
        return
    oc = opclass(parts[1] if len(parts) > 1 else None, t.short)
    built = _cached(store, idx, oc, t.short, rel.oid, coldef.name)
    views = _part_views(txn, rel.oid)
    todo = [v for v in views if SI.eligible(v.seg, built.kind, t.short)]
    if notice is not None and sum(v.seg.num_rows for v in todo) >= 100_000:
        notice(f'building {built.kind} index "{idx.name}": {len(todo)} segments, '
               f"{sum(v.seg.num_rows for v in todo)} rows")
    if progress is not None:
        progress["tuples_total"] = txn.row_count(rel.oid)
        progress["phase"] = "building index"  # after the total: a reader never sees it 0
    segs = SI.ensure(built, views, notice, progress, coldef.name, store)
    done = SI.part_rowids(segs, views, built)
    batches = list(txn.scan(rel.oid, [coldef.name]))
    if not batches or not sum(b.num_rows for b in batches):
        return
    table = pa.Table.from_batches(batches)
    rowids = table.column(0).to_numpy()
    col = table.column(1)
    valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), bool) if col.null_count \
        else np.ones(len(rowids), bool)
    if len(done):
        valid &= ~np.isin(rowids, done)
    valid &= ~np.isin(rowids, built.keys)
    pos = np.flatnonzero(valid)
    if len(pos):
        t0 = time.perf_counter()
        with built.lock:
            _grow(built, _index_path(store, idx), _matrix(take_rows(col, pos), t.short), rowids[pos])
        if notice is not None and len(pos) >= 10_000:
            notice(f'built {built.kind} index "{idx.name}" on {len(pos)} rows in '
                   f"{time.perf_counter() - t0:.1f} s")
    if progress is not None:
        progress["tuples_done"] = progress["tuples_total"]
    _save(built, _index_path(store, idx))


def _entry(ctx: Any, p: VectorSearch, rows: _Rows, idx: Any, oc: Any) -> tuple[_Built, list]:
    """The index for `idx` holding every row this query can see: (delta entry, parts).

    Sealed segments are served by their parts (built or opened as mmap views on first
    use); the other visible rows the delta graph lacks are added to it first.
    """
    from sqlvec.exec import segment_index as SI

    store = ctx.session.db.store
    field_ = p.scan.fields[p.column]
    short = field_.type.short
    path = _index_path(store, idx)
    built = _cached(store, idx, oc, short, p.scan.table.oid, field_.name)
    views = _part_views(ctx.txn, p.scan.table.oid)
    parts = SI.ensure(built, views, lambda m: _notice(ctx, m), None, field_.name, store)
    in_parts = SI.part_rowids(parts, views, built)
    mask = rows.valid if not len(in_parts) else rows.valid & ~np.isin(rows.rowids, in_parts)
    vis_ids = rows.rowids[mask]  # visible rows with a vector outside the parts
    with built.lock:
        keys = vis_ids
        if rows.order is not None:
            keys = np.sort(keys)
        if len(keys) != len(built.keys) or not np.array_equal(keys, built.keys):
            new = ~np.isin(keys, built.keys, assume_unique=True)
            if new.any():
                pos = np.flatnonzero(mask)[np.isin(vis_ids, keys[new])]
                t0 = time.perf_counter()
                vecs = _matrix(take_rows(rows.table.column(p.column + 1), pos), short)
                _grow(built, path, vecs, rows.rowids[pos])
                if len(pos) >= 10_000:
                    _notice(ctx, f'built {built.kind} index "{idx.name}" on {len(pos)} rows in '
                                 f"{time.perf_counter() - t0:.1f} s")
            stale = np.setdiff1d(built.keys, keys, assume_unique=True)
            if len(stale) > max(1000, len(built.keys) // 2) and not len(keys):
                # everything moved into segment parts (or was deleted): an empty delta
                built.index, built.keys, built.view = None, keys, False
                built.generation += 1
            elif len(stale) > max(1000, len(built.keys) // 5):  # deleted rows pile up: drop them
                if built.view:
                    built.index = _KINDS.get(built.kind).load(path, view=False)
                    built.view = False
                built.index.remove(stale)  # (a query that still sees them re-adds them)
                built.generation += 1
                built.keys = np.setdiff1d(built.keys, stale, assume_unique=True)
                built.unsaved += len(stale)
            if built.unsaved > max(1000, len(built.keys) // 10):
                _save(built, path)
    return built, parts


_HNSW_PARAMS: dict[int, Any] = {}  # ef_search -> HnswParams (frozen: one per value)


def _search_params(ctx: Any, kind: str) -> Any:
    if kind == "hnsw":
        ef = _int_setting(ctx, "hnsw.ef_search", 40)
        params = _HNSW_PARAMS.get(ef)
        if params is None:
            params = _KINDS.get("hnsw").params(ef_search=ef)  # (22023 when out of range)
            if len(_HNSW_PARAMS) > 64:
                _HNSW_PARAMS.clear()
            _HNSW_PARAMS[ef] = params
        return params
    if kind == "ivfflat":
        from sqlvec.index.xp import parse_gpu_setting
        return _KINDS.get("ivfflat").params(probes=_int_setting(ctx, "ivfflat.probes", 1),
                                            gpu=parse_gpu_setting(_setting(ctx, "sqlvec.gpu", "auto")))
    return None


def _query_vector(q: Any, short: str) -> Any:
    """The query as a 1-row matrix (packed bits / CSR parts for bit and sparsevec)."""
    if isinstance(q, pa.Scalar) and short not in ("bit", "varbit", "sparsevec"):
        values = getattr(q, "values", None)
        if values is not None:
            return _np(values).reshape(1, -1)  # no Python round trip of the elements
    arr = pa.array([q.as_py()], q.type) if isinstance(q, pa.Scalar) else q
    return _matrix(arr, short)


def _ann(ctx: Any, p: VectorSearch, rows: _Rows, q: Any, k: int, built: _Built,
         parts: list) -> np.ndarray | None:
    """Positions of k passing rows through the index, widening the over-fetch; None to give up."""
    from sqlvec.exec import segment_index as SI

    short = p.scan.fields[p.column].type.short
    qv = _query_vector(q, short)
    n_pass = int(rows.passing.sum())
    total = max(SI.size(built, parts), 1)
    fetch = max(k, int(math.ceil(k * 1.5 * total / max(n_pass, 1))))
    limit = _int_setting(ctx, "sqlvec.max_overfetch", MAX_OVERFETCH)
    params = _search_params(ctx, built.kind)
    while True:
        want = min(fetch, total)
        keys, _d = SI.search(built, parts, qv, want, params)
        keys = keys[0]
        keys = keys[keys >= 0]
        pos, found = rows.positions(keys)
        ok = pos[found & rows.passing[pos]]  # visible to this query and passing its WHERE
        if len(ok) >= k or want >= total:
            break
        if fetch >= limit:
            return None  # too selective for the index: rank the passing rows exactly
        fetch = min(fetch * 4, limit)
    return ok[:k]


# the kernels of the dense distance operators (functions/vectors/ops.py) by metric
_KERNELS = {"l2": "l2", "ip": "neg_inner", "cos": "cosine", "l1": "l1"}


def distance_values(p: VectorSearch, col: pa.ChunkedArray | pa.Array, q: Any) -> pa.Array:
    """The value of the node's distance expression for each vector of `col` (the scan's
    vector column) and the query: the operator's own function, or for float32 vectors
    without NULLs its numpy kernel on the same float32 matrix (the same numbers: the
    function converts its arguments to exactly these arrays and calls that kernel)."""
    a = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    short = p.scan.fields[p.column].type.short
    name = _KERNELS.get(p.metric)
    if (name is not None and short == "vector" and not a.null_count and len(a)
            and q is not None and q.is_valid and pa.types.is_fixed_size_list(a.type)
            and a.type.value_type == pa.float32() and p.distance.type.arrow == pa.float64()):
        qv = _query_vector(q, short)
        if qv.dtype == np.float32 and qv.shape == (1, a.type.list_size):
            size = a.type.list_size
            m = _np(a.values)[a.offset * size:(a.offset + len(a)) * size].reshape(len(a), size)
            return pa.array(getattr(VO, name)(m, qv[0]), pa.float64())
    col_first = isinstance(_strip(p.distance.args[0]), E.ColRef)
    return p.distance.fn.call([a, q] if col_first else [q, a], len(a))


_VIP: list = []  # exec/vector_index_path (it imports this module): imported on first use


def _vip() -> Any:
    from sqlvec.exec import vector_index_path

    _VIP.append(vector_index_path)
    return vector_index_path


def with_distance(p: VectorSearch, out: pa.Table, q: Any) -> pa.Table:
    """The result rows (the scan's columns) with their distance appended (`with_distance`)."""
    d = distance_values(p, out.column(p.column), q)
    return out.append_column(pa.field("distance", p.distance.type.arrow), d)


def _k(ctx: Any, p: VectorSearch) -> int:
    """LIMIT + OFFSET of the node (2**62 for LIMIT NULL / ALL: every row)."""
    e, o = p.limit, p.offset
    if type(e) is E.Const and type(e.value) is int and o is None:  # LIMIT 10: no Arrow scalar
        return e.value
    limit = _eval_scalar(ctx, e)
    offset = _eval_scalar(ctx, o)
    if limit is None or not limit.is_valid:
        return 2**62
    return int(limit.as_py()) + (0 if offset is None or not offset.is_valid else int(offset.as_py()))


def run_vector_search(ctx: Any, p: VectorSearch) -> Iterator[pa.RecordBatch]:
    """Execute a VectorSearch node: one batch of at most k rows in (distance, row id) order."""
    k = _k(ctx, p)
    cache = ctx.__dict__.setdefault("_vector_search_rows", {})
    VIP = _VIP[0] if _VIP else _vip()
    if id(p) not in cache and p.scan.filter is None:  # the index path: only the k rows
        b = VIP.index_top(ctx, p, k)
        if b is not None:
            yield b
            return
    q = _eval_scalar(ctx, p.query)
    if id(p) not in cache and p.scan.filter is not None:
        top = VIP.filtered_path(ctx, p, q, k)
        if top is not None:
            yield VIP._finish(p, top, q)
            return
    rows = cache.get(id(p))
    if rows is None or rows[0] is not p:  # read once per statement (LATERAL: per outer row)
        cache[id(p)] = rows = (p, _read(ctx, p))
    rows = rows[1]
    k = min(k, len(rows.rowids))
    if k <= 0:
        pos = np.zeros(0, np.int64)
    elif q is None or not q.is_valid:
        pos = np.flatnonzero(rows.passing | rows.null_vec)[:k]  # NULL distances: any order
    else:
        pos = None
        n_pass = int(rows.passing.sum())
        threshold = exact_threshold(ctx, p=p)
        defs = _index_defs(ctx, p) if n_pass > threshold else []
        LAST.strategy = "exact"
        LAST.device = False
        covered = ""
        if defs:
            from sqlvec.exec import segment_index as SI
            built, parts = _entry(ctx, p, rows, *defs[0])
            pos = _ann(ctx, p, rows, q, k, built, parts)
            LAST.strategy = f"{built.kind} {defs[0][0].name}" if pos is not None else \
                "exact (index over-fetch exhausted)"
            covered = f"; {SI.describe(built, parts)}" if pos is not None else ""
        if pos is None:
            pos = _exact(ctx, p, rows, q, k, n_pass)
        if len(STRATEGY) > 256:
            STRATEGY.clear()
        STRATEGY[id(p)] = (f"{LAST.strategy}; {n_pass} of {len(rows.rowids)} rows pass{covered}"
                           if defs or LAST.strategy != "exact" else
                           f"exact top-k scan of {n_pass} passing rows" +
                           (" on the GPU" if LAST.device else "") +
                           (" (no matching index)" if n_pass > threshold else ""))
        if len(pos) < k:  # NULL vectors come last
            extra = np.flatnonzero(rows.null_vec)[: k - len(pos)]
            pos = np.concatenate([pos, extra])
    out = take_rows(rows.table, pos).drop_columns(["_rowid"])
    if p.with_distance:
        out = with_distance(p, out, q)
        order = VIP._arrow_order(out.column(out.num_columns - 1))
        if order is not None:  # rows in the order of the distance they show (ORDER BY's)
            out = out.take(pa.array(order))
    batch = out.combine_chunks().to_batches()
    yield batch[0] if batch else pa.RecordBatch.from_pylist([], schema=out.schema)
