"""VACUUM / ANALYZE / CLUSTER / CHECKPOINT over a Session: storage does the work, rows survive."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError
from sqlvec.session import Session
from sqlvec.sql.maintenance_stmt import parse_maintenance


def _oid(q, name: str) -> int:
    return q(f"select oid::int from pg_class where relname = '{name}'")[0][0]


def _views(q, name: str) -> list:
    """The committed segment views storage holds for a table."""
    return list(q.db.store.version.tables[_oid(q, name)].views)


def _state(err) -> str:
    return str(err.value.sqlstate.value)


def _fill(q, n_commits: int = 4, rows: int = 500) -> None:
    q("create table t (id int primary key, v float8, s text)")
    for k in range(n_commits):
        q(f"insert into t select g, g * 0.5, 'r' || g from generate_series({k * rows}, {(k + 1) * rows - 1}) g")


def test_parse_forms():
    assert parse_maintenance("vacuum (full, analyze) public.t").full
    assert parse_maintenance("VACUUM FULL VERBOSE ANALYZE a, b (x)").tables == ((None, "a"), (None, "b"))
    assert parse_maintenance("cluster i on s.t").index == "i"
    with pytest.raises(SqlError):
        parse_maintenance("vacuum full 1")


def test_vacuum_drops_deleted_rows_and_keeps_results(q):
    _fill(q)
    q("delete from t where id % 2 = 0")
    before = q("select id, v, s from t order by id")
    assert sum(v.n_deleted for v in _views(q, "t")) == 1000
    assert q("vacuum t") == "VACUUM"
    assert sum(v.n_deleted for v in _views(q, "t")) == 0
    assert q("select id, v, s from t order by id") == before
    q("delete from t where id < 100")
    assert q("vacuum full") == "VACUUM"
    views = _views(q, "t")
    assert sum(v.n_deleted for v in views) == 0 and sum(v.seg.num_rows for v in views) == 950
    assert q("select count(*), min(id) from t") == [(950, 101)]
    assert q("select s from t where id = 1999") == [("r1999",)]
    plan = "\n".join(r[0] for r in q("explain select * from t where id = 7"))
    assert "t" in plan
    q("insert into t values (1, 1, 'new')")  # the primary key still works after the rewrite
    with pytest.raises(SqlError) as err:
        q("insert into t values (1, 1, 'again')")
    assert _state(err) == "23505"


def test_vacuum_analyze_and_errors(q):
    _fill(q, 2, 10)
    q("create view w as select id from t")
    assert q("vacuum analyze t") == "VACUUM"
    assert q("analyze") == "ANALYZE"
    assert q("analyze t (id)") == "ANALYZE"
    assert q("vacuum w, pg_class") == "VACUUM"  # views and catalogs are skipped
    with pytest.raises(SqlError) as err:
        q("vacuum nope")
    assert _state(err) == "42P01"
    q("begin")
    with pytest.raises(SqlError) as err:
        q("vacuum t")
    assert _state(err) == "25001" and "VACUUM cannot run inside a transaction block" in str(err.value)
    q("rollback")
    with pytest.raises(SqlError) as err:  # a multi-statement string is an implicit block
        q("select 1; vacuum t")
    assert _state(err) == "25001"
    assert q("select count(*) from t") == [(20,)]


def test_cluster_orders_segments_by_index_key(q):
    q("create table c (id int, k int, s text)")
    q("create index c_k on c (k)")
    # four commits, each spanning the whole k range: every segment overlaps every other
    for part in range(4):
        q(f"insert into c select g, (g * 7919) % 40000, 'x' from generate_series({part * 10000}, "
          f"{part * 10000 + 9999}) g")
    before = q("select id, k from c order by id")
    assert q("cluster c using c_k") == "CLUSTER"
    assert q("select id, k from c order by id") == before
    assert q("select count(*) from c where k between 100 and 200") == [(101,)]
    views = _views(q, "c")
    assert sum(v.live for v in views) == 40000
    # CLUSTER c (no index named) reuses the recorded index; bare CLUSTER does every such table
    assert q("cluster c") == "CLUSTER"
    assert q("cluster") == "CLUSTER"
    assert q("select count(*) from c") == [(40000,)]


def test_cluster_errors(q):
    q("create table a (x int, v vector(2))")
    q("create table b (y int)")
    q("create index b_y on b (y)")
    q("create index a_v on a using hnsw (v vector_l2_ops)")
    for sql, state in [
        ("cluster a", "42704"),  # never clustered
        ("cluster a using nope", "42704"),
        ("cluster a using b_y", "42809"),
        ("cluster a using a_v", "0A000"),
        ("cluster missing using b_y", "42P01"),
    ]:
        with pytest.raises(SqlError) as err:
            q(sql)
        assert _state(err) == state, sql
    q("begin")
    with pytest.raises(SqlError) as err:
        q("cluster b using b_y")
    assert _state(err) == "25001"
    q("rollback")


def test_checkpoint_superuser_only(q):
    q("create table t (a int)")
    q("insert into t values (1), (2)")
    assert q("checkpoint") == "CHECKPOINT"
    assert q("select sum(a) from t") == [(3,)]
    q("create role plain login")
    other = Session(q.db, user="plain")
    with pytest.raises(SqlError) as err:
        list(other.execute("checkpoint"))
    assert _state(err) == "42501" and "must be superuser to do CHECKPOINT" in str(err.value)


def test_vacuum_cluster_durable_reopen(tmp_path):
    from sqlvec.session import Database

    db = Database.open(str(tmp_path / "d"))
    s = Session(db)

    def run(sql):
        res = list(s.execute(sql))[-1]
        return [r for b in getattr(res, "batches", []) for r in zip(*[c.to_pylist() for c in b.columns])]

    run("create table t (id int primary key, k int, v vector(2))")
    run("create index t_k on t (k)")
    for part in range(3):
        run(f"insert into t select g, (g * 13) % 50, array[g, 1]::vector from generate_series({part * 400}, "
            f"{part * 400 + 399}) g")
    run("checkpoint")
    run("delete from t where k < 10")
    want = run("select id from t order by v <-> '[600, 1]' limit 5")
    assert run("vacuum full t") == [] and run("cluster t using t_k") == []
    assert run("select id from t order by v <-> '[600, 1]' limit 5") == want
    db.store.close()
    db = Database.open(str(tmp_path / "d"))
    s = Session(db)
    assert run("select count(*), sum(id) from t") == [(960, sum(i for i in range(1200) if (i * 13) % 50 >= 10))]
    assert run("select id from t order by v <-> '[600, 1]' limit 5") == want
    assert run("cluster t") == []  # the recorded index survived the restart
    db.store.close()
