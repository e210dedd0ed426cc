"""Storage fast paths as the engine uses them: unique checks by txn.lookup, COPY FROM STDIN.

    .venv/bin/python bench/storage_paths.py [--rows 1000000] [--skip-copy] [--skip-unique]

unique: a durable embedded database, a 100,000-row table (int8 primary key, text), then
1,000 single-row INSERTs and 1,000 single-row INSERT ... ON CONFLICT DO UPDATE, each its
own autocommit statement (synchronous_commit off, so the check, not fsync, is timed);
once with the unique check through `txn.lookup` (storage's per-segment sorted key index)
and once through the generic scan of the key column (the path multi-column keys take).
copy: a sqlvec server; psycopg COPY FROM STDIN of --rows rows (int4, float8, text) in
binary and in text format into an index-less table; rows/s (wall).
"""

from __future__ import annotations

import argparse
import builtins
import io
import shutil
import struct
import tempfile
import time

import common  # noqa: F401  first: it pins BLAS threads before numpy loads
import numpy as np

from sqlvec.exec import dml
from sqlvec.session import Database, Session


def _run(s: Session, sql: str) -> None:
    for _ in s.execute(sql):
        pass


def bench_unique(rows: int = 100_000, n: int = 1000) -> None:
    root = tempfile.mkdtemp(prefix="sqlvec-bench-")
    try:
        db = Database.open(root)
        s = Session(db)
        _run(s, "set synchronous_commit = off")
        _run(s, "create table u (id int8 primary key, v text)")
        _run(s, f"insert into u select g, 'v' || g from generate_series(1, {rows}) g")
        _run(s, "checkpoint")  # sealed segments, as a table of this size is after a while
        for label, hide in (("txn.lookup", False), ("scan", True)):
            if hide:  # the scan path: find_conflicts sees no lookup on the transaction
                dml.getattr = lambda o, name, *d: None if name == "lookup" else builtins.getattr(o, name, *d)
            try:
                base = rows * 10 + (1_000_000 if hide else 0)
                t0 = time.perf_counter()
                for i in range(n):
                    _run(s, f"insert into u values ({base + i}, 'x')")
                t_ins = time.perf_counter() - t0
                t0 = time.perf_counter()
                for i in range(n):
                    _run(s, f"insert into u values ({1 + i * 97}, 'y') on conflict (id) do update set v = excluded.v")
                t_up = time.perf_counter() - t0
            finally:
                if hide:
                    del dml.getattr
            print(f"unique check via {label:10s}: {n} inserts {t_ins:6.2f} s ({n / t_ins:7.0f}/s), "
                  f"{n} upserts {t_up:6.2f} s ({n / t_up:7.0f}/s)")
        bench_composite(s, rows, n)
        db.store.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def bench_composite(s: Session, rows: int, n: int) -> None:
    """UNIQUE (a, b): candidates by a hash probe on `a` per batch, or the whole key scanned."""
    _run(s, "create table m (a int8, b int4, v text, unique (a, b))")
    _run(s, f"insert into m select g, g % 7, 'v' from generate_series(1, {rows}) g")
    _run(s, "checkpoint")
    real = dml.candidate_rows

    def whole(txn, oid, cols, values):  # the previous path: every row's key
        return dml.to_table_scan(type("X", (), {"ctx": type("C", (), {"txn": txn})})(), type("T", (), {"oid": oid})(), cols)

    for label, fn in (("probe on a", real), ("whole key", whole)):
        dml.candidate_rows = fn
        try:
            base = rows * 10 + (1_000_000 if fn is whole else 0)
            t0 = time.perf_counter()
            for i in range(n):
                _run(s, f"insert into m values ({base + i}, 1, 'x')")
            dt = time.perf_counter() - t0
        finally:
            dml.candidate_rows = real
        print(f"unique (a, b) via {label:10s}: {n} inserts {dt:6.2f} s ({n / dt:7.0f}/s)")


def _binary_payload(ids: np.ndarray, xs: np.ndarray, texts: list[bytes]) -> bytes:
    out = io.BytesIO()
    out.write(b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0))
    for i, x, t in zip(ids.tolist(), xs.tolist(), texts):
        out.write(struct.pack("!hiiidi", 3, 4, i, 8, x, len(t)))
        out.write(t)
    out.write(struct.pack("!h", -1))
    return out.getvalue()


def bench_copy(rows: int) -> None:
    import psycopg
    from common import sqlvec_server

    ids = np.arange(rows, dtype=np.int32)
    xs = np.random.default_rng(0).random(rows)
    texts = [f"row number {i}".encode() for i in range(rows)]
    binary = _binary_payload(ids, xs, texts)
    text = "".join(f"{i}\t{x!r}\t{t.decode()}\n" for i, x, t in zip(ids.tolist(), xs.tolist(), texts)).encode()
    with sqlvec_server() as srv, psycopg.connect(srv.dsn, autocommit=True) as conn:
        for fmt, payload in (("binary", binary), ("text", text)):
            conn.execute(f"create table c_{fmt} (a int4, b float8, c text)")
            t0 = time.perf_counter()
            with conn.cursor().copy(f"COPY c_{fmt} FROM STDIN (FORMAT {fmt.upper()})") as cp:
                for off in range(0, len(payload), 1 << 20):
                    cp.write(payload[off:off + (1 << 20)])
            dt = time.perf_counter() - t0
            got = conn.execute(f"select count(*), sum(a) from c_{fmt}").fetchone()
            assert got == (rows, int(ids.sum())), got
            print(f"COPY {fmt:6s} {rows} rows: {dt:6.2f} s, {rows / dt:9.0f} rows/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-copy", action="store_true")
    ap.add_argument("--skip-unique", action="store_true")
    args = ap.parse_args()
    if not args.skip_unique:
        bench_unique()
    if not args.skip_copy:
        bench_copy(args.rows)


if __name__ == "__main__":
    main()
