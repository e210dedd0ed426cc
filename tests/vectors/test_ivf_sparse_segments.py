"""ivfflat and sparse indexes are split per sealed segment like hnsw: a part per segment
built at CREATE INDEX / by VACUUM, saved and reopened as memory-mapped views without a
rebuild, dropped with its segment; growing rows are searched through the delta, deleted
rows never come back. ivfflat parts share the index's centroids, so `ivfflat.probes`
probes the same cells in every part: probes = lists is the exact answer, probes = 1 is the
exact answer within the query's nearest list. The GPU (xp) path gives the numpy answer."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import sqlvec.index.ivfflat as IVF
import sqlvec.storage.state as state_mod
import sqlvec.storage.store as store_mod
from sqlvec.exec import segment_index as SI
from sqlvec.exec import vector_search as VS
from sqlvec.index.exact import pair_distances
from tests.support.embedded import connect_run

D = 8
LISTS = 8
PART = re.compile(r"\d+\.s(\d+)\..*")  # <index oid>.s<segment id>.*
KINDS = {  # name -> (column type, USING clause, operator)
    "ivfflat": ("vector", f"ivfflat (emb vector_l2_ops) with (lists = {LISTS})", "<->"),
    "sparse": ("sparsevec", "hnsw (emb sparsevec_l2_ops)", "<->"),
}


@pytest.fixture()
def builds(monkeypatch):
    """Segments seal at 1,000 rows (parts from 500); returns the segment ids parts were
    built for (not opened from disk), and counts centroid trainings as -1 entries."""
    monkeypatch.setattr(state_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(store_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(SI, "MIN_PART_ROWS", 500)
    seen: list[int] = []
    real_build, real_train = SI.build, IVF.train_centroids

    def build(built, seg, *column):
        seen.append(seg.seg_id)
        return real_build(built, seg, *column)

    def train(*a, **kw):
        seen.append(-1)
        return real_train(*a, **kw)
    monkeypatch.setattr(SI, "build", build)
    monkeypatch.setattr(IVF, "train_centroids", train)
    return seen


_connect = connect_run


def _text(x, typ):
    if typ == "vector":
        return "[" + ",".join(map(str, x)) + "]"
    nz = np.flatnonzero(x)
    return "{" + ",".join(f"{i + 1}:{x[i]}" for i in nz) + f"}}/{D}"


def _data(n, typ, seed=3):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((LISTS, D)) * 4
    x = (centres[rng.integers(0, LISTS, n)] + rng.standard_normal((n, D))).round(3)
    if typ == "sparsevec":
        x[rng.random((n, D)) < 0.5] = 0
        x[np.arange(n), rng.integers(0, D, n)] = 1.0 + rng.random(n).round(3)  # none empty
    return x.astype(np.float32)


def _load(run, x, typ, start=0, stop=None):
    stop = len(x) if stop is None else stop
    for s in range(start, stop, 1000):
        run("insert into t values " + ",".join(
            f"({i}, '{_text(x[i], typ)}')" for i in range(s, min(stop, s + 1000))))


def _entry(con):
    per_db = VS._CACHE[con._session.db.store]
    return next(b for k, b in per_db.items() if not isinstance(k, tuple))


def _same_as_exact(run, x, typ, op, qs, kind, name="t_idx"):
    """Index answers equal the exact scan's (ties by row id) for each query."""
    for qi in qs:
        sql = f"select id from t order by emb {op} '{_text(x[qi] + 0.01, typ)}' limit 10"
        run("set sqlvec.exact_scan_threshold = 0")
        got = run(sql)
        plan = "\n".join(r[0] for r in run("explain analyze " + sql))
        assert f"Strategy: {kind} {name}" in plan, plan
        run("set sqlvec.exact_scan_threshold = 1000000000")
        want = run(sql)
        run("set sqlvec.exact_scan_threshold = 0")
        assert got == want and len(got) == 10, (qi, got, want)


def _part_files(path):
    return sorted(f for f in os.listdir(os.path.join(path, "indexes")) if PART.fullmatch(f))


