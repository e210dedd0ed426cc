"""The compiled ANN top-k (exec/ann_fast.py) gives the general path's rows, to the last bit.

Every query runs with the fast path on and then with `sqlvec.disabled_rules =
'ann_fast_path'`; the rows (ids, distances, vectors) must be equal, and the fast path must
have answered where it should (its `served` count) and stepped aside elsewhere.
"""

from __future__ import annotations

import numpy as np
import pytest

import sqlvec
import sqlvec.storage.state as state_mod
import sqlvec.storage.store as store_mod
from sqlvec.exec import ann_fast as AF
from sqlvec.exec import segment_index as SI
from sqlvec.functions.vectors import types as VT

D = 8


@pytest.fixture()
def small_segments(monkeypatch):
    """Segments seal at 1,000 rows and get their own graph from 500."""
    monkeypatch.setattr(state_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(store_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(SI, "MIN_PART_ROWS", 500)


def _served() -> dict[int, tuple]:
    """Executions each live compiled plan answered: id -> (the AnnFast, held so that its id
    is not reused, its count)."""
    return {id(f): (f, f.served) for _p, f in list(AF._PLANS.values()) if f is not None}


def _since(before: dict[int, tuple]) -> int:
    """Executions answered since `before` (a plan collected in between takes its count with
    it: only the live ones are compared)."""
    return sum(n - before.get(i, (None, 0))[1] for i, (_f, n) in _served().items())


def _setup(tmp_path, n, rng, dup=0, ops="vector_l2_ops"):
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    typ = ops.split("_")[0]
    cur.execute(f"create table t (id int, tag text, emb {typ}({D}))")
    x = np.round(rng.standard_normal((n, D)), 3).astype(np.float32)
    x = _held(x, typ)  # (the type's own values: the queries' too)
    if dup:
        x[:dup] = x[0]  # equal vectors: ties broken by row id
    _insert(cur, x, 0)
    cur.execute(f"create index t_idx on t using hnsw (emb {ops})")
    cur.execute("set sqlvec.exact_scan_threshold = 0")
    return con, cur, x


def _held(x, typ):
    """x as the numbers a column of type typ holds (float32 arrays)."""
    if typ == "halfvec":
        return x.astype(np.float16).astype(np.float32)
    if typ == "bf16vec":
        return VT.bf16_to_f32(VT.f32_to_bf16(x))
    if typ == "int8vec":
        return np.clip(np.round(x * 40), -127, 127).astype(np.float32)
    return x


def _insert(cur, x, start):
    """Rows start.. in commits of 1,000 (one sealed segment each)."""
    con = cur.connection
    auto, con.autocommit = con.autocommit, False
    for s in range(0, len(x), 1000):
        part = x[s:s + 1000]
        cur.executemany("insert into t values (%s, %s, %s)",
                        [(start + s + i, f"r{start + s + i}", v.tolist()) for i, v in enumerate(part)])
        con.commit()
    con.autocommit = auto


def _both(cur, sql, params, fast=True):
    """The rows with the fast path on (run twice: the second run uses the cached plan) and
    off; asserts they are equal and, when `fast`, that the fast path answered."""
    cur.execute(sql, params)
    before = _served()
    cur.execute(sql, params)
    on = cur.fetchall()
    served = _since(before)
    cur.execute("set sqlvec.disabled_rules = 'ann_fast_path'")
    try:
        cur.execute(sql, params)
        cur.execute(sql, params)
        off = cur.fetchall()
    finally:
        cur.execute("reset sqlvec.disabled_rules")
    assert _norm(on) == _norm(off)
    if fast:
        assert served == 1, "the fast path did not answer"
    return on, served


def _states(cur, x):
    """The fast path's resolved states after a plain query ran twice."""
    for _ in range(2):
        cur.execute("select id from t order by emb <-> %s limit 3", (x[7].tolist(),))
    return [st for _p, f in AF._PLANS.values() if f is not None for st in f.states.values()]


def _norm(rows):
    return [tuple(np.asarray(v).tolist() if isinstance(v, (list, np.ndarray)) else v for v in r)
            for r in rows]


QUERIES = [
    ("select id from t order by emb <-> %s limit 10", 1),
    ("select id, emb <-> %s as d from t order by 2 limit 7", 1),
    ("select id, tag from t order by emb <-> %s limit 5 offset 3", 1),
    ("select * from t order by emb <-> %s limit 4", 1),
    ("select tag, id from t order by emb <-> %s limit 1", 1),
]


def _run_all(cur, x, rng, fast=True, n=3):
    got = 0
    for sql, _ in QUERIES:
        for _ in range(n):
            q = (x[rng.integers(len(x))] + rng.normal(0, 0.05, D)).astype(np.float32)
            _rows, served = _both(cur, sql, (q.tolist(),), fast=fast)
            got += served
    return got


def test_one_sealed_segment_fast_and_equal(tmp_path, small_segments):
    rng = np.random.default_rng(1)
    con, cur, x = _setup(tmp_path, 1000, rng)
    assert _run_all(cur, x, rng, n=2) == len(QUERIES) * 2
    assert any(st.one_run is not None for st in _states(cur, x))  # the straight one-graph search
    con.close()


@pytest.mark.parametrize("scan_max", [AF.DELTA_SCAN_MAX, 0], ids=["delta-scanned", "delta-graph"])
def test_several_segments_inserts_deletes_updates(tmp_path, small_segments, monkeypatch, scan_max):
    """Rows since the build are scanned exactly (up to DELTA_SCAN_MAX of them: distances as
    the operator's, no kernel on the rows' vectors after) or searched by the delta graph."""
    monkeypatch.setattr(AF, "DELTA_SCAN_MAX", scan_max)
    rng = np.random.default_rng(2)
    con, cur, x = _setup(tmp_path, 2600, rng)
    _run_all(cur, x, rng, n=1)
    assert any(len(st.target.parts) == 2 and st.multi is not None for st in _states(cur, x))
    cur.execute("delete from t where id % 7 = 0")  # deleted keys since the build
    _run_all(cur, x, rng, n=2)
    y = np.round(rng.standard_normal((300, D)), 3).astype(np.float32)
    _insert(cur, y, 5000)  # rows since the build: the delta graph
    x = np.concatenate([x, y])
    _run_all(cur, x, rng, n=1)
    states = _states(cur, x)
    assert any(len(st.target.built.keys) and st.multi is not None and (
        st.multi.vec is None) == bool(scan_max) for st in states)
    cur.execute("update t set emb = %s where id < 40", (x[2000].tolist(),))  # moved rows
    _run_all(cur, x, rng, n=1)
    _both(cur, "select id, emb <-> %s from t order by 2 limit 6", (y[5].tolist(),))  # a recent
    cur.execute("insert into t values (9000, 'null', null), (9001, 'r9001', %s)",  # row's own
                (y[7].tolist(),))
    _both(cur, "select id, emb <-> %s from t order by 2 limit 6", (y[7].tolist(),))
    con.close()


def test_numpy_and_integer_parameters(tmp_path, small_segments):
    rng = np.random.default_rng(3)
    con, cur, x = _setup(tmp_path, 1000, rng)
    sql = "select id, emb <-> %s from t order by 2 limit 5"
    for q in (x[3], x[4].astype(np.float64), [1, 0, 2, 0, 0, 1, 0, 3]):
        _both(cur, sql, (q,))
    _both(cur, "select id from t order by emb <-> %s::vector limit 3", (x[5].tolist(),))
    _both(cur, f"select id from t order by emb <-> %s::vector({D}) limit 3", (x[5].tolist(),))
    _both(cur, f"select id from t order by emb <-> %s::vector({D})::vector limit 3",
          (x[6].tolist(),))
    con.close()


def test_a_parameter_cast_to_another_size_is_the_casts_error(tmp_path, small_segments):
    """`$1::vector(n)` of the column's n runs compiled; of another n (or a parameter of
    another size) the cast's own 22000 comes back, as without the fast path."""
    rng = np.random.default_rng(13)
    con, cur, x = _setup(tmp_path, 1000, rng)
    for sql, q in ((f"select id from t order by emb <-> %s::vector({D + 1}) limit 3", x[1]),
                   (f"select id from t order by emb <-> %s::vector({D}) limit 3", x[1][:-1])):
        said = []
        for rules in ("", "ann_fast_path"):
            cur.execute(f"set sqlvec.disabled_rules = '{rules}'")
            for _ in range(2):
                with pytest.raises(sqlvec.Error) as e:
                    cur.execute(sql, (q.tolist(),))
                said.append((e.value.sqlstate, str(e.value)))
        assert said[0][0] == "22000" and len(set(said)) == 1, said
    cur.execute("reset sqlvec.disabled_rules")
    con.close()


def test_ties_offset_and_k_beyond_rows(tmp_path, small_segments):
    rng = np.random.default_rng(4)
    con, cur, x = _setup(tmp_path, 1000, rng, dup=30)
    rows, _ = _both(cur, "select id, emb <-> %s from t order by 2 limit 12 offset 4", (x[0].tolist(),))
    assert [r[0] for r in rows] == list(range(4, 16))  # equal distances: row id order
    cur.execute("delete from t where id >= 20")
    # fewer visible rows than k: the general path answers (and the fast path steps aside)
    _both(cur, "select id from t order by emb <-> %s limit 50", (x[0].tolist(),), fast=False)
    con.close()


def test_null_vectors_and_errors_fall_back(tmp_path, small_segments):
    rng = np.random.default_rng(5)
    con, cur, x = _setup(tmp_path, 1000, rng)
    cur.execute("insert into t values (9001, 'null', null)")
    _both(cur, "select id from t order by emb <-> %s limit 10", (x[1].tolist(),))
    sql = "select id from t order by emb <-> %s limit 3"
    cur.execute(sql, (x[2].tolist(),))
    for bad in ([1.0] * (D - 1), [float("nan")] * D, np.full(D, np.inf, np.float32)):
        errors = []
        for rules in ("", "ann_fast_path"):
            cur.execute(f"set sqlvec.disabled_rules = '{rules}'")
            cur.execute(sql, (x[2].tolist(),))
            try:
                cur.execute(sql, (bad,))
                errors.append(cur.fetchall())
            except sqlvec.Error as e:
                errors.append((type(e), str(e)))
        assert errors[0] == errors[1]  # (the same rows, or the same error)
    cur.execute("reset sqlvec.disabled_rules")
    con.close()


def test_transaction_block_and_own_rows(tmp_path, small_segments):
    rng = np.random.default_rng(6)
    con, cur, x = _setup(tmp_path, 1000, rng)
    sql = "select id from t order by emb <-> %s limit 5"
    q = x[10].tolist()
    cur.execute(sql, (q,))
    cur.execute(sql, (q,))
    con.autocommit = False
    cur.execute("insert into t values (7777, 'mine', %s)", (q,))
    before = _served()
    cur.execute(sql, (q,))
    assert cur.fetchall()[:2] == [(10,), (7777,)] and _since(before) == 0  # own rows: general path
    con.rollback()
    con.autocommit = True
    cur.execute(sql, (q,))
    assert (7777,) not in cur.fetchall()
    con.close()


def test_settings_change_the_search(tmp_path, small_segments):
    rng = np.random.default_rng(7)
    con, cur, x = _setup(tmp_path, 1000, rng)
    for ef in (1, 10, 200):
        cur.execute(f"set hnsw.ef_search = {ef}")
        _both(cur, "select id from t order by emb <-> %s limit 10", (x[9].tolist(),))
    cur.execute("set sqlvec.exact_scan_threshold = 5000")  # exact scan now: not the fast path
    _both(cur, "select id from t order by emb <-> %s limit 10", (x[9].tolist(),), fast=False)
    con.close()


def _strategy(cur, sql, params):
    cur.execute("explain " + sql, params)
    return next(r[0].split("Strategy: ")[1] for r in cur.fetchall() if "Strategy: " in r[0])


def test_planner_switches_as_pgvector_documents(tmp_path, small_segments):
    """pgvector's documentation: `SET enable_indexscan = off` gives the exact answer,
    `SET [LOCAL] enable_seqscan = off` makes a small table's query use its index; both
    change the compiled plan's search too (its state is keyed by them)."""
    rng = np.random.default_rng(12)
    con, cur, x = _setup(tmp_path, 2000, rng)
    sql = "select id, emb <-> %s as d from t order by 2 limit 10"
    q = (x[5] + 0.3).astype(np.float32).tolist()
    d = np.sqrt(((x.astype(np.float64) - np.asarray(q, np.float32)) ** 2).sum(1))
    exact = np.lexsort((np.arange(len(x)), d))[:10].tolist()
    ann, _ = _both(cur, sql, (q,))  # (the index's answer, from the fast path)
    assert _strategy(cur, sql, (q,)).startswith("hnsw index t_idx")
    cur.execute("set enable_indexscan = off")
    rows, _ = _both(cur, sql, (q,), fast=False)
    assert [r[0] for r in rows] == exact
    assert _strategy(cur, sql, (q,)) == (
        "exact top-k scan of 2000 rows (enable_indexscan = off; not hnsw index t_idx "
        "(vector_l2_ops))")
    filtered = "select id from t where id %% 2 = 0 order by emb <-> %s limit 10"
    cur.execute(filtered, (q,))
    assert [r[0] for r in cur.fetchall()] == [i for i in np.lexsort((np.arange(len(x)), d))
                                              if i % 2 == 0][:10]
    cur.execute("reset enable_indexscan")
    cur.execute("set sqlvec.exact_scan_threshold = 5000")
    assert _strategy(cur, sql, (q,)).startswith("exact top-k scan of 2000 rows (not more than")
    cur.execute("begin")
    cur.execute("set local enable_seqscan = off")
    assert _strategy(cur, sql, (q,)).startswith("hnsw index t_idx")
    cur.execute(sql, (q,))
    assert cur.fetchall() == ann
    cur.execute("commit")
    assert _strategy(cur, sql, (q,)).startswith("exact top-k scan")
    cur.execute("set enable_seqscan = 'false'")
    _rows, served = _both(cur, sql, (q,))
    assert served == 1 and _rows == ann
    con.close()


def test_other_metrics_and_quantizers(tmp_path, small_segments):
    rng = np.random.default_rng(8)
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"create table t (id int, tag text, emb vector({D}))")
    x = np.round(rng.standard_normal((1000, D)), 3).astype(np.float32)
    _insert(cur, x, 0)
    cur.execute("set sqlvec.exact_scan_threshold = 0")
    for ops, op, opts in (("vector_cosine_ops", "<=>", ""), ("vector_ip_ops", "<#>", ""),
                          ("vector_l2_ops", "<->", " with (quantizer = 'f32')")):
        cur.execute("drop index if exists t_idx")
        cur.execute(f"create index t_idx on t using hnsw (emb {ops}){opts}")
        _both(cur, f"select id, emb {op} %s from t order by 2 limit 6 offset 1", (x[3].tolist(),))
        _both(cur, f"select * from t order by emb {op} %s limit 3", (x[4].tolist(),))
    con.close()


def test_cosine_and_ip_distances_are_the_operators(tmp_path, small_segments):
    """A bfloat16 graph re-scores its cos and ip candidates on the float32 vectors with the
    operator's own arithmetic, so the fast path returns those distances as they are (exact_d:
    no kernel pass over the k rows) and they equal the exact scan's bit for bit; a float32
    graph keeps no such vectors, and its rows get the kernel."""
    rng = np.random.default_rng(12)
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"create table t (id int, tag text, emb vector({D}))")
    x = rng.standard_normal((1000, D)).astype(np.float32)
    _insert(cur, x, 0)
    cur.execute("set sqlvec.exact_scan_threshold = 0")
    cur.execute("set hnsw.ef_search = 400")
    for ops, op, opts, exact in (("vector_cosine_ops", "<=>", "", True),
                                 ("vector_ip_ops", "<#>", "", True),
                                 ("vector_cosine_ops", "<=>", " with (quantizer = 'f32')", False)):
        cur.execute("drop index if exists t_idx")
        cur.execute(f"create index t_idx on t using hnsw (emb {ops}){opts}")
        AF._PLANS.clear()
        sql = f"select id, emb {op} %s as d from t order by d limit 8"
        for i in (3, 500, 977):
            q = (x[i] + rng.normal(0, 0.05, D)).astype(np.float32).tolist()
            fast, _ = _both(cur, sql, (q,))
            cur.execute("set sqlvec.disabled_rules = 'top_n_to_vector_search'")
            cur.execute(sql, (q,))
            assert cur.fetchall() == fast  # (the same floats, not just close)
            cur.execute("reset sqlvec.disabled_rules")
        for _ in range(2):  # (the plans of the runs above went with their settings)
            cur.execute(sql, (q,))
        states = [st for _p, f in AF._PLANS.values() if f is not None for st in f.states.values()]
        assert states and all(st.target.exact_d is exact for st in states), (ops, opts)
    con.close()


