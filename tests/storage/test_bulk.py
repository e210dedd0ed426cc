"""bulk_load: rows go straight to segment files and the WAL logs only their names."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.storage import Store

SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string())])


def batches(n, step=50_000):
    for start in range(0, n, step):
        ids = np.arange(start, min(n, start + step))
        yield pa.record_batch([pa.array(ids), pa.array([f"r{i}" for i in ids])], schema=SCHEMA)


def seg_files(path):
    d = os.path.join(path, "segments", "1")
    return sorted(f for f in os.listdir(d) if f.endswith(".seg")) if os.path.isdir(d) else []


@pytest.mark.parametrize("where", ["memory", "disk"])
def test_bulk_load_visible_after_commit(where, tmp_path):
    s = Store.open(None if where == "memory" else str(tmp_path))
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    t = s.begin()
    assert t.bulk_load(1, batches(300_000)) == 300_000
    assert t.row_count(1) == 300_000
    assert s.begin().row_count(1) == 0
    t.commit()
    got = s.begin().scan_table(1, ["id"]).column("id").to_numpy()
    assert np.array_equal(np.sort(got), np.arange(300_000))
    s.close()


def test_bulk_load_logs_file_names_and_recovers(tmp_path):
    path = str(tmp_path)
    s = Store.open(path)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    wal_before = s._wal.size
    t = s.begin()
    t.bulk_load(1, batches(300_000))
    ids = t.scan_table(1, []).column(0).to_numpy()
    t.delete(1, ids[:10])  # own deletes on bulk rows still work
    t.commit()
    assert s._wal.size - wal_before < 200_000  # names, not 300k rows
    s.abandon()  # crash before any checkpoint: the WAL names the files
    s = Store.open(path)
    assert s.begin().row_count(1) == 300_000 - 10
    s.checkpoint()
    s.abandon()
    s = Store.open(path)
    assert s.begin().row_count(1) == 300_000 - 10
    s.close()


def test_bulk_load_rollback_removes_files(tmp_path):
    path = str(tmp_path)
    s = Store.open(path)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    t = s.begin()
    t.bulk_load(1, batches(100_000))
    assert seg_files(path)
    t.rollback()
    assert seg_files(path) == []
    assert s.begin().row_count(1) == 0
    s.close()


def test_bulk_load_survives_concurrent_checkpoint(tmp_path):
    path = str(tmp_path)
    s = Store.open(path)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.insert(1, pa.table({"id": [1], "name": ["x"]}))
    t.commit()
    t = s.begin()
    t.bulk_load(1, batches(100_000))
    other = s.begin()
    other.insert(1, pa.table({"id": [2], "name": ["y"]}))
    other.commit()
    s.checkpoint()  # the table is dirty; the uncommitted bulk file must not be collected
    t.commit()
    s.abandon()
    s = Store.open(path)
    assert s.begin().row_count(1) == 100_002
    s.close()


def test_huge_insert_goes_to_segment_files(tmp_path):
    path = str(tmp_path)
    s = Store.open(path)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    wal_before = s._wal.size
    data = pa.Table.from_batches(list(batches(300_000)))
    t = s.begin()
    rowids = t.insert(1, data)
    t.delete(1, rowids[:5])
    t.commit()
    assert s._wal.size - wal_before < 100_000
    s.abandon()
    s = Store.open(path)
    got = s.begin().scan_table(1)
    assert got.num_rows == 300_000 - 5
    assert got.column("_rowid").to_pylist()[:3] == rowids[5:8].tolist()
    assert got.column("id").to_pylist()[:3] == [5, 6, 7]
    s.close()


def test_many_inserts_in_one_transaction_spill_to_files(tmp_path):
    path = str(tmp_path)
    s = Store.open(path)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    t = s.begin()
    for b in batches(400_000, step=20_000):
        t.insert(1, b)
    assert seg_files(path)  # spilled before commit
    assert t.row_count(1) == 400_000
    found, _ = t.lookup(1, "id", pa.array([0, 399_999, 400_000]))
    assert found.tolist() == [True, True, False]
    t.commit()
    s.abandon()
    s = Store.open(path)
    got = s.begin().scan_table(1, ["id"]).column("id").to_numpy()
    assert np.array_equal(np.sort(got), np.arange(400_000))
    s.close()
