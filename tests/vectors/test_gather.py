"""vector_index_path._gather: the few-rows path (one-row slices of cached record batches)
gives the same rows in the same order as the general path, over several segments, several
record batches per segment, deleted rows and the transaction's own inserts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

import sqlvec
from sqlvec.catalog.catalog import Catalog
from sqlvec.exec import vector_index_path as VIP


def test_few_rows_path_equals_general_path(tmp_path):
    con = sqlvec.connect(str(tmp_path / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create table t (id int, tag text, emb vector(2))")
    db = con._session.db
    oid = Catalog(db.store.begin(), db.store).relation("public", "t").oid
    n = 0
    for size in (70_000, 700, 2100):  # a sealed segment (of several batches), growing ones
        txn = db.store.begin()
        for s in range(0, size, 25_000):
            m = min(25_000, size - s)
            ids = np.arange(n, n + m, dtype=np.int32)
            txn.insert(oid, pa.record_batch([
                pa.array(ids), pa.array([f"t{i}" for i in ids.tolist()]),
                pa.FixedSizeListArray.from_arrays(pa.array(np.repeat(ids, 2).astype(np.float32)), 2)],
                names=["id", "tag", "emb"]))
            n += m
        txn.commit()
    cur.execute("delete from t where id % 7 = 3")
    cur.execute("checkpoint")  # segments served from their files
    txn = db.store.begin()
    txn.insert(oid, pa.record_batch([pa.array(np.array([n], np.int32)), pa.array(["own"]),
                                     pa.FixedSizeListArray.from_arrays(pa.array([1.0, 2.0], pa.float32()), 2)],
                                    names=["id", "tag", "emb"]))
    lt = txn._local(oid)
    assert len(lt.views) >= 2
    cached = [v.seg for v in lt.views if v.seg.path is not None and not v.seg.growing]
    assert cached and cached[0].data.num_columns and len(cached[0].data.to_batches()) > 1
    rowids = np.concatenate([v.seg.rowids for v in (*lt.views, *lt.inserts)])
    names = ["id", "tag", "emb"]
    schema = pa.schema([pa.field("_rowid", pa.int64(), nullable=False), pa.field("id", pa.int32()),
                        pa.field("tag", pa.string()), pa.field("emb", pa.list_(pa.float32(), 2))])
    rng = np.random.default_rng(3)
    for _ in range(20):
        cand = rng.choice(rowids, 60, replace=False)
        found, hits = VIP._locate(lt, cand)
        assert not found.all()  # some candidates were deleted
        chosen = np.flatnonzero(found)[:40]
        general = VIP._gather(hits, chosen, names, schema)  # > 32 rows: the general path
        for k in (1, 10, 32):
            few = VIP._gather(hits, chosen[:k], names, schema)
            assert few.to_pylist() == general.slice(0, k).to_pylist()
        shuffled = rng.permutation(chosen[:12])  # any order of chosen is kept
        assert [r["_rowid"] for r in VIP._gather(hits, shuffled, names, schema).to_pylist()] \
            == cand[shuffled].tolist()
    assert all(s in VIP._BATCHES for s in cached)  # file-backed sealed segments: kept views
    txn.rollback()
    con.close()
