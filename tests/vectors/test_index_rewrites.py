"""Vector indexes stay correct across segment rewrites: UPDATE / DELETE heavy work, VACUUM,
compaction, TRUNCATE (committed and rolled back), ALTER TYPE and a restart. For ivfflat at
full probes and the sparse inverted index the answer is exact, so it must equal the exact
scan; hnsw (high ef_search on a few thousand rows) is checked the same way. Every kind is
split per sealed segment (a part per segment plus a delta keyed by row id), which must
never serve a row id whose vector changed, nor miss rows a rewrite moved."""

from __future__ import annotations

import numpy as np
import pytest

from tests.vectors.test_index_files import _connect, _small

D = 6
LISTS = 8


@pytest.fixture()
def small(monkeypatch):
    _small(monkeypatch)


def _vec_text(x, sparse):
    if not sparse:
        return "[" + ",".join(map(str, x)) + "]"
    nz = np.flatnonzero(x)
    return "{" + ",".join(f"{i + 1}:{x[i]}" for i in nz) + f"}}/{D}"


def _values(rng, n, sparse):
    x = rng.standard_normal((n, D)).round(4)
    if sparse:
        x[rng.random((n, D)) < 0.5] = 0
        x[np.arange(n), rng.integers(0, D, n)] = 1.0 + rng.random(n).round(3)  # none empty
    return x


KINDS = {
    "hnsw": ("vector", "hnsw (emb vector_l2_ops)", "<->"),
    "ivfflat": ("vector", f"ivfflat (emb vector_l2_ops) with (lists = {LISTS})", "<->"),
    "ivfflat_ip": ("vector", f"ivfflat (emb vector_ip_ops) with (lists = {LISTS})", "<#>"),
    "sparse": ("sparsevec", "hnsw (emb sparsevec_l2_ops)", "<->"),
    "sparse_cos": ("sparsevec", "hnsw (emb sparsevec_cosine_ops)", "<=>"),
}


class _Check:
    def __init__(self, run, kind):
        self.run, self.kind = run, kind
        self.typ, self.using, self.op = KINDS[kind]
        self.sparse = self.typ == "sparsevec"
        self.rng = np.random.default_rng(11)
        self.next_id = 0
        self.queries = [_vec_text(q, self.sparse) for q in _values(self.rng, 4, self.sparse)]

    def insert(self, n):
        x = _values(self.rng, n, self.sparse)
        ids = range(self.next_id, self.next_id + n)
        self.next_id += n
        for s in range(0, n, 1000):
            self.run("insert into t values " + ",".join(
                f"({i}, '{_vec_text(r, self.sparse)}')"
                for i, r in zip(ids[s:s + 1000], x[s:s + 1000].tolist())))

    def same(self, what):
        """Index answers (forced) equal the exact scan (forced), for each query."""
        run = self.run
        for q in self.queries:
            sql = f"select id from t order by emb {self.op} '{q}' limit 10"
            run("set sqlvec.exact_scan_threshold = 0")
            got = run(sql)
            plan = "\n".join(r[0] for r in run("explain analyze " + sql))
            run("set sqlvec.exact_scan_threshold = 1000000000")
            want = run(sql)
            n = run("select count(*) from t where emb is not null")[0][0]
            assert len(want) == min(10, n), what
            if n:  # (the index served it, not an exact fallback)
                assert "Strategy: " + ("sparse" if self.sparse else self.using.split()[0]) + \
                    " t_idx" in plan, plan
            assert got == want, (what, q, got, want, plan)


@pytest.mark.parametrize("kind", list(KINDS))
def test_index_answers_equal_exact_search_across_rewrites(tmp_path, small, kind):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    run("create extension if not exists vector")
    c = _Check(run, kind)
    run(f"create table t (id int, emb {c.typ}({D}))")
    c.insert(2300)
    run(f"create index t_idx on t using {c.using}")
    run(f"set ivfflat.probes = {LISTS}")
    run("set hnsw.ef_search = 400")
    c.same("after create")
    # UPDATE heavy: a third of the rows get new vectors (new row ids), some NULL
    new = _values(c.rng, 1, c.sparse)[0]
    run(f"update t set emb = '{_vec_text(new, c.sparse)}' where id % 3 = 0")
    run("update t set emb = null where id % 17 = 0")
    c.same("after update")
    run("delete from t where id % 5 = 1")
    c.same("after delete")
    run("vacuum t")
    c.same("after vacuum")
    for _ in range(6):  # small commits: compaction merges them in the background
        c.insert(150)
    run("vacuum t")
    c.same("after small inserts")
    run("begin")
    run("truncate t")
    c.insert(50)
    c.same("inside a truncating transaction")
    run("rollback")
    c.same("after rollback of truncate")
    run("begin")
    run("update t set emb = null where id % 2 = 0")
    c.same("inside an updating transaction")
    run("rollback")
    c.same("after rollback of update")
    run(f"alter table t alter emb type {c.typ}({D})")
    c.same("after alter type")
    run("checkpoint")
    con._session.db.store.abandon()  # a crash: reopened from the files
    con, run = _connect(path)
    c.run = run
    run(f"set ivfflat.probes = {LISTS}")
    run("set hnsw.ef_search = 400")
    c.same("after restart")
    run("truncate t")
    c.same("after truncate")
    c.insert(1200)
    c.same("after refill")
    con.close()


def test_a_removed_key_added_again_is_live_with_its_new_vector():
    """The delta structure's remove then add (rows hidden by a TRUNCATE or DELETE that was
    rolled back come back): the key answers once, by its new vector, and a removed key
    never answers, however large k is."""
    from sqlvec.index.ivfflat import IvfflatIndex, IvfflatOptions, IvfflatParams
    from sqlvec.index.sparse import SparseIndex

    x = np.eye(4, dtype=np.float32)
    keys = np.arange(10, 14)
    iv = IvfflatIndex.build(x, keys, IvfflatOptions(lists=2), "l2")
    iv.remove(np.array([10, 11]))
    iv.add(np.array([[0, 0, 0, 5]], np.float32), np.array([10]))
    k, d = iv.search(np.array([[0, 0, 0, 5]], np.float32), 4, IvfflatParams(probes=2))
    assert k[0].tolist() == [10, 13, 12, -1] and d[0][0] == 0 and len(iv) == 3
    sp = SparseIndex.build(np.arange(5), np.arange(4), np.ones(4), keys, "l2")
    sp.remove(np.array([10, 11]))
    k, _d = sp.search((np.array([0, 1]), np.array([0]), np.array([1.0])), 4)
    assert k[0].tolist() == [12, 13, -1, -1]  # (was: the removed keys at distance inf)
    sp.add((np.array([0, 1]), np.array([3]), np.array([1.0])), np.array([10]))
    k, d = sp.search((np.array([0, 1]), np.array([3]), np.array([1.0])), 4)
    assert k[0].tolist() == [10, 13, 12, -1] and d[0][0] == 0 and len(sp) == 3