def test_ivfflat_probes(tmp_path, small_segments):
    rng = np.random.default_rng(9)
    con, cur, x = _setup(tmp_path, 1000, rng)
    cur.execute("drop index t_idx")
    cur.execute("create index t_idx on t using ivfflat (emb vector_l2_ops) with (lists = 8)")
    sql = "select id, emb <-> %s from t order by 2 limit 8"
    for probes in (1, 8, 1):  # (the search's parameters follow the setting)
        cur.execute(f"set ivfflat.probes = {probes}")
        _both(cur, sql, (x[11].tolist(),))
    con.close()


def test_portal_execution_takes_it(tmp_path, small_segments):
    """The extended protocol's Bind + Execute (the wire's path) runs the compiled search too,
    with a float32 numpy parameter (what a binary vector parameter decodes to)."""
    rng = np.random.default_rng(10)
    con, cur, x = _setup(tmp_path, 1000, rng)
    s = con._session
    st = s.prepare("select id, emb <-> $1 from t order by 2 limit 4", [], "q")
    got = []
    for _ in range(3):
        before = _served()
        res, more = s.execute_portal(s.bind(st, [x[5]], [], ""))
        got.append([tuple(r.values()) for b in res.batches for r in b.to_pylist()])
        s.sync()
    assert _since(before) == 1 and not more
    cur.execute("select id, emb <-> %s from t order by 2 limit 4", (x[5].tolist(),))
    assert got[0] == got[2] == cur.fetchall()
    con.close()


