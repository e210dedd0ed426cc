"""VectorSearch yields the ORDER BY distance as a column: the select list reads it instead of
computing it again, and its values are exactly the operator's (every path: index, exact
scan, NULL vectors, own inserts, LATERAL per row and batched)."""

from __future__ import annotations

import numpy as np
import pytest

import sqlvec

N, D = 600, 8
OPS = [("<->", "vector_l2_ops"), ("<#>", "vector_ip_ops"), ("<=>", "vector_cosine_ops"),
       ("<+>", "vector_l1_ops")]


def _vec(v) -> str:
    return "[" + ",".join(f"{x:.5f}" for x in v) + "]"


@pytest.fixture(scope="module")
def cur():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((N, D)).astype(np.float32)
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    c = con.cursor()
    c.execute("create table t (id int, emb vector(8), h halfvec(8))")
    rows = [f"({i}, {'NULL' if i % 97 == 5 else repr(_vec(v))}, '{_vec(v)}')"
            for i, v in enumerate(x)]
    c.execute("insert into t values " + ",".join(rows))
    for _op, oc in OPS:
        c.execute(f"create index on t using hnsw (emb {oc})")
    c.execute("create index on t using hnsw (h halfvec_l2_ops)")
    c.execute("create table q (qid int, v vector(8))")
    c.execute("insert into q values " + ",".join(f"({i}, '{_vec(v)}')" for i, v in
                                                 enumerate(rng.standard_normal((4, D)))))
    yield c
    con.close()


def _plain(cur, col: str, op: str, q: str, ids: list[int]) -> dict[int, float | None]:
    """The operator evaluated per row by the general expression path (no ORDER BY)."""
    cur.execute(f"select id, {col} {op} '{q}' from t where id = any(%s)", (ids,))
    return dict(cur.fetchall())


@pytest.mark.parametrize("threshold", [100, 100_000])  # index path / exact scan
@pytest.mark.parametrize("op", [o for o, _ in OPS])
def test_distance_column_equals_the_operator(cur, op, threshold):
    cur.execute(f"set sqlvec.exact_scan_threshold = {threshold}")
    q = _vec(np.linspace(-1, 1, D))
    cur.execute(f"explain select id, emb {op} '{q}' as d from t order by d limit 7")
    assert "Vector Search" in "\n".join(r[0] for r in cur.fetchall())
    for limit in (7, N + 5):  # past the end: the NULL vectors come last with NULL distances
        cur.execute(f"select id, emb {op} '{q}' as d from t order by d limit {limit}")
        got = cur.fetchall()
        want = _plain(cur, "emb", op, q, [r[0] for r in got])
        assert [d for _, d in got] == [want[i] for i, _ in got]  # bit for bit
        ds = [d for _, d in got if d is not None]
        assert ds == sorted(ds)
    assert sum(d is None for _, d in got) == len(range(5, N, 97))


def test_halfvec_and_expressions_over_the_distance(cur):
    cur.execute("set sqlvec.exact_scan_threshold = 100")
    q = _vec(np.linspace(1, -1, D))
    cur.execute(f"select id, h <-> '{q}' as d, (h <-> '{q}') * 2 from t order by d limit 5")
    got = cur.fetchall()
    want = _plain(cur, "h", "<->", q, [r[0] for r in got])
    assert [(d, d2) for _, d, d2 in got] == [(want[i], want[i] * 2) for i, _, _ in got]


def test_own_inserts_and_offset(cur):
    q = _vec(np.full(D, 0.25))
    cur.execute("set sqlvec.exact_scan_threshold = 100")
    cur.execute("begin")
    try:
        cur.execute(f"insert into t values (9999, '{q}', '{q}')")
        cur.execute(f"select id, emb <-> '{q}' as d from t order by d limit 3 offset 0")
        got = cur.fetchall()
        assert got[0] == (9999, 0.0)
        want = _plain(cur, "emb", "<->", q, [r[0] for r in got])
        assert [d for _, d in got] == [want[i] for i, _ in got]
        cur.execute(f"select id, emb <-> '{q}' as d from t order by d limit 2 offset 1")
        assert cur.fetchall() == got[1:3]
    finally:
        cur.execute("rollback")


@pytest.mark.parametrize("rules", ["", "lateral_top_n_to_batched_search"])
def test_lateral_per_row_and_batched(cur, rules):
    cur.execute("set sqlvec.exact_scan_threshold = 100")
    cur.execute(f"set sqlvec.disabled_rules = '{rules}'")
    try:
        cur.execute("select q.qid, r.id, r.d from q cross join lateral "
                    "(select id, emb <-> q.v as d from t order by d limit 3) r order by 1, 3, 2")
        got = cur.fetchall()
    finally:
        cur.execute("set sqlvec.disabled_rules = ''")
    assert len(got) == 12
    cur.execute("select qid, v::text from q")
    for qid, v in cur.fetchall():
        mine = [(i, d) for g, i, d in got if g == qid]
        want = _plain(cur, "emb", "<->", v, [i for i, _ in mine])
        assert [d for _, d in mine] == [want[i] for i, _ in mine]
