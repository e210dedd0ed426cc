"""WAL records: encode/decode round trips (sliced, chunked, null-bearing data), torn reads."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

from sqlvec.storage.state import CommitRecord, TableChange
from sqlvec.storage.wal import (
    REC_COMMIT,
    WalWriter,
    commit_pieces,
    decode_commit,
    encode_tables,
    read_records,
)


def sample() -> pa.Table:
    n = 1000
    vec = pa.FixedSizeListArray.from_arrays(pa.array(np.arange(n * 4, dtype=np.float32)), 4)
    t = pa.table(
        {
            "_rowid": np.arange(n, dtype=np.int64),
            "s": pa.array([None if i % 7 == 0 else f"v{i}" for i in range(n)]),
            "b": pa.array([i % 3 == 0 for i in range(n)]),
            "v": vec,
        }
    )
    return pa.concat_tables([t.slice(3, 400), t.slice(500, 333)])  # offsets and two chunks


def test_commit_record_round_trip(tmp_path):
    t = sample()
    schema = pa.schema([("x", pa.int32())], metadata={b"k": b"v"})
    rec = CommitRecord(
        7,
        tables=[
            TableChange(1, inserts=[t], deletes=np.array([5, 9], dtype=np.int64)),
            TableChange(2, reset_schema=schema),
            TableChange(3, drop=True),
        ],
        catalog_put={"a": '{"x":1}'},
        catalog_del=["b"],
    )
    tables, blobs = encode_tables(rec)
    w = WalWriter(str(tmp_path), 1)
    w.append(REC_COMMIT, commit_pieces(rec, tables, blobs, {1: 2000}))
    w.close()
    (rtype, payload), = list(read_records(os.path.join(tmp_path, f"{1:016d}.wal")))
    back, rowids = decode_commit(payload)
    assert rtype == REC_COMMIT and back.seq == 7 and rowids == {1: 2000}
    assert back.tables[0].inserts[0].equals(t)
    assert back.tables[0].deletes.tolist() == [5, 9]
    assert back.tables[1].reset_schema.equals(schema, check_metadata=True)
    assert back.tables[2].drop
    assert back.catalog_put == {"a": '{"x":1}'} and back.catalog_del == ["b"]


def test_reader_stops_at_a_damaged_record(tmp_path):
    w = WalWriter(str(tmp_path), 1)
    for i in range(3):
        rec = CommitRecord(i + 1, catalog_put={"k": str(i)})
        w.append(REC_COMMIT, commit_pieces(rec, [], [], {}))
    w.close()
    path = os.path.join(tmp_path, f"{1:016d}.wal")
    data = bytearray(open(path, "rb").read())
    data[-10] ^= 1  # inside the last record
    open(path, "wb").write(bytes(data))
    got = [decode_commit(p)[0].seq for _, p in read_records(path)]
    assert got == [1, 2]