def test_growing_segment_searched_by_the_delta_graph(tmp_path):
    """A table below a sealed segment's size: its one growing segment is searched by the
    delta graph alone (usearch's distances: the operator's kernel on the k rows' vectors)."""
    rng = np.random.default_rng(11)
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"create table t (id int, tag text, emb vector({D}))")
    x = np.round(rng.standard_normal((800, D)), 3).astype(np.float32)
    x[:12] = x[0]
    cur.execute("insert into t values " + ", ".join(  # (one statement: one growing segment)
        f"({i}, 'r{i}', '[{','.join(str(float(v)) for v in r)}]')" for i, r in enumerate(x)))
    cur.execute("create index t_idx on t using hnsw (emb vector_l2_ops)")
    cur.execute("set sqlvec.exact_scan_threshold = 0")
    _run_all(cur, x, rng, n=1)
    states = _states(cur, x)
    assert any(not st.target.parts and st.one_run is not None and st.one_run[3] is not None
               for st in states)
    _both(cur, "select id, emb <-> %s from t order by 2 limit 9 offset 2", (x[0].tolist(),))
    cur.execute("delete from t where id % 5 = 1")
    _run_all(cur, x, rng, n=1)
    for ops, op in (("vector_cosine_ops", "<=>"), ("vector_ip_ops", "<#>")):
        cur.execute("drop index t_idx")
        cur.execute(f"create index t_idx on t using hnsw (emb {ops})")
        _both(cur, f"select id, emb {op} %s from t order by 2 limit 6 offset 1", (x[3].tolist(),))
        _both(cur, f"select tag from t order by emb {op} %s limit 5", (x[8].tolist(),))
    con.close()


