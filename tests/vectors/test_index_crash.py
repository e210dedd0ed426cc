"""Vector index builds against concurrent writers and crashes: rows committed by another
session while CREATE INDEX builds are found by the index once it is committed, and a
process killed (SIGKILL) in the middle of writing a segment graph restarts with correct
answers and no files of segments or indexes that do not exist."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from sqlvec.exec import segment_index as SI
from tests.vectors.test_index_files import _connect, _files, _oid, _small
from tests.vectors.test_index_lifecycle import _rows

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture()
def small(monkeypatch):
    _small(monkeypatch)


def _same_as_exact(run, queries=("[0.5,0.5,0.5,0.5]", "[-1,0,2,0]", "[3,-2,0,1]")):
    for q in queries:
        sql = f"select id from t order by emb <-> '{q}' limit 10"
        run("set sqlvec.exact_scan_threshold = 0")
        run("set hnsw.ef_search = 400")
        got = run(sql)
        plan = [r[0] for r in run("explain analyze " + sql) if "Strategy" in r[0]]
        run("set sqlvec.exact_scan_threshold = 1000000000")
        want = run(sql)
        assert "hnsw t_idx" in plan[0] and got == want, (q, got, want, plan)


def _no_orphans(con, path):
    """Every index file names a committed index and, for a part, a segment of its table."""
    version = con._session.db.store.version
    live = SI.live_indexes(version)
    for name in _files(path):
        oid = int(name.split(".")[0])
        assert oid in live, name
        seg = SI._seg_of(name)
        if seg is not None:
            segs = {v.seg.seg_id for v in version.tables[live[oid]].views}
            assert seg in segs, (name, segs)


def test_rows_committed_during_create_index_are_indexed(tmp_path, small, monkeypatch):
    path = str(tmp_path / "db")
    con, run = _connect(path)
    run("create table t (id int, emb vector(4))")
    for s in (0, 1000):
        _rows(run, "t", s, 1000)
    started, go = threading.Event(), threading.Event()
    real = SI.build

    def held(built, seg, *column):  # the CREATE INDEX's first segment graph waits
        if threading.current_thread().name == "creator" and not go.is_set():
            started.set()
            assert go.wait(120)
        return real(built, seg, *column)
    monkeypatch.setattr(SI, "build", held)
    from sqlvec.dbapi.connection import Connection
    from sqlvec.session import Session

    con2 = Connection(con._db, Session(con._db, user="sqlvec", database="sqlvec", params={}),
                      owns_database=False)
    con2.autocommit = True
    errors: list[BaseException] = []

    def create():
        try:
            con2.cursor().execute("create index t_idx on t using hnsw (emb vector_l2_ops)")
        except BaseException as e:  # noqa: BLE001 (reported below)
            errors.append(e)
    t = threading.Thread(target=create, name="creator")
    t.start()
    assert started.wait(120)
    _rows(run, "t", 5000, 1000)  # a new sealed segment, committed while the build runs
    _rows(run, "t", 7000, 40)  # and growing rows
    run("delete from t where id % 10 = 3")
    run("update t set emb = '[0.5,0.5,0.5,0.5]' where id in (7, 5007)")
    go.set()
    t.join(120)
    assert not t.is_alive() and not errors, errors
    assert run("select count(*) from t")[0][0] == 3040 - 304
    _same_as_exact(run)
    assert {r[0] for r in run("select id from t order by emb <-> '[0.5,0.5,0.5,0.5]' limit 2")
            } == {7, 5007}
    _no_orphans(con, path)
    con2.close()
    con.close()


_CHILD = """
import os, sys, threading, time
sys.path.insert(0, {root!r})
import numpy as np
import sqlvec, sqlvec.storage.state as st, sqlvec.storage.store as so
from sqlvec.exec import segment_index as SI
st.SEAL_ROWS = so.SEAL_ROWS = 1000
SI.MIN_PART_ROWS = 500
con = sqlvec.connect({path!r}); con.autocommit = True; cur = con.cursor()
x = np.random.default_rng(5).standard_normal((3300, 4)).round(3)
def ins(a, b):
    cur.execute("insert into t values " + ",".join(
        f"({{i}}, '[{{','.join(map(str, x[i]))}}]')" for i in range(a, b)))
