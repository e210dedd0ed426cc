"""IVFFlat: k-means lists over the vectors, search probes the nearest lists exactly.

Written once against the array module `xp` (numpy or CuPy): centroids are trained with
Lloyd iterations on a seeded sample, vectors are stored grouped by list, and a query
scans the `probes` lists nearest to it with the exact kernel, so results on the GPU equal
the numpy ones.

    >>> IvfflatOptions().lists, IvfflatParams().probes
    (100, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sqlvec.index import base
from sqlvec.index.exact import candidates_of, pair_distances, rescore
from sqlvec.index.xp import array_module, gpu_available, to_host


@dataclass(frozen=True, kw_only=True)
class IvfflatOptions:
    """WITH (lists = 100) as pgvector; lists is capped by the number of rows at build."""

    lists: int = 100

    def __post_init__(self) -> None:
        base.check_range("lists", self.lists, 1, 32768)


@dataclass(frozen=True, kw_only=True)
class IvfflatParams:
    """SET ivfflat.probes (pgvector's default 1); gpu None picks CuPy, when there is a
    device, where the probed lists hold 10,000 rows or more."""

    probes: int = 1
    gpu: bool | None = None


def _train_metric(metric: str) -> str:
    return "cos" if metric == "cos" else ("ip" if metric == "ip" else "l2")


def _train_view(v: np.ndarray, metric: str) -> np.ndarray:
    """What centroids live in: float32 vectors, bits unpacked to 0/1 floats."""
    if metric in ("hamming", "jaccard"):
        return np.unpackbits(np.asarray(v, np.uint8), axis=1).astype(np.float32)
    return np.asarray(v, np.float32)


def kmeans(xp: Any, x: Any, k: int, metric: str, iters: int = 15, seed: int = 0) -> Any:
    """Lloyd's k-means on xp (spherical for cosine); empty clusters reseeded from far points."""
    n = x.shape[0]
    rng = np.random.default_rng(seed)
    cent = x[xp.asarray(rng.choice(n, size=k, replace=False))].astype(xp.float32)
    tm = _train_metric(metric)
    if tm == "cos":
        x = x / xp.maximum(xp.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    for _ in range(iters):
        if tm == "cos":
            cent = cent / xp.maximum(xp.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
        d = pair_distances(xp, x, cent, "l2" if tm == "ip" else tm)
        assign = xp.argmin(d, axis=1)
        sums = xp.zeros_like(cent)
        xp.add.at(sums, assign, x)  # (CuPy's ufuncs have .at too)
        counts = xp.bincount(assign, minlength=k).astype(xp.float32)
        empty = counts == 0
        cent = xp.where(empty[:, None], cent, sums / xp.maximum(counts, 1)[:, None])
        if bool(to_host(empty.any())):
            far = xp.argsort(d.min(axis=1))[::-1][: int(to_host(empty.sum()))]
            cent[xp.nonzero(empty)[0]] = x[far]
    return cent


def train_centroids(vectors: np.ndarray, lists: int, metric: str, gpu: bool | None = None,
                    seed: int = 1234) -> np.ndarray:
    """k-means centroids (float32, lists x d; bits unpacked) of a seeded sample of at most
    max(50 lists, 10,000) rows; lists is capped by the rows there are (one zero centroid
    when there are none)."""
    xp = array_module(gpu if gpu else False)
    n = len(vectors)
    if not n:
        return np.zeros((1, _train_view(vectors[:0], metric).shape[1]), np.float32)
    lists = max(1, min(lists, n))
    sample_n = min(n, max(lists * 50, 10000))
    rng = np.random.default_rng(seed)
    sample = vectors[np.sort(rng.choice(n, size=sample_n, replace=False))] if sample_n < n \
        else vectors
    return to_host(kmeans(xp, xp.asarray(_train_view(sample, metric)), lists, metric))


class IvfflatIndex:
    """Vectors grouped by nearest centroid (CSR layout: order + offsets per list)."""

    kind = "ivfflat"

    def __init__(self, centroids: np.ndarray, vectors: np.ndarray, keys: np.ndarray,
                 offsets: np.ndarray, metric: str) -> None:
        self.metric = metric
        self.centroids = np.asarray(centroids, np.float32)
        self.vectors = vectors
        self.keys = np.asarray(keys, np.int64)
        self.offsets = np.asarray(offsets, np.int64)
        self.dead: set[int] = set()
        self._dead_arr = np.zeros(0, np.int64)
        self._device: tuple[Any, Any] | None = None  # (xp, the vectors on its device)
        self._sq: np.ndarray | None = None  # squared row norms (see _norms)

    def __len__(self) -> int:
        return len(self.keys) - len(self.dead)

    @classmethod
    def build(cls, vectors: np.ndarray, keys: np.ndarray, options: IvfflatOptions, metric: str,
              gpu: bool | None = None) -> IvfflatIndex:
        cent = train_centroids(vectors, options.lists, metric, gpu)
        return cls.from_centroids(cent, vectors, keys, metric)

    @classmethod
    def from_centroids(cls, centroids: np.ndarray, vectors: np.ndarray, keys: np.ndarray,
                       metric: str) -> IvfflatIndex:
        """The lists of `vectors` under centroids trained elsewhere (no k-means): each
        segment's part of an index shares the index's centroids, so a probe of list c
        means the same cell in every part."""
        idx = cls(centroids, vectors[:0], np.zeros(0, np.int64),
                  np.zeros(len(centroids) + 1, np.int64), metric)
        idx.add(vectors, keys)
        return idx

    def _assign(self, vectors: np.ndarray) -> np.ndarray:
        tm = _train_metric(self.metric)
        out = np.empty(len(vectors), np.int64)
        step = 8192
        for s in range(0, len(vectors), step):
            d = pair_distances(np, _train_view(vectors[s:s + step], self.metric), self.centroids,
                               "l2" if tm == "ip" else tm)
            out[s:s + step] = np.argmin(d, axis=1)
        return out

    def add(self, vectors: np.ndarray, keys: np.ndarray) -> None:
        """Assign new vectors to their lists and regroup (one stable sort). Removed rows
        leave in the regrouping, so a removed key added again is live (a rolled-back
        TRUNCATE or DELETE shows the rows again) and holds only its new vector."""
        if len(keys) == 0:
            return
        lists = len(self.centroids)
        old_list = np.repeat(np.arange(lists), np.diff(self.offsets))
        old_v, old_k = np.asarray(self.vectors), self.keys
        if len(self._dead_arr):
            live = ~np.isin(old_k, self._dead_arr)
            old_list, old_v, old_k = old_list[live], old_v[live], old_k[live]
            self.dead, self._dead_arr = set(), np.zeros(0, np.int64)
        assign = np.concatenate([old_list, self._assign(vectors)])
        allv = np.concatenate([old_v, np.asarray(vectors, dtype=self.vectors.dtype
                                                 if len(self.vectors) else None)])
        allk = np.concatenate([old_k, np.asarray(keys, np.int64)])
        order = np.argsort(assign, kind="stable")
        self.vectors, self.keys = allv[order], allk[order]
        self._device = self._sq = None
        self.offsets = np.concatenate([[0], np.cumsum(np.bincount(assign, minlength=lists))])

    def remove(self, keys: np.ndarray) -> None:
        self.dead.update(int(k) for k in np.asarray(keys).tolist())
        self._dead_arr = np.fromiter(self.dead, np.int64, len(self.dead))

    def search(self, queries: np.ndarray, k: int, params: IvfflatParams | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        return search_union([self], queries, k, params)

    def _near(self, q: np.ndarray, probes: int) -> np.ndarray:
        """The `probes` lists nearest to each query row (lists are l2 cells, on the sphere
        for cosine; a query probes by its own metric)."""
        probes = max(1, min(probes, len(self.centroids)))
        cd = pair_distances(np, _train_view(q, self.metric), self.centroids,
                            _train_metric(self.metric))
        return np.argsort(cd, axis=1, kind="stable")[:, :probes]

    def _probe(self, xp: Any, q: np.ndarray, near: np.ndarray, keep: int) -> np.ndarray:
        """Row positions of the lists `near` worth re-scoring for query `q`: the live ones,
        or when more than `keep`, the shortlist of the best `keep` (ties kept)."""
        st = self.offsets[near]
        ln = self.offsets[near + 1] - st
        r = np.repeat(st - np.cumsum(ln) + ln, ln) + np.arange(int(ln.sum()))
        ok = None  # (a removed row is never an answer)
        if len(self._dead_arr) and len(r):
            ok = ~np.isin(self.keys[r], self._dead_arr)
        if keep >= (len(r) if ok is None else int(ok.sum())):
            return r if ok is None else r[ok]
        return self._shortlist(xp, q, r, st, ln, ok, keep)

    def frozen(self) -> IvfflatIndex:
        """A read-only view of the current arrays (call under the lock of whoever adds or
        removes rows): searched outside that lock, unaffected by later adds."""
        view = IvfflatIndex(self.centroids, self.vectors, self.keys, self.offsets, self.metric)
        view.dead, view._dead_arr = self.dead, self._dead_arr
        view._sq = self._norms() if self.vectors.dtype.kind == "f" else None
        return view

    def _shortlist(self, xp: Any, q: np.ndarray, r: np.ndarray, st: np.ndarray, ln: np.ndarray,
                   ok: np.ndarray | None, keep: int) -> np.ndarray:
        """The rows among `r` (the probed lists: starts `st`, lengths `ln`; `ok` marks live
        ones) holding the best `keep` for query `q` and every row tied with the last of them,
        to be re-scored exactly. On numpy, float vectors under l2/ip/cosine: a float32
        product over each list in place (numpy's own loop: a BLAS product would wake its
        threads for one small product), cached row norms and exact.candidates' rounding
        bound, so the superset is provable; otherwise the kernel's distances (on a device:
        its own copy of the vectors, made at the first search there)."""
        live = r if ok is None else r[ok]
        if xp is not np:  # the vectors go to the device once, the probed rows are taken there
            if self._device is None or self._device[0] is not xp:
                self._device = (xp, xp.asarray(np.asarray(self.vectors)))
            d = pair_distances(xp, xp.asarray(q[None, :]), self._device[1][xp.asarray(live)],
                               self.metric)
            d = to_host(d)[0]
            kth = np.partition(d, keep - 1)[keep - 1]
            return live[d <= kth]
        if self.metric in ("l2", "ip", "cos") and self.vectors.dtype.kind == "f":
            q32 = np.asarray(q, np.float32)
            v = self.vectors
            with np.errstate(over="ignore", invalid="ignore"):
                dots = np.concatenate([np.einsum("ij,j->i", v[a:a + n].astype(np.float32, copy=False),
                                                 q32) for a, n in zip(st.tolist(), ln.tolist())])
            sq = self._norms()[live]
            if ok is not None:
                dots = dots[ok]
            cand = candidates_of(np, dots, sq, q32, keep, self.metric, v.shape[1])
            if cand is not None:
                return live[cand]
        d = to_host(pair_distances(np, q[None, :], self.vectors[live], self.metric))[0]
        kth = np.partition(d, keep - 1)[keep - 1]  # (ties with it: keys decide after rescore)
        return live[d <= kth]

    def _norms(self) -> np.ndarray:
        """Squared float32 norms of the rows (computed once per structure, in list order)."""
        sq = self._sq
        if sq is None or len(sq) != len(self.keys):
            sq = np.empty(len(self.keys), np.float32)
            for s in range(0, len(sq), 65536):
                x = np.asarray(self.vectors[s:s + 65536], np.float32)
                sq[s:s + len(x)] = np.einsum("ij,ij->i", x, x)
            self._sq = sq
        return sq

    def save(self, path: str) -> None:
        live = ~np.isin(self.keys, self._dead_arr) if len(self._dead_arr) else None
        vec, keys, offs = self.vectors, self.keys, self.offsets
        if live is not None:
            lists = np.repeat(np.arange(len(self.centroids)), np.diff(offs))[live]
            vec, keys = np.asarray(vec)[live], keys[live]
            offs = np.concatenate([[0], np.cumsum(np.bincount(lists, minlength=len(self.centroids)))])
        files = {"centroids": self.centroids, "vectors": np.asarray(vec), "keys": keys, "offsets": offs}
        for name, arr in files.items():
            np.save(f"{path}.{name}.npy", arr)
        base.write_meta(path, self.kind, {"metric": self.metric},
                        [f"{path}.{n}.npy" for n in files])

    @classmethod
    def load(cls, path: str, view: bool = True) -> IvfflatIndex:
        meta = base.read_meta(path, cls.kind, verify=not view)
        ld = {n: np.load(f"{path}.{n}.npy", mmap_mode="r" if view and n in ("vectors", "keys")
                         else None)
              for n in ("centroids", "vectors", "keys", "offsets")}
        return cls(ld["centroids"], ld["vectors"], ld["keys"], ld["offsets"], meta["metric"])


def search_union(indexes: list[IvfflatIndex], queries: np.ndarray, k: int,
                 params: IvfflatParams | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (keys, distances) per query over several structures as one: the per-segment
    parts and the delta of one index. Each probes its lists nearest to the query (found once
    per centroid matrix: the parts of an index share theirs), the shortlisted rows of all
    of them are re-scored exactly together and ordered by (distance, key); a key held by
    two structures (the delta catching up with a part) is kept once.

        >>> x = np.eye(3, dtype=np.float32)
        >>> a = IvfflatIndex.build(x, np.array([1, 2, 3]), IvfflatOptions(lists=2), "l2")
        >>> b = IvfflatIndex.from_centroids(a.centroids, x[:1] * 2, np.array([9]), "l2")
        >>> search_union([a, b], x[:1] * 2, 2, IvfflatParams(probes=2))[0].tolist()
        [[9, 1]]
    """
    params = params or IvfflatParams()
    q = np.atleast_2d(queries)
    parts = [ix for ix in indexes if len(ix.keys)]
    if not parts or k <= 0:
        return np.full((len(q), k), -1, np.int64), np.full((len(q), k), np.inf)
    metric = parts[0].metric
    gpu = params.gpu
    if gpu is None:  # auto: the device where a query scans 10,000 rows or more (bench/gpu.py
        lists = max(len(parts[0].centroids), 1)  # on an H200: 1.5x numpy's QPS there)
        scanned = sum(len(ix.keys) for ix in parts) * min(params.probes, lists) / lists
        gpu = scanned >= 10_000 and gpu_available()
    xp = array_module(gpu)
    keep = k + max(8, k)
    nears: dict[int, np.ndarray] = {}
    for ix in parts:
        if id(ix.centroids) not in nears:
            nears[id(ix.centroids)] = ix._near(q, params.probes)
    out_k = np.full((len(q), k), -1, np.int64)
    out_d = np.full((len(q), k), np.inf)
    for i in range(len(q)):  # per query: its own lists in every structure
        keys, vecs = [], []
        for ix in parts:
            rows = ix._probe(xp, q[i], nears[id(ix.centroids)][i], keep)
            if len(rows):
                keys.append(ix.keys[rows])
                vecs.append(np.asarray(ix.vectors[rows]))
        if not keys:
            continue
        kk = np.concatenate(keys) if len(keys) > 1 else keys[0]
        dist = rescore(q[i:i + 1], (np.concatenate(vecs) if len(vecs) > 1 else vecs[0])[None],
                       metric)
        if len(keys) > 1:  # order all, keep each key's first (best) place
            kk, dd = base.order_by_distance_then_key(kk[None], dist, len(kk))
            _u, first = np.unique(kk[0], return_index=True)
            if len(first) < len(kk[0]):
                first = np.sort(first)
                kk, dist = kk[:, first], dd[:, first]
            else:
                dist = dd
        ok_k, ok_d = base.order_by_distance_then_key(kk.reshape(1, -1), dist, k)
        out_k[i], out_d[i] = ok_k[0], ok_d[0]
    return out_k, out_d


class IvfflatKind:
    """The `ivfflat` access method."""

    name = "ivfflat"
    options = IvfflatOptions
    params = IvfflatParams

    def build(self, vectors: np.ndarray, keys: np.ndarray, options: Any = None, *,
              metric: str = "l2", dtype: str = "f32") -> IvfflatIndex:
        return IvfflatIndex.build(np.asarray(vectors), np.asarray(keys), options or IvfflatOptions(),
                                  metric)

    def load(self, path: str, view: bool = True) -> IvfflatIndex:
        return IvfflatIndex.load(path, view)