@pytest.mark.parametrize("ops, op", [("vector_cosine_ops", "<=>"), ("vector_ip_ops", "<#>")])
@pytest.mark.parametrize("scan_max", [AF.DELTA_SCAN_MAX, 0], ids=["delta-scanned", "delta-graph"])
def test_recent_rows_under_cos_and_ip(tmp_path, small_segments, monkeypatch, ops, op, scan_max):
    """cos and ip scan the rows since the build exactly too (the operator's arithmetic: no
    kernel pass after), or search the delta graph; either way the fast path's rows and
    distances are the general path's, and a recent row and a zero vector come back."""
    monkeypatch.setattr(AF, "DELTA_SCAN_MAX", scan_max)
    rng = np.random.default_rng(13)
    con, cur, x = _setup(tmp_path, 2000, rng, ops=ops)
    y = np.round(rng.standard_normal((300, D)), 3).astype(np.float32)
    y[11] = 0  # (cos: NaN, after every number)
    _insert(cur, y, 5000)  # rows since the build
    for sql in (f"select id, emb {op} %s from t order by 2 limit 6",
                f"select id, tag from t order by emb {op} %s limit 12 offset 2"):
        for q in (y[5], y[200] + np.float32(0.01), x[7], -y[3]):
            _both(cur, sql, (q.tolist(),))
    for _ in range(2):
        cur.execute(f"select id from t order by emb {op} %s limit 3", (y[9].tolist(),))
    states = [st for _p, f in AF._PLANS.values() if f is not None for st in f.states.values()]
    assert any(st.multi is not None and (st.multi.vec is None) == bool(scan_max) for st in states)
    cur.execute("set hnsw.ef_search = 1000")
    sql = f"select id, emb {op} %s from t order by 2 limit 8"
    for q in (y[5], y[12], x[7]):  # (not the zero vector: every distance tied)
        fast, _ = _both(cur, sql, (q.tolist(),))
        cur.execute("set sqlvec.disabled_rules = 'top_n_to_vector_search'")
        cur.execute(sql, (q.tolist(),))
        assert cur.fetchall() == fast  # (the exact plan's rows and floats)
        cur.execute("reset sqlvec.disabled_rules")
    con.close()