@pytest.mark.parametrize("kind", list(KINDS))
def test_parts_built_persisted_reopened_and_vacuumed(tmp_path, builds, kind):
    typ, using, op = KINDS[kind]
    x = _data(3300, typ)
    path = str(tmp_path / "db")
    con, run = _connect(path)
    run("create extension if not exists vector")
    run(f"create table t (id int, emb {typ}({D}))")
    _load(run, x, typ)
    con.notices.clear()
    run(f"create index t_idx on t using {using}")
    said = [str(getattr(n, "message", n)) for n in con.notices]
    assert sum(f'built {kind} index "t_idx" on segment' in m for m in said) == 3, said
    assert sum('lists of ivfflat index "t_idx"' in m for m in said) == (kind == "ivfflat")
    built = _entry(con)
    assert len(built.parts) == 3 and sorted(b for b in builds if b >= 0) == sorted(built.parts)
    assert builds.count(-1) == (kind == "ivfflat")  # centroids trained once per index
    assert len(built.keys) == 300  # the growing rows sit in the delta
    saved = {int(PART.fullmatch(f).group(1)) for f in _part_files(path) if f.endswith(".sig")}
    assert saved == set(built.parts)  # written by CREATE INDEX itself
    run(f"set ivfflat.probes = {LISTS}")
    _same_as_exact(run, x, typ, op, (5, 1500, 3200), kind)
    plan = "\n".join(r[0] for r in run(f"explain analyze select id from t order by emb {op} "
                                        f"'{_text(x[1], typ)}' limit 5"))
    assert "3 segment graphs + delta of 300 rows" in plan, plan
    # growing rows are found at once; deleted rows never come back
    run(f"insert into t values (9000, '{_text(x[7], typ)}')")
    got = run(f"select id from t order by emb {op} '{_text(x[7], typ)}' limit 2")
    assert {r[0] for r in got} == {7, 9000}
    run("delete from t where id % 4 = 0 or id = 7")
    for qi in (8, 12, 1600):
        got = run(f"select id from t order by emb {op} '{_text(x[qi], typ)}' limit 20")
        assert len(got) == 20 and all(r[0] % 4 and r[0] != 7 for r in got), got
    run("checkpoint")
    con._session.db.store.wait_background()  # (compaction may merge the segments)
    before = set(_entry(con).parts)
    mtimes = {f: os.stat(os.path.join(path, "indexes", f)).st_mtime_ns for f in _part_files(path)}
    con.close()

    # a restart opens the saved parts (and centroids) as memory-mapped views: no rebuild
    builds.clear()
    con, run = _connect(path)
    run(f"set ivfflat.probes = {LISTS}")
    _same_as_exact(run, x, typ, op, (6, 1501), kind)
    built = _entry(con)
    assert builds == [] and built.parts and set(built.parts) <= before
    assert all(p.saved for p in built.parts.values())
    assert all(isinstance(p.index.vectors if kind == "ivfflat" else p.index.post_vals,
                          np.memmap) for p in built.parts.values())
    assert mtimes == {f: os.stat(os.path.join(path, "indexes", f)).st_mtime_ns
                      for f in _part_files(path)}

    # VACUUM rewrites the segments: their parts are built by VACUUM itself, old files go
    old = set(built.parts)
    store = con._session.db.store
    oid = built.table_oid
    old_views = store.version.tables[oid].views
    run("delete from t where id < 1200")
    run("vacuum t")
    new = set(built.parts)
    assert new and not new & old and sorted(builds) == sorted(new)  # (no retraining)
    # a query of a snapshot older than the VACUUM still gets the old parts; not kept
    assert len(SI.ensure(built, old_views, column="emb", store=store)) == len(old)
    assert set(built.parts) == new
    assert not any(int(PART.fullmatch(f).group(1)) in old for f in _part_files(path))
    _same_as_exact(run, x, typ, op, (1300, 2500), kind)
    got = run(f"select id from t order by emb {op} '{_text(x[100], typ)}' limit 50")
    assert all(r[0] >= 1200 and r[0] % 4 for r in got)
    run("checkpoint")
    con.close()

    # a damaged part file is detected by its checksum and that part rebuilt, never trusted
    data = "vectors" if kind == "ivfflat" else "post_vals"
    victim = next(f for f in _part_files(path) if f.endswith(f".{data}.npy"))
    with open(os.path.join(path, "indexes", victim), "r+b") as f:
        f.seek(os.path.getsize(f.name) - 64)
        f.write(b"\x7f" * 64)
    builds.clear()
    con, run = _connect(path)
    run(f"set ivfflat.probes = {LISTS}")
    _same_as_exact(run, x, typ, op, (1300, 2500), kind)
    assert builds == [int(PART.fullmatch(victim).group(1))]
    run("drop index t_idx")
    assert _part_files(path) == [] and not [f for f in os.listdir(os.path.join(path, "indexes"))
                                            if f.split(".")[0].isdigit()]
    con.close()


