"""Filtered top-k (exec/filtered_search.py): the exact strategy's matrix-product candidates
and the SQL answers equal the exact ones, ties, NULLs and every selectivity included."""

from __future__ import annotations

import numpy as np
import pytest

from sqlvec.exec import vector_search as VS
from sqlvec.index.exact import candidates

N, D = 3000, 8


def _vec(v) -> str:
    return "[" + ",".join(f"{x:.3f}" for x in v) + "]"


def _oracle(x: np.ndarray, q: np.ndarray, metric: str) -> np.ndarray:
    """The operators' values in float64 (cos of a zero vector: NaN, ranked last)."""
    x64, q64 = x.astype(np.float64), q.astype(np.float64)
    if metric == "l2":
        return np.sqrt(((x64 - q64) ** 2).sum(1))
    if metric == "ip":
        return -(x64 @ q64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 1 - (x64 @ q64) / np.linalg.norm(x64, axis=1) / np.linalg.norm(q64)


@pytest.mark.parametrize("metric", ["l2", "ip", "cos"])
def test_candidates_hold_every_row_of_the_exact_top_k(metric):
    rng = np.random.default_rng(3)
    x = np.round(rng.standard_normal((2000, 24)) * 3, 1).astype(np.float32)
    x[100:140] = x[7]  # a block of exact ties
    x[200:205] = 0  # zero vectors (cos: NaN)
    x[300:400] *= 1000  # large norms widen the rounding bound
    sq = np.einsum("ij,ij->i", x, x)
    for qi in range(40):
        q = x[rng.integers(0, len(x))] + np.float32(0.01 * qi)
        d = _oracle(x, q, metric)
        key = np.where(np.isnan(d), np.inf, d)
        for k in (1, 5, 10, 50):
            cand = candidates(np, x, sq, q, k, metric)
            kth = np.sort(key)[k - 1]
            near = np.flatnonzero(key <= kth * (1 - 1e-6 * np.sign(kth)) - 1e-9)  # surely top k
            assert np.isin(near, cand).all(), (metric, qi, k)
            assert len(cand) < len(x) // 2  # and it does prune
            if metric == "l2" and qi % 8 == 0:  # the tie block is kept whole
                ties = np.flatnonzero(np.isclose(key, kth, rtol=0, atol=1e-5))
                assert np.isin(ties, cand).all()


def test_candidates_decline_what_they_cannot_bound():
    x = np.ones((10, 2), np.float32)
    assert candidates(np, x, (x * x).sum(1), np.ones(2, np.float32), 3, "l1") is None
    big = np.full((10, 2), 3e38, np.float32)
    assert candidates(np, big, np.full(10, np.inf, np.float32), np.ones(2, np.float32), 3,
                      "l2") is None


@pytest.fixture(scope="module")
def table():
    import sqlvec

    rng = np.random.default_rng(5)
    x = np.round(rng.standard_normal((N, D)), 3).astype(np.float32)
    x[50:80] = x[10]  # ties: row ids decide
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"create table f (id int, c int, emb vector({D}), h halfvec({D}))")
    for s in range(0, N, 1000):
        rows = ",".join(
            f"({i}, {i % 1000}, {'null' if i % 97 == 0 else repr(_vec(x[i]))}, '{_vec(x[i])}')"
            for i in range(s, min(N, s + 1000)))
        cur.execute(f"insert into f values {rows}")

    def run(sql, params=None):
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None
    yield run, x
    con.close()


def _want(x, mask, q, k, metric):
    ids = np.flatnonzero(mask & (np.arange(N) % 97 != 0))
    d = _oracle(x[ids], q, metric)
    d = np.where(np.isnan(d), np.inf, d)
    return ids[np.lexsort((ids, d))][:k].tolist()


@pytest.mark.parametrize("op,metric", [("<->", "l2"), ("<#>", "ip"), ("<=>", "cos")])
def test_filtered_answers_equal_exact_at_every_selectivity(table, op, metric):
    run, x = table
    for where, mask in (("c < 500", np.arange(N) % 1000 < 500),
                        ("c < 100", np.arange(N) % 1000 < 100),
                        ("c < 10", np.arange(N) % 1000 < 10),
                        ("c = 7", np.arange(N) % 1000 == 7)):
        for qi in (10, 333, 2001):
            q = x[qi] + 0.001
            k = 10
            got = run(f"select id from f where {where} order by emb {op} %s limit {k}",
                      ([float(v) for v in q],))
            want = _want(x, mask, q, k, metric)
            if len(want) < k:  # NULL vectors of passing rows come last
                assert [r[0] for r in got][:len(want)] == want
                assert len(got) == min(k, int(mask.sum()))
            else:
                assert [r[0] for r in got] == want, (where, qi)
            assert VS.LAST.strategy == "exact"