@pytest.mark.parametrize("ops", ["halfvec_l2_ops", "halfvec_cosine_ops", "halfvec_ip_ops",
                                 "bf16vec_l2_ops", "bf16vec_cosine_ops", "int8vec_l2_ops"])
def test_low_precision_columns(tmp_path, small_segments, ops):
    """halfvec, bf16vec and int8vec columns: the rows' values, the query's too (a parsed
    value's numbers, or a float16 / int8 vector), in the operator's float32 arithmetic; a
    query the type cannot hold exactly takes the general path, which converts it."""
    rng = np.random.default_rng(11)
    con, cur, x = _setup(tmp_path, 2600, rng, ops=ops)
    typ = ops.split("_")[0]
    op = {"l2": "<->", "cosine": "<=>", "ip": "<#>"}[ops.split("_")[1]]
    y = _held(np.round(rng.standard_normal((300, D)), 3).astype(np.float32), typ)
    _insert(cur, y, 5000)  # (rows since the build too)
    noise = 2.0 if typ == "int8vec" else 0.05
    for sql in [s for s, _ in QUERIES] + FILTERED[:2]:  # (with a WHERE: _run_filtered)
        sql = sql.replace("<->", op).replace("%s", f"%s::{typ}")
        for _ in range(3):
            q = _held(x[rng.integers(len(x))] + rng.normal(0, noise, D).astype(np.float32), typ)
            _both(cur, sql, (q.tolist(),))  # (bf16vec: the dbapi rounds, to the same numbers)
            if typ != "bf16vec":  # (a float16 / int8 numpy vector)
                _both(cur, sql, (q.astype(np.float16 if typ == "halfvec" else np.int8),))
    _both(cur, f"select id from t order by emb {op} %s::{typ}({D}) limit 5", (y[4].tolist(),))
    if typ != "bf16vec":  # (the dbapi gives the engine a bf16vec's bit patterns, always exact)
        q = x[3] + np.float32(0.3 if typ == "int8vec" else 1e-4)  # (not the type's number)
        _both(cur, f"select id from t order by emb {op} %s::{typ} limit 5", (q.tolist(),), fast=False)
    con.close()


