"""Multi-target search: LATERAL top-k per outer row runs as ONE batched search.

Every query is run twice, with the rule `lateral_top_n_to_batched_search` on and off (the
per-row LATERAL path), and must give the same rows; EXPLAIN must show the batched node.
"""

from __future__ import annotations

import numpy as np
import pytest

import sqlvec
from sqlvec.dbapi.exceptions import DataError

N, D = 1500, 8
OFF = "SET sqlvec.disabled_rules = 'lateral_top_n_to_batched_search'"
ON = "SET sqlvec.disabled_rules = ''"


def _vec(v) -> str:
    return "[" + ",".join(f"{x:.3f}" for x in v) + "]"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(20, D))
    x = (centres[rng.integers(0, 20, N)] + 0.3 * rng.normal(size=(N, D))).round(3)
    x[5] = x[4]  # an exact tie: broken by row id
    qs = (centres[rng.integers(0, 20, 40)] + 0.3 * rng.normal(size=(40, D))).round(3)
    return x.astype(np.float32), qs.astype(np.float32)


@pytest.fixture(scope="module")
def run(data):
    x, qs = data
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()

    def run(sql: str, params=None):
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None
    run("create extension if not exists vector")
    run(f"create table t (id int primary key, emb vector({D}), cat int, h halfvec({D}))")
    rows = ",".join(f"({i}, '{_vec(v)}', {i % 10}, '{_vec(v)}')" for i, v in enumerate(x))
    run(f"insert into t values {rows}")
    run("insert into t values (9000, null, 1, null), (9001, null, 2, null)")
    run(f"create table queries (id int, emb vector({D}), lim int)")
    qrows = ",".join(f"({i}, '{_vec(v)}', {i % 4})" for i, v in enumerate(qs))
    run(f"insert into queries values {qrows}, (100, null, 1), (101, '{_vec(qs[3])}', 2)")
    yield run
    con.close()


def both(run, sql: str, params=None) -> list:
    """Rows with the batched rule on; asserts the per-row path gives the same rows."""
    shown = sql % tuple(params) if params else sql  # EXPLAIN of the literal statement
    run(ON)
    plan = "\n".join(r[0] for r in run("explain " + shown))
    assert "Batched Vector Search" in plan, plan
    got = run(sql, params)
    run(OFF)
    try:
        plan = "\n".join(r[0] for r in run("explain " + shown))
        assert "Batched" not in plan
        want = run(sql, params)
    finally:
        run(ON)
    assert sorted(got, key=repr) == sorted(want, key=repr)
    return got


LATERAL = ("SELECT q.id, r.id, r.d FROM queries q CROSS JOIN LATERAL (SELECT t.id, "
           "t.emb <-> q.emb AS d FROM t {where} ORDER BY t.emb <-> q.emb LIMIT {k}) r")


def oracle(data, metric="l2", k=5, where=None):
    x, qs = data
    keep = np.arange(N) if where is None else np.flatnonzero(where(np.arange(N)))
    out = {}
    for i, q in enumerate(qs):
        xv = x[keep]
        if metric == "l2":
            d = np.sqrt(((xv - q) ** 2).sum(axis=1))
        else:
            d = 1 - (xv @ q) / np.sqrt((xv * xv).sum(axis=1) * (q @ q))
        out[i] = [int(v) for v in keep[np.lexsort((keep, d))][:k]]
    return out


def test_exact_batched_matches_per_row_and_oracle(run, data):
    got = both(run, LATERAL.format(where="", k=5))
    byq: dict = {}
    for qid, rid, _d in got:
        byq.setdefault(qid, []).append(rid)
    want = oracle(data)
    for i in range(40):
        assert sorted(byq[i]) == sorted(want[i])
    assert byq[101] == byq[3]  # a duplicated query vector: the same rows
    assert len(byq[100]) == 5  # a NULL query: k rows in any order (distance NULL)


