"""Filtered top-k benchmark: `WHERE <predicate> ORDER BY emb <-> $1 LIMIT 10` at several
selectivities, sqlvec (embedded and over the wire) against pgvector's plans, same run.

    .venv/bin/python bench/ann_filtered.py [--n 100000] [--queries 200] [--sel 0.5,0.1,0.01,0.001]
                                           [--no-embedded] [--no-wire] [--pgvector] [--vary]

Data: bench/ann.py's seeded clustered set (100k x 128 by default, table items(id, cat, emb)
with cat = id % 1000), its cached database copied to a temporary folder (built there first
when missing). Selectivity s is `cat < 1000 s` (a fixed predicate: its passing set can be
cached between queries); --vary also runs `cat >= $2 AND cat < $3` with a window that moves
with every query (a new predicate each time: nothing cached).

Printed per (path, selectivity): queries short of k rows, recall@10 against the exact
filtered answer (numpy), QPS and CPU milliseconds per query (client process + server
process: the sqlvec server, or the PostgreSQL backend). pgvector (PyPI `pgserver`'s
binaries, hnsw m=16 ef_construction=64, hnsw.ef_search=40) runs two plans: its default
(the HNSW index scan, post-filtered: may come back short) and its exact plan
(`SET enable_indexscan = off`: sequential scan, filter, sort). pgvector 0.6.2 has no
iterative scan. BLAS threads are pinned to 1. Every path is open at once and each case
runs on each path in turn, so a shared machine's load changes hit them alike; a second
table gives sqlvec's QPS and CPU ratios against pgvector's exact plan, case by case.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
import ann  # noqa: E402
import ann_multi  # noqa: E402

from sqlvec.index.exact import exact_search  # noqa: E402

SQL_FIXED = "select id from items where cat < %s order by emb <-> %s limit 10"
SQL_VARY = "select id from items where cat >= %s and cat < %s order by emb <-> %s limit 10"
ROWS: list[list[object]] = []


def cases(n: int, sels: list[float], nq: int, vary: bool) -> list[tuple[str, float, list]]:
    """(label, selectivity, [(params without the vector, passing ids)] per query)."""
    cats = np.arange(n) % 1000
    out = []
    for s in sels:
        width = max(1, int(round(s * 1000)))
        ids = np.flatnonzero(cats < width)
        out.append(("fixed", s, [((width,), ids)] * nq))
        if vary:
            per = []
            for i in range(nq):
                lo = (i * 37) % (1000 - width + 1)
                per.append(((lo, lo + width), np.flatnonzero((cats >= lo) & (cats < lo + width))))
            out.append(("vary", s, per))
    return out


def truth(x: np.ndarray, q: np.ndarray, per: list) -> np.ndarray:
    want = np.full((len(per), 10), -1, np.int64)
    for i, (_p, ids) in enumerate(per):
        k, _ = exact_search(np, x[ids], ids, q[i:i + 1], 10, "l2")
        want[i] = k[0]
    return want


def measure(label: str, execute, q: np.ndarray, case: tuple, want: np.ndarray, cpu) -> None:
    mode, s, per = case
    sql = SQL_FIXED if mode == "fixed" else SQL_VARY
    execute(sql, (*per[0][0], q[0]))  # warm: plan, passing set, index views
    got = np.full((len(per), 10), -1, np.int64)
    short = 0
    c0, t0 = cpu(), time.perf_counter()
    for i, (params, _ids) in enumerate(per):
        r = execute(sql, (*params, q[i]))
        short += len(r) < 10
        got[i, :len(r)] = r[:10]
    wall, used = time.perf_counter() - t0, cpu() - c0
    ROWS.append([label, f"{s:.1%}", mode, short, ann.recall(got, want), len(per) / wall,
                 used / len(per) * 1e3])


def open_data(args, x: np.ndarray, tmp: str) -> str:
    """A private copy of bench/ann.py's cached database (built there when missing)."""
    tag = f"{args.n}x{args.dim}_c{args.centres}_q{args.cache_queries}_m16_efc64"
    src = ann.CACHE / f"db_{tag}"
    dst = os.path.join(tmp, "db")
    os.makedirs(tmp, exist_ok=True)
    if os.path.exists(os.path.join(src, "READY")):
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("LOCK"))
        return dst
    con, cur = ann.load_sql(x, dst)
    t0 = time.perf_counter()
    cur.execute("create index on items using hnsw (emb vector_l2_ops) "
                "with (m = 16, ef_construction = 64)")
    print(f"sqlvec CREATE INDEX: {time.perf_counter() - t0:.1f}s")
    con.close()
    return dst


def embedded(stack: contextlib.ExitStack, data: str) -> tuple:
    """(label, execute, cpu, query vectors as it takes them) for the embedded API."""
    import sqlvec

    con = sqlvec.connect(data)
    stack.callback(con.close)
    con.autocommit = True
    cur = con.cursor()
    cur.execute("set hnsw.ef_search = 40")

    def execute(sql, params):
        cur.execute(sql, params)
        return [r[0] for r in cur.fetchall()]
    return "sqlvec embedded", execute, time.process_time, "list"


