"""The VectorSearch index path: no table read per query, only the k rows fetched by id."""

from __future__ import annotations

import numpy as np
import pytest

from sqlvec.exec import vector_search as VS

N, D = 1500, 8


def _vec(v) -> str:
    return "[" + ",".join(f"{x:.4f}" for x in v) + "]"


@pytest.fixture()
def db(tmp_path):
    """Two connections to one database with an hnsw-indexed table; the table read is
    counted, so a test can assert the index path read nothing."""
    import sqlvec
    from sqlvec.dbapi.connection import Connection
    from sqlvec.session import Session

    rng = np.random.default_rng(5)
    x = np.round(rng.standard_normal((N, D)), 4).astype(np.float32)
    first = sqlvec.connect(str(tmp_path / "db"))
    cons = [first]

    def connect():
        con = cons[0] if len(cons) == 1 and not cons[0].autocommit else Connection(
            first._db, Session(first._db, user="sqlvec", database="sqlvec", params={}),
            owns_database=False)
        con.autocommit = True
        if con is not first:
            cons.append(con)
        cur = con.cursor()
        cur.execute("set sqlvec.exact_scan_threshold = 100")

        def run(sql, params=None):
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
        return con, run

    con, run = connect()
    run("create table t (id int, tag text, emb vector(8))")
    run("insert into t values " + ",".join(f"({i}, 't{i}', '{_vec(v)}')" for i, v in enumerate(x)))
    run("create index t_idx on t using hnsw (emb vector_l2_ops)")
    yield connect, x
    for c in reversed(cons):
        c.close()


def _count_reads(monkeypatch) -> list:
    calls: list = []
    real = VS._read

    def counted(ctx, p):
        calls.append(1)
        return real(ctx, p)
    monkeypatch.setattr(VS, "_read", counted)
    return calls


def _top(run, q, k=5, cols="id"):
    return [r[0] if cols == "id" else r for r in
            run(f"select {cols} from t order by emb <-> '{_vec(q)}' limit {k}")]


def test_unfiltered_query_reads_no_table(db, monkeypatch):
    connect, x = db
    _con, run = connect()
    reads = _count_reads(monkeypatch)
    assert _top(run, x[42], 3, "id, tag") == [(42, "t42"), *_top(run, x[42], 3, "id, tag")[1:]]
    assert _top(run, x[42])[0] == 42 and reads == []
    assert VS.LAST.strategy == "hnsw t_idx"
    # a filter is evaluated once per table version and its passing set reused
    assert _top(run, x[3], 2, "id, tag")[0] == (3, "t3")
    got = run(f"select id from t where id < 10 order by emb <-> '{_vec(x[3])}' limit 2")
    assert got[0] == (3,) and reads == []


def test_commits_and_deletes_from_another_session(db, monkeypatch):
    connect, x = db
    _a, run_a = connect()
    _b, run_b = connect()
    reads = _count_reads(monkeypatch)
    q = x[7] + 0.001
    assert _top(run_a, q)[0] == 7
    run_b(f"insert into t values (5000, 'new', '{_vec(q)}')")
    assert _top(run_a, q)[0] == 5000  # the delta (one new segment) was added
    run_b("delete from t where id in (5000, 7)")
    got = _top(run_a, q)
    assert 5000 not in got and 7 not in got and len(got) == 5
    assert reads == []


@pytest.mark.parametrize("isolation", ["repeatable read", "read committed"])
def test_own_writes_visible_and_snapshot_kept(db, monkeypatch, isolation):
    connect, x = db
    _a, run_a = connect()
    _b, run_b = connect()
    reads = _count_reads(monkeypatch)
    q = x[11] + 0.001
    run_a(f"begin isolation level {isolation}")
    run_a(f"insert into t values (6000, 'mine', '{_vec(q)}'), (6001, 'null', NULL)")
    run_a("delete from t where id = 11")
    got = _top(run_a, q, 5, "id, tag")
    assert got[0] == (6000, "mine") and 11 not in [r[0] for r in got] and len(got) == 5
    # another session neither sees the uncommitted rows nor loses the deleted one
    assert _top(run_b, q)[0] == 11
    run_b(f"insert into t values (7000, 'later', '{_vec(q)}')")
    # committed after a's snapshot: READ COMMITTED's next statement sees it, with a's rows
    seen = _top(run_a, q)
    if isolation == "read committed":
        assert seen[0] == 6000 and 7000 in seen and 11 not in seen
    else:
        assert 7000 not in seen
    run_a("rollback")
    assert _top(run_a, q)[:2] == [7000, 11]
    assert reads == []


def test_matches_exact_ranking(db):
    connect, x = db
    _a, run = connect()
    rng = np.random.default_rng(9)
    for qi in rng.integers(0, N, 5):
        q = x[qi] + 0.01
        got = _top(run, q, 10)
        d = np.sqrt(((x - q) ** 2).sum(1))
        want = np.lexsort((np.arange(N), d))[:10].tolist()
        assert len(set(got) & set(want)) >= 9


def _exact_filtered(x, q, mask, k):
    ids = np.flatnonzero(mask)
    d = np.sqrt(((x[ids] - q) ** 2).sum(1))
    return ids[np.lexsort((ids, d))][:k].tolist()


@pytest.mark.parametrize("threshold", [100, 100_000])  # index with passing check / exact
def test_filtered_equals_exact_and_follows_commits(db, monkeypatch, threshold):
    connect, x = db
    _a, run = connect()
    _b, run_b = connect()
    run(f"set sqlvec.exact_scan_threshold = {threshold}")
    reads = _count_reads(monkeypatch)
    ids = np.arange(N)
    for where, mask in (("id % 3 = 0", ids % 3 == 0), ("id < 40", ids < 40),
                        ("id > %s", ids > 700)):
        q = x[9] + 0.01
        sql = f"select id from t where {where} order by emb <-> '{_vec(q)}' limit 10"
        got = [r[0] for r in run(sql, (700,) if "%s" in where else None)]
        want = _exact_filtered(x, q, mask, 10)
        assert len(got) == 10 and len(set(got) & set(want)) >= 9, where
        if threshold > N:
            assert got == want
    # a commit makes a new table version: the passing set is recomputed
    q = x[30]
    run_b(f"insert into t values (9000, 'n', '{_vec(q)}'), (9001, 'nul', NULL)")
    got = [r[0] for r in run(f"select id from t where id >= 9000 or id = 30 "
                             f"order by emb <-> '{_vec(q)}' limit 5")]
    assert got[-1] == 9001 and set(got) == {9000, 30, 9001}  # NULL vector last
    assert reads == []
    # own writes: the general path
    run("begin")
    run("delete from t where id = 30")
    got = [r[0] for r in run(f"select id from t where id >= 9000 or id = 30 "
                             f"order by emb <-> '{_vec(q)}' limit 5")]
    assert got == [9000, 9001] and reads
    run("rollback")


def test_passing_sets_of_two_databases_do_not_mix():
    import sqlvec

    out = []
    for shift in (0, 100):
        con = sqlvec.connect(":memory:")
        con.autocommit = True
        cur = con.cursor()
        cur.execute("create table d (id int, emb vector(2))")
        cur.execute("insert into d values " + ",".join(
            f"({i + shift}, '[{i},0]')" for i in range(50)))
        cur.execute("select id from d where id % 2 = 0 order by emb <-> '[3,0]' limit 2")
        out.append([r[0] for r in cur.fetchall()])
        con.close()
    assert out == [[2, 4], [102, 104]]