def test_ties_break_by_row_id_and_distances_are_the_operators(table):
    run, x = table
    q = x[10]
    got = run("select id, emb <-> %s from f where c < 900 order by emb <-> %s limit 12",
              ([float(v) for v in q], [float(v) for v in q]))
    assert [r[0] for r in got][:3] == [10, 50, 51] and all(r[1] == 0 for r in got[:3])
    assert [r[1] for r in got] == sorted(r[1] for r in got)


def test_halfvec_and_a_predicate_that_changes_every_query(table):
    run, x = table
    for lo in range(0, 900, 150):
        q = x[lo + 3]
        mask = (np.arange(N) % 1000 >= lo) & (np.arange(N) % 1000 < lo + 40)
        got = run("select id from f where c >= %s and c < %s order by h <-> %s limit 5",
                  (lo, lo + 40, [float(v) for v in q]))
        ids = np.flatnonzero(mask)
        h = x[ids].astype(np.float16).astype(np.float32)
        d = np.sqrt(((h - q.astype(np.float16).astype(np.float32)) ** 2).sum(1))
        assert [r[0] for r in got] == ids[np.lexsort((ids, d))][:5].tolist()


def test_index_strategy_when_many_pass_and_exact_when_few(table):
    run, x = table
    run("create index f_idx on f using hnsw (emb vector_l2_ops)")
    try:
        q = [float(v) for v in x[5] + 0.01]
        run("set sqlvec.exact_scan_threshold = 100")
        for where in ("c < 900", "c < 900"):  # first use opens the index, then the fast path
            got = run(f"select id from f where {where} order by emb <-> %s limit 10", (q,))
            assert len(got) == 10 and VS.LAST.strategy.startswith("hnsw")
        want = _want(x, np.arange(N) % 1000 < 900, np.array(q, np.float32), 10, "l2")
        assert len({r[0] for r in got} & set(want)) >= 9
        got = run("select id from f where c < 20 order by emb <-> %s limit 10", (q,))
        assert VS.LAST.strategy == "exact"
        assert [r[0] for r in got] == _want(x, np.arange(N) % 1000 < 20,
                                            np.array(q, np.float32), 10, "l2")
        plan = [r[0] for r in run("explain analyze select id from f where c < 20 "
                                  f"order by emb <-> '{_vec(q)}' limit 10")]
        assert any("exact top-k scan of" in ln for ln in plan), plan
    finally:
        run("reset sqlvec.exact_scan_threshold")
        run("drop index f_idx")


def test_a_cast_column_is_ranked_by_the_cast_values(table):
    run, x = table
    q = x[20] + 0.01
    got = run("select id from f where c < 900 order by emb::halfvec <-> %s::halfvec limit 8",
              ([float(v) for v in q],))
    ids = np.flatnonzero((np.arange(N) % 1000 < 900) & (np.arange(N) % 97 != 0))
    h = x[ids].astype(np.float16).astype(np.float32)
    d = np.sqrt(((h - q.astype(np.float16).astype(np.float32)) ** 2).sum(1))
    assert [r[0] for r in got] == ids[np.lexsort((ids, d))][:8].tolist()


@pytest.mark.parametrize("op,metric", [("<->", "l2"), ("<#>", "ip"), ("<=>", "cos")])
def test_first_use_streams_and_later_uses_keep_a_matrix_with_equal_answers(table, op, metric):
    from sqlvec.exec import filtered_search as FS

    run, x = table
    FS._PASSING.clear()  # (entries other modules' tests left are not this test's)
    for bound in (850, 851, 851, 851):  # a new predicate (streamed), then the cached one
        q = x[bound] + 0.002
        got = run(f"select id from f where c < %s order by emb {op} %s limit 10",
                  (bound, [float(v) for v in q]))
        assert [r[0] for r in got] == _want(x, np.arange(N) % 1000 < bound, q, 10, metric)
    held = [e for e in FS._PASSING.values() if e.uses >= 2]
    assert held and all(e.mat is not None for e in held)


def test_passing_set_keyed_by_the_whole_numpy_parameter():
    """The cached passing set of `WHERE emb <-> $1 < r` is keyed by the parameter's value:
    two numpy vectors of 1,100 dimensions that differ only in the middle (where numpy's
    repr puts '...') are two keys, not one (the wire decodes vectors to numpy arrays)."""
    import sqlvec

    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    dim = 1100
    cur.execute(f"create table wide (id int, emb vector({dim}))")
    x = np.zeros((40, dim), np.float32)
    x[:, 500] = np.arange(40, dtype=np.float32)
    cur.executemany("insert into wide values (%s, %s)", [(i, x[i].tolist()) for i in range(40)])
    sql = "select id from wide where emb <-> %s < 2.5 order by emb <-> %s limit 5"
    for c in (5, 30, 5):
        q = np.zeros(dim, np.float32)
        q[500] = c
        got = [r[0] for r in cur.execute(sql, (q, q)).fetchall()]
        assert got == [c, c - 1, c + 1, c - 2, c + 2]
    con.close()
