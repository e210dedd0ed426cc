"""Exact (brute-force) k-nearest-neighbour search, written once against an array module.

Candidates come from matrix products on numpy or CuPy (`xp`); the best k + margin per
query are re-scored on the host with the operators' own formulas (float32 sums), then
ordered by (distance, key). So the numpy and CuPy paths return identical rows.

    >>> X = np.eye(3, dtype=np.float32); keys = np.array([10, 11, 12])
    >>> exact_search(np, X, keys, X[:1], 2, "l2")[0].tolist()
    [[10, 11]]
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from sqlvec.index import base
from sqlvec.index.xp import array_module, to_host

_CHUNK_ELEMS = 1 << 25  # query-chunk x data rows per distance block


def _is_bits(metric: str) -> bool:
    return metric in ("hamming", "jaccard")


def pair_distances(xp: ModuleType, q: Any, x: Any, metric: str, x_sq: Any = None) -> Any:
    """Ranking distances (nq, n) on xp; NaN mapped to inf (PostgreSQL sorts NaN last)."""
    if _is_bits(metric):
        qb, xb = _unpacked(xp, q), _unpacked(xp, x)
        ab = qb @ xb.T
        aa = qb.sum(axis=1)[:, None]
        bb = xb.sum(axis=1)[None, :]
        if metric == "hamming":
            d = aa + bb - 2 * ab
        else:
            union = aa + bb - ab
            d = xp.where(ab == 0, 1.0, 1.0 - ab / xp.maximum(union, 1))
        return d.astype(xp.float64)
    q = q.astype(xp.float32, copy=False)
    x = x.astype(xp.float32, copy=False)
    if metric == "l1":
        return xp.abs(q[:, None, :] - x[None, :, :]).sum(axis=2, dtype=xp.float32)
    dots = q @ x.T
    if metric == "ip":
        return -dots
    if x_sq is None:
        x_sq = (x * x).sum(axis=1)
    q_sq = (q * q).sum(axis=1)
    if metric == "l2":
        return xp.maximum(q_sq[:, None] + x_sq[None, :] - 2 * dots, 0)
    denom = xp.sqrt(q_sq[:, None].astype(xp.float64) * x_sq[None, :].astype(xp.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        d = 1.0 - xp.clip(dots / denom, -1.0, 1.0)
    return xp.where(xp.isnan(d), xp.inf, d)


def _unpacked(xp: ModuleType, packed: Any) -> Any:
    """Packed bit rows (uint8, most significant bit first) as 0/1 float32 rows: numpy's
    unpackbits(axis=1), in the API subset CuPy shares."""
    shifts = xp.asarray(np.arange(7, -1, -1, dtype=np.uint8))
    bits = (xp.asarray(packed, dtype=xp.uint8)[:, :, None] >> shifts) & 1
    return bits.reshape(len(packed), -1).astype(xp.float32)


def rescore(q: np.ndarray, x: np.ndarray, metric: str) -> np.ndarray:
    """The SQL operator's value for each (query, candidate) row pair, on the host.

    q: (nq, d), x: (nq, c, d) candidates per query.
    """
    if _is_bits(metric):
        qb = q[:, None, :]
        if metric == "hamming":
            return np.bitwise_count(qb ^ x).sum(axis=2, dtype=np.int64).astype(np.float64)
        ab = np.bitwise_count(qb & x).sum(axis=2, dtype=np.int64)
        aa = np.bitwise_count(qb).sum(axis=2, dtype=np.int64)
        bb = np.bitwise_count(x).sum(axis=2, dtype=np.int64)
        return np.where(ab == 0, 1.0, 1.0 - ab / np.maximum(aa + bb - ab, 1))
    q32 = np.asarray(q, np.float32)[:, None, :]  # (no copies of float32 input)
    x32 = np.asarray(x, np.float32)
    if metric == "l2":
        diff = x32 - q32
        return np.sqrt(np.einsum("qcd,qcd->qc", diff, diff).astype(np.float64))
    if metric == "l1":
        return np.abs(x32 - q32).sum(axis=2, dtype=np.float32).astype(np.float64)
    dots = np.einsum("qcd,qcd->qc", x32, np.broadcast_to(q32, x32.shape)).astype(np.float64)
    if metric == "ip":
        return -dots
    qn = np.einsum("qcd,qcd->qc", q32, q32).astype(np.float64)
    xn = np.einsum("qcd,qcd->qc", x32, x32).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1.0 - np.clip(dots / np.sqrt(qn * xn), -1.0, 1.0)


try:  # np.einsum without `optimize` is this call (its Python wrapper: ~1.5 us a query)
    from numpy._core.multiarray import c_einsum as _EINSUM
except ImportError:  # (another numpy layout)
    _EINSUM = np.einsum


def rescore_one(q: np.ndarray, x: np.ndarray, metric: str) -> np.ndarray:
    """rescore of one float32 query (d,) against its candidates (c x d, float32), for l2, ip
    and cos: the same numbers (the same float32 sums), without rescore's 3-D broadcasting."""
    if metric == "l2":
        diff = x - q
        return np.sqrt(_EINSUM("cd,cd->c", diff, diff).astype(np.float64))
    dots = _EINSUM("cd,cd->c", x, np.broadcast_to(q, x.shape)).astype(np.float64)
    if metric == "ip":
        return -dots
    qq = q[None, :]
    denom = np.sqrt(_EINSUM("cd,cd->c", qq, qq).astype(np.float64)
                    * _EINSUM("cd,cd->c", x, x).astype(np.float64))
    if denom.all():  # (no zero vector: no 0/0 to silence)
        sim = dots / denom
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            sim = dots / denom
    return 1.0 - np.minimum(np.maximum(sim, -1.0), 1.0)  # (clip's values; NaN passes)