FILTERED = [
    "select id from t where id %% 10 = 3 order by emb <-> %s limit 10",  # 10%: exact
    "select id, tag, emb <-> %s as d from t where id < 700 order by 3 limit 6 offset 2",
    "select * from t where tag like 'r1%%' order by emb <-> %s limit 5",
]


@pytest.mark.parametrize("threshold", [20_000, 0], ids=["exact-scan", "index-over-fetch"])
def test_filtered_queries_fast_and_equal(tmp_path, small_segments, threshold):
    """A WHERE: the compiled plan runs the VectorSearch node's filtered branch itself
    (exact/index, exec/filtered_search.py) without the operators above it; the rows equal
    the general path's, over segments with deletes, NULL vectors and a parameter in the
    filter, and an error in the filter is the same error."""
    rng = np.random.default_rng(11)
    con, cur, x = _setup(tmp_path, 3000, rng)
    cur.execute(f"set sqlvec.exact_scan_threshold = {threshold}")
    cur.execute("delete from t where id % 7 = 0")
    cur.execute("insert into t values (9001, 'r1null', null)")  # (a NULL vector passes)
    for sql in FILTERED:
        for _ in range(3):
            q = (x[rng.integers(len(x))] + rng.normal(0, 0.05, D)).astype(np.float32)
            _both(cur, sql, (q.tolist(),))
    sql = "select id, emb <-> %s from t where id > %s order by 2 limit 4"
    for lo in (10, 2990, 9000):  # (the last: only the NULL vector's row passes)
        rows, _ = _both(cur, sql, (x[5].tolist(), lo))
        assert [r[0] for r in rows] == sorted((r[0] for r in rows), key=lambda i: (
            float(np.linalg.norm(x[i] - x[5])) if i < 3000 else np.inf, i))
    errors = []
    for rules in ("", "ann_fast_path"):
        cur.execute(f"set sqlvec.disabled_rules = '{rules}'")
        bad = "select id from t where 10 / (id - %s) > 0 order by emb <-> %s limit 3"
        cur.execute(bad, (-1, x[3].tolist()))
        try:
            cur.execute(bad, (5, x[3].tolist()))
            errors.append(cur.fetchall())
        except sqlvec.Error as e:
            errors.append((type(e), str(e)))
    cur.execute("reset sqlvec.disabled_rules")
    assert errors[0] == errors[1] and issubclass(errors[0][0], sqlvec.Error)  # (22012)
    con.close()


