"""The GPU search path (CuPy) against the numpy path: the same rows and distances.

Each test runs on numpy here and on CuPy too where CuPy sees a device (bench/gpu.py runs
the same comparison at scale). Exact search is checked against a brute-force answer of its
own; SQL exact scans (the kernel over the column's matrices, on numpy or the device) are
checked against the order of the operators' own values, with the column's cached matrices
refreshed by writes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import sqlvec
import sqlvec.index.xp as XP
from sqlvec.exec import vector_search as VS
from sqlvec.index import ivfflat as IVF
from sqlvec.index.exact import exact_search, rescore

D = 24
MODULES = ["numpy"] + (["cupy"] if XP.gpu_available() else [])


@pytest.fixture(params=MODULES)
def xp(request):
    return np if request.param == "numpy" else XP.array_module(True)


def _brute(x, keys, q, k, metric, live):
    """Every live row's operator value, ordered by (distance, key): the oracle."""
    rows = np.flatnonzero(live)
    d = rescore(q, np.broadcast_to(x[rows], (len(q),) + x[rows].shape), metric)
    d = np.where(np.isnan(d), np.inf, d)
    order = [np.lexsort((keys[rows], di))[:k] for di in d]
    return [keys[rows][o].tolist() for o in order]


@pytest.mark.parametrize("nq", [1, 7])  # (one query: its own partition step)
@pytest.mark.parametrize("metric", ["l2", "ip", "cos", "l1", "hamming", "jaccard"])
def test_exact_search_is_the_brute_force_answer(xp, metric, nq):
    rng = np.random.default_rng(3)
    if metric in ("hamming", "jaccard"):
        x = rng.integers(0, 256, (5000, D // 8), dtype=np.uint8)
        q = rng.integers(0, 256, (nq, D // 8), dtype=np.uint8)
    else:  # small integers: many exact ties, which keys must break
        x = rng.integers(-3, 4, (5000, D)).astype(np.float32)
        q = rng.integers(-3, 4, (nq, D)).astype(np.float32)
        x[17] = 0  # a zero vector (cosine: NaN, sorted last)
    keys = rng.permutation(5000).astype(np.int64) * 2 + 1
    live = rng.random(5000) > 0.3
    got_k, got_d = exact_search(xp, xp.asarray(x), keys, q, 10, metric, live=live, host=x)
    assert got_k.tolist() == _brute(x, keys, q, 10, metric, live)
    want_k, want_d = exact_search(np, x, keys, q, 10, metric, live=live)
    assert got_k.tolist() == want_k.tolist()
    np.testing.assert_array_equal(got_d, want_d)


@pytest.mark.skipif("cupy" not in MODULES, reason="CuPy and a device: the numpy stand-in "
                    "runs in tests/vectors/test_ivf_sparse_segments.py")
@pytest.mark.parametrize("metric", ["l2", "ip", "cos", "l1"])
def test_ivfflat_on_the_device_equals_the_numpy_path(metric):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6000, D)).astype(np.float32)
    keys = np.arange(6000, dtype=np.int64)
    idx = IVF.IvfflatIndex.build(x, keys, IVF.IvfflatOptions(lists=20), metric)
    idx.remove(keys[::9])
    q = rng.standard_normal((12, D)).astype(np.float32)
    for probes in (1, 4, 20):
        cpu = idx.search(q, 10, IVF.IvfflatParams(probes=probes, gpu=False))
        gpu = idx.search(q, 10, IVF.IvfflatParams(probes=probes, gpu=True))
        assert gpu[0].tolist() == cpu[0].tolist()
        np.testing.assert_array_equal(gpu[1], cpu[1])
    cent = IVF.train_centroids(x, 20, metric, gpu=True)  # k-means on the device
    assert cent.shape == (20, D) and np.isfinite(cent).all()


def _vec(v) -> str:
    return "[" + ",".join(f"{float(a):g}" for a in v) + "]"


class NumpyAsDevice:
    """numpy under another name: the device's code path (the column as one part), on the
    host."""

    def __getattr__(self, name):
        return getattr(np, name)


@pytest.fixture
def db(xp, monkeypatch):
    """An embedded database and run(sql); SET sqlvec.gpu = on reaches `xp` (NumpyAsDevice
    stands in for CuPy where there is none)."""
    if xp is np:
        fake = NumpyAsDevice()
        monkeypatch.setattr(XP, "array_module", lambda gpu=None: fake if gpu else np)
    monkeypatch.setattr(VS, "_PARTS", None)
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()

    def run(sql, params=None):
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None
    yield run
    con.close()


def _both(run, sql):
    run("set sqlvec.gpu = off")
    cpu = run(sql)
    run("set sqlvec.gpu = on")
    try:
        return cpu, run(sql)
    finally:
        run("set sqlvec.gpu = off")


def test_sql_exact_scans_rank_as_the_operators_do(db):
    """The kernel's top-k (numpy, and CuPy where there is one) is the rows the operators'
    values order, ties by row id, NaN (a zero vector's cosine) after numbers, NULL
    vectors and filtered rows left out, for every dense type."""
    run = db
    run(f"create table t (id int, c int, v vector({D}), h halfvec({D}), b bf16vec({D}), "
        f"i int8vec({D}), bits bit({D}))")
    run(f"insert into t select g, g % 10, case when g % 89 > 0 then v end, "
        f"(case when g % 97 > 0 then v end)::halfvec({D}), "
        f"v::bf16vec({D}), v::int8vec({D}), binary_quantize(v)::bit({D}) "
        f"from (select g, ('[' || array_to_string(array("
        f"select (((g * 7919 + j * 104729) % 9) - 4) * (g <= 1500)::int from "
        f"generate_series(1, {D}) j), ',') || ']')::vector({D}) v "
        f"from generate_series(1, 1520) g) s")  # rows 1501-1520: zero vectors
    q = _vec(np.random.default_rng(5).integers(-4, 5, D))
    bq = f"binary_quantize('{q}'::vector({D}))"
    cases = [(col, op, f"'{q}'") for col in ("v", "h", "b", "i")
             for op in ("<->", "<#>", "<=>", "<+>")]
    cases += [("bits", "<~>", bq), ("bits", "<%>", bq)]
    run("set sqlvec.gpu = on")
    plan = [r[0] for r in run(f"explain analyze select id from t order by v <-> '{q}' limit 3")]
    assert any("exact top-k scan of 1503 passing rows on the GPU" in ln for ln in plan), plan
    run("set sqlvec.gpu = off")
    plan = [r[0] for r in run(f"explain analyze select id from t order by v <-> '{q}' limit 3")]
    assert any(ln.endswith("exact top-k scan of 1503 passing rows") for ln in plan), plan
    for gpu in ("off", "on"):  # queries the kernel declines: the operator's errors, NULLs
        run(f"set sqlvec.gpu = {gpu}")
        for sql, said in (("select id from t order by v <-> '[1,2,3]' limit 3",
                           f"different vector dimensions {D} and 3"),
                          ("select id from t order by bits <~> '101' limit 3",
                           f"different bit lengths {D} and 3")):
            with pytest.raises(sqlvec.Error) as e:
                run(sql)
            assert e.value.sqlstate == "22000" and said in str(e.value), (gpu, str(e.value))
        assert len(run("select id from t order by v <-> null::vector limit 5")) == 5
    run("set sqlvec.gpu = off")
    for col, op, arg in cases:
        for where in ("", "where c < 3", "where c = 4 and id > 700", "where id > 1495",
                      "where id > 1490"):  # (few rows: all ranked; a few more: NaN ties)
            oracle = run(f"select id, {col} {op} {arg} from t {where} "
                         f"order by ({col} {op} {arg}) + 0, id limit 12")
            for gpu in ("off", "on"):
                run(f"set sqlvec.gpu = {gpu}")
                got = run(f"select id, {col} {op} {arg} from t {where} "
                          f"order by {col} {op} {arg} limit 12")
                run("set sqlvec.gpu = off")
                assert repr(got) == repr(oracle), (col, op, where, gpu)  # (NaN == NaN)


def test_the_device_copy_follows_writes(db):
    """The column's device copy is reused while the table is unchanged and replaced after
    a write: an updated, inserted or deleted row is seen at once."""
    run = db
    run(f"create table t (id int, v vector({D}))")
    run(f"insert into t select g, array_fill(g::real, array[{D}])::vector from "
        f"generate_series(1, 3000) g")
    near = _vec([2500.2] * D)
    sql = f"select id from t order by v <-> '{near}' limit 3"
    assert _both(run, sql) == ([(2500,), (2501,), (2499,)],) * 2
    run("set sqlvec.gpu = on")
    run(sql)
    cached = len(VS._PARTS.entries)
    assert cached >= 1
    run(sql)
    assert len(VS._PARTS.entries) == cached  # the same column state: no new copy
    run(f"update t set v = '{near}' where id = 7")
    assert run(sql) == [(7,), (2500,), (2501,)]
    run(f"insert into t values (9000, '{_vec([2500.1] * D)}')")
    assert run(sql) == [(7,), (9000,), (2500,)]
    run("delete from t where id in (7, 2500)")
    assert run(sql) == [(9000,), (2501,), (2499,)]
    run("begin")
    run("delete from t where id = 9000")
    assert run(sql) == [(2501,), (2499,), (2502,)]
    run("rollback")
    assert run(sql) == [(9000,), (2501,), (2499,)]
    run("set sqlvec.gpu = off")


def test_ivfflat_auto_takes_the_device_where_a_query_scans_10000_rows(monkeypatch):
    """Under SET sqlvec.gpu = auto (gpu None) the device serves a query whose probed lists
    hold 10,000 rows or more; fewer, numpy (kernel launches would cost more)."""
    used = []

    class Recording(NumpyAsDevice):
        def __getattr__(self, name):
            used.append(name)
            return getattr(np, name)
    monkeypatch.setattr(IVF, "gpu_available", lambda: True)
    monkeypatch.setattr(IVF, "array_module", lambda gpu=None: Recording() if gpu else np)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((24_000, 4)).astype(np.float32)
    idx = IVF.IvfflatIndex.build(x, np.arange(len(x)), IVF.IvfflatOptions(lists=4), "l2")
    for probes, device in ((1, False), (2, True)):  # (~6,000 and ~12,000 rows scanned)
        used.clear()
        got = idx.search(x[:2], 5, IVF.IvfflatParams(probes=probes))
        assert bool(used) == device and got[0][:, 0].tolist() == [0, 1]


def test_runs_stack_small_chunks_and_leave_big_ones_alone():
    """_column_parts' parts: a chunk of SMALL_CHUNK rows or more is its own part; runs of
    smaller neighbours are one part of up to STACK_ROWS rows; empty chunks none."""
    def sizes(*ns):
        runs = VS._runs(tuple(pa.array(np.zeros(n, np.int8)) for n in ns))
        return [(start, [len(c) for c in run]) for start, run in runs]
    small, stack = VS.SMALL_CHUNK, VS.STACK_ROWS
    assert sizes(1, 1, 0, 2, small, 1, 3) == [(0, [1, 1, 2]), (4, [small]), (4 + small, [1, 3])]
    assert sizes(small - 1, small - 1) == [(0, [small - 1, small - 1])]
    full = stack // (small - 1)  # (chunks of small - 1 rows that fit in one part)
    assert [len(r) for _s, r in VS._runs(tuple(
        pa.array(np.zeros(small - 1, np.int8)) for _ in range(full + 1)))] == [full, 1]
    assert sizes(0, 0) == [] and sizes() == []


def test_a_table_of_many_small_commits_is_scanned_in_few_parts(db, monkeypatch):
    """Rows of many small commits (growing pieces of a few rows each) are ranked in a few
    exact_search calls, with the operators' answer."""
    import sqlvec.index.exact as EX

    run = db
    run(f"create table t (id int, v vector({D}))")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3000, D)).astype(np.float32)
    lo = 0
    for n in [1, 2, 1, 3, 1, 2500, 1, 1, 2, 5, 1, 1, 3, 1, 2, 1, 1, 4]:  # one commit each
        run("insert into t values " + ", ".join(f"({i}, '{_vec(x[i])}')"
                                               for i in range(lo, lo + n)))
        lo += n
    calls = []
    real = EX.exact_search
    monkeypatch.setattr(EX, "exact_search", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    for q in rng.standard_normal((5, D)).astype(np.float32):
        got = run(f"select id from t order by v <-> '{_vec(q)}' limit 10")
        want = np.argsort(((x[:lo] - q) ** 2).sum(axis=1), kind="stable")[:10]
        assert [r[0] for r in got] == want.tolist()
    assert 0 < len(calls) <= 5 * 3, len(calls)  # (small runs | the 2,500 | small runs)
