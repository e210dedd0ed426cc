"""ORDER BY distance LIMIT k through the VectorSearch operator: exact, indexed, filtered."""

from __future__ import annotations

import numpy as np
import pytest

from sqlvec.exec.vector_search import LAST

N, D = 4000, 16


def _vec(v) -> str:
    return "[" + ",".join(f"{x:.4f}" for x in v) + "]"


@pytest.fixture(scope="module")
def loaded():
    """A table of N seeded clustered vectors with selectivity columns; run(sql) -> rows."""
    import sqlvec

    rng = np.random.default_rng(11)
    centres = rng.standard_normal((40, D)).astype(np.float32)
    x = (centres[rng.integers(0, 40, N)] + 0.3 * rng.standard_normal((N, D))).astype(np.float32)
    x = np.round(x, 4).astype(np.float32)
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table items (id int, c int, emb vector(16))")
    for s in range(0, N, 1000):
        rows = ",".join(f"({i}, {i % 1000}, '{_vec(x[i])}')" for i in range(s, min(N, s + 1000)))
        cur.execute(f"insert into items values {rows}")

    def run(sql, params=None):
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None

    yield run, x
    con.close()


def exact_ids(x, q, k, mask=None, metric="l2"):
    ids = np.arange(len(x)) if mask is None else np.flatnonzero(mask)
    if metric == "l2":
        d = np.sqrt(((x[ids] - q) ** 2).sum(1))
    else:
        d = 1 - (x[ids] @ q) / np.linalg.norm(x[ids], axis=1) / np.linalg.norm(q)
    return ids[np.lexsort((ids, d))][:k].tolist()


def test_rule_fires_and_explain_names_it(loaded):
    run, x = loaded
    lines = [r[0] for r in run(f"explain select id from items order by emb <-> '{_vec(x[0])}' limit 5")]
    assert any("Vector Search on items" in ln for ln in lines)
    lines = [r[0] for r in run("explain select id from items order by id limit 5")]
    assert not any("Vector Search" in ln for ln in lines)
    lines = [r[0] for r in run(f"explain analyze select id from items where c < 3 "
                               f"order by emb <-> '{_vec(x[0])}' limit 5")]
    assert any("Strategy: exact top-k scan of 12 passing rows" in ln for ln in lines), lines


def test_exact_path_equals_numpy_and_rule_off(loaded):
    run, x = loaded
    q = x[17] + 0.01
    sql = f"select id from items order by emb <-> '{_vec(q)}' limit 10"
    got = [r[0] for r in run(sql)]
    assert got == exact_ids(x, q, 10)
    run("set sqlvec.disabled_rules = 'top_n_to_vector_search'")
    try:
        assert [r[0] for r in run(sql)] == got
    finally:
        run("reset sqlvec.disabled_rules")


def test_offset_distance_column_and_params(loaded):
    run, x = loaded
    q = x[5]
    want = exact_ids(x, q, 8)
    rows = run(f"select id, emb <-> '{_vec(q)}' as d from items order by d limit 3 offset 5")
    assert [r[0] for r in rows] == want[5:8]
    assert rows == sorted(rows, key=lambda r: r[1])
    got = run("select id from items order by emb <=> %s limit 4", ([float(v) for v in q],))
    assert [r[0] for r in got] == exact_ids(x, q, 4, metric="cos")


