"""Vector indexes on expressions at a size where the index answers (the logic of every form is
in slt/expression_indexes.slt): recall against the exact answer, the compiled path, a
database opened again, and pgvector's adapter over the wire with a halfvec parameter."""

from __future__ import annotations

import numpy as np
import pytest

N, D, K = 3000, 16, 10


def _vec(v) -> str:
    return "[" + ",".join(f"{x:.4f}" for x in v) + "]"


def _data():
    rng = np.random.default_rng(11)
    centers = rng.standard_normal((20, D)) * 3
    x = np.round(centers[rng.integers(0, 20, N)] + rng.standard_normal((N, D)), 4)
    q = np.round(x[rng.integers(0, N, 20)] + 0.3 * rng.standard_normal((20, D)), 4)
    return x.astype(np.float32), q.astype(np.float32)


def _load(run, x) -> None:
    run(f"create table items (id int primary key, embedding vector({D}))")
    for lo in range(0, N, 1000):
        run("insert into items values " + ",".join(
            f"({i}, '{_vec(x[i])}')" for i in range(lo, min(lo + 1000, N))))
    run(f"create index items_half on items using hnsw ((embedding::halfvec({D})) halfvec_l2_ops)")


def _recall(got: list[list[int]], exact: list[list[int]]) -> float:
    return float(np.mean([len(set(g) & set(e)) / len(e) for g, e in zip(got, exact)]))


def _exact(x, q) -> list[list[int]]:
    h = x.astype(np.float16).astype(np.float64)
    qh = q.astype(np.float16).astype(np.float64)
    d = ((h[None, :, :] - qh[:, None, :]) ** 2).sum(-1)
    return [list(np.argsort(row, kind="stable")[:K]) for row in d]


@pytest.fixture()
def embedded(tmp_path):
    import sqlvec

    path = str(tmp_path / "db")
    opened = []

    def connect():
        con = sqlvec.connect(path)
        con.autocommit = True
        opened.append(con)
        cur = con.cursor()

        def run(sql, params=None):
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None
        return con, run
    yield connect
    for c in opened:
        c.close()


def test_the_index_answers_and_survives_a_reopen(embedded):
    import sqlvec

    x, q = _data()
    con, run = embedded()
    _load(run, x)
    run("set sqlvec.exact_scan_threshold = 100")
    sql = f"select id from items order by embedding::halfvec({D}) <-> %s limit {K}"
    plan = "\n".join(r[0] for r in run("explain " + sql % f"'{_vec(q[0])}'"))
    assert f"Order By: (embedding)::halfvec({D}) <->" in plan
    assert "hnsw index items_half (halfvec_l2_ops)" in plan, plan
    served = sum(f.served for f in _compiled())
    got = [[r[0] for r in run(sql, (_vec(v),))] for v in q]
    assert _recall(got, _exact(x, q)) >= 0.95
    assert sum(f.served for f in _compiled()) > served  # (the compiled index path ran)
    run(f"insert into items values ({N}, '{_vec(q[3])}')")  # found at once
    assert run(sql, (_vec(q[3]),))[0][0] == N
    con.close()

    con, run = embedded()
    run("set sqlvec.exact_scan_threshold = 100")
    assert "hnsw index items_half" in "\n".join(r[0] for r in run("explain " + sql % f"'{_vec(q[0])}'"))
    assert run(sql, (_vec(q[3]),))[0][0] == N
    assert len(run("select * from items where id = 1")[0]) == 2
    oid = run("select 'items'::regclass::oid")[0][0]
    stored = con._session.db.store.version.tables[oid].schema.names
    hidden = [n for n in stored if n.startswith("sqlvec_expr_")]
    assert len(hidden) == 1  # (the values are stored, under a name no statement reaches)
    for sql in (f"select {hidden[0]} from items", f"alter table items drop column {hidden[0]}",
                f"alter table items rename {hidden[0]} to h"):
        with pytest.raises(sqlvec.ProgrammingError, match="does not exist"):
            run(sql)


def _compiled():
    import gc

    from sqlvec.exec.ann_fast import AnnFast

    return [o for o in gc.get_objects() if isinstance(o, AnnFast)]


def test_pgvector_adapter_over_the_wire(server):
    import psycopg
    from pgvector import HalfVector
    from pgvector.psycopg import register_vector

    x, q = _data()
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("create extension if not exists vector")
        register_vector(con)
        con.execute("drop table if exists items")
        _load(lambda s: con.execute(s), x)
        con.execute("set sqlvec.exact_scan_threshold = 100")
        cur = con.cursor(binary=True)
        got = [[r[0] for r in cur.execute(
            f"select id from items order by embedding::halfvec({D}) <-> %s limit {K}",
            (HalfVector(v),)).fetchall()] for v in q]
        assert _recall(got, _exact(x, q)) >= 0.95
        cols = [r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_name = 'items' "
            "order by ordinal_position").fetchall()]
        assert cols == ["id", "embedding"]
