"""Per-segment vector indexes: one part per sealed segment, saved beside the segment file.

Every vector index kind is split this way: an hnsw graph, ivfflat lists or a sparse
inverted index per sealed segment. An ivfflat index trains its centroids once (from the
rows CREATE INDEX sees, or the first segment's worth of rows after it; saved as
`<oid>.ivfcent.*`) and each part (and the delta) only assigns its rows to them, so
`ivfflat.probes` probes the same cells in every part and probes = lists scans every row,
as one structure would; a query searches all of them at once (ivfflat.search_union).

A sealed (non-growing) segment never changes, so its graph never does either: it is built
once (CREATE INDEX, the first query that sees the segment, or the storage rewrite hook when
VACUUM / compaction writes the segment), saved as `<data>/indexes/<index oid>.s<seg id>.*`
(the rewrite hook deletes them with their segment), and reopened as a memory-mapped view
after a restart. Rows of growing and small
segments are held by one small incremental "delta" graph per index (exec/vector_search's
`_Built`). A query searches every part its snapshot sees plus the delta and merges the
per-part top lists by (distance, row id); deleted and invisible rows are dropped by the
row-id check of the caller, as before.

A part file whose signature (index definition, segment id, rows, CRC of the row ids and
vectors it was built from) or file checksum does not match is rebuilt, never trusted.

    >>> merge(np.array([[3, 1]]), np.array([[0.5, 0.1]]), np.array([[1, 7]]),
    ...       np.array([[0.1, 0.2]]), 3)[0].tolist()
    [[1, 7, 3]]
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from sqlvec.index.base import order_by_distance_then_key, parse_options, read_meta

log = logging.getLogger(__name__)

# a sealed segment with fewer rows (possible after VACUUM) stays in the delta graph
MIN_PART_ROWS = 1000
# index kinds split into per-segment parts (`_Built.kind`: sparsevec columns are "sparse")
PART_METHODS = ("hnsw", "ivfflat", "sparse")
_TRAIN_LOCK = threading.Lock()  # one ivfflat centroid training at a time


@dataclass
class Part:
    """The graph of one sealed segment: row ids it holds (sorted) and whether it is on disk."""

    index: Any
    keys: np.ndarray
    seg_id: int
    saved: bool = False
    crc: int = 0  # of the row ids and vectors it was built from (see _crc)


def eligible(seg: Any, method: str, short: str) -> bool:
    """Whether a segment gets its own part (sealed, big enough, a kind split per segment)."""
    return method in PART_METHODS and not seg.growing and seg.num_rows >= MIN_PART_ROWS


def part_path(built: Any, seg: Any) -> str | None:
    """Where the part of `seg` lives: `<data>/indexes/<index oid>.s<segment id>` (None in
    memory)."""
    if not built.files:
        return None
    return f"{built.files}.s{seg.seg_id}"


def remove_files(built: Any, seg_id: int) -> None:
    """Delete a part's files (its segment was rewritten); open views keep their mapping."""
    if not built.files:
        return
    d, stem = os.path.split(f"{built.files}.s{seg_id}")
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        if name.startswith(stem + "."):
            try:
                os.unlink(os.path.join(d, name))
            except OSError:
                pass


def _vectors(built: Any, seg: Any, column: str | None = None) -> tuple[np.ndarray, Any]:
    """(row ids, vectors) of the segment's non-NULL vectors, as index kinds take them.
    `column`: the indexed column's name in the catalog the segment belongs to (a RENAME
    COLUMN rewrites every segment, so one segment has one name; `built.column` is the name
    the last query used, which another snapshot may not share)."""
    from sqlvec.exec import vector_search as VS

    col = seg.data.column(column or built.column)
    ids = seg.rowids
    if col.null_count:
        pos = np.flatnonzero(np.asarray(col.is_valid().to_numpy(zero_copy_only=False), bool))
        col, ids = VS.take_rows(col, pos), ids[pos]
    return np.asarray(ids, np.int64), VS._matrix(col, built.short)