_EPS32 = float(np.finfo(np.float32).eps)


def candidates(xp: ModuleType, mat: Any, sq: Any, q: np.ndarray, k: int, metric: str
               ) -> np.ndarray | None:
    """Rows of `mat` that may be among the k nearest to `q`: a superset of the exact top k
    (ties at the k-th included) by one float32 matrix-vector product, for re-scoring.

    The product ranks by sq - 2 x.q (l2), -x.q (ip) or -x.q / |x| (cos); each row's rank
    differs from the operator's value (up to a per-query shift and scale) by at most its
    slack s, a float32 rounding bound (4 (d + 2) eps, times |x|^2 + |q|^2 or |q|). With T
    the k-th smallest rank + s, k rows are truly within T, so every row of the exact top k
    has rank - s <= T. None when the product cannot bound it (non-finite values).

        >>> m = np.array([[0, 0], [1, 0], [5, 5]], np.float32)
        >>> candidates(np, m, (m * m).sum(1), np.zeros(2, np.float32), 1, "l2").tolist()
        [0]
    """
    if metric not in ("l2", "ip", "cos"):
        return None
    n, d = mat.shape
    if k >= n:
        return np.arange(n)
    with np.errstate(over="ignore", invalid="ignore"):
        qd = xp.asarray(q, dtype=xp.float32)
        # (BLAS: 19,000 x 128 here in 360 us of CPU on one thread, 500 us on two in half
        # the wall time, against einsum's own loop's 524 us; its rounding is within the slack)
        dots = mat @ qd
        return candidates_of(xp, dots, sq, q, k, metric, d)


def candidates_of(xp: ModuleType, dots: Any, sq: Any, q: np.ndarray, k: int, metric: str,
                  d: int) -> np.ndarray | None:
    """candidates() from the rows' float32 products with q and squared norms (computed by
    the caller, e.g. block by block); d: the dimension."""
    if metric not in ("l2", "ip", "cos"):
        return None
    if k >= len(dots):
        return np.arange(len(dots))
    with np.errstate(over="ignore", invalid="ignore"):
        return _bounded(xp, dots, sq, q, k, metric, d)