def wire(stack: contextlib.ExitStack, data: str) -> tuple:
    """(label, execute, cpu, query form) for psycopg (binary, prepared) to `sqlvec serve`."""
    import psycopg
    from pgvector.psycopg import register_vector

    from tests.conftest import start_server

    tmp = stack.enter_context(tempfile.TemporaryDirectory())
    srv = start_server(data, Path(tmp) / "server.log")
    stack.callback(srv.stop)
    pc = stack.enter_context(psycopg.connect(srv.dsn, autocommit=True))
    register_vector(pc)
    pc.execute("set hnsw.ef_search = 40")
    cur = pc.cursor(binary=True)

    def execute(sql, params):
        return [r[0] for r in cur.execute(sql, params, prepare=True)]
    return "sqlvec wire", execute, ann_multi._server_cpu(srv.proc.pid), "array"


def pgvector(stack: contextlib.ExitStack, x: np.ndarray) -> list[tuple]:
    """Its default and exact plans, each on its own connection (a prepared statement keeps
    the plan it was made with); [] when pgserver is not installed."""
    try:
        import psycopg
        from pgvector.psycopg import register_vector
        server = ann_multi.PgvectorServer(tempfile.mkdtemp(prefix="pgvector-"), port=55433)
    except ImportError:
        print("pgvector: `pip install pgserver` to compare (skipped)")
        return []
    stack.enter_context(server)
    with psycopg.connect(server.dsn, autocommit=True) as pc:
        t0 = time.perf_counter()
        ann_multi.load_items(pc, x)
        pc.execute("set maintenance_work_mem = '2GB'")
        pc.execute("create index on items using hnsw (emb vector_l2_ops) "
                   "with (m = 16, ef_construction = 64)")
        pc.execute("analyze items")
        print(f"pgvector load + hnsw build: {time.perf_counter() - t0:.1f}s")
    out = []
    for plan, setting in (("default plan", "on"), ("exact plan", "off")):
        pc = stack.enter_context(psycopg.connect(server.dsn, autocommit=True))
        register_vector(pc)
        pc.execute("set hnsw.ef_search = 40")
        pc.execute(f"set enable_indexscan = {setting}")
        pid = pc.execute("select pg_backend_pid()").fetchone()[0]
        cur = pc.cursor(binary=True)

        def execute(sql, params, cur=cur):
            return [r[0] for r in cur.execute(sql, params, prepare=True)]

        def shown(case, pc=pc):
            mode, _s, per = case
            sql = SQL_FIXED if mode == "fixed" else SQL_VARY
            got = pc.execute("explain (costs off) " + sql.replace("%s", "{}").format(
                *per[0][0], "'" + ann_multi._vec_text(q_first[0]) + "'")).fetchall()
            return got[1 if "Limit" in got[0][0] else 0][0].strip()[:24]
        out.append((f"pgvector {plan}", execute, ann_multi._server_cpu(pid), "array", shown))
    return out


q_first: list = []


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--cache-queries", type=int, default=1000,
                    help="query count in the name of bench/ann.py's cached database")
    ap.add_argument("--sel", type=lambda s: [float(v) for v in s.split(",")],
                    default=[0.5, 0.1, 0.01, 0.001])
    ap.add_argument("--vary", action="store_true", help="also a predicate that changes per query")
    ap.add_argument("--no-embedded", action="store_true")
    ap.add_argument("--no-wire", action="store_true")
    ap.add_argument("--pgvector", action="store_true")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    load0 = os.getloadavg()[0]

    x, q = ann.dataset(args.n, args.dim, args.centres, args.queries, seed=42)
    q_first.append(q[0])
    todo = [(c, truth(x, q, c[2])) for c in cases(args.n, args.sel, args.queries, args.vary)]
    ql = [[float(v) for v in qq] for qq in q]  # the DB-API takes a list for a vector
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(limits=1), \
            contextlib.ExitStack() as stack:
        paths = []  # all open at once, each case measured on each in turn (same load)
        data = open_data(args, x, os.path.join(tmp, "e"))
        if not args.no_wire:  # (the server's own copy)
            shutil.copytree(data, os.path.join(tmp, "w"), ignore=shutil.ignore_patterns("LOCK"))
        if not args.no_embedded:
            paths.append(embedded(stack, data))
        if not args.no_wire:
            paths.append(wire(stack, os.path.join(tmp, "w")))
        if args.pgvector:
            paths += pgvector(stack, x)
        for case, want in todo:
            for label, execute, cpu, form, *shown in paths:
                measure(label, execute, ql if form == "list" else q, case, want, cpu)
                if shown:
                    ROWS[-1][0] += f" ({shown[0](case)})"
    print(f"{args.n:,} x {args.dim}, {args.queries} queries, k=10, hnsw.ef_search=40; "
          f"load average {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end")
    ann.print_table(["path", "selectivity", "predicate", "short of k", "recall@10", "QPS",
                     "CPU ms/query"], ROWS)
    ratios = ratio_rows(ROWS)
    if ratios:
        print("\nagainst pgvector's exact plan (its correct one), same run: QPS ratio and "
              "CPU ratio (pgvector CPU / sqlvec CPU per query)")
        ann.print_table(["path", "selectivity", "predicate", "QPS ratio", "CPU ratio"], ratios)


def ratio_rows(rows: list[list[object]]) -> list[list[object]]:
    """sqlvec's rows over pgvector's exact plan's at the same selectivity and predicate."""
    exact = {(r[1], r[2]): r for r in rows if str(r[0]).startswith("pgvector exact plan")}
    out = []
    for r in rows:
        pg = exact.get((r[1], r[2]))
        if pg is not None and str(r[0]).startswith("sqlvec"):
            out.append([r[0], r[1], r[2], f"{r[5] / pg[5]:.1f}x", f"{pg[6] / r[6]:.1f}x"])
    return out


if __name__ == "__main__":
    main()