def _crc(ids: np.ndarray, vecs: Any) -> int:
    """What a part was built from: CRC-32 of its row ids and vector bytes (a segment id may
    name other rows after a crash before the segment was checkpointed); sparse vectors come
    as CSR parts (offsets, indices, values)."""
    crc = zlib.crc32(np.ascontiguousarray(ids).data)
    for a in (vecs if isinstance(vecs, tuple) else (vecs,)):
        crc = zlib.crc32(np.ascontiguousarray(a).data, crc)
    return crc


def _sig(built: Any, seg: Any, crc: int) -> str:
    sig = (built.signature, seg.seg_id, seg.num_rows, seg.min_rowid, seg.max_rowid, crc)
    if built.kind == "ivfflat":  # lists of other centroids are rebuilt (assignment only)
        sig += (_cent_crc(built.centroids),)
    return repr(sig)


# ---- ivfflat: centroids trained once per index, shared by every part and the delta ---------

def _cent_crc(cent: Any) -> int:
    return 0 if cent is None else zlib.crc32(np.ascontiguousarray(cent, np.float32).data)


def _cent_path(built: Any) -> str | None:
    return f"{built.files}.ivfcent" if built.files else None


def _load_centroids(built: Any) -> np.ndarray | None:
    """The saved centroids of the index when their signature and checksum match."""
    path = _cent_path(built)
    if path is None or not os.path.exists(path + ".sig"):
        return None
    try:
        with open(path + ".sig") as f:
            doc = json.load(f)
        if doc.get("signature") != repr(built.signature):
            return None
        cent = np.load(path + ".npy")
        if cent.dtype != np.float32 or cent.ndim != 2 or _cent_crc(cent) != doc.get("crc"):
            raise ValueError("checksum mismatch")
    except Exception as e:  # damaged: trained again (parts of other centroids rebuild)
        log.warning("ivfflat centroids %s trained again: %s", path, e)
        return None
    return cent


def _save_centroids(built: Any, cent: np.ndarray) -> None:
    path = _cent_path(built)
    if path is None:
        return
    try:
        np.save(path + ".npy", cent)
        with open(path + ".sig.tmp", "w") as f:
            json.dump({"signature": repr(built.signature), "crc": _cent_crc(cent)}, f)
        os.replace(path + ".sig.tmp", path + ".sig")
    except OSError as e:  # trained again after a restart (its parts are then rebuilt)
        log.warning("ivfflat centroids %s not saved: %s", path, e)