def test_filtered_exact_answer_from_the_passing_set(tmp_path, small_segments):
    """The exact strategy's rows come straight from the passing set (its own copies of the
    output columns): equal vectors tied at distance 0 in row id order (updated rows have
    new, later ids), NULLs in a text column, OFFSET and the distance; a deleted row drops
    out (a new table version, a new passing set)."""
    rng = np.random.default_rng(5)
    con, cur, x = _setup(tmp_path, 3000, rng, dup=40)
    cur.execute("set sqlvec.exact_scan_threshold = 20000")
    cur.execute("update t set tag = null where id % 3 = 0")
    sql = "select tag, id, emb <-> %s as d from t where id < %s order by 3 limit 30 offset 3"

    def tied(hi, gone=()):
        ids = [i for i in range(min(hi, 40)) if i not in gone]
        return [i for i in ids if i % 3] + [i for i in ids if i % 3 == 0]
    for hi in (800, 30):  # (a product over candidates; the kernel on every passing row)
        rows, _ = _both(cur, sql, (x[0].tolist(), hi))
        assert [r[1] for r in rows] == tied(hi)[3:33]
        assert [r[2] for r in rows] == [0.0] * len(rows)
        assert [r[0] is None for r in rows] == [i % 3 == 0 for i in tied(hi)[3:33]]
    cur.execute("delete from t where id = 5")
    rows, _ = _both(cur, sql, (x[0].tolist(), 800))
    assert [r[1] for r in rows] == tied(800, gone=(5,))[3:33]
    con.close()