@pytest.mark.parametrize("index", ["hnsw", "ivfflat"])
def test_index_path_recall_and_filters(loaded, index):
    run, x = loaded
    opts = "with (lists = 20)" if index == "ivfflat" else "with (m = 16, ef_construction = 64)"
    run(f"create index items_{index} on items using {index} (emb vector_l2_ops) {opts}")
    run("set sqlvec.exact_scan_threshold = 100")
    run("set ivfflat.probes = 10")
    try:
        rng = np.random.default_rng(2)
        hits = total = 0
        for qi in rng.integers(0, N, 20):
            q = x[qi] + 0.05
            got = [r[0] for r in run(f"select id from items order by emb <-> '{_vec(q)}' limit 10")]
            assert LAST.strategy == f"{index} items_{index}"
            want = exact_ids(x, q, 10)
            hits += len(set(got) & set(want))
            total += 10
        assert hits / total >= 0.95
        plan = [r[0] for r in run(f"explain analyze select id from items order by emb <-> "
                                  f"'{_vec(x[1])}' limit 10")]
        assert any(f"Strategy: {index} items_{index}; 4000 of 4000 rows pass" in ln for ln in plan)
        # filtered: 50%, 10%, 1%, 0.1% selectivity -> always k rows, recall as exact
        for frac, where in ((0.5, "c < 500"), (0.1, "c < 100"), (0.01, "c < 10"), (0.001, "c = 7")):
            q = x[123] + 0.05
            mask = (np.arange(N) % 1000) < int(frac * 1000) if frac > 0.001 else np.arange(N) % 1000 == 7
            k = 10
            got = [r[0] for r in run(
                f"select id from items where {where} order by emb <-> '{_vec(q)}' limit {k}")]
            want = exact_ids(x, q, k, mask)
            assert len(got) == min(k, int(mask.sum())), (frac, got)
            assert len(set(got) & set(want)) / len(want) >= 0.9, frac
    finally:
        run(f"drop index items_{index}")
        run("reset sqlvec.exact_scan_threshold")


def test_index_sees_inserts_and_deletes(loaded):
    run, x = loaded
    run("create table small (id int, emb vector(16))")
    rows = ",".join(f"({i}, '{_vec(x[i])}')" for i in range(500))
    run(f"insert into small values {rows}")
    run("create index on small using hnsw (emb vector_l2_ops)")
    run("set sqlvec.exact_scan_threshold = 0")
    try:
        q = x[600]
        run(f"insert into small values (9999, '{_vec(q)}')")
        assert run(f"select id from small order by emb <-> '{_vec(q)}' limit 1") == [(9999,)]
        run("delete from small where id = 9999")
        got = run(f"select id from small order by emb <-> '{_vec(q)}' limit 3")
        assert 9999 not in [r[0] for r in got] and len(got) == 3
        run("begin")
        run(f"insert into small values (8888, '{_vec(q)}')")
        assert run(f"select id from small order by emb <-> '{_vec(q)}' limit 1") == [(8888,)]
        run("rollback")
        assert run(f"select id from small order by emb <-> '{_vec(q)}' limit 1") != [(8888,)]
    finally:
        run("reset sqlvec.exact_scan_threshold")


def test_nulls_last_and_limit_beyond_rows(loaded):
    run, _x = loaded
    run("create table nv (id int, emb vector(2))")
    run("insert into nv values (1, '[1,1]'), (2, null), (3, '[0,0]'), (4, '[5,5]')")
    assert run("select id from nv order by emb <-> '[0,0]' limit 10") == [(3,), (1,), (4,), (2,)]
    assert run("select id from nv order by emb <=> '[1,1]' limit 10") == [(1,), (4,), (3,), (2,)]
    assert run("select id from nv where id > 100 order by emb <-> '[0,0]' limit 3") == []


def test_create_index_validates_opclass_and_options(loaded):
    run, _x = loaded
    run("create table ddl_t (id int, v vector(3), h halfvec(3), s sparsevec(5), b bit(8))")
    for sql, code in (
        ("create index on ddl_t using hnsw (v vector_l2_ops) with (foo = 1)", "22023"),
        ("create index on ddl_t using hnsw (v vector_l2_ops) with (m = 1)", "22023"),
        ("create index on ddl_t using hnsw (v vector_l2_ops) with (m = 40, ef_construction = 40)", "22023"),
        ("create index on ddl_t using ivfflat (v vector_l2_ops) with (lists = 0)", "22023"),
        ("create index on ddl_t using hnsw (v halfvec_l2_ops)", "42804"),
        ("create index on ddl_t using hnsw (v no_such_ops)", "42704"),
    ):
        with pytest.raises(Exception) as ei:
            run(sql)
        assert getattr(ei.value, "sqlstate", None) == code, sql
    run("create index on ddl_t using hnsw (v vector_cosine_ops) with (m = 8, ef_construction = 32)")
    run("create index on ddl_t using hnsw (v vector_ip_ops)")
    names = {r[0] for r in run("select indexname from pg_indexes where tablename = 'ddl_t'")}
    assert names == {"ddl_t_v_idx", "ddl_t_v_idx1"}


