"""Sparse inverted index for sparsevec: postings per dimension, exact top-k.

Vectors come as CSR parts (row offsets, 0-based indices, values). A query touches only
the postings of its non-zero dimensions (one np.bincount over their concatenation) for
the inner product, and the stored row norms give cosine and L2 for every row (row L1 sums
and the shared dimensions' overlap give L1), so the answer is exact. Entries are (keys, values) per index in one CSC layout.

    >>> idx = SparseIndex.build(np.array([0, 1, 2]), np.array([0, 1]), np.array([1., 2.]),
    ...                         np.array([7, 8]), "ip")
    >>> idx.search_csr(np.array([0, 1]), np.array([1]), np.array([1.0]), 1)[0].tolist()
    [[8]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sqlvec.core.errors import FeatureNotSupported
from sqlvec.index import base


@dataclass(frozen=True, kw_only=True)
class SparseOptions:
    """No build options."""


@dataclass(frozen=True, kw_only=True)
class SparseParams:
    """No search parameters."""


class SparseIndex:
    """CSC postings: for each dimension, the rows holding it and their values."""

    kind = "sparse"

    def __init__(self, dim_ptr: np.ndarray, post_rows: np.ndarray, post_vals: np.ndarray,
                 keys: np.ndarray, sq_norms: np.ndarray, abs_sums: np.ndarray, metric: str) -> None:
        self.dim_ptr, self.post_rows, self.post_vals = dim_ptr, post_rows, post_vals
        self.keys, self.sq_norms, self.abs_sums = keys, sq_norms, abs_sums
        self.metric = metric
        self.live = np.ones(len(keys), dtype=bool)

    def __len__(self) -> int:
        return int(self.live.sum())

    @classmethod
    def build(cls, offsets: np.ndarray, indices: np.ndarray, values: np.ndarray,
              keys: np.ndarray, metric: str) -> SparseIndex:
        if metric not in ("ip", "cos", "l2", "l1"):
            raise FeatureNotSupported(f"sparse index does not support metric {metric}")
        offsets = np.asarray(offsets, np.int64)
        rows = np.repeat(np.arange(len(keys), dtype=np.int64), np.diff(offsets))
        idx = np.asarray(indices, np.int64)[offsets[0]:offsets[-1]]
        vals = np.asarray(values, np.float32)[offsets[0]:offsets[-1]]
        order = np.lexsort((rows, idx))
        ndims = int(idx.max()) + 1 if len(idx) else 0
        dim_ptr = np.concatenate([[0], np.cumsum(np.bincount(idx, minlength=ndims))])
        sq = np.bincount(rows, weights=vals.astype(np.float64) ** 2, minlength=len(keys))
        ab = np.bincount(rows, weights=np.abs(vals.astype(np.float64)), minlength=len(keys))
        return cls(dim_ptr, rows[order], vals[order], np.asarray(keys, np.int64), sq, ab, metric)

    def add(self, vectors: Any, keys: np.ndarray) -> None:
        """vectors: (offsets, indices, values) CSR parts; the layout is rebuilt."""
        offsets, indices, values = vectors
        old = self._csr()
        old_keys = self.keys
        if not self.live.all():  # removed rows leave with the rebuild (a key added again
            # after a remove is then held once, with its new vector)
            keep = np.flatnonzero(self.live)
            counts = np.diff(old[0])[keep]
            sel = np.repeat(old[0][keep], counts) + np.arange(int(counts.sum())) - np.repeat(
                np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
            old = (np.concatenate([[0], np.cumsum(counts)]), old[1][sel], old[2][sel])
            old_keys = old_keys[keep]
        n_old = len(old_keys)
        all_off = np.concatenate([old[0], np.asarray(offsets[1:], np.int64) - offsets[0] + old[0][-1]])
        lo, hi = int(offsets[0]), int(offsets[-1])
        new = SparseIndex.build(all_off, np.concatenate([old[1], np.asarray(indices)[lo:hi]]),
                                np.concatenate([old[2], np.asarray(values)[lo:hi]]),
                                np.concatenate([old_keys, np.asarray(keys, np.int64)]), self.metric)
        self.__dict__.update(new.__dict__)
        assert len(self.live) == n_old + len(keys)

    def _csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dims = np.repeat(np.arange(len(self.dim_ptr) - 1), np.diff(self.dim_ptr))
        order = np.lexsort((dims, self.post_rows))
        counts = np.bincount(self.post_rows, minlength=len(self.keys))
        return (np.concatenate([[0], np.cumsum(counts)]), dims[order], self.post_vals[order])

    def remove(self, keys: np.ndarray) -> None:
        self.live &= ~np.isin(self.keys, np.asarray(keys, np.int64))

    def search_csr(self, q_offsets: np.ndarray, q_indices: np.ndarray, q_values: np.ndarray,
                   k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k per query; queries given as CSR parts."""
        nq = len(q_offsets) - 1
        n = len(self.keys)
        out_k = np.full((nq, k), -1, np.int64)
        out_d = np.full((nq, k), np.inf)
        for i in range(nq):  # per query: one bincount over its postings
            qi = np.asarray(q_indices[q_offsets[i]:q_offsets[i + 1]], np.int64)
            qv = np.asarray(q_values[q_offsets[i]:q_offsets[i + 1]], np.float64)
            qi_ok = qi < len(self.dim_ptr) - 1
            qi_in, qv_in = qi[qi_ok], qv[qi_ok]
            starts, ends = self.dim_ptr[qi_in], self.dim_ptr[qi_in + 1]
            lens = ends - starts
            pos = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens) + \
                np.arange(int(lens.sum()))
            xv = self.post_vals[pos].astype(np.float64)
            qr = np.repeat(qv_in, lens)
            rows = self.post_rows[pos]
            if self.metric == "l1":  # |x|_1 + |q|_1, less what the shared dimensions overcount
                shared = np.bincount(rows, weights=np.abs(xv) + np.abs(qr) - np.abs(xv - qr),
                                     minlength=n)
                d = np.asarray(self.abs_sums, np.float64) + float(np.abs(qv).sum()) - shared
            else:
                d = self._distance(np.bincount(rows, weights=qr * xv, minlength=n), qv, pos)
            d = np.where(self.live, d, np.inf)
            if k < n:  # keep the k best and everything tied with the k-th (key order decides)
                kth = base.kth_smallest(d, k)
                cand = np.flatnonzero((d <= kth) & self.live)
            else:
                cand = np.flatnonzero(self.live)  # (a removed row is never an answer)
            kk, dd = base.order_by_distance_then_key(self.keys[None, cand], d[None, cand], k)
            out_k[i], out_d[i] = kk[0], dd[0]
        return out_k, out_d

    def _distance(self, ip: np.ndarray, qv: np.ndarray, pos: np.ndarray) -> np.ndarray:
        if self.metric == "ip":
            return -ip
        q_sq = float((qv ** 2).sum())
        if self.metric == "cos":
            with np.errstate(invalid="ignore", divide="ignore"):
                return 1.0 - np.clip(ip / np.sqrt(self.sq_norms * q_sq), -1.0, 1.0)
        if self.metric == "l2":
            return np.sqrt(np.maximum(self.sq_norms + q_sq - 2 * ip, 0.0))
        raise FeatureNotSupported(f"sparse index does not support metric {self.metric}")

    def search(self, queries: Any, k: int, params: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """queries: (offsets, indices, values) CSR parts."""
        return self.search_csr(*queries, k)

    def save(self, path: str) -> None:
        arrs = {"dim_ptr": self.dim_ptr, "post_rows": self.post_rows, "post_vals": self.post_vals,
                "keys": self.keys, "sq_norms": self.sq_norms, "abs_sums": self.abs_sums,
                "live": self.live}
        for name, arr in arrs.items():
            np.save(f"{path}.{name}.npy", arr)
        base.write_meta(path, self.kind, {"metric": self.metric},
                        [f"{path}.{n}.npy" for n in arrs])

    @classmethod
    def load(cls, path: str, view: bool = True) -> SparseIndex:
        meta = base.read_meta(path, cls.kind, verify=not view)
        mode = "r" if view else None
        a = {n: np.load(f"{path}.{n}.npy", mmap_mode=mode) for n in
             ("dim_ptr", "post_rows", "post_vals", "keys", "sq_norms", "abs_sums", "live")}
        idx = cls(a["dim_ptr"], a["post_rows"], a["post_vals"], a["keys"], a["sq_norms"],
                  a["abs_sums"], meta["metric"])
        idx.live = np.array(a["live"])
        return idx


class SparseKind:
    """The sparse inverted access method (sparsevec_ip_ops, _cosine_ops, _l2_ops)."""

    name = "sparse"
    options = SparseOptions
    params = SparseParams

    def build(self, vectors: Any, keys: np.ndarray, options: Any = None, *, metric: str = "ip",
              dtype: str = "f32") -> SparseIndex:
        offsets, indices, values = vectors
        return SparseIndex.build(offsets, indices, values, keys, metric)

    def load(self, path: str, view: bool = True) -> SparseIndex:
        return SparseIndex.load(path, view)
