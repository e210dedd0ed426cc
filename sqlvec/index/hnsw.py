"""HNSW on usearch: pgvector's options (m, ef_construction, ef_search) plus a quantizer.

The graph stores vectors in the column's precision (f32 for vector, f16 for halfvec,
b1 for bit, bf16/i8 for bf16vec/int8vec) or in a smaller `quantizer` type; when the
graph holds less than the full vectors (a quantizer, or L1 which usearch lacks and which
searches an L2 graph), candidates are over-fetched and re-ranked exactly on the full
vectors kept beside the graph. Distances are returned as the SQL operator's values.

    >>> HnswOptions(m=8).ef_construction
    64
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from sqlvec.core.errors import InvalidParameterValue
from sqlvec.index import base
from sqlvec.index.exact import _EINSUM, rescore, rescore_one

_USEARCH_METRIC = {"l2": "l2sq", "ip": "ip", "cos": "cos", "l1": "l2sq", "hamming": "hamming",
                   "jaccard": "tanimoto"}
QUANTIZERS = ("f32", "f16", "bf16", "i8")
_RESCORED_ONE = ("l2", "ip", "cos")  # metrics index.exact.rescore_one serves
THREADS = os.cpu_count() or 1  # usearch threads one batched search may use
_ONE_DTYPES = ("f32", "f16", "bf16", "i8")  # column types one_search takes float32 queries for
SIDE_STEP, SIDE_WIDE = 4, 32  # find_side's wide pass: every 4th row's 32 nearest at ef 32
SERIAL_ROWS = 20_000  # builds of fewer rows add on one thread: the same graph every time
_BUILD = threading.local()  # .threads: build_threads' limit in this thread (0: every core)


@contextmanager
def build_threads(n: int) -> Iterator[None]:
    """Graph builds in this thread (adds and their self-searches) use at most n of
    usearch's threads: CREATE INDEX sets PostgreSQL's max_parallel_maintenance_workers + 1,
    as pgvector's parallel build uses that many processes."""
    old = getattr(_BUILD, "threads", 0)
    _BUILD.threads = max(1, min(n, THREADS))
    try:
        yield
    finally:
        _BUILD.threads = old


def _build_threads(rows: int, serial: int | None = None) -> int:
    """usearch's `threads` for a build step over `rows`: 1 below `serial` (SERIAL_ROWS)
    rows, else build_threads' limit (0, every core, outside one)."""
    return 1 if rows < (SERIAL_ROWS if serial is None else serial) \
        else getattr(_BUILD, "threads", 0)


@dataclass(frozen=True, kw_only=True)
class HnswOptions:
    """WITH (m = 16, ef_construction = 64, quantizer = 'f16')."""

    m: int = 16
    ef_construction: int = 64
    quantizer: str | None = None
    rerank: int = 4  # over-fetch factor when re-ranking on full vectors

    def __post_init__(self) -> None:
        base.check_range("m", self.m, 2, 100)
        base.check_range("ef_construction", self.ef_construction, 4, 1000)
        if self.ef_construction < 2 * self.m:
            raise InvalidParameterValue("ef_construction must be greater than or equal to 2 * m")
        if self.quantizer is not None and self.quantizer not in QUANTIZERS:
            raise InvalidParameterValue(
                f'invalid value for option "quantizer": {self.quantizer}',
                hint="Valid values are f32, f16, bf16 and i8.")
        base.check_range("rerank", self.rerank, 1, 100)


@dataclass(frozen=True, kw_only=True)
class HnswParams:
    """SET hnsw.ef_search (pgvector's default 40)."""

    ef_search: int = 40

    def __post_init__(self) -> None:
        base.check_range("ef_search", self.ef_search, 1, 1000)


def _graph_dtype(dtype: str, options: HnswOptions, metric: str) -> str:
    if metric in ("hamming", "jaccard"):
        return "b1"
    return options.quantizer or dtype


def _to_host_float(v: np.ndarray, dtype: str) -> np.ndarray:
    """Vectors as usearch takes them for the column dtype (bf16 bit patterns widened)."""
    if dtype == "bf16" and v.dtype == np.uint16:
        return (v.astype(np.uint32) << 16).view(np.float32)
    return v