@pytest.mark.parametrize("col,typ,opclass,op,values,query", [
    ("h", "halfvec(3)", "halfvec_l2_ops", "<->", ["[1,1,1]", "[2,2,2]", "[9,9,9]"], "[2,2,2.1]"),
    ("b", "bit(8)", "bit_hamming_ops", "<~>", ["00000000", "11110000", "11111111"], "11110001"),
    ("b", "bit(8)", "bit_jaccard_ops", "<%>", ["00000011", "11110000", "11111111"], "11110001"),
    ("s", "sparsevec(5)", "sparsevec_l2_ops", "<->", ["{1:1}/5", "{2:2,3:2}/5", "{5:9}/5"], "{2:2,3:2.5}/5"),
    ("s", "sparsevec(5)", "sparsevec_ip_ops", "<#>", ["{1:1}/5", "{2:2,3:2}/5", "{5:9}/5"], "{5:1}/5"),
    ("v", "vector(3)", "vector_cosine_ops", "<=>", ["[1,0,0]", "[0,1,0]", "[1,1,0.1]"], "[1,1,0]"),
    ("v", "vector(3)", "vector_l1_ops", "<+>", ["[1,0,0]", "[0,1,0]", "[5,5,5]"], "[0,1.2,0]"),
])
def test_every_opclass_through_sql(loaded, col, typ, opclass, op, values, query):
    run, _x = loaded
    tbl = f"oc_{opclass}"
    run(f"create table {tbl} (id int, {col} {typ})")
    run(f"insert into {tbl} values " + ",".join(f"({i}, '{v}')" for i, v in enumerate(values)))
    run(f"insert into {tbl} values (99, null)")
    sql = f"select id from {tbl} order by {col} {op} '{query}' limit 4"
    exact = run(sql)
    run(f"create index on {tbl} using hnsw ({col} {opclass})")
    run("set sqlvec.exact_scan_threshold = 0")
    try:
        assert run(sql) == exact
        assert LAST.strategy.split()[0] in ("hnsw", "sparse")
        assert exact[-1] == (99,)  # NULL last
    finally:
        run("reset sqlvec.exact_scan_threshold")


def test_lateral_multi_target_search(loaded):
    run, x = loaded
    run("create table qs (qid int, q vector(16))")
    run("insert into qs values " + ",".join(f"({i}, '{_vec(x[i * 100] + 0.01)}')" for i in range(5)))
    sql = ("select qs.qid, r.id from qs cross join lateral "
           "(select id from items order by emb <-> qs.q limit 3) r order by 1, 2")
    lines = [r[0] for r in run("explain " + sql)]
    assert any("Vector Search on items" in ln for ln in lines)
    got = run(sql)
    want = sorted((i, j) for i in range(5) for j in exact_ids(x, x[i * 100] + 0.01, 3))
    assert got == want