def _sample(built: Any, views: Any, column: str | None, extra: Any, want: int) -> np.ndarray:
    """At most about `want` vectors spread over the views' segments (seeded), plus `extra`."""
    from sqlvec.exec import vector_search as VS

    total = sum(v.seg.num_rows for v in views)
    rng = np.random.default_rng(1234)
    out = [] if extra is None else [np.asarray(extra)]
    for v in views:
        seg = v.seg
        if not seg.num_rows:
            continue
        col = seg.data.column(column or built.column)
        take = seg.num_rows if total <= want else max(1, seg.num_rows * want // total)
        pos = np.arange(seg.num_rows) if take >= seg.num_rows else \
            np.sort(rng.choice(seg.num_rows, take, replace=False))
        part = VS.take_rows(col, pos) if take < seg.num_rows else col
        if part.null_count:
            part = part.filter(part.is_valid())
        if len(part):
            out.append(np.asarray(VS._matrix(part, built.short)))
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def _lists(built: Any) -> int:
    from sqlvec.index.ivfflat import IvfflatOptions

    raw = {k: v for k, v in (built.idx.options or {}).items() if v not in (None, "None", "")}
    return parse_options(IvfflatOptions, raw).lists


def centroids(built: Any, views: Any = (), column: str | None = None, extra: Any = None,
              final: bool = True, notice: Any = None) -> np.ndarray:
    """The ivfflat centroids of `built`: known, saved, or trained now on a sample of the
    views' rows and `extra` (the rows in hand) and saved. Trained once per index (REINDEX
    trains anew), as pgvector trains its lists at CREATE INDEX. Not `final` (a delta of
    few rows, e.g. an index created on an empty table): trained from them for that
    structure only, and the index's own lists wait for a segment's worth of rows."""
    from sqlvec.index.ivfflat import train_centroids

    cent = built.centroids
    if cent is not None:
        return cent
    with _TRAIN_LOCK:
        if built.centroids is not None:
            return built.centroids
        cent = _load_centroids(built)
        if cent is None:
            lists = _lists(built)
            x = _sample(built, views, column, extra, max(lists * 50, 10000))
            t0 = time.perf_counter()
            cent = train_centroids(x, lists, built.oc.metric)
            if notice is not None and final:
                notice(f'trained {len(cent)} lists of ivfflat index "{built.idx.name}" on '
                       f"{len(x)} rows in {time.perf_counter() - t0:.1f} s")
            if not final or not len(x):  # (no vectors yet, e.g. all NULL: not the index's)
                return cent
            _save_centroids(built, cent)
        built.centroids = cent
    return cent


def fresh(built: Any, vecs: Any, ids: np.ndarray, sealed: bool = False) -> Any:
    """A new structure over `vecs` for a part (`sealed`) or the delta: ivfflat assigns them
    to the index's centroids (trained from these rows when there are none yet; a delta of
    fewer than max(MIN_PART_ROWS, 10 lists) rows trains its own, see `centroids`)."""
    from sqlvec.exec import vector_search as VS

    if built.kind == "ivfflat":
        from sqlvec.index.ivfflat import IvfflatIndex

        final = sealed or len(ids) >= max(MIN_PART_ROWS, 10 * _lists(built))
        cent = centroids(built, extra=vecs, final=final)
        return IvfflatIndex.from_centroids(cent, np.asarray(vecs), ids, built.oc.metric)
    return VS._build(built.idx, built.oc, built.short, vecs, ids, sealed=sealed)[0]


def _open(built: Any, seg: Any, column: str | None = None) -> Part | None:
    """The saved part of a segment as a memory-mapped view, or None (absent, stale, damaged)."""
    from sqlvec.exec import vector_search as VS

    path = part_path(built, seg)
    if path is None or not os.path.exists(path + ".sig"):
        return None
    try:
        with open(path + ".sig") as f:
            doc = json.load(f)
        if doc.get("signature") != _sig(built, seg, _crc(*_vectors(built, seg, column))):
            return None
        read_meta(path, built.kind, verify=True)  # data checksums: a flipped byte rebuilds
        index = VS._KINDS.get(built.kind).load(path, view=True)
        if built.kind == "ivfflat" and built.centroids is not None:  # (the signature names
            # them: the index's own centroids, one object, so a query finds its lists once)
            index.centroids = built.centroids
        keys = np.load(path + ".rowids.npy")
        if len(index) != len(keys):
            raise ValueError("row count mismatch")
    except Exception as e:  # damaged or foreign: rebuilt from the segment, never trusted
        log.warning("vector index part %s rebuilt: %s", path, e)
        return None
    return Part(index, keys, seg.seg_id, saved=True)


def _save(built: Any, seg: Any, part: Part, store: Any = None) -> None:
    """Write a part's files; the signature file goes last (atomically). A part whose index
    was dropped, or whose segment left the table (TRUNCATE, rewrite, VACUUM, compaction),
    while it was built has its files deleted again (see `_discard`)."""
    path = part_path(built, seg)
    if path is None or part.saved:
        return
    if store is not None and _dead(store, built, seg.seg_id):
        part.saved = True  # nothing to write: no query of the current catalog uses it
        return
    try:
        if os.path.exists(path + ".sig"):  # a stale part: unsigned until fully rewritten
            os.unlink(path + ".sig")
        part.index.save(path)
        np.save(path + ".rowids.npy", part.keys)
        with open(path + ".sig.tmp", "w") as f:
            json.dump({"signature": _sig(built, seg, part.crc), "kind": built.kind}, f)
        os.replace(path + ".sig.tmp", path + ".sig")
        part.saved = True
    except OSError as e:  # an unsaved part is rebuilt after a restart
        log.warning("vector index part %s not saved: %s", path, e)
    if store is not None and _dead(store, built, seg.seg_id):
        # dropped (or the segment rewritten away) while this was written: the delete of
        # the drop may have listed the directory before these files were there
        remove_files(built, seg.seg_id)


def build(built: Any, seg: Any, column: str | None = None) -> Part:
    """A fresh part over the segment's non-NULL vectors (keys = row ids)."""
    ids, vecs = _vectors(built, seg, column)
    return Part(fresh(built, vecs, ids, sealed=True), ids, seg.seg_id, crc=_crc(ids, vecs))


def ensure(built: Any, views: Any, notice: Any = None, progress: dict | None = None,
           column: str | None = None, store: Any = None) -> list[Part]:
    """The parts of every eligible segment among `views` (opened or built as needed);
    `progress["tuples_done"]` grows by each part's rows (pg_stat_progress_create_index).
    `column`: the indexed column's name in the views' catalog (default: `built.column`);
    `store`: files of a part whose index or segment went meanwhile are not kept."""
    out = []
    if built.kind == "ivfflat" and built.centroids is None and any(
            eligible(v.seg, built.kind, built.short) for v in views):
        centroids(built, views, column, notice=notice)  # (part signatures name the centroids)
    for v in views:
        seg = v.seg
        if not eligible(seg, built.kind, built.short):
            continue
        part = built.parts.get(seg.seg_id)
        new = False
        if part is None:
            with built.part_lock:  # one builder per index; others wait for it
                part = built.parts.get(seg.seg_id)
                if part is None:
                    new = True
                    part = _open(built, seg, column)
                    if part is None:
                        t0 = time.perf_counter()
                        part = build(built, seg, column)
                        if notice is not None:
                            notice(f'built {built.kind} index "{built.idx.name}" on segment '
                                   f"{seg.seg_id} ({len(part.keys)} rows) in "
                                   f"{time.perf_counter() - t0:.1f} s")
                    built.parts[seg.seg_id] = part
        if not part.saved and built.files:
            with built.part_lock:
                _save(built, seg, part, store)
        if new and store is not None and _dead(store, built, seg.seg_id):
            # an older snapshot's segment, rewritten away (its rewrite hook may already have
            # forgotten it): this query uses the part, the index does not keep it
            built.parts.pop(seg.seg_id, None)
        if progress is not None:
            progress["tuples_done"] = progress.get("tuples_done", 0) + seg.num_rows
        out.append(part)
    return out


_ANY = np.logical_or.reduce


def merge(*pairs: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """(keys, dists) pairs of (n, k_i) merged into the best `want` per row, duplicate keys
    kept once (a row may sit in the delta and in a part while the delta catches up).

    Call as merge(keys1, d1, keys2, d2, ..., want).
    """
    want = int(pairs[-1])  # type: ignore[arg-type]
    ks = [np.asarray(k, np.int64) for k in pairs[:-1:2]]
    ds = [np.asarray(d, np.float64) for d in pairs[1:-1:2]]
    keys, dists = np.hstack(ks), np.hstack(ds)
    if len(keys) == 1 and keys.shape[1]:
        return _merge_one(keys[0], dists[0], want)
    if len(ks) == 1:
        return order_by_distance_then_key(keys, dists, want)
    keys, dists = order_by_distance_then_key(keys, dists, keys.shape[1])
    # drop later duplicates of a key per row: sort by key, mark repeats, restore order
    order = np.argsort(keys, axis=1, kind="stable")
    sk = np.take_along_axis(keys, order, axis=1)
    dup_sorted = np.zeros_like(sk, dtype=bool)
    dup_sorted[:, 1:] = (sk[:, 1:] == sk[:, :-1]) & (sk[:, 1:] >= 0)
    dup = np.zeros_like(dup_sorted)
    np.put_along_axis(dup, order, dup_sorted, axis=1)
    if dup.any():
        keys = np.where(dup, -1, keys)
        dists = np.where(dup, np.inf, dists)
    return order_by_distance_then_key(keys, dists, want)


def _merge_one(keys: np.ndarray, dists: np.ndarray, want: int) -> tuple[np.ndarray, np.ndarray]:
    """merge() of one query row: order by (distance, key), keep each key's first (best)."""
    keys, dists = order_by_distance_then_key(keys[None, :], dists[None, :], len(keys))
    keys, dists = keys[0], dists[0]
    sk = np.sort(keys)
    if len(sk) > 1 and _ANY(sk[1:] == sk[:-1]):  # (a key twice; -1 paddings too)
        _u, first = np.unique(keys, return_index=True)
        keep = np.sort(first)  # -1 paddings collapse too: padded again below
        keys, dists = keys[keep], dists[keep]
        return order_by_distance_then_key(keys[None, :], dists[None, :], want)
    if len(keys) >= want:  # (no duplicate: the order stands, cut to want)
        return keys[None, :want], dists[None, :want]
    return order_by_distance_then_key(keys[None, :], dists[None, :], want)


def _check_dims(built: Any, parts: list[Part], qv: Any) -> None:
    """A dense query of another dimension than the index's vectors is pgvector's 22000
    'different vector dimensions 3 and 2' (the exact path's words), not the engine's error."""
    if not isinstance(qv, np.ndarray) or qv.ndim != 2 or built.short not in (
            "vector", "halfvec", "bf16vec", "int8vec"):
        return
    s = parts[0].index if parts else built.index
    graph = getattr(s, "graph", None)
    d = graph.ndim if graph is not None else getattr(getattr(s, "centroids", getattr(s, "vectors", None)),
                                                     "shape", (0, 0))[-1]
    if d and qv.shape[1] != d:
        from sqlvec.core.errors import DataException

        raise DataException(f"different {built.short} dimensions {d} and {qv.shape[1]}")


def search(built: Any, parts: list[Part], qv: np.ndarray, want: int, params: Any
           ) -> tuple[np.ndarray, np.ndarray]:
    """Top `want` (keys, distances) per query row over the parts and the delta graph."""
    _check_dims(built, parts, qv)
    if built.kind == "ivfflat":  # one probe, shortlist and re-score over all structures
        from sqlvec.index.ivfflat import search_union

        structures = [p.index for p in parts]
        with built.lock:  # the growing delta swaps arrays: searched as they are now
            if built.index is not None and len(built.keys):
                structures.append(built.index.frozen())
        return search_union(structures, qv, want, params)
    pairs: list[Any] = []
    for part in parts:
        if len(part.keys):
            pairs += part.index.search(qv, min(want, len(part.keys)), params)
    index, keys = built.index, built.keys  # (a concurrent sync may replace them)
    if index is not None and len(keys):
        n = min(want, len(keys))
        if built.kind == "hnsw" and not getattr(index, "reranks", True):
            pairs += index.search(qv, n, params)  # concurrent: usearch is thread-safe
        else:
            with built.lock:  # numpy-backed kinds swap arrays while growing
                pairs += index.search(qv, n, params)
    if not pairs:
        nq = len(qv[0]) - 1 if isinstance(qv, tuple) else len(np.atleast_2d(qv))  # (CSR: sparse)
        return np.full((nq, want), -1, np.int64), np.full((nq, want), np.inf)
    if len(pairs) == 2:  # one graph: its answer is already ordered by (distance, key)
        return pairs[0], pairs[1]
    return merge(*pairs, want)


def size(built: Any, parts: list[Part]) -> int:
    """How many keys the parts and the delta hold together."""
    return sum(len(p.keys) for p in parts) + len(built.keys)


def describe(built: Any, parts: list[Part]) -> str:
    """What a search covered, for EXPLAIN ANALYZE: '3 segment graphs + delta of 300 rows'."""
    return f"{len(parts)} segment graph{'s' if len(parts) != 1 else ''} + delta of " \
           f"{len(built.keys)} rows"


def part_rowids(parts: list[Part], views: Any, built: Any) -> np.ndarray:
    """Row ids of the segments served by parts (sorted), so the delta leaves them out."""
    ids = [v.seg.rowids for v in views if v.seg.seg_id in {p.seg_id for p in parts}]
    return np.sort(np.concatenate(ids)) if ids else np.zeros(0, np.int64)


# ---- storage's rewrite hook: VACUUM / compaction rebuild the affected parts ----------------

_HOOKED_LOCK = threading.Lock()


def register(store: Any) -> None:
    """Ask the store to report rewritten segments and commits (once per store)."""
    with _HOOKED_LOCK:
        for name, fn in (("rewrite_hooks", on_rewrite), ("commit_hooks", on_commit)):
            hooks = getattr(store, name, None)
            if hooks is not None and fn not in hooks:
                hooks.append(fn)


def on_commit(store: Any, table_ids: list[int]) -> None:
    """A commit may have sealed a segment (growing rows merged, COPY): build its graph in a
    background thread, so queries find it ready instead of building it themselves. It may
    also have dropped indexes or emptied tables: their files go now (the commit is durable)."""
    from sqlvec.exec import vector_search as VS

    try:
        drop_files(store, table_ids)
    except Exception:  # derived files only: orphans are swept at the next start-up
        log.exception("deleting dropped vector index files failed")
    per_db = VS._CACHE.get(store)
    if not per_db:
        return
    version = getattr(store, "version", None)
    for key, built in list(per_db.items()):
        if isinstance(key, tuple) or built.table_oid not in table_ids or built.idx is None:
            continue
        tv = version.tables.get(built.table_oid) if version is not None else None
        if tv is None or not tv.loaded:
            continue
        if built.idx.oid not in index_defs(version):
            continue  # dropped: no graphs for it
        todo = [v for v in tv.views if v.seg.seg_id not in built.parts
                and eligible(v.seg, built.kind, built.short)]
        if not todo:
            continue
        with _HOOKED_LOCK:
            if built.builder is not None:
                continue  # running: it looks at the newest version again before it stops
            t = threading.Thread(target=_build_behind, args=(store, built), daemon=True,
                                 name="sqlvec-index-build")
            built.builder = t
        t.start()


def _build_behind(store: Any, built: Any) -> None:
    """Build the graphs of the sealed segments of the newest version until none is missing."""
    try:
        while True:
            with _HOOKED_LOCK:  # (a commit seeing `builder` set relies on this last look)
                version = store.version
                tv = version.tables.get(built.table_oid)
                d = index_defs(version).get(built.idx.oid)
                todo = [] if tv is None or d is None or built.idx.oid in _GONE.get(
                    store, ()) else [v for v in tv.views if v.seg.seg_id not in built.parts
                                     and eligible(v.seg, built.kind, built.short)]
                if not todo:
                    built.builder = None
                    return
            # the column as this version's catalog names it (RENAME COLUMN keeps the index)
            ensure(built, todo, column=d[1], store=store)
    except Exception:  # an optimisation: the next query builds what is missing
        log.exception("building vector index parts of table %s failed", built.table_oid)
        with _HOOKED_LOCK:
            built.builder = None


def on_rewrite(store: Any, table_id: int, old_ids: list[int], segs: list[Any]) -> None:
    """VACUUM / compaction swapped `old_ids` for `segs`: build the new segments' parts now
    (off the query path), forget the old ones (their files go with the old segments)."""
    from sqlvec.exec import vector_search as VS

    per_db = VS._CACHE.get(store)
    if not per_db:
        return
    for key, built in list(per_db.items()):
        if isinstance(key, tuple) or built.table_oid != table_id:
            continue
        for sid in old_ids:
            built.parts.pop(sid, None)
            remove_files(built, sid)
        d = index_defs(store.version).get(built.idx.oid) if built.idx is not None else None
        if d is None:
            continue  # dropped meanwhile
        try:
            ensure(built, [_View(s) for s in segs], column=d[1], store=store)
        except Exception:  # an optimisation: the next query builds what is missing
            log.exception("building vector index parts of table %s failed", table_id)


@dataclass
class _View:
    seg: Any


# ---- index files of dropped indexes and vanished segments ----------------------------------
#
# Files go only after the commit that dropped them is durable (commit hooks run after the
# WAL sync), so a ROLLBACK keeps them; a crash between the commit and the delete leaves
# orphans that `sweep` removes at the next start-up. A commit deletes only the files of
# indexes the previous committed catalog held (an uncommitted CREATE INDEX of another
# session writes files no committed catalog names yet: they stay).

# store -> (the catalog last looked at, its live index oids -> table oid, its seq)
_SEEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def index_dir(store: Any) -> str | None:
    root = getattr(store, "path", None)
    return os.path.join(root, "indexes") if root else None


def live_indexes(version: Any) -> dict[int, int]:
    """Index oid -> table oid of every index the catalog of `version` holds."""
    return {oid: table for oid, (table, _c) in index_defs(version).items()}


# (the catalog dict last read, its index oid -> (table oid, first column name))
_DEFS_SEEN: tuple = (None, {})


def index_defs(version: Any) -> dict[int, tuple[int, str]]:
    """Index oid -> (table oid, name of its (first) column) in the catalog of `version`:
    what a build behind the commits reads its segments by (a RENAME COLUMN keeps the oid)."""
    global _DEFS_SEEN
    catalog = version.catalog
    seen, defs = _DEFS_SEEN
    if seen is catalog:  # (a catalog dict is never changed once published)
        return defs
    out = {}
    for key in version.catalog_range("index/"):
        d = json.loads(version.catalog[key])
        cols = d.get("columns") or [""]
        name = str(cols[0]).replace('"', "").split()
        out[int(d["oid"])] = (int(d["table_oid"]), name[0] if name else "")
    _DEFS_SEEN = (catalog, out)
    return out


# store -> oids of indexes a durable commit dropped (a build still running discards its parts)
_GONE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _dead(store: Any, built: Any, seg_id: int) -> bool:
    """Whether a part of `built` on segment `seg_id` is of no use to the newest catalog: its
    index was dropped by a durable commit, or its table no longer has the segment. (Read
    after the part's files are written: a drop published later lists them when it deletes.)"""
    idx = built.idx
    if idx is None:
        return False
    with _HOOKED_LOCK:
        if idx.oid in _GONE.get(store, ()):
            return True
    version = getattr(store, "version", None)
    if version is None:
        return False
    tv = version.tables.get(built.table_oid)
    return tv is None or all(v.seg.seg_id != seg_id for v in tv.views)


def _files_by_oid(d: str) -> dict[int, list[str]]:
    """Index file names under `d` grouped by the index oid they start with."""
    try:
        names = os.listdir(d)
    except OSError:
        return {}
    out: dict[int, list[str]] = {}
    for name in names:
        head = name.split(".", 1)[0]
        if head.isdigit():
            out.setdefault(int(head), []).append(name)
    return out


def _seg_of(name: str) -> int | None:
    """The segment id of a part file name `<oid>.s<id>.*` (None for delta files)."""
    parts = name.split(".")
    if len(parts) > 2 and parts[1][:1] == "s" and parts[1][1:].isdigit():
        return int(parts[1][1:])
    return None


def _unlink(d: str, names: list[str]) -> None:
    for name in names:
        try:
            os.unlink(os.path.join(d, name))
        except OSError:
            pass


def _stale_parts(names: list[str], seg_ids: set[int]) -> list[str]:
    return [n for n in names if (s := _seg_of(n)) is not None and s not in seg_ids]


# store -> {index oid: (catalog key, weak reference to the transaction creating it)}
_PENDING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def creating(store: Any, txn: Any, key: str, oid: int) -> None:
    """CREATE INDEX / REINDEX in `txn` writes files for `oid` before a commit names it: if
    the transaction rolls back (or to a savepoint before it), the next commit's hook deletes
    them (`_abandoned`); until then, and after a crash, the start-up sweep does."""
    if index_dir(store) is None:
        return
    try:
        ref = weakref.ref(txn)
    except TypeError:
        return
    with _HOOKED_LOCK:
        _PENDING.setdefault(store, {})[oid] = (key, ref)


def _abandoned(store: Any, live: dict[int, int]) -> list[int]:
    """Oids of `creating` whose transaction no longer holds them: rolled back (its catalog
    writes cleared), rolled back to a savepoint, or gone without a commit naming them. A
    transaction that is committing still holds its writes, so its files are kept."""
    pend = _PENDING.get(store)
    if not pend:
        return []
    out = []
    with _HOOKED_LOCK:
        for oid, (key, ref) in list(pend.items()):
            if oid not in live:
                txn = ref()
                text = None if txn is None else (getattr(txn, "_catalog", None) or {}).get(key)
                if text is not None and json.loads(text).get("oid") == oid:
                    continue  # running or committing
                out.append(oid)
            del pend[oid]
    return out


def drop_files(store: Any, table_ids: list[int]) -> None:
    """After a durable commit: delete the files of indexes it dropped, and the part files
    of segments a TRUNCATE / table rewrite in it took away from indexed tables."""
    from sqlvec.exec import vector_search as VS

    d = index_dir(store)
    if d is None or getattr(store, "version", None) is None:
        return
    with _HOOKED_LOCK:  # (read under the lock: hooks of later commits may run first)
        version = store.version
        seen = _SEEN.get(store)
        if seen is None or seen[0] is not version.catalog:
            live = live_indexes(version)
        else:
            live = seen[1]
        since = version.seq if seen is None else seen[2]
        _SEEN[store] = (version.catalog, live, max(since, version.seq))
        gone = set() if seen is None else set(seen[1]) - set(live)
        if gone:
            _GONE.setdefault(store, set()).update(gone)
    per_db = VS._CACHE.get(store) or {}
    gone |= set(_abandoned(store, live))
    reset = {t for t in table_ids if (tv := version.tables.get(t)) is not None
             and tv.epoch > since}  # truncated / rewritten since the last look
    if not gone and not reset:
        return
    files = _files_by_oid(d)  # (listed once: a commit with a drop or a rewrite)
    for oid in gone:
        _unlink(d, files.get(oid, []))
        per_db.pop(oid, None)  # its graphs leave memory too (a query of an older snapshot
        # that still sees the index builds it afresh; its parts are not saved: `_dead`)
        per_db.pop(("build", oid), None)
    for oid, table in live.items():
        if table not in reset or oid not in files:
            continue
        segs = {v.seg.seg_id for v in version.tables[table].views}
        for key, built in list(per_db.items()):
            if not isinstance(key, tuple) and built.idx is not None and built.idx.oid == oid:
                for sid in [s for s in built.parts if s not in segs]:
                    built.parts.pop(sid, None)
        _unlink(d, _stale_parts(files[oid], segs))


def sweep(store: Any) -> int:
    """At start-up (no transaction running): delete the files of indexes no committed
    catalog names (dropped before a crash, rolled back) and the part files of segments
    their table no longer has (replayed under new ids after a crash). Returns how many."""
    d = index_dir(store)
    if d is None:
        return 0
    version = store.version
    live = live_indexes(version)
    with _HOOKED_LOCK:
        _SEEN[store] = (version.catalog, live, version.seq)
    n = 0
    for oid, names in _files_by_oid(d).items():
        table = live.get(oid)
        tv = None if table is None else version.tables.get(table)
        if tv is None:
            doomed = names
        else:
            doomed = _stale_parts(names, {v.seg.seg_id for v in tv.views})
        _unlink(d, doomed)
        n += len(doomed)
    if n:
        log.info("removed %d orphaned vector index files", n)
    return n