def test_ivfflat_probes_mean_the_same_cells_in_every_part(tmp_path, builds):
    """probes = 1 returns the exact top-k among the rows of the query's nearest list, over
    all parts and the delta together (parts of one index share its centroids)."""
    x = _data(3300, "vector", seed=4)
    con, run = _connect(str(tmp_path / "db"))
    run(f"create table t (id int, emb vector({D}))")
    _load(run, x, "vector", stop=3000)
    run(f"create index t_idx on t using {KINDS['ivfflat'][1]}")
    _load(run, x, "vector", start=3000)  # 300 growing rows: the delta
    run("set sqlvec.exact_scan_threshold = 0")
    built = _entry(con)
    cent = built.centroids
    assert len(built.parts) == 3 and all(np.array_equal(p.index.centroids, cent)
                                         for p in built.parts.values())
    lists = next(iter(built.parts.values())).index._assign(x)
    for qi in (3, 999, 2048, 3100):
        q = x[qi] + 0.3
        got = [r[0] for r in run(f"select id from t order by emb <-> '{_text(q, 'vector')}' "
                                 "limit 10")]
        near = int(np.argmin(pair_distances(np, q[None, :], cent, "l2")[0]))
        ids = np.flatnonzero(lists == near)
        d = np.sqrt(((x[ids] - q) ** 2).sum(1, dtype=np.float32))
        assert got == [int(i) for i in ids[np.lexsort((ids, d))[:10]]]
    assert np.array_equal(built.index.centroids, cent)  # the delta too
    # one search over all structures equals each searched alone, then merged
    structures = [p.index for p in built.parts.values()] + [built.index.frozen()]
    qs = x[[5, 700, 3050, 3299]] + 0.2
    for probes in (1, 3, LISTS):
        params = IVF.IvfflatParams(probes=probes)
        pairs = [a for s in structures for a in s.search(qs, 10, params)]
        want = SI.merge(*pairs, 10)
        got = IVF.search_union(structures, qs, 10, params)
        assert got[0].tolist() == want[0].tolist()
        np.testing.assert_allclose(got[1], want[1])
    con.close()


def test_gpu_setting_gives_the_numpy_answer_per_segment(tmp_path, builds, monkeypatch):
    """SET sqlvec.gpu = on sends each part's IVF scan through the xp module (a numpy
    stand-in that records its use here); the rows equal the numpy path's."""
    calls = []

    class FakeXp:  # the CuPy API subset the kernels use, served by numpy
        def __getattr__(self, name):
            calls.append(name)
            return getattr(np, name)
    fake = FakeXp()
    x = _data(2600, "vector", seed=5)
    con, run = _connect(str(tmp_path / "db"))
    run(f"create table t (id int, emb vector({D}))")
    _load(run, x, "vector")
    run(f"create index t_idx on t using {KINDS['ivfflat'][1]}")
    run("set sqlvec.exact_scan_threshold = 0")
    run("set ivfflat.probes = 3")
    sqls = [f"select id from t order by emb <-> '{_text(x[i] + 0.2, 'vector')}' limit 10"
            for i in (1, 1300, 2500)]
    cpu = [run(s) for s in sqls]
    run("set sqlvec.gpu = on")
    monkeypatch.setattr(IVF, "array_module", lambda gpu=None: fake if gpu else np)
    assert [run(s) for s in sqls] == cpu
    assert "asarray" in calls and len(_entry(con).parts) == 2
    con.close()


def test_sparse_top_k_equals_exact_for_every_opclass(tmp_path, builds):
    """One index per operator class on one table (each serves its own operator)."""
    x = _data(2300, "sparsevec", seed=6)
    con, run = _connect(str(tmp_path / "db"))
    run(f"create table t (id int, emb sparsevec({D}))")
    _load(run, x, "sparsevec")
    ops = {"l2": "<->", "ip": "<#>", "cosine": "<=>", "l1": "<+>"}
    for name in ops:
        run(f"create index t_{name} on t using hnsw (emb sparsevec_{name}_ops)")
    per_db = VS._CACHE[con._session.db.store]
    assert [len(b.parts) for k, b in per_db.items() if not isinstance(k, tuple)] == [2] * 4
    for name, op in ops.items():
        _same_as_exact(run, x, "sparsevec", op, (0, 1100, 2250), "sparse", f"t_{name}")
    con.close()


