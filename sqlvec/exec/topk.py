"""Top-k for ORDER BY one numeric key LIMIT k: a partial selection instead of a full sort.

Used when k is small next to the row count and the key has no NULLs or NaNs (whose
placement the full sort handles); rows tied with the k-th key are all kept as candidates
and ordered by input position, so the result equals the stable full sort's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from sqlvec.plan import logical as L


def topk_multi(ev: Any, t: pa.Table, keys: tuple[L.SortKey, ...], k: int) -> pa.Array | None:
    """Top-k under several keys: candidates by the first key's threshold, then a full sort of those."""
    from sqlvec.exec.operators import sort_indices

    first = topk_indices(ev, t, keys[0], k, candidates=True)
    if first is None:
        return None
    sub = t.take(first)
    order = np.asarray(sort_indices(ev, sub, keys))[:k]
    return pa.array(np.asarray(first)[order])


def topk_indices(ev: Any, t: pa.Table, key: L.SortKey, k: int, candidates: bool = False) -> pa.Array | None:
    """Row indices of the first k rows in key order, or None when the fast path does not apply.

    With candidates=True: every row that can be among the first k (all ties of the k-th
    key included), in input order."""
    bs = t.combine_chunks().to_batches()
    if not bs:
        return None
    col = ev.eval(key.expr, bs[0])
    if col.null_count or not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return None
    v = col.to_numpy(zero_copy_only=False)
    if v.dtype.kind == "f":
        if np.isnan(v).any():
            return None
        v = -v if key.desc else v
    else:
        v = v.astype(np.int64)
        if key.desc:
            if (v == np.iinfo(np.int64).min).any():
                return None
            v = -v
    n = len(v)
    if k >= n:
        return None
    kth = np.partition(v, k - 1)[k - 1]
    cand = np.flatnonzero(v <= kth)
    if candidates:
        return pa.array(cand)
    order = np.lexsort((cand, v[cand]))  # key, then input position (stable)
    return pa.array(cand[order][:k])
