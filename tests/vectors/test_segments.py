"""Per-segment vector indexes: one graph per sealed segment, persisted, rebuilt by VACUUM."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import sqlvec.storage.state as state_mod
import sqlvec.storage.store as store_mod
from sqlvec.exec import segment_index as SI
from sqlvec.exec import vector_search as VS
from tests.support.embedded import connect_run

D = 8
PART = re.compile(r"\d+\.s\d+\..*")  # <index oid>.s<segment id>.*


def _vec(v) -> str:
    return "[" + ",".join(f"{x:.4f}" for x in v) + "]"


@pytest.fixture()
def small_segments(monkeypatch):
    """Segments seal at 1,000 rows (parts from 500), so a few thousand rows make several."""
    monkeypatch.setattr(state_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(store_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(SI, "MIN_PART_ROWS", 500)
    builds: list[int] = []
    real = SI.build

    def counted(built, seg, *column):
        builds.append(seg.seg_id)
        return real(built, seg, *column)
    monkeypatch.setattr(SI, "build", counted)
    return builds


def _connect(path):
    con, run = connect_run(path)
    run("set sqlvec.exact_scan_threshold = 0")
    return con, run


def _load(run, x, start=0, step=1000):
    for s in range(start, len(x), step):
        run("insert into t values " + ",".join(
            f"({i}, '{_vec(x[i])}')" for i in range(s, min(len(x), s + step))))


def _entry(con):
    per_db = VS._CACHE[con._session.db.store]
    return next(b for k, b in per_db.items() if not isinstance(k, tuple))


def _exact(x, ids, q, k):
    d = np.sqrt(((x[ids] - q) ** 2).sum(1))
    return [int(i) for i in np.asarray(ids)[np.lexsort((ids, d))[:k]]]


def _check(run, x, live, rng, k=10, n=20):
    hits = 0
    for qi in rng.choice(live, n, replace=False):
        q = x[qi] + 0.01
        got = [r[0] for r in run(f"select id from t order by emb <-> '{_vec(q)}' limit {k}")]
        assert len(got) == k and set(got) <= set(int(i) for i in live)
        hits += len(set(got) & set(_exact(x, live, q, k)))
    assert hits / (k * n) >= 0.95


def test_sealed_segments_get_their_own_graphs(tmp_path, small_segments):
    rng = np.random.default_rng(11)
    x = np.round(rng.standard_normal((3300, D)), 4).astype(np.float32)
    con, run = _connect(str(tmp_path / "db"))
    run(f"create table t (id int, emb vector({D}))")
    _load(run, x, 0)
    con.notices.clear()
    run("create index t_idx on t using hnsw (emb vector_l2_ops)")
    built = _entry(con)
    assert len(built.parts) == 3 and len(small_segments) == 3  # 3 sealed, 300 rows in the delta
    said = [str(getattr(n, "message", n)) for n in con.notices]
    assert sum('built hnsw index "t_idx" on segment' in m for m in said) == 3, said
    assert len(built.keys) == 300
    _check(run, x, np.arange(len(x)), rng)
    assert VS.LAST.strategy == "hnsw t_idx"
    plan = [r[0] for r in run(f"explain analyze select id from t order by emb <-> '{_vec(x[1])}' "
                               "limit 5")]
    assert any("Strategy: hnsw t_idx;" in ln and "3 segment graphs + delta of 300 rows" in ln
               for ln in plan), plan
    # filtered: k rows whenever k rows pass, through the segment graphs (10% and 1% pass)
    run("set sqlvec.exact_scan_threshold = 20")
    for mod in (10, 100):
        ids = np.arange(0, len(x), mod)
        for qi in (5, 1234, 3001):
            q = x[qi] + 0.01
            got = [r[0] for r in run(f"select id from t where id % {mod} = 0 "
                                     f"order by emb <-> '{_vec(q)}' limit 10")]
            want = _exact(x, ids, q, 10)
            assert len(got) == 10 and all(i % mod == 0 for i in got)
            assert len(set(got) & set(want)) >= 9
    run("set sqlvec.exact_scan_threshold = 0")
    # the growing segment is searched too: a fresh row is found at once
    run(f"insert into t values (5000, '{_vec(x[7])}')")
    got = run(f"select id from t order by emb <-> '{_vec(x[7])}' limit 2")
    assert {r[0] for r in got} == {7, 5000}
    con.close()


def test_parts_persist_and_reopen_without_rebuild(tmp_path, small_segments):
    rng = np.random.default_rng(12)
    x = np.round(rng.standard_normal((2500, D)), 4).astype(np.float32)
    path = str(tmp_path / "db")
    con, run = _connect(path)
    run(f"create table t (id int, emb vector({D}))")
    _load(run, x)
    run("create index t_idx on t using hnsw (emb vector_l2_ops)")
    files = os.listdir(os.path.join(path, "indexes"))  # saved by CREATE INDEX itself
    assert sum(bool(PART.fullmatch(f)) and f.endswith(".sig") for f in files) == 2  # per sealed segment
    sql = f"select id from t order by emb <-> '{_vec(x[3])}' limit 5"
    first = run(sql)
    # a crash before any checkpoint: the WAL replays the rows into segments whose ids may
    # differ; a part is reused only when it was built from exactly the same rows
    con._session.db.store.abandon()
    small_segments.clear()
    con, run = _connect(path)
    assert run(sql) == first
    _check(run, x, np.arange(len(x)), rng)
    con.close()
    small_segments.clear()

    con, run = _connect(path)
    assert run(sql) == first
    assert small_segments == []  # opened from disk as views, not rebuilt
    assert all(p.saved for p in _entry(con).parts.values())
    parts = set(_entry(con).parts)
    con.close()

    # a damaged part file is detected by its checksum and rebuilt, never trusted
    live = {f".s{sid}." for sid in parts}
    victim = next(os.path.join(path, "indexes", f) for f in sorted(os.listdir(
        os.path.join(path, "indexes"))) if PART.fullmatch(f) and f.endswith(".usearch")
        and any(t in f for t in live))
    with open(victim, "r+b") as f:
        f.seek(os.path.getsize(victim) // 2)
        f.write(b"\xff" * 64)
    con, run = _connect(path)
    assert run(sql) == first
    assert len(small_segments) == 1
    con.close()


def test_vacuum_rebuilds_the_parts_of_rewritten_segments(tmp_path, small_segments):
    rng = np.random.default_rng(13)
    x = np.round(rng.standard_normal((3000, D)), 4).astype(np.float32)
    path = str(tmp_path / "db")
    con, run = _connect(path)
    run(f"create table t (id int, emb vector({D}))")
    _load(run, x)
    run("create index t_idx on t using hnsw (emb vector_l2_ops)")
    run("checkpoint")
    run(f"select id from t order by emb <-> '{_vec(x[0])}' limit 1")  # saves the parts
    built = _entry(con)
    old = set(built.parts)
    run("delete from t where id % 3 = 0 or id < 400")
    small_segments.clear()
    run("vacuum t")
    new = set(built.parts)
    assert new and not (new & old) and set(small_segments) == new  # built by VACUUM itself
    gone = [f for f in os.listdir(os.path.join(path, "indexes"))
            if any(f".s{s}." in f for s in old)]
    assert gone == []  # the old segments' part files went with them
    live = np.array([i for i in range(len(x)) if i % 3 and i >= 400])
    _check(run, x, live, rng)
    con.close()


def test_merge_keeps_each_key_once():
    keys, dists = SI.merge(np.array([[4, 2, 9]]), np.array([[0.1, 0.3, 0.5]]),
                           np.array([[2, 4, 8]]), np.array([[0.3, 0.1, 0.2]]), 4)
    assert keys.tolist() == [[4, 8, 2, 9]]
    assert dists.tolist() == [[0.1, 0.2, 0.3, 0.5]]
    # a batch of queries (the (n, d) matrix path): one merged row per query
    keys, _ = SI.merge(np.array([[1, 2], [3, 4]]), np.array([[0.2, 0.4], [0.1, 0.9]]),
                       np.array([[5, -1], [4, 6]]), np.array([[0.3, np.inf], [0.2, 0.3]]), 3)
    assert keys.tolist() == [[1, 5, 2], [3, 4, 6]]


def test_a_commit_that_seals_a_segment_builds_its_graph_behind(tmp_path, small_segments):
    rng = np.random.default_rng(14)
    x = np.round(rng.standard_normal((2300, D)), 4).astype(np.float32)
    con, run = _connect(str(tmp_path / "db"))
    run(f"create table t (id int, emb vector({D}))")
    _load(run, x[:300])
    run("create index t_idx on t using hnsw (emb vector_l2_ops)")
    built = _entry(con)
    assert built.parts == {} and len(built.keys) == 300
    _load(run, x, start=300)  # two commits of 1,000 rows: two sealed segments
    _join(built)
    assert len(built.parts) == 2 and len(small_segments) == 2  # no query ran meanwhile
    _check(run, x, np.arange(len(x)), rng)
    assert len(small_segments) == 2
    run("drop index t_idx")
    small_segments.clear()
    _load(run, np.vstack([x, x[:1000]]), start=2300)  # no graphs for a dropped index
    _join(built)
    assert small_segments == []
    con.close()


def _join(built):
    t = built.builder
    if t is not None:
        t.join()