class HnswIndex:
    """One usearch graph plus, when needed, the full vectors for exact re-ranking."""

    kind = "hnsw"

    def __init__(self, graph: Any, metric: str, dtype: str, options: HnswOptions,
                 full: np.ndarray | None, full_keys: np.ndarray | None) -> None:
        self.graph = graph
        self.metric = metric
        self.dtype = dtype
        self.options = options
        self.full = full  # sorted by full_keys
        self.full_keys = full_keys
        self._ef = -1  # the expansion_search last set on the graph
        # usearch keeps expansion_search on the graph, shared by every session: the setter
        # and the search it is for run under this lock, so no other session's ef slips in
        self._lock = threading.Lock()
        # the side set: vectors the graph does not find when searching for themselves (no
        # path to them from the entry point, whatever ef), scanned exactly by every search
        # (one tuple, replaced whole: a search reads keys, vectors and norms of one set)
        self._side: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def reranks(self) -> bool:
        return self.full is not None

    def exact_for(self, metric: str) -> bool:
        """Whether a search of a float32 query returns `metric`'s distances as the SQL
        operator computes them (functions/vectors/ops), so the caller need not compute them
        again: the candidates are re-scored on the full float32 vectors by index.exact's
        rescore / rescore_one, which compute l2, ip and cos with ops' own arithmetic (the
        same float32 einsum row sums, the same float64 steps after them)."""
        full = self.full
        return metric == self.metric and metric in _RESCORED_ONE and full is not None \
            and full.dtype == np.float32

    def __len__(self) -> int:
        return len(self.graph)

    @classmethod
    def create(cls, ndim: int, metric: str, dtype: str, options: HnswOptions) -> HnswIndex:
        from usearch.index import Index

        gdt = _graph_dtype(dtype, options, metric)
        graph = Index(ndim=ndim, metric=_USEARCH_METRIC[metric], dtype=gdt,
                      connectivity=options.m, expansion_add=options.ef_construction,
                      expansion_search=40)
        bits = metric in ("hamming", "jaccard")
        # full vectors beside the graph: for exact re-ranking (quantized graph, L1 on an L2
        # graph) and for jaccard, whose float32 graph distances round differently
        needs_full = metric in ("l1", "jaccard") or (
            options.quantizer is not None and options.quantizer != dtype and not bits)
        full = (np.zeros((0, ndim // 8), np.uint8) if bits else np.zeros((0, ndim), np.float32)) \
            if needs_full else None
        return cls(graph, metric, dtype, options, full,
                   np.zeros(0, np.int64) if needs_full else None)

    def add(self, vectors: np.ndarray, keys: np.ndarray,
            progress: Callable[[int, int], bool] | None = None) -> None:
        keys = np.asarray(keys, np.uint64)
        if len(keys) == 0:
            return
        v = _to_host_float(np.asarray(vectors), self.dtype)
        if self.dtype == "f32" and self.options.quantizer in (None, "f32"):
            v = np.ascontiguousarray(v, np.float32)
        # small batches build single-threaded: the same graph every time (deterministic
        # results); large builds use build_threads' limit (every core by default)
        threads = _build_threads(len(keys))
        if progress:
            self.graph.add(keys, v, progress=progress, threads=threads)
        else:
            self.graph.add(keys, v, threads=threads)
        if self.full is not None and self.full_keys is not None:
            k64, fv = keys.astype(np.int64), np.asarray(v, self.full.dtype)
            if not len(self.full_keys) and (k64[1:] > k64[:-1]).all():
                # a first batch in key order (a segment's build): the rows as given, no
                # concatenate / argsort / gather (100k x 384: ~0.4 s of one core); a
                # writeable array is copied (the caller's), Arrow's read-only one is not
                self.full_keys = k64
                self.full = np.array(fv) if fv.flags.writeable else fv
                return
            allk = np.concatenate([self.full_keys, k64])
            allv = np.concatenate([self.full, fv])
            order = np.argsort(allk, kind="stable")
            self.full_keys, self.full = allk[order], allv[order]

    def remove(self, keys: np.ndarray) -> None:
        keys = np.asarray(keys, np.int64)
        if len(keys):
            self.graph.remove(np.asarray(keys, np.uint64))  # absent keys are ignored
        if self.full is not None and self.full_keys is not None:
            keep = ~np.isin(self.full_keys, keys)
            self.full_keys, self.full = self.full_keys[keep], self.full[keep]
        sset = self._side
        if sset is not None:
            keep = ~np.isin(sset[0], keys)
            self.set_side(sset[0][keep], sset[1][keep])

    def _convert(self, d: np.ndarray) -> np.ndarray:
        if self.metric == "l2":
            return np.sqrt(np.maximum(d, 0).astype(np.float64))
        if self.metric == "ip":
            return d.astype(np.float64) - 1.0
        return d.astype(np.float64)

    @property
    def side_keys(self) -> np.ndarray | None:
        """The side set's keys (sorted), or None when there is none."""
        return None if self._side is None else self._side[0]

    @property
    def side(self) -> np.ndarray | None:
        """The side set's float32 vectors, in side_keys' order."""
        return None if self._side is None else self._side[1]

    def set_side(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Keep these (key, float32 vector) rows as the side set (none: no side scan)."""
        keys = np.asarray(keys, np.int64)
        if not len(keys):
            self._side = None
            return
        order = np.argsort(keys, kind="stable")  # (sorted: membership by searchsorted)
        side = np.ascontiguousarray(np.asarray(vectors, np.float32)[order])
        self._side = (keys[order], side, _EINSUM("sd,sd->s", side, side))

    def _unfound(self, v: np.ndarray, keys: np.ndarray) -> np.ndarray:
        """Which of these (vector, key) rows the graph has no path to, as searches show it.
        A row has one when a wide pass returns it (the SIDE_WIDE nearest, at ef SIDE_WIDE,
        of every SIDE_STEP-th row's vector: a search reached it from the entry point), or
        else when a search for its own vector at ef = ef_construction finds it among its 10
        nearest. Most rows a self-search at a small ef misses are rows the graph reaches,
        next to where their own search ends, so other rows' searches return them: on the
        bench's 100k x 384 bf16 graph ~12% of the rows remain after the wide pass, against
        31% after the self-search of every row at ef 10 that it replaces (find_side 5.2 ->
        2.0 s, 100k x 128 2.5 -> 0.8 s; side sets after re-insertion 564 -> ~300 and 27 ->
        ~30 rows; recall@10 at ef 10-80 no lower). Both passes on every core (threads only
        split the queries: the same results)."""
        n = len(self.graph)
        wide = min(SIDE_WIDE, n)
        sample = v[::SIDE_STEP]
        with self._lock:
            self.graph.expansion_search = self._ef = wide
            res = self.graph.search(sample, wide, threads=_build_threads(len(sample), 1000))
        rows = np.flatnonzero(~np.isin(keys, np.asarray(res.keys).view(np.int64)))
        if len(rows):
            top = min(10, n)
            with self._lock:
                self.graph.expansion_search = self._ef = max(self.options.ef_construction, top)
                res = self.graph.search(v[rows], top, threads=_build_threads(len(rows), 1000))
            found = np.asarray(res.keys).reshape(len(rows), -1).view(np.int64)
            rows = rows[~(found == keys[rows, None]).any(axis=1)]
        miss = np.zeros(len(keys), bool)
        miss[rows] = True
        return miss

    def find_side(self, vectors: np.ndarray, keys: np.ndarray, reinsert: bool = False) -> None:
        """The side set of a built graph: the keys the graph has no path to (_unfound).
        With reinsert (a graph just built, not a view) those are first removed and added
        again, which links most of them in (100k x 384: ~2,600 -> ~300); the ones still
        not found are the side set. Only float32 columns under l2 / cos / l1
        (under ip a vector need not be its own nearest; the others keep none)."""
        if self.dtype != "f32" or self.metric not in ("l2", "cos", "l1") \
                or not len(keys) or not len(self.graph):
            self.set_side(np.zeros(0, np.int64), None)
            return
        v = np.ascontiguousarray(vectors, np.float32)
        keys = np.asarray(keys, np.int64)
        miss = self._unfound(v, keys)
        if reinsert and miss.any():
            mk, mv = keys[miss], v[miss]
            self.graph.remove(mk.astype(np.uint64))
            self.graph.add(mk.astype(np.uint64), mv, threads=_build_threads(len(keys)))
            still = self._unfound(mv, mk)
            self.set_side(mk[still], mv[still])
            return
        self.set_side(keys[miss], v[miss])

    def _side_scan(self, q: np.ndarray, want: int, sset: tuple
                   ) -> tuple[np.ndarray, np.ndarray]:
        """The side set's best `want` rows per query (nq x m keys, the SQL operator's
        distances): one matrix product picks them, rescore gives their exact values."""
        sk, side, norms = sset
        q32 = np.asarray(q, np.float32)
        m = min(len(sk), want + 8)  # (a margin for the product's rounding)
        if m < len(sk) and self.metric != "l1":
            dots = q32 @ side.T
            score = (norms - 2 * dots) if self.metric == "l2" else (
                -dots if self.metric == "ip" else -dots / np.sqrt(np.maximum(norms, 1e-30)))
            pick = np.argpartition(score, m - 1, axis=1)[:, :m]
        else:
            pick = np.broadcast_to(np.arange(len(sk)), (len(q32), len(sk)))
        return sk[pick], rescore(q32, side[pick], self.metric)

    def _merge_side(self, q: np.ndarray, keys: np.ndarray, d: np.ndarray, want: int,
                    sset: tuple) -> tuple[np.ndarray, np.ndarray]:
        """Found rows of one query (1-D) plus the side set's best `want` (a side key the
        graph found too comes once, from the side scan)."""
        allk, side, norms = sset
        metric = self.metric
        if metric in _RESCORED_ONE:  # (1-D: no 3-D gathers; the product picks, then exact)
            q0 = np.asarray(q[0], np.float32)
            m = want + 8
            if len(allk) > 4 * m:  # (a few dozen rows: all of them cost less than picking)
                dots = side @ q0
                score = (norms - 2 * dots) if metric == "l2" else (
                    -dots if metric == "ip" else -dots / np.sqrt(np.maximum(norms, 1e-30)))
                pick = np.argpartition(score, m - 1)[:m]
                sk, rows = allk.take(pick), side.take(pick, axis=0)
            else:
                sk, rows = allk, side
            sd = rescore_one(q0, rows, metric)
        else:
            sk2, sd2 = self._side_scan(q, want, sset)
            sk, sd = sk2[0], sd2[0]
        pos = allk.searchsorted(keys)
        dup = allk[np.minimum(pos, len(allk) - 1)] == keys
        if dup.any():
            keys, d = keys[~dup], d[~dup]
        return np.concatenate((keys, sk)), np.concatenate((d, sd))

    def _count_ef(self, size: int, k: int, params: HnswParams) -> tuple[int, int]:
        """(candidates asked of the graph, its ef) for the top k of `size` vectors.

        Over-fetch for exact re-ranking; L1 ranks on an L2 graph, so it fetches more.
        ef_search is the search's candidate list, as in pgvector (k = 10 at ef_search = 10
        searches with 10, not with the re-ranking's over-fetch: that picks the k best of at
        most ef candidates); k above it widens it, so k rows come back. L1, ranked on an
        L2 graph, keeps its wider fetch."""
        factor = (self.options.rerank * (3 if self.metric == "l1" else 1)) if self.reranks else 1
        count = min(size, k * factor)
        ef = max(params.ef_search, k)
        if self.metric != "l1":
            count = min(count, ef)
        return count, max(ef, count)

    def search(self, queries: np.ndarray, k: int, params: HnswParams | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        params = params or HnswParams()
        q = np.asarray(queries)
        if self.dtype == "bf16" and q.dtype == np.uint16:
            q = _to_host_float(q, self.dtype)
        if q.ndim == 1:
            q = q[None, :]
        nq = len(q)
        size = len(self.graph)
        if size == 0 or k <= 0:
            return base.order_by_distance_then_key(np.full((nq, 0), -1), np.zeros((nq, 0)), k)
        count, ef = self._count_ef(size, k, params)
        if self.dtype == "f32" and not (q.dtype == np.float32 and q.flags.c_contiguous):
            q = np.ascontiguousarray(q, np.float32)
        if nq == 1:
            return self._search_one(q, count, k, ef)
        with self._lock:
            if ef != self._ef:  # usearch's setter is a call into the library: only on change
                self.graph.expansion_search = self._ef = ef
            res = self.graph.search(q, count)
        keys = np.asarray(res.keys, dtype=np.int64).reshape(nq, -1)
        dists = np.asarray(res.distances).reshape(nq, -1)
        counts = np.asarray(res.counts).reshape(nq) if hasattr(res, "counts") else None
        missing = None
        if counts is not None and (counts < keys.shape[1]).any():
            missing = np.arange(keys.shape[1])[None, :] >= counts[:, None]
            keys = np.where(missing, -1, keys)
        if self.reranks and self.full is not None and self.full_keys is not None:
            pos = np.searchsorted(self.full_keys, keys if missing is None else np.maximum(keys, 0))
            pos = np.minimum(pos, len(self.full_keys) - 1)
            out = rescore(np.asarray(q, self.full.dtype), self.full[pos], self.metric)
        else:
            out = self._convert(dists)
        if missing is not None:
            out = np.where(missing, np.inf, out)
        sset = self._side
        if sset is not None:
            allk = sset[0]
            dup = allk[np.minimum(allk.searchsorted(keys), len(allk) - 1)] == keys
            sk, sd = self._side_scan(q, k, sset)
            keys = np.concatenate([np.where(dup, -1, keys), sk], axis=1)
            out = np.concatenate([np.where(dup, np.inf, out), sd], axis=1)
        return base.order_by_distance_then_key(keys, out, k)

    def _search_one(self, q: np.ndarray, count: int, k: int, ef: int
                    ) -> tuple[np.ndarray, np.ndarray]:
        """search() of one query row (the per-query SQL path) at expansion ef: the compiled
        search on this thread (usearch's Python wrapper builds result objects we do not
        use), the found candidates re-scored or converted, ordered by (distance, key),
        padded to k."""
        compiled = getattr(self.graph, "_compiled", None)
        if compiled is None or not hasattr(compiled, "search_many"):
            with self._lock:
                if ef != self._ef:
                    self.graph.expansion_search = self._ef = ef
                res = self.graph.search(q, count)
            keys = np.asarray(res.keys, np.int64).reshape(-1)
            dists = np.asarray(res.distances).reshape(-1)[:len(keys)]
        else:
            with self._lock:
                if ef != self._ef:
                    self.graph.expansion_search = self._ef = ef
                out = compiled.search_many(q, count=count, exact=False, threads=1)
            found = int(out[2][0])
            keys = out[0][0, :found].astype(np.int64)
            dists = out[1][0, :found]
        return self._found_one(q, keys, dists, k)

    def _found_one(self, q: np.ndarray, keys: np.ndarray, dists: np.ndarray, k: int
                   ) -> tuple[np.ndarray, np.ndarray]:
        """_search_one's result from the graph's found keys and distances for query row q."""
        full, sset = self.full, self._side
        if full is not None and self.full_keys is not None and len(keys):
            fk = self.full_keys
            if self._dense_keys:  # keys are one run of row ids: positions by subtraction
                pos = keys - fk[0]
            else:
                pos = np.minimum(fk.searchsorted(keys), len(fk) - 1)
            if self.metric == "l2" and full.dtype == np.float32 and q.dtype == np.float32:
                diff = full.take(pos, axis=0) - q[0]  # (rescore's l2: its float32 sums;
                # take: a 2-D fancy index costs ~5x as much for a few rows)
                d = np.sqrt(_EINSUM("cd,cd->c", diff, diff).astype(np.float64))
                if sset is not None:
                    keys, d = self._merge_side(q, keys, d, k, sset)
                order = np.lexsort((keys, d))[:k]  # (finite distances, found keys only)
                if len(order) == k:
                    return keys[order][None, :], d[order][None, :]
            else:
                d = rescore(np.asarray(q, full.dtype), full[pos][None], self.metric)[0]
        else:
            d = self._convert(dists)
        if sset is not None:  # (again after the exact-L2 block: its merged side keys
            keys, d = self._merge_side(q, keys, d, k, sset)  # go and come back once)
        if not len(keys):
            return base.order_by_distance_then_key(keys[None, :], d[None, :], k)
        return base._order_one(keys, d, k)

    def one_search(self, k: int, params: HnswParams) -> Callable[[np.ndarray], tuple] | None:
        """search() of one C-contiguous float32 query row (1 x d) for a fixed k and
        ef_search, with all that depends on neither worked out now: fn(q) -> (keys,
        distances), 1-D, only the found ones (search() pads its rows with (-1, inf)), in
        the same order and with the same numbers as search(). None when search() must serve
        it (an empty graph, a bit column, usearch without its compiled search).
        For a graph that does not grow (a sealed segment's part): the count is fixed here."""
        compiled = getattr(self.graph, "_compiled", None)
        size = len(self.graph)
        if compiled is None or not hasattr(compiled, "search_many") or self.dtype not in _ONE_DTYPES \
                or size == 0 or k <= 0:
            return None
        count, ef = self._count_ef(size, k, params)
        search_many, graph, lock = compiled.search_many, self.graph, self._lock
        full, fk, metric = self.full, self.full_keys, self.metric

        def batch(qs: np.ndarray) -> tuple:
            """One search_many of the query rows qs on up to len(qs) of usearch's threads
            (it holds the GIL: its own threads are the only way several searches run at
            once; each query's search is its own, the numbers those of one at a time)."""
            with lock:  # (one graph, shared by sessions with other ef_search values)
                if self._ef != ef:
                    graph.expansion_search = self._ef = ef
                return search_many(qs, count=count, exact=False, threads=min(len(qs), THREADS))

        def prepared(finish: Callable[[np.ndarray, tuple, int], tuple]) -> Callable:
            """The search of one query row, and `many` of several at once, from finish(query
            row, a search_many result, its row)."""
            def one(q: np.ndarray) -> tuple:
                return finish(q, batch(q), 0)

            def many(qs: np.ndarray) -> list[tuple]:
                out = batch(qs)
                return [finish(qs[i:i + 1], out, i) for i in range(len(qs))]
            one.many = many  # type: ignore[attr-defined]
            one.key = (id(self), k, ef, count)  # (equal keys: interchangeable searches)  # type: ignore[attr-defined]
            return one
        if not (metric in _RESCORED_ONE and full is not None and fk is not None and len(fk)
                and full.dtype == np.float32):
            def found(q: np.ndarray, out: tuple, i: int) -> tuple:
                n = int(out[2][i])
                keys, d = self._found_one(q, out[0][i, :n].astype(np.int64), out[1][i, :n], k)
                ok = keys[0] >= 0
                return (keys[0], d[0]) if ok.all() else (keys[0][ok], d[0][ok])
            return prepared(found)
        first = int(fk[0]) if self._dense_keys else None
        take, lexsort, sqrt, f64, concat = full.take, np.lexsort, np.sqrt, np.float64, np.concatenate
        few = 4 * (k + 8)  # side sets up to this size are scored whole (_merge_side's bound)
        side_keys: list = [None, frozenset()]  # (a side set, its keys as a set: made once per set)

        def finish(q: np.ndarray, out: tuple, i: int) -> tuple:
            """Row i of a search_many result for query row q: re-scored, ordered, k of them."""
            keys = out[0][i, :int(out[2][i])].view(np.int64)  # (row ids: below 2**63)
            pos = keys - first if first is not None else np.minimum(fk.searchsorted(keys), len(fk) - 1)
            rows = take(pos, axis=0)
            sset = self._side
            small = sset is not None and len(sset[0]) <= few
            twice = False
            if small:  # (a few dozen side rows: scored in the same pass as the found ones)
                if side_keys[0] is not sset:
                    side_keys[:] = sset, frozenset(sset[0].tolist())
                twice = not side_keys[1].isdisjoint(keys.tolist())
                keys, rows = concat((keys, sset[0])), concat((rows, sset[1]))
            if metric == "l2":  # (rescore_one's l2, written out: the benchmark's hot path)
                diff = rows - q[0]
                d = sqrt(_EINSUM("cd,cd->c", diff, diff), dtype=f64)  # (float64 of the sums)
            else:
                d = rescore_one(q[0], rows, metric)
            if sset is not None and not small:
                keys, d = self._merge_side(q, keys, d, k, sset)
            order = lexsort((keys, d))  # (cos: a NaN of a zero vector sorts last, by key)
            if twice:  # a side row the graph found too: twice, side by side (same key, same
                ko = keys[order]  # distance): kept once
                order = order[concat(([True], ko[1:] != ko[:-1]))]
            order = order[:k]
            if len(order) == k:
                return keys[order], d[order]
            keys2, d2 = self._search_one(q, count, k, ef)  # (fewer than k found: its own tail)
            ok = keys2[0] >= 0
            return keys2[0][ok], d2[0][ok]
        return prepared(finish)

    def vectors(self, keys: np.ndarray) -> np.ndarray | None:
        """The full float32 vectors kept beside a quantized graph for these keys (present
        keys; rows x dim, the column's own values), or None when the index keeps none."""
        full, fk = self.full, self.full_keys
        if full is None or fk is None or full.dtype != np.float32 or not len(fk):
            return None
        if self._dense_keys:
            return full.take(keys - fk[0], axis=0)
        return full.take(np.minimum(fk.searchsorted(keys), len(fk) - 1), axis=0)

    @property
    def _dense_keys(self) -> bool:
        """Whether the full vectors' keys are consecutive (a segment's row ids usually are)."""
        fk = self.full_keys
        hit = self.__dict__.get("_dense")
        if hit is None or hit[0] is not fk:
            n = 0 if fk is None else len(fk)
            hit = self._dense = (fk, n > 0 and int(fk[-1]) - int(fk[0]) == n - 1)
        return hit[1]

    def save(self, path: str) -> None:
        self.graph.save(path + ".usearch")
        files = [path + ".usearch"]
        if self.full is not None and self.full_keys is not None:
            np.save(path + ".full.npy", self.full)
            np.save(path + ".full_keys.npy", self.full_keys)
            files += [path + ".full.npy", path + ".full_keys.npy"]
        sset = self._side
        sk, side = (None, None) if sset is None else sset[:2]
        np.save(path + ".side_keys.npy", np.zeros(0, np.int64) if sk is None else sk)
        np.save(path + ".side.npy", np.zeros((0, self.graph.ndim), np.float32) if side is None
                else side)
        files += [path + ".side_keys.npy", path + ".side.npy"]
        opts = {"m": self.options.m, "ef_construction": self.options.ef_construction,
                "quantizer": self.options.quantizer, "rerank": self.options.rerank}
        base.write_meta(path, self.kind, {"metric": self.metric, "dtype": self.dtype,
                                          "options": opts, "side": True}, files)

    @classmethod
    def load(cls, path: str, view: bool = True) -> HnswIndex:
        from usearch.index import Index

        meta = base.read_meta(path, cls.kind, verify=not view)
        graph = Index.restore(path + ".usearch", view=view)
        full = full_keys = None
        if meta["options"].get("quantizer") is not None or meta["metric"] in ("l1", "jaccard"):
            import os
            if os.path.exists(path + ".full.npy"):
                full = np.load(path + ".full.npy", mmap_mode="r" if view else None)
                full = np.asarray(full)  # (an ndarray view of the mapping: numpy's own gathers)
                full_keys = np.load(path + ".full_keys.npy")
        idx = cls(graph, meta["metric"], meta["dtype"], HnswOptions(**meta["options"]), full,
                  full_keys)
        if meta.get("side"):
            idx.set_side(np.load(path + ".side_keys.npy"), np.load(path + ".side.npy"))
        # a graph saved before side sets keeps none (REINDEX makes one): found at load, a
        # view cannot re-insert, so the set would be the whole unfound list (when side sets
        # came: 100k x 128 586 rows, +22 us a query; 100k x 384 3,726, ~+90 us) and finding
        # it would cost every load seconds
        return idx


class HnswKind:
    """The `hnsw` access method."""

    name = "hnsw"
    options = HnswOptions
    params = HnswParams

    def build(self, vectors: np.ndarray, keys: np.ndarray, options: Any = None, *,
              metric: str = "l2", dtype: str = "f32",
              progress: Callable[[int, int], bool] | None = None) -> HnswIndex:
        """dtype: the column's element type ('f32', 'f16', 'bf16', 'i8', 'b1')."""
        vectors = np.asarray(vectors)
        ndim = vectors.shape[1] * (8 if metric in ("hamming", "jaccard") else 1)
        idx = HnswIndex.create(ndim, metric, dtype, options or HnswOptions())
        idx.add(vectors, keys, progress)
        idx.find_side(vectors, keys, reinsert=True)
        return idx

    def load(self, path: str, view: bool = True) -> HnswIndex:
        return HnswIndex.load(path, view)
