"""10,000 tables: start-up reads the checkpoint only; tables open on first use."""

from __future__ import annotations

import time
import tracemalloc

import pyarrow as pa

from sqlvec.storage import Store

N = 10_000
SCHEMA = pa.schema([("id", pa.int64()), ("name", pa.string()), ("score", pa.float64())])


def test_ten_thousand_tables(tmp_path):
    path = str(tmp_path)
    s = Store.open(path)
    t0 = time.monotonic()
    for start in range(0, N, 1000):
        t = s.begin()
        for tid in range(start + 1, start + 1001):
            t.create_table(tid, SCHEMA)
            t.catalog_put(f"rel/{tid}", {"name": f"t{tid}", "oid": tid})
            if tid % 1000 == 0:
                t.insert(tid, pa.table({"id": [tid], "name": ["x"], "score": [1.5]}))
        t.commit()
    s.close()
    created = time.monotonic() - t0

    tracemalloc.start()
    t0 = time.process_time()  # CPU, not wall time: the bound must hold on a loaded machine
    s = Store.open(path)
    named: list[int] = []  # the server names tables from the whole catalog: error paths only
    s.describe_table = lambda tid: named.append(tid) or f"table {tid}"
    t = s.begin()
    got = t.scan_table(5000).column("id").to_pylist()
    first_query = time.process_time() - t0
    assert named == [], "opening a table must not look up names of every relation"
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert got == [5000]
    assert first_query < 3.0, f"first query after {first_query:.2f}s CPU"
    loaded = [tid for tid, tv in s.version.tables.items() if tv.loaded]
    assert loaded == [5000]
    per_table = peak / N
    assert per_table < 4096, f"{per_table:.0f} bytes per idle table"
    assert len(t.catalog_items("rel/")) == N
    s.close()
    print(f"create+checkpoint {created:.1f}s, open+first query {first_query:.3f}s CPU, "
          f"{per_table:.0f} B/table")