def test_rows_come_in_distance_order_per_outer_row(run):
    run(ON)
    got = run(LATERAL.format(where="", k=4))
    ids = [r[0] for r in got]
    assert ids == sorted(ids, key=ids.index)  # grouped by outer row
    for qid in set(ids) - {100}:
        ds = [r[2] for r in got if r[0] == qid]
        assert ds == sorted(ds)


def test_inner_where_offset_outer_order_limit(run, data):
    sql = ("SELECT q.id, r.id, r.d FROM queries q CROSS JOIN LATERAL (SELECT t.id, t.emb <=> q.emb "
           "AS d FROM t WHERE cat IN (1, 3) ORDER BY t.emb <=> q.emb LIMIT 3 OFFSET 1) r "
           "ORDER BY q.id DESC, r.d LIMIT 50")
    got = both(run, sql)
    assert len(got) == 50
    want = oracle(data, "cos", 4, lambda i: np.isin(i % 10, [1, 3]))
    assert [r[1] for r in got if r[0] == 39] == want[39][1:]


def test_join_on_true_left_join_and_on_condition(run):
    both(run, LATERAL.replace("CROSS JOIN LATERAL", "JOIN LATERAL").format(where="", k=3)
         + " ON true")
    # no rows pass the inner WHERE: LEFT keeps every outer row with NULLs, inner drops them
    left = both(run, LATERAL.replace("CROSS JOIN", "LEFT JOIN").format(where="WHERE cat = 77", k=3)
                + " ON true")
    assert len(left) == 42 and all(r[1] is None for r in left)
    assert both(run, LATERAL.format(where="WHERE cat = 77", k=3)) == []
    # an ON condition over both sides; LEFT pads outer rows that lose every match
    both(run, LATERAL.replace("CROSS JOIN", "LEFT JOIN").format(where="", k=3)
         + " ON r.id % 2 = q.id % 2")
    both(run, LATERAL.replace("CROSS JOIN", "JOIN").format(where="", k=3) + " ON r.d < 1.0")


def test_select_star_params_and_other_types(run):
    both(run, "SELECT q.id, r.* FROM queries q, LATERAL (SELECT id, cat FROM t "
              "ORDER BY q.emb <-> emb LIMIT %s) r WHERE q.id < %s", (3, 10))
    both(run, "SELECT q.id, r.id FROM queries q CROSS JOIN LATERAL (SELECT t.id FROM t "
              "ORDER BY t.h <+> q.emb::halfvec LIMIT 4) r")
    both(run, "SELECT q.id, r.id, r.ip FROM queries q CROSS JOIN LATERAL (SELECT t.id, "
              "(t.emb <#> q.emb) * 2 AS ip FROM t ORDER BY t.emb <#> q.emb LIMIT 2) r")


def test_outer_row_values_in_the_select_list(run):
    got = both(run, "SELECT r.* FROM queries q CROSS JOIN LATERAL (SELECT q.id AS qid, t.id, "
                    "q.lim + t.cat AS s FROM t ORDER BY t.emb <-> q.emb LIMIT 2) r")
    assert {r[0] for r in got} == set(range(40)) | {100, 101}


def test_bits_and_values_list_outer_side(run):
    run("create table b (id int, v bit(16))")
    bits = [format(i * 40503 % 65536, "016b") for i in range(300)]
    run("insert into b values " + ",".join(f"({i}, B'{v}')" for i, v in enumerate(bits)))
    both(run, "SELECT q.n, r.id, r.d FROM (VALUES (1, B'1010101010101010'), (2, B'1111000011110000'), "
              "(3, B'0000000000000001')) "
              "q(n, v) CROSS JOIN LATERAL (SELECT b.id, b.v <~> q.v AS d FROM b "
              "ORDER BY b.v <~> q.v LIMIT 5) r")