cur.execute("create table t (id int, emb vector(4))")
ins(0, 1000); ins(1000, 2000)
cur.execute("create index t_idx on t using hnsw (emb vector_l2_ops)")
cur.execute({checkpoint!r})
real = SI._save
saving = threading.Event()
def save(built, seg, part, store=None):
    if threading.current_thread().name == "sqlvec-index-build":
        path = SI.part_path(built, seg)
        part.index.save(path)  # the graph is on disk, its row ids and signature are not
        saving.set()
        time.sleep(600)
    return real(built, seg, part, store)
SI._save = save
ins(2000, 3000)  # seals a segment: its graph is built (and saved) behind the commit
ins(3000, 3300)
saving.wait(600)
open({marker!r}, "w").close()  # both commits acknowledged, the graph half saved: kill now
time.sleep(600)
"""


@pytest.mark.parametrize("checkpoint", ["checkpoint", "select 1"])
def test_kill_during_a_background_build_restarts_clean(tmp_path, small, checkpoint):
    path = str(tmp_path / "db")
    marker = str(tmp_path / "saving")
    code = textwrap.dedent(_CHILD).format(root=ROOT, path=path, marker=marker,
                                          checkpoint=checkpoint)
    p = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300  # a safety net: seconds, on a loaded machine
        while not os.path.exists(marker):
            assert p.poll() is None, p.stderr.read().decode()
            assert time.monotonic() < deadline, "the background build never started saving"
            time.sleep(0.02)
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait(30)
        p.stderr.close()
    con, run = _connect(path)  # the start-up sweep runs here
    _no_orphans(con, path)
    assert run("select count(*) from t")[0][0] == 3300
    _same_as_exact(run)
    oid = _oid(run, "t_idx")
    parts = {SI._seg_of(n) for n in _files(path, oid)} - {None}
    sigs = {SI._seg_of(n) for n in _files(path, oid) if n.endswith(".sig")} - {None}
    assert len(parts) == 3 and parts == sigs  # every segment graph complete and signed
    _no_orphans(con, path)
    con.close()


_DELTA_CHILD = """
import sys, time
sys.path.insert(0, {root!r})
import numpy as np, sqlvec
from sqlvec.exec import vector_search as VS
con = sqlvec.connect({path!r}); con.autocommit = True; cur = con.cursor()
x = np.random.default_rng(5).standard_normal((4000, 4)).round(3)
def ins(a, b):
    cur.execute("insert into t values " + ",".join(
        f"({{i}}, '[{{','.join(map(str, x[i]))}}]')" for i in range(a, b)))
cur.execute("create table t (id int, emb vector(4))")
ins(0, 1500)
cur.execute("create index t_idx on t using hnsw (emb vector_l2_ops)")  # delta saved
ins(1500, 4000)
cur.execute("delete from t where id < 1400")
real = VS._save
def save(built, path):
    if path is not None and built.index is not None and not built.view:
        built.index.save(path)  # the grown graph is on disk, its row ids are not
        open({marker!r}, "w").close()
        time.sleep(600)
    return real(built, path)
VS._save = save
cur.execute("set sqlvec.exact_scan_threshold = 0")
cur.execute("select id from t order by emb <-> '[0,0,0,0]' limit 5")  # grows and saves
time.sleep(600)
"""


def test_kill_while_the_delta_graph_is_saved_restarts_clean(tmp_path):
    """(Was: the old signature stayed beside the new graph and the old row ids, so every
    query after the restart failed with usearch's 'Duplicate keys not allowed'.)"""
    path = str(tmp_path / "db")
    marker = str(tmp_path / "saving")
    code = textwrap.dedent(_DELTA_CHILD).format(root=ROOT, path=path, marker=marker)
    p = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300  # a safety net
        while not os.path.exists(marker):
            assert p.poll() is None, p.stderr.read().decode()
            assert time.monotonic() < deadline, "the delta graph was never saved"
            time.sleep(0.02)
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait(30)
        p.stderr.close()
    con, run = _connect(path)
    assert run("select count(*) from t")[0][0] == 2600
    _same_as_exact(run)
    _no_orphans(con, path)
    con.close()