def _bounded(xp: ModuleType, dots: Any, sq: Any, q: np.ndarray, k: int, metric: str, d: int
             ) -> np.ndarray | None:
    q_sq = float(np.dot(q.astype(np.float64), q.astype(np.float64)))
    gamma = 4.0 * (d + 2) * _EPS32  # of a float32 sum of d products
    if metric == "l2":
        rank = sq - 2 * dots
        slack = (4 * gamma) * (sq + np.float32(q_sq))
    elif metric == "ip":
        rank = -dots
        slack = gamma * (sq + np.float32(q_sq))
    else:
        with np.errstate(divide="ignore"):
            rank = -dots / xp.sqrt(sq)
        rank = xp.where(sq > 0, rank, xp.inf)  # zero vectors: NaN distance, after numbers
        slack = np.float32(4 * gamma * np.sqrt(q_sq))
    upper = rank + slack
    top = float(base.kth_smallest(upper, k) if xp is np else xp.partition(upper, k - 1)[k - 1])
    if not np.isfinite(top):
        return None
    return to_host(xp.flatnonzero(rank - slack <= top))


def exact_search(xp: ModuleType, data: Any, keys: np.ndarray, queries: np.ndarray, k: int,
                 metric: str, *, live: np.ndarray | None = None, x_sq: Any = None,
                 host: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-k keys and operator distances per query over all live rows of `data` (on xp's
    device or the host; `host`: its host copy when the caller has one, for the re-score)."""
    nq = len(queries)
    n = len(keys)
    if n == 0 or k <= 0:
        return base.order_by_distance_then_key(np.full((nq, 0), -1), np.zeros((nq, 0)), k)
    if host is None:
        host = np.asarray(to_host(data)) if xp is not np else data
    xd = xp.asarray(data)
    keep = min(n, k + max(8, k))  # margin so near-ties survive the re-score
    if live is not None and int(live.sum()) <= keep:  # few rows: rank them all
        alive = np.flatnonzero(live)
        return _finish(queries, host, keys, np.broadcast_to(alive, (nq, len(alive))), metric,
                       None, k)
    step = max(1, _CHUNK_ELEMS // max(n * (data.shape[1] if metric == "l1" else 1), 1))
    cand = np.empty((nq, keep), np.int64)
    tied: dict[int, np.ndarray] = {}  # queries whose k-th distance is shared beyond `keep`
    dead = None if live is None or live.all() else xp.asarray(~live)
    for s in range(0, nq, step):
        qd = xp.asarray(queries[s:s + step])
        d = pair_distances(xp, qd, xd, metric, x_sq)
        if dead is not None:
            d = xp.where(dead[None, :], xp.inf, d)
        if keep < n and xp is np:
            part, ties = _nearest(d, keep, dead)
            tied.update((s + i, rows) for i, rows in ties.items())
        elif keep < n:  # (the device: the argpartition step the H200 ran)
            part = xp.argpartition(d, keep - 1, axis=1)[:, :keep]
            kth = xp.take_along_axis(d, part, axis=1).max(axis=1)
            over = to_host((d <= kth[:, None]).sum(axis=1) > keep)
            for i in np.flatnonzero(over):  # (kth infinite: NaN distances, keys decide)
                near = d[i] <= kth[i]
                tied[s + int(i)] = to_host(xp.nonzero(near if dead is None else near & ~dead)[0])
        else:
            part = xp.broadcast_to(xp.arange(n), (len(qd), n))
        cand[s:s + step] = to_host(part)
    out_k, out_d = _finish(queries, host, keys, cand, metric, live, k)
    for i, rows in tied.items():  # rare: rank every tied row, keys decide
        ok, od = _finish(queries[i:i + 1], host, keys, rows[None, :], metric, live, k)
        out_k[i], out_d[i] = ok[0], od[0]
    return out_k, out_d


def _nearest(d: np.ndarray, keep: int, dead: np.ndarray | None
             ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """(the `keep` best columns of each row of d, {row: every live column tied with its
    keep-th}) on numpy: each row's keep-th value (base.kth_smallest: cheaper than argpartition),
    then the columns within it; argpartition only where ties or NaN make that not `keep`."""
    kth = base.kth_smallest(d, keep)
    near = d <= kth[:, None]
    if dead is not None:
        near &= ~dead[None, :]
    counts = near.sum(axis=1)
    if (counts == keep).all():  # (flatnonzero: row-major, keep per row; nonzero of 2-D is slow)
        return np.flatnonzero(near).reshape(len(d), keep) % d.shape[1], {}
    part = np.argpartition(d, keep - 1, axis=1)[:, :keep]
    return part, {int(i): np.flatnonzero(near[i]) for i in np.flatnonzero(counts > keep)}


def _finish(queries: np.ndarray, host: np.ndarray, keys: np.ndarray, cand: np.ndarray,
            metric: str, live: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    dist = rescore(np.asarray(queries), host[cand], metric)
    cand_keys = keys[cand]
    if live is not None and not live.all():
        cand_keys = np.where(live[cand], cand_keys, -1)
    return base.order_by_distance_then_key(cand_keys, dist, k)


@dataclass(frozen=True, kw_only=True)
class ExactOptions:
    """Exact search has no build options."""


@dataclass(frozen=True, kw_only=True)
class ExactParams:
    gpu: bool | None = None


class ExactIndex:
    """All vectors in one matrix; search is a full scan (on the GPU when there is one)."""

    kind = "exact"

    def __init__(self, vectors: np.ndarray, keys: np.ndarray, metric: str) -> None:
        self.metric = metric
        self.vectors = np.asarray(vectors)
        self.keys = np.asarray(keys, np.int64)
        self.live = np.ones(len(self.keys), dtype=bool)

    def __len__(self) -> int:
        return int(self.live.sum())

    def add(self, vectors: np.ndarray, keys: np.ndarray) -> None:
        self.vectors = np.concatenate([self.vectors, np.asarray(vectors, self.vectors.dtype)])
        self.keys = np.concatenate([self.keys, np.asarray(keys, np.int64)])
        self.live = np.concatenate([self.live, np.ones(len(keys), dtype=bool)])

    def remove(self, keys: np.ndarray) -> None:
        self.live &= ~np.isin(self.keys, np.asarray(keys, np.int64))

    def search(self, queries: np.ndarray, k: int, params: Any = None
               ) -> tuple[np.ndarray, np.ndarray]:
        xp = array_module(getattr(params, "gpu", None) if params is not None else False)
        return exact_search(xp, self.vectors, self.keys, np.atleast_2d(queries), k, self.metric,
                            live=self.live)

    def save(self, path: str) -> None:
        np.save(path + ".vectors.npy", self.vectors)
        np.save(path + ".keys.npy", self.keys[self.live] if not self.live.all() else self.keys)
        if not self.live.all():
            np.save(path + ".vectors.npy", self.vectors[self.live])
        base.write_meta(path, self.kind, {"metric": self.metric},
                        [path + ".vectors.npy", path + ".keys.npy"])


class ExactKind:
    """The `exact` access method: no approximation, the oracle the others are tested against."""

    name = "exact"
    options = ExactOptions
    params = ExactParams

    def build(self, vectors: np.ndarray, keys: np.ndarray, options: Any = None, *,
              metric: str = "l2", dtype: str = "f32") -> ExactIndex:
        return ExactIndex(vectors, keys, metric)

    def load(self, path: str, view: bool = True) -> ExactIndex:
        meta = base.read_meta(path, self.name, verify=not view)
        mode = "r" if view else None
        return ExactIndex(np.load(path + ".vectors.npy", mmap_mode=mode),
                          np.load(path + ".keys.npy"), meta["metric"])
