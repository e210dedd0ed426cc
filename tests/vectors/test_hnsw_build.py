"""hnsw build path: the self-search's passes and the full vectors kept by a first add.

Graphs under 20,000 rows build on one thread (the same graph every run), so the counts
below are fixed; tight clusters and a small m leave rows the graph does not find.
"""

from __future__ import annotations

import numpy as np
import pytest

from sqlvec.index.hnsw import SIDE_STEP, SIDE_WIDE, HnswIndex, HnswKind, HnswOptions, HnswParams

D = 32


def _clustered(n: int, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((30, D)).astype(np.float32)
    return (c[rng.integers(0, 30, n)] + 0.05 * rng.standard_normal((n, D))).astype(np.float32)


def _search(idx: HnswIndex, x: np.ndarray, ef: int, top: int = 10) -> np.ndarray:
    """One search per row at this ef: each row's `top` nearest keys."""
    idx.graph.expansion_search = idx._ef = ef
    found = idx.graph.search(np.ascontiguousarray(x), top, threads=1).keys
    return np.asarray(found).reshape(len(x), -1).view(np.int64)


def _no_path(idx: HnswIndex, x: np.ndarray, keys: np.ndarray, efc: int) -> np.ndarray:
    """Rows neither among the SIDE_WIDE nearest of every SIDE_STEP-th row's search at ef
    SIDE_WIDE nor among their own 10 nearest at ef_construction, each row searched once."""
    seen = np.isin(keys, _search(idx, x[::SIDE_STEP], SIDE_WIDE, SIDE_WIDE))
    return ~seen & ~(_search(idx, x, efc) == keys[:, None]).any(axis=1)


@pytest.mark.parametrize(("m", "efc"), [(8, 16), (8, 30), (4, 64)])
def test_unfound_passes_equal_the_searches_of_every_row_at_both_efs(m, efc):
    x = _clustered(3000)
    keys = np.arange(3000, dtype=np.int64)
    idx = HnswIndex.create(D, "l2", "f32",
                           HnswOptions(m=m, ef_construction=efc, quantizer="bf16", rerank=2))
    idx.add(x, keys)
    miss = idx._unfound(x, keys)
    ref = _no_path(idx, x, keys, efc)
    assert ref.any() and not ref.all()  # (the set has rows the graph misses)
    assert np.array_equal(miss, ref)
    # rows other rows' searches return are found, though they miss themselves
    assert (~(_search(idx, x, efc) == keys[:, None]).any(axis=1) & ~ref).any()


def test_build_side_set_holds_rows_the_rebuilt_graph_misses():
    x = _clustered(3000)
    keys = np.arange(3000, dtype=np.int64)
    opts = HnswOptions(m=8, ef_construction=30, quantizer="bf16", rerank=2)
    idx = HnswKind().build(x, keys, opts)
    missed = ~(_search(idx, x, 30) == keys[:, None]).any(axis=1)
    side = set() if idx.side_keys is None else set(idx.side_keys.tolist())
    assert side and side <= set(keys[missed].tolist())
    assert np.array_equal(idx.side, x[idx.side_keys])
    # every row is found: by the graph or by the side scan
    k, _ = idx.search(x[:200], 1, HnswParams(ef_search=30))
    assert np.array_equal(k[:, 0], keys[:200])


def test_first_add_keeps_rows_as_given_and_later_adds_merge():
    x = _clustered(600, seed=1)
    idx = HnswIndex.create(D, "l2", "f32", HnswOptions(quantizer="bf16"))
    ro = x[:400].copy()
    ro.flags.writeable = False
    idx.add(ro, np.arange(400))
    assert idx.full is ro  # (read-only: Arrow's memory, nobody writes it)
    mine = x[400:].copy()
    idx2 = HnswIndex.create(D, "l2", "f32", HnswOptions(quantizer="bf16"))
    idx2.add(mine, np.arange(400, 600))
    assert idx2.full is not mine and np.array_equal(idx2.full, mine)
    mine[:] = 0  # (the caller's writeable array: a copy was kept)
    assert np.array_equal(idx2.full, x[400:])
    idx.add(x[400:][::-1], np.arange(599, 399, -1))  # a later batch, keys descending
    assert np.array_equal(idx.full_keys, np.arange(600))
    assert np.array_equal(idx.full, x)
    un = HnswIndex.create(D, "l2", "f32", HnswOptions(quantizer="bf16"))
    un.add(x[::-1], np.arange(599, -1, -1))  # a first batch out of key order: sorted
    assert np.array_equal(un.full_keys, np.arange(600))
    assert np.array_equal(un.full, x)
    k, d = idx.search(x[:5], 3, HnswParams(ef_search=40))
    assert np.array_equal(k[:, 0], np.arange(5)) and np.allclose(d[:, 0], 0.0)
