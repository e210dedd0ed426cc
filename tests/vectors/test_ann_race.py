"""hnsw.ef_search per session on one shared graph: usearch keeps `expansion_search` on the
graph object, so the setter and the search it is for must not interleave with another
session's (index/hnsw.py holds a per-graph lock across both).

The graph is a real usearch index behind a thin wrapper that records, at each search, the
expansion the graph holds and the one the calling thread asked for; the setter gives the GIL
away right after it sets (time.sleep(0)) and the switch interval is tiny, so without the
lock the other thread's setter lands between a set and its search. No timing is asserted:
only that every search ran at its own session's ef.
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np
import pytest
from usearch.index import Index

from sqlvec.index.hnsw import HnswIndex, HnswOptions, HnswParams

D = 8
K = 5


class _Compiled:
    def __init__(self, owner: _RecordingGraph) -> None:
        self._owner = owner

    def search_many(self, q, **kw):
        self._owner.record()
        return self._owner.graph._compiled.search_many(q, **kw)


class _RecordingGraph:
    """A usearch graph whose searches record (wanted ef, ef the graph held)."""

    def __init__(self, graph: Index) -> None:
        self.graph = graph
        self._exp = graph.expansion_search
        self.want = threading.local()
        self.seen: list[tuple[int, int]] = []
        self._compiled = _Compiled(self)

    def __len__(self) -> int:
        return len(self.graph)

    @property
    def expansion_search(self) -> int:
        return self._exp

    @expansion_search.setter
    def expansion_search(self, v: int) -> None:
        self._exp = v
        self.graph.expansion_search = v
        time.sleep(0)  # give the GIL away between the set and the search

    def record(self) -> None:
        seen = self._exp
        time.sleep(0)
        self.seen.append((self.want.ef, seen))  # (list.append: atomic under the GIL)

    def search(self, q, count):
        self.record()
        return self.graph.search(q, count)


def _index(rng) -> tuple[HnswIndex, _RecordingGraph]:
    # an f16 graph with the float32 vectors beside it: one_search's exact-L2 closure
    idx = HnswIndex.create(D, "l2", "f32", HnswOptions(quantizer="f16"))
    idx.add(rng.standard_normal((300, D)).astype(np.float32), np.arange(300))
    rec = _RecordingGraph(idx.graph)
    idx.graph = rec
    return idx, rec


def test_each_search_runs_at_its_sessions_ef():
    rng = np.random.default_rng(7)
    idx, rec = _index(rng)
    queries = rng.standard_normal((4, D)).astype(np.float32)
    rounds = 150
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    ones = {ef: idx.one_search(K, HnswParams(ef_search=ef)) for ef in (16, 64)}
    assert all(one is not None for one in ones.values())  # (before the threads: none can
    # fail before the barrier and leave the other waiting)

    def session(ef: int) -> None:
        rec.want.ef = ef
        params = HnswParams(ef_search=ef)
        one = ones[ef]
        start.wait()
        try:
            for i in range(rounds):
                q = queries[i % 4:i % 4 + 1]
                idx.search(q, K, params)  # one row: the compiled search
                idx.search(queries[:2], K, params)  # several rows: usearch's search
                one(q)  # exec/ann_fast.py's compiled closure
        except BaseException as e:  # (reported below, not lost in the thread)
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=session, args=(ef,)) for ef in (16, 64)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors
    assert len(rec.seen) == 2 * rounds * 3
    wrong = [(want, seen) for want, seen in rec.seen if want != seen]
    assert not wrong, f"{len(wrong)} of {len(rec.seen)} searches ran at another session's ef"


def test_lock_leaves_results_unchanged():
    """The same searches, alternating ef on one thread, give what a fresh graph gives."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((300, D)).astype(np.float32)
    a = HnswIndex.create(D, "l2", "f32", HnswOptions())
    a.add(x, np.arange(300))
    q = rng.standard_normal((3, D)).astype(np.float32)
    for ef in (10, 40, 10, 80):
        p = HnswParams(ef_search=ef)
        b = HnswIndex.create(D, "l2", "f32", HnswOptions())
        b.add(x, np.arange(300))
        ka, da = a.search(q, K, p)
        kb, db = b.search(q, K, p)
        assert np.array_equal(ka, kb) and np.array_equal(da, db)
        one = a.one_search(K, p)
        k1, d1 = one(q[:1])
        k2, d2 = b.search(q[:1], K, p)
        assert np.array_equal(k1, k2[0]) and np.array_equal(d1, d2[0])


# --- the side set: vectors the graph cannot find, scanned exactly by every search ---------


def _brute(x: np.ndarray, q: np.ndarray, metric: str, k: int):
    from sqlvec.index.exact import rescore
    d = rescore(q, np.broadcast_to(x, (len(q), *x.shape)), metric)
    order = np.lexsort((np.broadcast_to(np.arange(len(x)), d.shape), d), axis=1)[:, :k]
    return order, np.take_along_axis(d, order, axis=1)


