"""Crash-test writer: commits tagged transactions through the Store API in a loop.

Run as a subprocess: `python crash_writer.py DIR`. After each commit returns it prints
"ack <tag>" on stdout; the test kills it with SIGKILL at random moments.
Each transaction with tag i: inserts 3 rows (tag i) into table 1, 1 row into table 2,
updates key i % 10 of table 3 to value i (delete + insert), sets catalog "last" = i.
Checkpoints and VACUUM FULL run in between, so kills land in them too.
"""

from __future__ import annotations

import sys

import numpy as np
import pyarrow as pa

from sqlvec.storage import Store

T1 = pa.schema([("tag", pa.int64()), ("pad", pa.string())])
T2 = pa.schema([("tag", pa.int64())])
T3 = pa.schema([("k", pa.int64()), ("v", pa.int64())])


def main(path: str) -> None:
    store = Store.open(path, checkpoint_bytes=64 << 10)
    t = store.begin()
    if not t.has_table(1):
        t.create_table(1, T1)
        t.create_table(2, T2)
        t.create_table(3, T3)
        t.catalog_put("last", {"i": 0})
        t.commit()
        t = store.begin()
    i = t.catalog_get("last")["i"]
    t.rollback()
    while True:
        i += 1
        t = store.begin()
        t.insert(1, pa.table({"tag": [i] * 3, "pad": ["x" * 200] * 3}, schema=T1))
        t.insert(2, pa.table({"tag": [i]}, schema=T2))
        found, rowids = t.lookup(3, "k", pa.array([i % 10]))
        if found[0]:
            t.delete(3, rowids[found])
        t.insert(3, pa.table({"k": [i % 10], "v": [i]}, schema=T3))
        t.catalog_put("last", {"i": i})
        t.commit()
        print(f"ack {i}", flush=True)
        if i % 7 == 0:
            store.checkpoint()
        if i % 13 == 0:
            store.vacuum(3, full=True)
        if i % 17 == 0:
            store.vacuum(1, full=True)
        if i % 11 == 0:
            t = store.begin()
            ids = pa.Table.from_batches(list(t.scan(2, []))).column(0).to_numpy()
            t.rollback()
            assert len(np.unique(ids)) == len(ids)


if __name__ == "__main__":
    main(sys.argv[1])