def test_filtered_exact_answer_of_every_column_kind(tmp_path):
    """The passing set's copies of the output columns, numpy (int, real, smallint) or
    Arrow (bool and float8 with NULLs, timestamptz, date, numeric, jsonb, int[]): the rows
    equal the general path's."""
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table t (id int, b bool, f float8, r real, s smallint, ts timestamptz, "
                "d date, n numeric, j jsonb, a int[], e vector(4))")
    cur.execute("insert into t select g, g % 2 = 0, g / 3.0, g / 7.0, g % 100, timestamptz "
                "'2020-01-01' + g * interval '1 hour', date '2020-01-01' + g, g / 11.0, "
                "jsonb_build_object('g', g), array[g, g + 1], "
                "array[g % 5, g % 7, g % 3, 1]::vector(4) from generate_series(1, 3000) g")
    cur.execute("update t set b = null, f = null where id % 10 = 0")
    cur.execute("set sqlvec.exact_scan_threshold = 20000")
    rows, _ = _both(cur, "select id, b, f, r, s, ts, d, n, j, a, e <-> %s as dist from t "
                         "where id < %s order by 11 limit 7", ([1.0, 2.0, 0.0, 1.0], 2000))
    assert len(rows) == 7 and rows[0][-1] == 0.0
    con.close()


@pytest.mark.parametrize("indexed", [False, True])
def test_unfiltered_exact_scans_from_a_passing_set_of_every_row(tmp_path, indexed):
    """A table the general path ranks exactly (no index, or no more rows than
    sqlvec.exact_scan_threshold) is answered by the compiled plan from a passing set of
    every row: ties in row id order, OFFSET and the distance, NULLs in a text column, a
    delete and an insert (new table versions); NULL vectors among fewer than k rows, the
    vector column and a transaction block go the general way."""
    rng = np.random.default_rng(9)
    con, cur, x = _setup(tmp_path, 1500, rng, dup=30)  # (ties at distance 0: row id order)
    cur.execute("reset sqlvec.exact_scan_threshold")
    if not indexed:
        cur.execute("drop index t_idx")
    cur.execute("update t set tag = null where id % 4 = 0")
    sql = "select tag, id, emb <-> %s as d from t order by 3 limit 20 offset 3"
    rows, _ = _both(cur, sql, (x[0].tolist(),))
    # (the tied rows in row id order: the updated ones have new row ids, after the others)
    ids = [i for i in range(30) if i % 4] + [i for i in range(30) if i % 4 == 0]
    assert [r[1] for r in rows] == ids[3:23]
    assert [r[0] is None for r in rows] == [i % 4 == 0 for i in ids[3:23]]
    for q_sql, _ in QUERIES:  # (every query shape; * reads the vector column: the general way)
        q = (x[rng.integers(len(x))] + rng.normal(0, 0.05, D)).astype(np.float32)
        _both(cur, q_sql, (q.tolist(),), fast="*" not in q_sql)
    cur.execute("delete from t where id = 1")
    cur.execute("insert into t values (5000, 'new', %s)", (x[0].tolist(),))
    rows, _ = _both(cur, "select id from t order by emb <-> %s limit 3", (x[0].tolist(),))
    assert [r[0] for r in rows] == [2, 3, 5]
    _both(cur, "select id, emb from t order by emb <-> %s limit 3", (x[0].tolist(),),
          fast=False)
    # no index and past 20,000 rows (within the 8M values); ties every 1,001 rows
    cur.execute("create table big (id int, emb vector(4))")
    cur.execute("insert into big select g, array[g % 7, g % 11, g % 13, 1]::vector(4) "
                "from generate_series(1, 25000) g")
    rows, _ = _both(cur, "select id, emb <-> %s from big order by 2 limit 12", ([3, 5, 2, 1],))
    assert [r[1] for r in rows] == [0.0] * 12 and [r[0] for r in rows][:2] == [808, 1809]
    cur.execute("create table few (id int, emb vector(2))")
    cur.execute("insert into few values (1, '[1,1]'), (2, null), (3, '[0,0]')")
    rows, _ = _both(cur, "select id from few order by emb <-> %s limit 3", ([0, 0],),
                    fast=False)
    assert [r[0] for r in rows] == [3, 1, 2]
    cur.execute("begin")
    cur.execute("delete from t where id = 2")
    rows, served = _both(cur, "select id from t order by emb <-> %s limit 2", (x[0].tolist(),),
                         fast=False)
    assert [r[0] for r in rows] == [3, 5] and served == 0
    cur.execute("rollback")
    con.close()