def test_dimension_mismatch_is_22000(run):
    sql = ("SELECT r.id FROM (VALUES ('[1,2]'::vector), ('[1,3]'), ('[1,4]')) q(v) CROSS JOIN LATERAL "
           "(SELECT id FROM t ORDER BY emb <-> q.v LIMIT 1) r")
    msgs = []
    for setting in (ON, OFF):
        run(setting)
        with pytest.raises(DataError) as e:
            run(sql)
        msgs.append(str(e.value))
    run(ON)
    assert msgs[0] == msgs[1] and "different vector dimensions" in msgs[0]
    run("create table b12 (id int, v bit(16))")
    run("insert into b12 values (1, B'1010101010101010'), (2, B'1111000011110000')")
    sql = ("SELECT r.id FROM (VALUES (B'101010101010'), (B'111111111111'), (B'000000000000')) "
           "q(v) CROSS JOIN LATERAL (SELECT id FROM b12 ORDER BY v <~> q.v LIMIT 1) r")
    msgs = []
    for setting in (ON, OFF):
        run(setting)
        with pytest.raises(DataError) as e:
            run(sql)
        msgs.append(str(e.value))
    run(ON)
    assert msgs[0] == msgs[1] and "different bit lengths" in msgs[0]


def test_per_row_limit_or_correlated_where_is_not_batched(run):
    run(ON)
    for sql in ("SELECT q.id, r.id FROM queries q CROSS JOIN LATERAL (SELECT id FROM t "
                "ORDER BY emb <-> q.emb LIMIT q.lim) r",
                "SELECT q.id, r.id FROM queries q CROSS JOIN LATERAL (SELECT id FROM t "
                "WHERE t.cat = q.lim ORDER BY emb <-> q.emb LIMIT 2) r"):
        plan = "\n".join(r[0] for r in run("explain " + sql))
        assert "Batched" not in plan


@pytest.mark.parametrize("method,setting", [("hnsw", "hnsw.ef_search = 200"),
                                            ("ivfflat", "ivfflat.probes = 10")])
def test_index_one_batched_search(run, data, method, setting):
    run(f"create index t_idx on t using {method} (emb vector_l2_ops)"
        + (" with (lists = 10)" if method == "ivfflat" else ""))
    try:
        run("set sqlvec.exact_scan_threshold = 100")
        run(f"set {setting}")
        sql = LATERAL.format(where="", k=10)
        run(ON)
        plan = "\n".join(r[0] for r in run("explain analyze " + sql))
        assert f"{method} t_idx, one search of 40 targets" in plan, plan
        got = run(sql)
        want = oracle(data, k=10)
        hits = sum(len({r[1] for r in got if r[0] == i} & set(want[i])) for i in range(40))
        assert hits / 400 >= 0.95
        assert {r[1] for r in got if r[0] == 101} == {r[1] for r in got if r[0] == 3}
        # filtered: 1 row in 10 passes, still k rows per target
        sql = LATERAL.format(where="WHERE cat = 3", k=10)
        got = run(sql)
        assert all(sum(1 for r in got if r[0] == i) == 10 for i in range(40))
        want = oracle(data, k=10, where=lambda i: i % 10 == 3)
        hits = sum(len({r[1] for r in got if r[0] == i} & set(want[i])) for i in range(40))
        assert hits / 400 >= 0.95
    finally:
        run("drop index t_idx")
        run("reset sqlvec.exact_scan_threshold")


def test_few_targets_take_the_per_row_path(run):
    run(ON)
    sql = LATERAL.format(where="", k=3).replace("FROM queries q", "FROM (SELECT * FROM queries "
                                                  "WHERE id < 2) q")
    plan = "\n".join(r[0] for r in run("explain analyze " + sql))
    assert "2 distinct target(s): one search per outer row" in plan
    got = both(run, sql)
    assert len(got) == 6


def test_array_of_vectors_as_targets(run):
    got = both(run, "SELECT q.emb::text, r.id FROM unnest(ARRAY['[1,1,1,1,1,1,1,1]'::vector, "
                    "'[0,0,0,0,0,0,0,0]', '[-1,0,1,0,-1,0,1,0]']) q(emb) CROSS JOIN LATERAL "
                    "(SELECT id FROM t ORDER BY t.emb <-> q.emb LIMIT 3) r")
    assert len(got) == 9
