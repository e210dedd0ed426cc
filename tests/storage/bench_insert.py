"""Insert throughput of the Store API: 1M rows x (int64, float64, string, vector(128)).

Run: .venv/bin/python tests/storage/bench_insert.py [rows] [batch_rows]
Prints rows/s for one big transaction and for batched commits, in memory and on disk,
plus reopen (recovery from the WAL) time.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa

from sqlvec.storage import Store

DIM = 128


def make(n: int, start: int = 0) -> pa.Table:
    rng = np.random.default_rng(start)
    vec = pa.FixedSizeListArray.from_arrays(
        pa.array(rng.random(n * DIM, dtype=np.float32)), DIM
    )
    ids = np.arange(start, start + n, dtype=np.int64)
    return pa.table(
        {
            "id": ids,
            "score": rng.random(n),
            "name": pa.array([f"row-{i}" for i in range(start, start + n)]),
            "emb": vec,
        }
    )


SCHEMA = make(1).schema


def run(path: str | None, data: list[pa.Table], label: str, bulk: bool = False) -> None:
    s = Store.open(path)
    t = s.begin()
    t.create_table(1, SCHEMA)
    t.commit()
    n = sum(d.num_rows for d in data)
    t0 = time.perf_counter()
    if bulk:
        t = s.begin()
        t.bulk_load(1, data)
        t.commit()
        data = [pa.concat_tables(data)]
    for d in [] if bulk else data:
        t = s.begin()
        t.insert(1, d)
        t.commit()
    dt = time.perf_counter() - t0
    print(f"{label:<40} {n / dt:>12,.0f} rows/s  ({dt:.2f}s, {len(data)} commits)")
    if path is not None:
        s.abandon()
        t0 = time.perf_counter()
        s = Store.open(path)
        rows = s.begin().row_count(1)
        print(f"{'  reopen + replay WAL':<40} {time.perf_counter() - t0:>10.2f}s for {rows:,} rows")
        t0 = time.perf_counter()
        s.checkpoint()
        print(f"{'  checkpoint (seal to segment files)':<40} {time.perf_counter() - t0:>10.2f}s")
    s.close()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    whole = make(n)
    pieces = [whole.slice(i, batch) for i in range(0, n, batch)]
    run(None, [whole], f"memory, 1 txn of {n:,}")
    run(None, pieces, f"memory, commits of {batch:,}")
    base = tempfile.mkdtemp(prefix="sqlvec-bench-", dir=os.environ.get("BENCH_DIR"))
    try:
        run(os.path.join(base, "a"), [whole], f"disk, 1 txn of {n:,}")
        run(os.path.join(base, "b"), pieces, f"disk, commits of {batch:,}")
        run(os.path.join(base, "c"), pieces, f"disk, bulk_load of {batch:,}-row batches", True)
    finally:
        shutil.rmtree(base)


if __name__ == "__main__":
    main()
