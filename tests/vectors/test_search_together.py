"""Searches made together (exec/ann_fast.search_together, server/app.py's end of a loop pass):
the ANN queries of several connections that arrived at once go to the graph as one batch
on several of usearch's threads, and every connection gets the rows it gets alone.
"""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import psycopg
import pytest

import sqlvec.storage.state as state_mod
import sqlvec.storage.store as store_mod
from sqlvec.exec import ann_fast as AF
from sqlvec.exec import segment_index as SI
from sqlvec.index.hnsw import HnswKind, HnswOptions, HnswParams
from sqlvec.server import app
from sqlvec.server.app import Server, ServerLoop
from sqlvec.server.cli import open_database, password_lookup, session_factory
from sqlvec.wire.protocol import ServerConfig

D = 32


def _clustered(n: int, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((30, D)).astype(np.float32)
    return (c[rng.integers(0, 30, n)] + 0.05 * rng.standard_normal((n, D))).astype(np.float32)


@pytest.mark.parametrize("metric", ["l2", "ip", "cos"])
@pytest.mark.parametrize("k", [1, 10])
def test_a_batch_gives_each_query_its_own_search(metric, k):
    """one_search(...).many: one search_many on several threads, then each row re-scored and
    merged with the side set (rows the graph misses) as a search of that row alone."""
    x = _clustered(3000)
    idx = HnswKind().build(x, np.arange(3000, dtype=np.int64),
                           HnswOptions(m=8, ef_construction=30, quantizer="bf16", rerank=2), metric=metric)
    q = _clustered(40, seed=9)
    q[0] = 0  # (cos: a zero query)
    if metric == "l2":  # (the side set takes part: l2 builds keep it)
        assert idx.side_keys is not None and len(idx.side_keys)
        q[1] = x[int(idx.side_keys[0])]  # a side row's own vector: found twice, kept once
    for ef in (10, 40):
        one = idx.one_search(k, HnswParams(ef_search=ef))
        many = one.many(q)
        for i in range(len(q)):
            keys, d = one(q[i:i + 1])
            assert np.array_equal(many[i][0], keys) and np.array_equal(many[i][1], d, equal_nan=True)


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16", "i8"])
def test_a_batch_of_a_graph_without_full_vectors(dtype):
    """A graph of the column's own precision (no float32 copy to re-score on: halfvec,
    bf16vec, int8vec, or vector with quantizer f32): its batch too is each query's own."""
    x = _clustered(3000)
    if dtype == "f16":
        x = x.astype(np.float16)
    elif dtype == "i8":
        x = np.clip(np.round(x * 40), -127, 127).astype(np.int8)
    idx = HnswKind().build(x, np.arange(3000, dtype=np.int64),
                           HnswOptions(m=8, ef_construction=30, quantizer=dtype if dtype == "f32" else None),
                           metric="l2", dtype=dtype)
    assert idx.full is None
    q = np.ascontiguousarray(x[:40].astype(np.float32) + np.float32(0.5))
    one = idx.one_search(10, HnswParams(ef_search=20))
    many = one.many(q)
    for i in range(len(q)):
        keys, d = one(q[i:i + 1])
        assert np.array_equal(many[i][0], keys) and np.array_equal(many[i][1], d)


@pytest.fixture()
def served(monkeypatch):
    """An in-process server (its ServerLoop on a thread) on a table of 3,000 vectors with an
    hnsw index, three sealed segments of a graph each and 20 rows since; yields (dsn, loop, the batches
    search_together made: (queries, of them searched together))."""
    monkeypatch.setattr(state_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(store_mod, "SEAL_ROWS", 1000)
    monkeypatch.setattr(SI, "MIN_PART_ROWS", 500)
    db = open_database(":memory:", None)
    server = Server(session_factory(db), password_lookup(db, None, None), config=ServerConfig(),
                    port=0, on_close=db.close)
    loop = ServerLoop()
    host, port = loop.run_until_complete(server.start())
    batches = []
    real = AF.search_together

    def spy(found):
        done = real(found)
        batches.append((len(found), sum(len(st.ready) for st in done)))
        return done
    app.ann_fast.search_together = spy
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    dsn = f"host={host} port={port} user=postgres dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(f"create table t (id int, emb vector({D}))")
        x = _clustered(3000)
        for s in range(0, 3000, 1000):  # (a commit of 1,000 rows: a sealed segment)
            with c.cursor().copy("copy t (id, emb) from stdin") as cp:
                for i in range(s, s + 1000):
                    cp.write_row((i, "[" + ",".join(map(str, x[i].tolist())) + "]"))
        c.execute("create index on t using hnsw (emb vector_l2_ops)")
        c.execute("insert into t select id + 3000, emb from t where id < 20")  # (recent rows:
        # scanned exactly beside the graphs' searches)
    try:
        yield dsn, loop, batches
    finally:
        app.ann_fast.search_together = real
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)


SQL = "select id, emb <-> %(q)s::vector as d from t order by emb <-> %(q)s::vector limit 5"


def test_queries_arriving_together_are_searched_together(served):
    """Six connections' queries reach the server in one loop pass (it is held asleep while
    they are sent): one batch searches all six, and each connection's rows are the rows it
    gets alone, as PostgreSQL's prepared statements give them (binary and text)."""
    dsn, loop, batches = served
    q = _clustered(6, seed=11)
    texts = ["[" + ",".join(map(str, v.tolist())) + "]" for v in q]
    conns = [psycopg.connect(dsn, autocommit=True) for _ in range(6)]
    try:
        alone = []
        for i, c in enumerate(conns):
            c.execute("set sqlvec.exact_scan_threshold = 0")  # (3,000 rows: the index all the same)
            cur = c.cursor(binary=i % 2 == 0)
            for _ in range(3):  # (prepared, and known to be fast: run on the loop)
                rows = cur.execute(SQL, {"q": texts[i]}, prepare=True).fetchall()
            alone.append(rows)
        assert not any(n for n, _ in batches)  # (one connection at a time: nothing together)
        asleep = threading.Event()

        def hold():
            asleep.set()
            time.sleep(0.5)

        def ask_together(queries=texts):
            """Each connection's query, sent while the server's loop sleeps (its rows, or the
            error it raised)."""
            together = [None] * 6

            def ask(i):
                cur = conns[i].cursor(binary=i % 2 == 0)
                try:
                    together[i] = cur.execute(SQL, {"q": queries[i]}, prepare=True).fetchall()
                except psycopg.Error as e:
                    together[i] = e
            asleep.clear()
            loop.call_soon_threadsafe(hold)
            assert asleep.wait(5)
            threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
            for th in threads:
                th.start()
            for th in threads:
                th.join(10)
            return together
        assert ask_together() == alone
        assert (6, 6) in batches
        # a parameter that does not parse: that connection gets its error, the others
        # their rows, searched together
        batches.clear()
        together = ask_together([*texts[:2], "[1,2", *texts[3:]])
        assert isinstance(together[2], psycopg.errors.InvalidTextRepresentation)
        assert together[:2] + together[3:] == alone[:2] + alone[3:]
        assert (5, 5) in batches  # (its Bind fails alone, as it would have)
        assert conns[2].execute("select 1").fetchall() == [(1,)]
        # a connection in a transaction block (its own uncommitted row): it runs alone,
        # the five others together
        conns[0].execute("begin")
        conns[0].execute("insert into t values (-1, %s::vector)", (texts[0],))
        batches.clear()
        together = ask_together()
        assert together[0][0][0] == -1  # (its own row, at distance 0)
        assert together[1:] == alone[1:]
        assert (5, 5) in batches
        conns[0].execute("rollback")
    finally:
        for c in conns:
            c.close()
