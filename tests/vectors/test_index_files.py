"""Vector index files follow their index: DROP INDEX / TABLE / SCHEMA, TRUNCATE and ALTER
COLUMN TYPE delete them once the commit is durable, ROLLBACK keeps them, and start-up
removes what a crash left behind (dropped indexes, parts of segments that are gone)."""

from __future__ import annotations

import os

import numpy as np
import pytest

import sqlvec.storage.state as state_mod
import sqlvec.storage.store as store_mod
from sqlvec.exec import segment_index as SI
from tests.support.embedded import connect_run

D = 4


def _small(monkeypatch):
    monkeypatch.setattr(state_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(store_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(SI, "MIN_PART_ROWS", 500)


@pytest.fixture()
def small_segments(monkeypatch):
    """Segments seal at 1,000 rows, parts from 500: 2,300 rows give 2 parts and a delta."""
    _small(monkeypatch)
    return _small


_connect = connect_run


def _table(run, name="t", n=2300):
    x = np.random.default_rng(5).standard_normal((n, D)).round(3)
    run(f"create table {name} (id int, emb vector({D}))")
    for s in range(0, n, 1000):
        run(f"insert into {name} values " + ",".join(
            f"({i}, '[{','.join(map(str, x[i]))}]')" for i in range(s, min(n, s + 1000))))
    run(f"create index {name}_idx on {name} using hnsw (emb vector_l2_ops)")
    return _oid(run, f"{name}_idx")


def _oid(run, name):
    return run(f"select oid from pg_class where relname = '{name}'")[0][0]


def _files(path, oid=None):
    d = os.path.join(path, "indexes")
    names = os.listdir(d) if os.path.isdir(d) else []
    return sorted(n for n in names if oid is None or n.split(".")[0] == str(oid))


def _parts(path, oid):
    return sorted({n.split(".")[1] for n in _files(path, oid) if SI._seg_of(n) is not None})


def test_drop_index_deletes_files_after_commit_and_rollback_keeps_them(tmp_path, small_segments):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    oid = _table(run)
    assert len(_parts(path, oid)) == 2 and any(n.endswith(".sig") for n in _files(path, oid))
    before = _files(path, oid)
    run("begin")
    run("drop index t_idx")
    assert _files(path, oid) == before  # not yet committed
    run("rollback")
    assert _files(path, oid) == before
    assert run("select count(*) from t")[0][0] == 2300
    from sqlvec.exec import vector_search as VS

    assert oid in VS._CACHE[con._session.db.store]
    run("drop index t_idx")
    assert _files(path, oid) == []
    assert oid not in VS._CACHE[con._session.db.store]  # nor its graphs in memory
    con.close()


@pytest.mark.parametrize("drop", ["drop table t", "drop schema s cascade", "alter table t drop emb"])
def test_dropping_the_table_or_column_deletes_the_files(tmp_path, small_segments, drop):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    if "schema" in drop:
        run("create schema s")
        run("set search_path = s, public")
    oid = _table(run)
    other = _table(run, "u", 1200)  # an index of another table keeps its files
    kept = _files(path, other)
    assert _files(path, oid) and kept
    run(drop)
    assert _files(path, oid) == []
    if "schema" not in drop:
        assert _files(path, other) == kept
    con.close()


@pytest.mark.parametrize("rewrite", ["truncate t", "alter table t alter emb type vector(4)"])
def test_a_table_rewrite_deletes_the_parts_of_the_old_segments(tmp_path, small_segments, rewrite):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    oid = _table(run)
    old = _parts(path, oid)
    assert len(old) == 2
    run("begin")
    run(rewrite)
    run("rollback")
    assert _parts(path, oid) == old
    run(rewrite)
    assert not set(_parts(path, oid)) & set(old)
    run("insert into t values (-1, '[9,9,9,9]')")
    assert run("select id from t order by emb <-> '[9,9,9,9]' limit 1") == [(-1,)]
    con.close()


def test_another_sessions_uncommitted_create_index_keeps_its_files(tmp_path, small_segments):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    gone = _table(run, "u", 1200)
    _table(run)
    run("drop index t_idx")
    from sqlvec.dbapi.connection import Connection
    from sqlvec.session import Session

    con2 = Connection(con._db, Session(con._db, user="sqlvec", database="sqlvec", params={}),
                      owns_database=False)
    cur2 = con2.cursor()

    def run2(sql):
        cur2.execute(sql)
        return cur2.fetchall() if cur2.description else None
    run2("create index t_idx2 on t using hnsw (emb vector_l2_ops)")
    fresh = _oid(run2, "t_idx2")
    made = _files(path, fresh)
    assert len(_parts(path, fresh)) == 2
    run("drop index u_idx")  # a commit of this session while t_idx2 is uncommitted
    assert _files(path, gone) == [] and _files(path, fresh) == made
    con2.commit()
    assert _files(path, fresh) == made
    con2.close()
    con.close()


def test_start_up_removes_what_a_crash_left_behind(tmp_path, small_segments, monkeypatch):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    oid = _table(run)
    dropped = _table(run, "u", 1200)
    run("checkpoint")
    parts = _parts(path, oid)
    # a crash between the durable DROP INDEX and the delete: its files stay behind
    monkeypatch.setattr(SI, "drop_files", lambda store, table_ids: None)
    run("drop index u_idx")
    assert _files(path, dropped)
    # and the part of a segment the table does not have (replayed under a new id)
    stale = os.path.join(path, "indexes", f"{oid}.s999999999.usearch")
    open(stale, "wb").close()
    con._session.db.store.abandon()
    monkeypatch.undo()
    small_segments(monkeypatch)  # (undo reset the fixture's settings too)
    con, run = _connect(path)
    assert _files(path, dropped) == [] and not os.path.exists(stale)
    assert _parts(path, oid) == parts  # the live index keeps its parts
    assert run("select id from t order by emb <-> '[0,0,0,0]' limit 1")
    con.close()



def test_build_progress_is_visible_from_another_connection(server):
    """pg_stat_progress_create_index lists a running CREATE INDEX to other sessions."""
    import threading
    import time

    import psycopg

    n = 20000
    x = np.random.default_rng(9).standard_normal((n, 32)).astype(np.float32).round(3)
    text = "".join(f"{i}\t[{','.join(map(str, r))}]\n" for i, r in enumerate(x.tolist()))
    with psycopg.connect(server.dsn, autocommit=True) as con, \
            psycopg.connect(server.dsn, autocommit=True) as watch:
        con.execute("create extension if not exists vector")
        con.execute("create table big (id int, emb vector(32))")
        with con.cursor().copy("copy big from stdin") as cp:
            cp.write(text)
        notices: list[float] = []
        con.add_notice_handler(lambda d: notices.append(time.monotonic()))
        build = threading.Thread(target=con.execute, args=(
            "create index big_idx on big using hnsw (emb vector_l2_ops)",))
        q = ("select pid, relid::regclass::text, command, phase, tuples_total, tuples_done, "
             "datname from pg_stat_progress_create_index")
        seen = []
        build.start()
        while build.is_alive():
            seen += [(time.monotonic(), *r) for r in watch.execute(q).fetchall()]
            time.sleep(0.01)
        build.join()
        assert seen, "the build was never seen running"
        # PostgreSQL's phases: initializing (total not known yet), then building index
        assert {r[4] for r in seen} <= {"initializing", "building index"}
        building = [r for r in seen if r[4] == "building index"]
        assert building, "the build was never seen in its building phase"
        for _, pid, rel, command, _phase, total, done, db in building:
            assert (rel, command, total, db) == ("big", "CREATE INDEX", n, "sqlvec")
            assert 0 <= done <= total and pid == con.info.backend_pid
        assert watch.execute(q).fetchall() == []  # gone once the statement ended
        print(f"progress seen {len(seen)} times; notices at {notices}, last seen {seen[-1][0]}")


def test_rename_column_keeps_the_vector_index(tmp_path, small_segments):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    _table(run)
    q = "'[0.5,0.5,0.5,0.5]'"
    want = run(f"select id from t order by emb <-> {q} limit 5")
    run("alter table t rename column emb to e2")
    assert run("select indexdef from pg_indexes where indexname = 't_idx'") == [
        ("CREATE INDEX t_idx ON public.t USING hnsw (e2 vector_l2_ops)",)]
    assert run(f"select id from t order by e2 <-> {q} limit 5") == want
    run("insert into t select id + 10000, e2 from t")  # new segments: parts built on e2
    (a,), (b,), (c,) = want[:3]
    assert run(f"select id from t order by e2 <-> {q} limit 5") == [
        (a,), (a + 10000,), (b,), (b + 10000,), (c,)]  # ties: the older row first
    run("alter table t drop column e2")  # the index goes with its (renamed) column
    assert run("select indexname from pg_indexes where tablename = 't'") == []
    con.close()