def test_index_persisted_and_reopened_as_view(tmp_path):
    import os

    import sqlvec
    from sqlvec.exec import vector_search as VS

    rng = np.random.default_rng(4)
    x = np.round(rng.standard_normal((300, 8)), 3).astype(np.float32)
    path = str(tmp_path / "db")

    def session():
        con = sqlvec.connect(path)
        con.autocommit = True
        return con, con.cursor()

    con, cur = session()
    cur.execute("create table p (id int, emb vector(8))")
    cur.execute("insert into p values " + ",".join(f"({i}, '{_vec(v)}')" for i, v in enumerate(x)))
    cur.execute("create index p_idx on p using hnsw (emb vector_l2_ops)")
    cur.execute("set sqlvec.exact_scan_threshold = 0")
    sql = f"select id from p order by emb <-> '{_vec(x[7])}' limit 5"
    cur.execute(sql)
    first = cur.fetchall()
    assert first[0] == (7,) and VS.LAST.strategy == "hnsw p_idx"
    files = os.listdir(os.path.join(path, "indexes"))
    assert any(f.endswith(".usearch") for f in files) and any(f.endswith(".sig") for f in files)
    con.close()

    con, cur = session()
    cur.execute("set sqlvec.exact_scan_threshold = 0")
    cur.execute(sql)
    assert cur.fetchall() == first
    per_db = VS._CACHE[con._session.db.store]
    built = next(b for k, b in per_db.items() if not isinstance(k, tuple))
    assert built.view  # opened from disk, memory-mapped, not rebuilt
    cur.execute(f"insert into p values (1000, '{_vec(x[7])}')")
    cur.execute(sql)
    assert {r[0] for r in cur.fetchall()[:2]} == {7, 1000}
    con.close()


def test_gpu_setting_path_runs_the_xp_kernel(loaded, monkeypatch):
    """SET sqlvec.gpu = on routes exact scans through the xp kernel (numpy stands in here);
    without CuPy it answers 0A000."""
    import sqlvec.index.xp as XP

    run, x = loaded
    q = x[42] + 0.02
    sql = f"select id from items where c < 500 order by emb <=> '{_vec(q)}' limit 7"
    cpu = run(sql)
    run("set sqlvec.gpu = on")
    try:
        if not XP.gpu_available():
            with pytest.raises(Exception) as ei:
                run(sql)
            assert getattr(ei.value, "sqlstate", None) == "0A000"
        monkeypatch.setattr(XP, "array_module", lambda gpu=None: np)
        assert run(sql) == cpu
    finally:
        run("set sqlvec.gpu = off")


def test_deleted_rows_are_dropped_from_the_index(loaded):
    from sqlvec.exec import vector_search as VS

    run, x = loaded
    run("create table churn (id int, emb vector(16))")
    run("insert into churn values " + ",".join(f"({i}, '{_vec(x[i])}')" for i in range(3000)))
    run("create index churn_idx on churn using hnsw (emb vector_l2_ops)")
    run("set sqlvec.exact_scan_threshold = 0")
    try:
        q = _vec(x[2500])
        assert run(f"select id from churn order by emb <-> '{q}' limit 1") == [(2500,)]
        run("delete from churn where id >= 1500")
        got = run(f"select id from churn order by emb <-> '{q}' limit 5")
        assert len(got) == 5 and all(r[0] < 1500 for r in got)
        built = next(b for d in VS._CACHE.values() for k, b in d.items()
                     if not isinstance(k, tuple) and b.signature[0] is not None and len(b.keys) == 1500)
        assert len(built.index) == 1500
    finally:
        run("reset sqlvec.exact_scan_threshold")


def test_range_condition_and_join_on_top(loaded):
    run, x = loaded
    q = x[300] + 0.01
    d = np.sqrt(((x - q) ** 2).sum(1))
    radius = float(np.sort(d)[6]) + 1e-4
    got = run(f"select id from items where emb <-> '{_vec(q)}' < {radius} "
              f"order by emb <-> '{_vec(q)}' limit 20")
    assert [r[0] for r in got] == exact_ids(x, q, 7)
    run("create table labels (id int, label text)")
    run("insert into labels values " + ",".join(f"({i}, 'l{i}')" for i in range(0, N, 2)))
    got = run(f"select n.id, l.label from (select id from items order by emb <-> '{_vec(q)}' "
              f"limit 6) n join labels l on l.id = n.id order by n.id")
    want = sorted(i for i in exact_ids(x, q, 6) if i % 2 == 0)
    assert got == [(i, f"l{i}") for i in want]
