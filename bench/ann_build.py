"""Index build time: sqlvec CREATE INDEX ... USING hnsw vs usearch called directly vs pgvector.

    .venv/bin/python bench/ann_build.py [--n 100000] [--dim 128] [--m 16] [--efc 64] [--pgvector]
                                        [--repeat 3]

The same seeded clustered vectors as bench/ann.py. sqlvec loads them into a durable
database (Arrow batches through Transaction.bulk_load, as COPY does: full segments) and
builds the index with CREATE INDEX (one graph per sealed segment, saved beside the data;
50,000-row inserts used to leave a 384-d table in growing segments, indexed by one
float32 graph over the table instead). Each build is timed in
wall-clock seconds and in CPU seconds (all threads / processes: for pgvector the backend
plus the parallel workers the postmaster reaped), since on a shared box CPU time is the
fairer figure. Ratios are against pgvector when it runs (`pip install pgserver`).
--repeat N loads each database once and runs N rounds of sqlvec's CREATE INDEX then
pgvector's (the previous index dropped, untimed), so both see the same load; each round
is printed and the table gives the medians.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, every thread) of fn()."""
    w, c = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - w, _cpu() - c


def load_sqlvec(x: np.ndarray, tmp: str):
    """An autocommit connection to a durable sqlvec database holding the vectors in table
    items (id, emb), loaded as COPY loads them (full segment files)."""
    import sqlvec
    from sqlvec.catalog.catalog import Catalog

    con = sqlvec.connect(os.path.join(tmp, "sqlvec"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"create table items (id int, emb vector({x.shape[1]}))")
    db = con._session.db
    txn = db.store.begin()
    oid = Catalog(txn, db.store).relation("public", "items").oid
    txn.bulk_load(oid, (pa.record_batch([  # as COPY loads: full segment files
        pa.array(np.arange(s, min(len(x), s + 50_000), dtype=np.int32)),
        pa.FixedSizeListArray.from_arrays(pa.array(x[s:s + 50_000].reshape(-1)), x.shape[1]),
    ], names=["id", "emb"]) for s in range(0, len(x), 50_000)))
    txn.commit()
    return con


def open_sqlvec(x: np.ndarray, m: int, efc: int, tmp: str) -> tuple[Callable[[], tuple], Callable[[], None]]:
    """The vectors loaded into a durable sqlvec database; (build, close): build() runs
    CREATE INDEX (dropping the previous one first, untimed) -> (wall, cpu, notices)."""
    con = load_sqlvec(x, tmp)
    cur = con.cursor()

    def build() -> tuple[float, float, str]:
        cur.execute("drop index if exists items_emb_idx")
        con.notices.clear()
        wall, cpu = timed(lambda: cur.execute(
            f"create index items_emb_idx on items using hnsw (emb vector_l2_ops) "
            f"with (m = {m}, ef_construction = {efc})"))
        said = "; ".join(str(getattr(n, "message", n)) for n in con.notices)
        return wall, cpu, said
    return build, con.close


def build_usearch(x: np.ndarray, m: int, efc: int) -> tuple[float, float]:
    from usearch.index import Index

    idx = Index(ndim=x.shape[1], metric="l2sq", dtype="f32", connectivity=m, expansion_add=efc)
    return timed(lambda: idx.add(np.arange(len(x)), x, threads=0))


def open_pgvector(x: np.ndarray, m: int, efc: int, tmp: str
                  ) -> tuple[Callable[[], tuple], Callable[[], None]] | None:
    """pgvector's cluster (pgserver) with the vectors copied in; (build, close) as
    open_sqlvec, or None without pgserver."""
    try:
        import pgserver  # type: ignore[import-not-found]
        import psutil
    except ImportError:
        print("pgvector: `pip install pgserver` to compare (skipped)")
        return None
    import psycopg
    from pgvector.psycopg import register_vector

    srv = pgserver.get_server(os.path.join(tmp, "pg"), cleanup_mode="stop")
    pc = psycopg.connect(srv.get_uri(), autocommit=True)
    pc.execute("create extension if not exists vector")
    ver = pc.execute("select extversion from pg_extension where extname = 'vector'").fetchone()[0]
    register_vector(pc)
    pc.execute(f"create table items (id int, emb vector({x.shape[1]}))")
    with pc.cursor() as cur, cur.copy("copy items (id, emb) from stdin with (format binary)") as cp:
        cp.set_types(["int4", "vector"])
        for i in range(len(x)):
            cp.write_row((i, x[i]))
    pc.execute("set maintenance_work_mem = '2GB'")
    workers = pc.execute("show max_parallel_maintenance_workers").fetchone()[0]
    backend = psutil.Process(pc.execute("select pg_backend_pid()").fetchone()[0])
    postmaster = backend.parent()

    def cpu() -> float:
        b, p = backend.cpu_times(), postmaster.cpu_times()
        return b.user + b.system + p.children_user + p.children_system

    def build() -> tuple[float, float, str]:
        pc.execute("drop index if exists items_emb_idx")
        w, c = time.perf_counter(), cpu()
        pc.execute(f"create index items_emb_idx on items using hnsw (emb vector_l2_ops) "
                   f"with (m = {m}, ef_construction = {efc})")
        return time.perf_counter() - w, cpu() - c, f"pgvector {ver}, {workers} parallel workers"

    def close() -> None:
        pc.close()
        srv.cleanup()
    build.checkpoint = lambda: pc.execute("checkpoint")  # type: ignore[attr-defined]
    return build, close


def settle(pg: tuple | None) -> None:
    """Before a timed build: what the last step left dirty written out (PostgreSQL's shared
    buffers by CHECKPOINT, then the page cache), so that no build pays for the previous
    one's writes (pgvector's 100k x 384 graph and its WAL, ~0.4 GB, flushed in the
    background, cost the sqlvec build after it ~10% of its wall time here)."""
    if pg is not None:
        pg[0].checkpoint()
    os.sync()


def main() -> None:
    from ann import dataset

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=64)
    ap.add_argument("--pgvector", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of sqlvec CREATE INDEX then pgvector's, interleaved (one load "
                         "each); the table gives each round and the median")
    args = ap.parse_args()
    x, _q = dataset(args.n, args.dim, args.centres, 1)
    print(f"build {args.n:,} x {args.dim}, m={args.m}, ef_construction={args.efc}; "
          f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        sq_build, sq_close = open_sqlvec(x, args.m, args.efc, tmp)
        pg = open_pgvector(x, args.m, args.efc, tmp) if args.pgvector else None
        try:
            sq, pgr = [], []
            for r in range(args.repeat):
                settle(pg)
                sq.append(sq_build())
                if pg is not None:
                    settle(pg)
                    pgr.append(pg[0]())
                print(f"round {r + 1}: sqlvec {sq[-1][0]:.1f} s wall {sq[-1][1]:.1f} s cpu"
                      + (f", pgvector {pgr[-1][0]:.1f} / {pgr[-1][1]:.1f}; "
                         f"load average {os.getloadavg()[0]:.1f}" if pgr else ""), flush=True)
        finally:
            sq_close()
            if pg is not None:
                pg[1]()
        w, c = build_usearch(x, args.m, args.efc)

    def median(runs: list[tuple], name: str) -> tuple[str, float, float, str]:
        n = f" (median of {len(runs)})" if len(runs) > 1 else ""
        return (name + n, float(np.median([r[0] for r in runs])),
                float(np.median([r[1] for r in runs])), runs[-1][2])
    rows.append(median(sq, "sqlvec CREATE INDEX"))
    rows.append(("usearch direct (add, all threads)", w, c, ""))
    if pgr:
        rows.append(median(pgr, "pgvector CREATE INDEX"))
    ref = rows[-1] if pgr else None
    print(f"{'build':>34}  {'wall s':>7}  {'cpu s':>7}  {'pg/this wall':>12}  {'pg/this cpu':>11}  note")
    for name, w, c, note in rows:
        rw = f"{ref[1] / w:.2f}x" if ref else "-"
        rc = f"{ref[2] / c:.2f}x" if ref else "-"
        print(f"{name:>34}  {w:7.1f}  {c:7.1f}  {rw:>12}  {rc:>11}  {note[:90]}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