def test_ivfflat_created_on_an_empty_table_gets_its_lists_from_later_rows(tmp_path, builds):
    """CREATE INDEX before the data (the usual order in applications): the first few rows'
    delta trains lists of its own, and the index's centroids come from the first segment's
    worth of rows, all `lists` of them; answers stay exact at probes = lists throughout."""
    x = _data(2300, "vector", seed=7)
    con, run = _connect(str(tmp_path / "db"))
    run(f"create table t (id int, emb vector({D}))")
    run(f"create index t_idx on t using {KINDS['ivfflat'][1]}")
    run(f"set ivfflat.probes = {LISTS}")
    _load(run, x, "vector", stop=5)
    _same_as_exact_k(run, x, 5)
    built = _entry(con)
    assert built.centroids is None and len(built.index.centroids) == 5  # provisional
    _load(run, x, "vector", start=5, stop=2300)
    t = built.builder
    if t is not None:
        t.join()
    _same_as_exact_k(run, x, 10)
    assert built.centroids.shape == (LISTS, D) and len(built.parts) == 2
    assert builds.count(-1) == 2  # the provisional lists, then the index's own
    con.close()


def _same_as_exact_k(run, x, k):
    for qi in (0, 3, 2000):
        sql = f"select id from t order by emb <-> '{_text(x[qi] + 0.01, 'vector')}' limit {k}"
        run("set sqlvec.exact_scan_threshold = 0")
        got = run(sql)
        run("set sqlvec.exact_scan_threshold = 1000000000")
        assert got == run(sql)


@pytest.mark.parametrize("metric", ["l2", "ip", "cos", "l1"])
def test_ivfflat_full_probes_equal_exact_search_with_ties_and_removals(metric, monkeypatch):
    """probes = lists is exact search (ties by key) on the numpy path (float32 products and
    a proven bound) and the xp-kernel path alike, removed keys left out."""
    from sqlvec.index.exact import exact_search

    rng = np.random.default_rng(8)
    x = rng.integers(-3, 4, (3000, D)).astype(np.float32)  # many exact ties
    keys = np.arange(3000) * 3 + 1
    idx = IVF.IvfflatIndex.build(x, keys, IVF.IvfflatOptions(lists=LISTS), metric)
    idx.remove(keys[::7])
    live = np.ones(len(keys), bool)
    live[::7] = False
    q = rng.integers(-3, 4, (6, D)).astype(np.float32)
    want = exact_search(np, x, keys, q, 25, metric, live=live)
    got = idx.search(q, 25, IVF.IvfflatParams(probes=LISTS))
    assert got[0].tolist() == want[0].tolist()
    np.testing.assert_allclose(got[1], want[1])

    class FakeXp:  # the xp kernel path (as on a GPU), served by numpy
        def __getattr__(self, name):
            return getattr(np, name)
    fake = FakeXp()
    monkeypatch.setattr(IVF, "array_module", lambda gpu=None: fake if gpu else np)
    on_xp = idx.search(q, 25, IVF.IvfflatParams(probes=LISTS, gpu=True))
    assert on_xp[0].tolist() == got[0].tolist()


def test_ivfflat_lists_are_not_fixed_by_a_segment_of_null_vectors(tmp_path, builds):
    x = _data(2300, "vector", seed=9)
    con, run = _connect(str(tmp_path / "db"))
    run(f"create table t (id int, emb vector({D}))")
    run("insert into t select i, null::vector from generate_series(0, 1099) i")
    run(f"create index t_idx on t using {KINDS['ivfflat'][1]}")
    run(f"set ivfflat.probes = {LISTS}")
    built = _entry(con)
    assert built.centroids is None and len(built.parts) == 1
    _load(run, x, "vector", start=1100)
    if built.builder is not None:
        built.builder.join()
    _same_as_exact_k(run, x, 10)
    assert built.centroids.shape == (LISTS, D)
    con.close()
