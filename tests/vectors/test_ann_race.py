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

    def session(ef: int) -> None:
        try:
            rec.want.ef = ef
            params = HnswParams(ef_search=ef)
            one = idx.one_search(K, params)
            assert one is not None
            start.wait()
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
