"""Background builds of per-segment vector index parts against DDL that races them: a build
reads the column by the index's current definition (RENAME COLUMN), and a build that ends
after its index, table, column or segment went discards its files (no restart needed)."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

from sqlvec.exec import segment_index as SI
from sqlvec.exec import vector_search as VS
from tests.vectors.test_index_files import D, _connect, _files, _oid, _parts, _table


@pytest.fixture()
def small(monkeypatch):
    from tests.vectors.test_index_files import _small

    _small(monkeypatch)


def _store(con):
    return con._session.db.store


def _wait_builder(con, oid):
    """Join the background build of index `oid` (if one runs)."""
    built = VS._CACHE.get(_store(con), {}).get(oid)
    t = built.builder if built is not None else None
    if t is not None:
        t.join(30)
        assert not t.is_alive()


def _rows(run, table, start, n, column="emb"):
    x = np.random.default_rng(start).standard_normal((n, D)).round(3)
    run(f"insert into {table} ({'id'}, {column}) values " + ",".join(
        f"({start + i}, '[{','.join(map(str, r))}]')" for i, r in enumerate(x.tolist())))


def test_a_build_behind_a_rename_column_reads_the_renamed_column(tmp_path, small, caplog):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    oid = _table(run)  # built.column = 'emb' (the CREATE INDEX)
    caplog.set_level(logging.WARNING)
    run("alter table t rename column emb to e2")  # a rewrite: new segments, built behind
    _wait_builder(con, oid)
    _rows(run, "t", 5000, 1000, "e2")  # a commit sealing another segment: built behind too
    _wait_builder(con, oid)
    bad = [r for r in caplog.records if r.name.startswith("sqlvec") and r.levelno >= logging.WARNING]
    assert bad == [], [r.getMessage() for r in bad]
    tv = _store(con).version.tables[_oid(run, "t")]
    segs = {f"s{v.seg.seg_id}" for v in tv.views if SI.eligible(v.seg, "hnsw", "vector")}
    assert len(segs) == 3 and set(_parts(path, oid)) == segs  # all built before any query
    q = "'[0.5,0.5,0.5,0.5]'"
    exact = run(f"select id from (select id, e2 from t order by id) s order by e2 <-> {q}, id "
                "limit 5")  # (a subquery: no index)
    assert run(f"select id from t order by e2 <-> {q} limit 5") == exact
    con.close()


class _Held:
    """Holds background part builds (the thread named sqlvec-index-build) until released."""

    def __init__(self, monkeypatch):
        self.started, self.go = threading.Event(), threading.Event()
        real = SI.build

        def build(built, seg, *column):
            if threading.current_thread().name == "sqlvec-index-build":
                self.started.set()
                assert self.go.wait(30)
            return real(built, seg, *column)
        monkeypatch.setattr(SI, "build", build)


@pytest.mark.parametrize("ddl", [
    "drop index t_idx", "drop table t", "alter table t drop column emb", "truncate t",
    "alter table t alter emb type vector(4)", "vacuum t"])
def test_a_build_ending_after_its_index_or_segment_went_leaves_no_files(
        tmp_path, small, monkeypatch, ddl):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    oid = _table(run)
    before = set(_parts(path, oid))
    held = _Held(monkeypatch)
    _rows(run, "t", 5000, 1000)  # seals a segment: its part is built behind the commit
    assert held.started.wait(30)
    builder = VS._CACHE[_store(con)][oid].builder  # (a drop takes the entry from the cache)
    assert builder is not None
    tv = _store(con).version.tables[_oid(run, "t")]
    new = {f"s{v.seg.seg_id}" for v in tv.views if SI.eligible(v.seg, "hnsw", "vector")} - before
    assert len(new) == 1
    if ddl == "vacuum t":  # rewrites the new segment (a deleted row) while its build is held;
        run("delete from t where id = 5000")  # its part build waits for the held one
        threading.Timer(0.5, held.go.set).start()
    run(ddl)
    held.go.set()
    builder.join(30)
    assert not builder.is_alive()
    left = set(_parts(path, oid))
    assert not left & new, left  # the held build wrote nothing for its (now gone) segment
    if ddl.startswith(("drop", "alter table t drop")):
        assert _files(path, oid) == []
    run("select 1")  # (and a later commit leaves it so)
    assert not set(_parts(path, oid)) & new
    if ddl in ("truncate t", "vacuum t") or "type" in ddl:
        run("insert into t values (-1, '[9,9,9,9]')")
        assert run("select id from t order by emb <-> '[9,9,9,9]' limit 1") == [(-1,)]
    con.close()


def test_alter_type_keeps_a_vector_index_only_if_its_opclass_takes_the_new_type(db):
    from sqlvec.dbapi.exceptions import Error

    db("create table t (id int, emb vector(2), e2 vector(2))")
    db("insert into t values (1, '[1,1]', '[1,1]'), (2, '[5,5]', '[5,5]')")
    db("create index t_idx on t using hnsw (emb vector_l2_ops)")
    db("create index t_e2 on t using hnsw (e2)")  # the type's default opclass
    with pytest.raises(Error) as e:
        db("alter table t alter emb type halfvec(2)")
    assert (e.value.sqlstate, str(e.value)) == (
        "42804", 'operator class "vector_l2_ops" does not accept data type halfvec')
    db("alter table t alter e2 type halfvec(2)")  # the default opclass follows the type
    db("set sqlvec.exact_scan_threshold = 0")
    assert db("select id from t order by e2 <-> '[5,5]' limit 1") == [(2,)]
    plan = [r[0] for r in db("explain analyze select id from t order by e2 <-> '[5,5]' limit 1")
            if "Strategy" in r[0]]
    assert "hnsw t_e2" in plan[0], plan


@pytest.mark.parametrize("undo", ["rollback", "savepoint", "reindex"])
def test_a_rolled_back_build_leaves_no_files_after_the_next_commit(tmp_path, small, undo):
    from tests.vectors.test_index_files import _parts

    path = str(tmp_path / "db")
    con, run = _connect(path)
    kept = _table(run, "u", 1200)  # a committed index keeps its files throughout
    kept_files = _files(path, kept)
    run("create table t (id int, emb vector(4))")
    _rows(run, "t", 0, 1000)
    _rows(run, "t", 1000, 1300)
    if undo == "reindex":
        run("create index t_idx on t using hnsw (emb vector_l2_ops)")
        old = _oid(run, "t_idx")
        old_files = _files(path, old)
    run("begin")
    if undo == "savepoint":
        run("savepoint a")
    if undo == "reindex":
        run("reindex index t_idx")
    else:
        run("create index t_idx on t using hnsw (emb vector_l2_ops)")
    oid = _oid(run, "t_idx")
    assert len(_parts(path, oid)) == 2
    run("select id from t order by emb <-> '[1,1,1,1]' limit 1")
    if undo == "savepoint":
        run("rollback to savepoint a")
        assert _parts(path, oid)  # (no commit yet)
        run("commit")
    else:
        run("rollback")
    run("create table z (a int)")  # the next commit of the database
    assert _files(path, oid) == [] and _files(path, kept) == kept_files
    if undo == "reindex":
        assert _oid(run, "t_idx") == old and _files(path, old) == old_files
        assert run("select count(*) from (select id from t order by emb <-> '[1,1,1,1]' "
                   "limit 5) s") == [(5,)]
    con.close()