def _paths(idx: HnswIndex, q: np.ndarray, k: int, p: HnswParams):
    """(keys, distances) of every search path: batched, one row, the compiled closure."""
    many = idx.search(q, k, p)
    ones = [idx.search(q[i:i + 1], k, p) for i in range(len(q))]
    one = idx.one_search(k, p)
    assert one is not None
    fast = [one(np.ascontiguousarray(q[i:i + 1])) for i in range(len(q))]
    return many, ones, fast


@pytest.mark.parametrize("quantizer,metric", [(None, "l2"), ("f16", "l2"), (None, "cos"),
                                              ("f16", "cos")])
def test_side_set_given_by_hand_is_merged(quantizer, metric):
    """Keys taken out of the graph and given as the side set come back from every path, at
    their exact distances and in (distance, key) order: the brute-force top k."""
    rng = np.random.default_rng(11)
    n, k = 300, 5
    x = rng.standard_normal((n, D)).astype(np.float32)
    idx = HnswIndex.create(D, metric, "f32", HnswOptions(quantizer=quantizer))
    idx.add(x, np.arange(n))
    gone = np.array([3, 70, 71, 250])
    idx.graph.remove(gone.astype(np.uint64))  # the graph cannot find these any more
    idx.set_side(gone, x[gone])
    q = (x[gone] + 0.01 * rng.standard_normal((len(gone), D))).astype(np.float32)
    want_k, want_d = _brute(x, q, metric, k)
    assert (want_k[:, 0] == gone).all()  # (each query's nearest is a side key)
    p = HnswParams(ef_search=400)  # (the whole small graph: only the side keys are missing)
    many, ones, fast = _paths(idx, q, k, p)
    assert np.array_equal(many[0], want_k)
    np.testing.assert_allclose(many[1], want_d, rtol=1e-5, atol=1e-6)
    for i in range(len(q)):
        assert np.array_equal(ones[i][0][0], want_k[i])
        assert np.array_equal(ones[i][1][0], many[1][i])
        assert np.array_equal(fast[i][0], want_k[i])
        assert np.array_equal(fast[i][1], ones[i][1][0])
    # the side rows' own distances are the SQL operator's (rescore's), bit for bit
    from sqlvec.index.exact import rescore
    assert np.array_equal(many[1][:, 0], rescore(q, x[gone][:, None, :], metric)[:, 0])


def test_side_key_found_by_the_graph_too_comes_once():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, D)).astype(np.float32)
    idx = HnswIndex.create(D, "l2", "f32", HnswOptions(quantizer="f16"))
    idx.add(x, np.arange(200))
    q = x[:6] + np.float32(0.01)
    p = HnswParams(ef_search=100)
    before = _paths(idx, q, 5, p)
    idx.set_side(np.arange(6), x[:6])  # still in the graph as well
    after = _paths(idx, q, 5, p)
    for b, a in zip(before, after, strict=True):  # (exact L2 either way: the same rows)
        for x1, x2 in zip(b, a, strict=True):
            assert np.array_equal(np.asarray(x1), np.asarray(x2))
    assert all(len(set(r.tolist())) == 5 for r in after[0][0])


def test_empty_side_set_changes_nothing():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((200, D)).astype(np.float32)
    idx = HnswIndex.create(D, "l2", "f32", HnswOptions())
    idx.add(x, np.arange(200))
    q = rng.standard_normal((4, D)).astype(np.float32)
    p = HnswParams(ef_search=20)
    before = _paths(idx, q, 5, p)
    idx.set_side(np.zeros(0, np.int64), np.zeros((0, D), np.float32))
    assert idx.side_keys is None
    after = _paths(idx, q, 5, p)
    for b, a in zip(before, after, strict=True):
        for x1, x2 in zip(b, a, strict=True):
            assert np.array_equal(np.asarray(x1), np.asarray(x2))


def test_find_side_finds_what_the_graph_cannot_and_persists(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, D)).astype(np.float32)
    idx = HnswIndex.create(D, "l2", "f32", HnswOptions())
    idx.add(x, np.arange(300))
    gone = np.array([10, 11, 200])
    idx.graph.remove(gone.astype(np.uint64))
    idx.find_side(x, np.arange(300))
    assert idx.side_keys is not None and set(gone) <= set(idx.side_keys.tolist())
    assert np.array_equal(idx.side, x[idx.side_keys])
    idx.save(str(tmp_path / "g"))
    for view in (False, True):
        back = HnswIndex.load(str(tmp_path / "g"), view=view)
        assert np.array_equal(back.side_keys, idx.side_keys)
        assert np.array_equal(back.side, idx.side)
    idx.remove(np.array([10]))
    assert 10 not in idx.side_keys.tolist()
