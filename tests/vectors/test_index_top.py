"""The per-query index path (vector_index_path.index_top) gives the rows, order and
distances of the plain plan (ORDER BY over every row): ties by row id, several columns
(text, NULLs) over sealed segments of several record batches and growing ones, OFFSET,
the parameter as a list of ints or floats, a string, or a wrong dimension (the same error
either way). Also: row_fetch gathers equal Arrow's take, and hnsw.ef_search is the size
of the search's candidate list (pgvector's meaning)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import sqlvec
from sqlvec.catalog.catalog import Catalog
from sqlvec.dbapi.exceptions import Error as DBError
from sqlvec.exec import row_fetch as RF
from sqlvec.exec.vector_search import LAST

OFF = "set sqlvec.disabled_rules = 'top_n_to_vector_search'"


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """3,000 rows of 8-d vectors (every vector twice: ties) with text and NULL columns, in
    a checkpointed sealed segment of several batches plus growing ones; an hnsw index."""
    con = sqlvec.connect(str(tmp_path_factory.mktemp("top") / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table t (id int, tag text, n int, emb vector(8))")
    db = con._session.db
    oid = Catalog(db.store.begin(), db.store).relation("public", "t").oid
    rng = np.random.default_rng(5)
    base = np.round(rng.standard_normal((1500, 8)), 2).astype(np.float32)
    x = np.concatenate([base, base])
    n = 0
    for size in (2400, 300, 300):
        txn = db.store.begin()
        for s in range(n, n + size, 1000):  # several record batches per segment
            ids = np.arange(s, min(s + 1000, n + size), dtype=np.int32)
            txn.insert(oid, pa.record_batch([
                pa.array(ids), pa.array([f"t{i}" for i in ids.tolist()]),
                pa.array([None if i % 5 == 0 else int(i) for i in ids.tolist()], pa.int32()),
                pa.FixedSizeListArray.from_arrays(pa.array(x[ids].reshape(-1)), 8)],
                names=["id", "tag", "n", "emb"]))
        txn.commit()
        n += size
        if n == 2400:
            cur.execute("checkpoint")
    for ops in ("vector_l2_ops", "vector_cosine_ops", "vector_ip_ops"):
        cur.execute(f"create index on t using hnsw (emb {ops}) with (m = 16, ef_construction = 200)")
    cur.execute("set sqlvec.exact_scan_threshold = 100")
    cur.execute("set hnsw.ef_search = 1000")  # (every candidate: the answers are exact)

    def run(sql, params=None):
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None

    yield run, x, db, oid
    con.close()


def _both(run, sql, params=None):
    got = run(sql, params)
    strategy = LAST.strategy
    run(OFF)
    try:
        want = run(sql, params)
    finally:
        run("set sqlvec.disabled_rules = ''")
    return got, want, strategy


@pytest.mark.parametrize("sql", [
    "select id from t order by emb <-> %s limit 10",
    "select id, tag, n, emb <-> %s as d from t order by d limit 7 offset 3",
    "select tag, emb, n from t order by emb <=> %s limit 12",
    "select n, id from t order by emb <#> %s limit 4",  # (pairs of ties: an even k)
])
def test_index_path_equals_plain_plan(table, sql):
    run, x, _db, _oid = table
    rng = np.random.default_rng(1)
    for i in rng.integers(0, 1500, 6).tolist():
        q = [float(v) for v in x[i] + 0.01]
        args = (q, q) if sql.count("%s") == 2 else (q,)
        got, want, strategy = _both(run, sql, args)
        assert strategy.startswith("hnsw"), strategy
        assert got == want  # rows, order (ties by row id) and distances


def test_parameter_forms(table):
    run, x, _db, _oid = table
    sql = "select id, emb <-> %s as d from t order by d limit 6"
    ints = [int(v) for v in np.round(x[3] * 10)]
    for q in (ints, [float(v) for v in x[3]], "[" + ",".join(str(float(v)) for v in x[3]) + "]"):
        got, want, _s = _both(run, sql, (q,))
        assert got == want
    for bad in ([1.0, 2.0], [float("nan")] * 8, [10 ** 30] * 8):
        errors = []
        for rules in ("", "top_n_to_vector_search"):
            run(f"set sqlvec.disabled_rules = '{rules}'")
            try:
                run("select id from t order by emb <-> %s limit 3", (bad,))
                errors.append(None)
            except DBError as e:
                errors.append(getattr(e, "sqlstate", type(e).__name__))
        run("set sqlvec.disabled_rules = ''")
        assert errors[0] == errors[1], (bad, errors)


def test_own_inserts_and_deletes(table):
    run, x, _db, _oid = table
    q = [float(v) for v in x[10]]
    run("begin")
    try:
        run("insert into t values (99999, 'own', 1, %s)", (q,))
        run("delete from t where id = 10")
        got, want, _s = _both(run, "select id, tag from t order by emb <-> %s limit 5", (q,))
        assert got == want and (99999, "own") in got[:2] and (10, "t10") not in got
    finally:
        run("rollback")


def test_row_fetch_equals_take(table):
    _run, _x, db, oid = table
    txn = db.store.begin()
    lt = txn._local(oid)
    rng = np.random.default_rng(2)
    for v in lt.views:
        seg = v.seg
        for name in ("id", "tag", "n", "emb"):
            t = seg.data.schema.field(name).type
            pos = rng.integers(0, seg.num_rows, 25)
            arr = RF.rows(seg, name, pos, t)
            assert arr.equals(seg.data.column(name).take(pa.array(pos)).combine_chunks())
            m = RF.values(seg, name, pos, t)
            assert (m is None) == (name in ("tag", "n"))  # (text, NULLs: Arrow's take)
        out = rng.permutation(50)
        pos = rng.integers(0, seg.num_rows, 50)
        groups = [(seg, out[:20], pos[:20]), (seg, out[20:], pos[20:])]
        for name in ("tag", "emb"):
            arr = RF.gather(groups, name, seg.data.schema.field(name).type, 50)
            want = seg.data.column(name).take(pa.array(pos)).combine_chunks()
            assert arr.take(pa.array(out)).equals(want)
    txn.rollback()


def test_row_fetch_over_several_chunks():
    rng = np.random.default_rng(4)
    batches = []
    for s, n in ((0, 7), (7, 1), (8, 12)):
        ids = np.arange(s, s + n, dtype=np.int32)
        batches.append(pa.record_batch([
            pa.array(ids), pa.array([None if i % 3 == 0 else f"t{i}" for i in ids.tolist()]),
            pa.FixedSizeListArray.from_arrays(pa.array(rng.random(n * 4).astype(np.float32)), 4)],
            names=["id", "tag", "emb"]))
    seg = RF._Seg(pa.Table.from_batches(batches))
    for pos in (np.array([3, 5, 1]), np.array([19, 0, 7, 8, 2, 7]), np.array([9, 10])):
        for name in ("id", "tag", "emb"):
            t = seg.data.schema.field(name).type
            want = seg.data.column(name).take(pa.array(pos)).combine_chunks()
            assert RF.rows(seg, name, pos, t).equals(want)
            assert RF.gather([(seg, np.arange(len(pos))[::-1], pos[::-1])], name, t,
                             len(pos)).equals(want)


def test_ef_search_is_the_candidate_list():
    from sqlvec.index.hnsw import HnswKind, HnswOptions, HnswParams

    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 16)).astype(np.float32)
    idx = HnswKind().build(x, np.arange(3000), HnswOptions(quantizer="bf16", rerank=2))
    for ef, k, want in ((10, 10, 10), (20, 10, 20), (40, 10, 40), (5, 10, 10)):
        keys, _d = idx.search(x[:1], k, HnswParams(ef_search=ef))
        assert idx.graph.expansion_search == want and (keys[0] >= 0).sum() == k
    keys = np.array([2999, 0, 17])
    assert np.array_equal(idx.vectors(keys), x[keys])  # the full vectors kept beside it
    sparse = HnswKind().build(x[:100], np.arange(0, 300, 3), HnswOptions(quantizer="bf16"))
    assert np.array_equal(sparse.vectors(np.array([297, 3])), x[[99, 1]])
    assert HnswKind().build(x[:100], np.arange(100)).vectors(keys[1:]) is None  # (f32 graph)


def test_scan_columns_pruned_to_the_select_list(table):
    run, x, _db, _oid = table
    from sqlvec.exec import vector_index_path as VIP

    q = [float(v) for v in x[7]]
    for sql, names in (("select id from t order by emb <-> %s limit 3", ["id", "emb"]),
                       ("select n, emb <-> %s as d from t order by d limit 3", ["n", "emb"]),
                       ("select * from t order by emb <-> %s limit 3", ["id", "tag", "n", "emb"])):
        VIP._PREPS.clear()
        got, want, _s = _both(run, sql, (q,))
        assert got == want
        assert [p.names for p in VIP._PREPS.values()] == [names]


def test_rows_in_order_by_distance_numbers_nan_null():
    from sqlvec.exec.vector_index_path import _arrow_order

    assert _arrow_order(pa.array([1.0, None, float("nan"), 0.5])).tolist() == [3, 0, 2, 1]
    assert _arrow_order(pa.array([1.0, 1.0, float("nan"), None])) is None  # (stable)
    assert _arrow_order(pa.array([2.0, 1.0, 1.0])).tolist() == [1, 2, 0]


def test_sealed_graph_distances_reused_and_numpy_parameters(tmp_path, monkeypatch):
    """Over sealed segments only (bfloat16 graphs re-scored on the full vectors, no delta
    graph) the index path returns the re-scored distances as they are: the rows, order and
    distances of the plain plan, bit for bit. A numpy query vector (float32, float64) gives
    the same answer as the list; a NaN or a wrong length the same error either way."""
    import sqlvec.storage.state as state_mod
    import sqlvec.storage.store as store_mod
    from sqlvec.exec import ann_fast as AF
    from sqlvec.exec import vector_index_path as VIP

    monkeypatch.setattr(state_mod, "SEAL_ROWS", 1000)  # two commits of 1,000: two sealed
    monkeypatch.setattr(store_mod, "SEAL_ROWS", 1000)  # segments, a graph each, no delta
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table s (id int, emb vector(16))")
    db = con._session.db
    oid = Catalog(db.store.begin(), db.store).relation("public", "s").oid
    rng = np.random.default_rng(8)
    x = np.round(rng.standard_normal((2000, 16)), 2).astype(np.float32)
    x[1000:] = x[:1000]  # (ties by row id, across the two graphs)
    for s in (0, 1000):
        txn = db.store.begin()
        txn.insert(oid, pa.record_batch([
            pa.array(np.arange(s, s + 1000, dtype=np.int32)),
            pa.FixedSizeListArray.from_arrays(pa.array(x[s:s + 1000].reshape(-1)), 16)],
            names=["id", "emb"]))
        txn.commit()
    cur.execute("create index on s using hnsw (emb vector_l2_ops)")
    cur.execute("set sqlvec.exact_scan_threshold = 100")
    cur.execute("set hnsw.ef_search = 400")

    def run(sql, params=None):
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None

    sql = "select id, emb <-> %s as d from s order by d limit 10"
    for i in (3, 77, 998):
        q = x[i] + np.float32(0.01)
        VIP._PREPS.clear()
        AF._PLANS.clear()  # (the compiled fast path keeps its node's _Prep: compiled afresh)
        got, want, strategy = _both(run, sql, ([float(v) for v in q],))
        assert strategy.startswith("hnsw") and got == want
        assert [t.target[2].exact_d for t in VIP._PREPS.values() if t.target] == [True]
        for qn in (q, q.astype(np.float64)):
            assert run(sql, (qn,)) == want
        assert run("select id from s order by emb <-> %s limit 10", (q,)) == [(r[0],) for r in want]
    for bad in (np.full(16, np.nan, np.float32), np.zeros(3, np.float32)):
        errors = []
        for rules in ("", "top_n_to_vector_search"):
            run(f"set sqlvec.disabled_rules = '{rules}'")
            try:
                run("select id from s order by emb <-> %s limit 3", (bad,))
                errors.append(None)
            except DBError as e:
                errors.append(getattr(e, "sqlstate", type(e).__name__))
        assert errors[0] == errors[1] and (errors[0] is not None or len(bad) == 16), errors
    run("set sqlvec.disabled_rules = ''")
    con.close()
