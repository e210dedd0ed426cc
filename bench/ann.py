"""ANN benchmark: recall@10 and QPS of sqlvec's HNSW vs usearch called directly, and via SQL.

    .venv/bin/python bench/ann.py [--n 100000] [--dim 128] [--queries 1000] [--ef 10,20,40,80,160]
                                  [--no-sql] [--wire] [--clients 8] [--filtered] [--pgvector]
                                  [--milvus] [--multi 100] [--multi-ef 40]
                                  [--recall-levels 0.9,0.95,0.98,0.99]
                                  [--quantizer default,f32,bf16:2,i8 [--only-quantizer]]

The two data sets of issue 5, each with its own cache entries (tags carry n x dim, the
centres and the query count):

    .venv/bin/python bench/ann.py --wire --pgvector --clients 8 --multi 0              # 100k x 128
    .venv/bin/python bench/ann.py --dim 384 --queries 500 --wire --pgvector --clients 8 --multi 0
    .venv/bin/python bench/ann.py --copy-only --pgvector   # binary and text COPY, both peers

Data: a seeded Gaussian mixture (1,000 centres; each cluster spreads along a 16-dim
random subspace, plus small isotropic noise, as text embeddings do) and the queries from
the same mixture, drawn 8,192 rows at a time. Exact ground truth (numpy, queries in chunks
inside exact_search) is cached under bench/.cache (gitignored), and so is the embedded
database with its index (the first run loads it and builds the index).

For every hnsw.ef_search in the sweep it prints recall@10 and queries/s for
  - sqlvec's hnsw index kind (sqlvec.index), batched and one query per call,
  - usearch called directly with the same M / ef_construction / ef (the ceiling): its
    Python API (`Index.search`), and one query per call of the compiled search below it
    (`Index._compiled.search_many`, what sqlvec's per-query path calls: no result objects),
  - SQL through the embedded API (`ORDER BY emb <-> $1 LIMIT 10`, one client),
  - SQL over the wire with psycopg against `sqlvec serve` (--wire), one client and
    --clients connections in threads,
  - PostgreSQL + pgvector (--pgvector, the `pgserver` wheel) through the same psycopg
    drivers, one client and --clients (QPS per CPU second: its backends' CPU summed),
and filtered SQL queries at 10% and 1% selectivity (--filtered; over the wire too with
--wire; the paths in turn, --rounds times): rows returned, recall against the exact
filtered answer, QPS. Build times and load time are printed too.
Then the ratios: per ef_search, and at equal recall (bench/ann_equal.py): for each recall
level the QPS each path reaches there, interpolated between the two sweep points that
bracket it, and embedded / usearch, wire / pgvector (1 and --clients clients).
--quantizer adds the graph storage frontier: one cached database per setting ('default':
no option, this checkout's default; f32 / f16 / bf16 / i8: WITH (quantizer = ...);
'bf16:2' adds rerank = 2), recall and QPS through the embedded API per ef_search, the
settings interleaved, and the QPS each setting reaches at each recall level.
--multi N (default 100) adds the multi-target table (bench/ann_multi.py): N query vectors
in one `CROSS JOIN LATERAL` statement vs N single statements (embedded, wire, pgvector),
and --milvus adds Milvus Lite as a peer (single searches, and one search call of N vectors).
All query paths are opened first (the wire server on a copy of the cached database,
pgvector loaded and indexed), then each ef_search runs on each path in turn, so load
changes on a shared machine hit every path alike; the multi-target and filtered tables
run after the sweep. BLAS threads are pinned to 1; searches run single-threaded; builds
use all cores.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
CACHE = REPO / "bench" / ".cache"

from sqlvec.index.exact import exact_search  # noqa: E402
from sqlvec.index.hnsw import HnswKind, HnswOptions, HnswParams  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import ann_equal  # noqa: E402
import ann_multi  # noqa: E402
import common  # noqa: E402


def dataset(
    n: int, dim: int, centres: int, nq: int, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded Gaussian mixture: points and queries (queries drawn like the points)."""
    rng = np.random.default_rng(seed)
    c = rng.standard_normal((centres, dim)).astype(np.float32)
    basis = rng.standard_normal((centres, 16, dim)).astype(np.float32) / 4.0

    def draw(m: int) -> np.ndarray:
        lab = rng.integers(0, centres, m)
        z = rng.standard_normal((m, 16)).astype(np.float32)
        pts = np.empty((m, dim), np.float32)
        for s in range(0, m, 8192):  # basis[lab] of all rows at once: 2.4 GB at 100k x 384
            e = min(m, s + 8192)
            pts[s:e] = c[lab[s:e]] + np.einsum("mk,mkd->md", z[s:e], basis[lab[s:e]])
        return (pts + 0.05 * rng.standard_normal((m, dim))).astype(np.float32)

    return draw(n), draw(nq)


def ground_truth(x: np.ndarray, q: np.ndarray, k: int, tag: str) -> np.ndarray:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"gt_{tag}_k{k}.npy"
    if path.exists():
        return np.load(path)
    keys, _ = exact_search(np, x, np.arange(len(x)), q, k, "l2")
    np.save(path, keys)
    return keys


def recall(got: np.ndarray, want: np.ndarray) -> float:
    k = want.shape[1]
    hits = sum(len(set(g[:k].tolist()) & set(w.tolist())) for g, w in zip(got, want))
    return hits / want.size


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) a process has used: /proc/<pid>/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def timed(fn) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def print_table(headers: list[str], rows: list[list[object]]) -> None:
    cells = [[str(h) for h in headers]] + [
        [
            f"{c:.4f}"
            if isinstance(c, float) and c < 10
            else (f"{c:,.0f}" if isinstance(c, float) else str(c))
            for c in r
        ]
        for r in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for i, r in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(r, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def bench_index(x, q, gt, args, rows):
    """sqlvec's hnsw index kind and usearch, batched (and sqlvec's index one query per call)
    per ef; returns the usearch index for usearch_one's rows, which run interleaved with
    the SQL paths."""
    from usearch.index import Index

    opts = HnswOptions(m=args.m, ef_construction=args.efc)
    ours, t_ours = timed(lambda: HnswKind().build(x, np.arange(len(x)), opts, metric="l2"))
    direct = Index(ndim=x.shape[1], metric="l2sq", dtype="f32", connectivity=args.m,
                   expansion_add=args.efc)
    _, t_direct = timed(lambda: direct.add(np.arange(len(x)), x))
    print(f"build: sqlvec hnsw {t_ours:.1f}s, usearch direct {t_direct:.1f}s "
          f"({len(x):,} x {x.shape[1]}, m={args.m}, ef_construction={args.efc})")
    one = np.empty((len(q), 10), np.int64)
    for ef in args.ef:
        params = HnswParams(ef_search=ef)
        t0, c0 = time.perf_counter(), time.process_time()
        keys, _ = ours.search(q, 10, params)
        rows.append(["sqlvec index, batched", ef, recall(keys, gt), *_qps(len(q), t0, c0)])
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(len(q)):
            one[i] = ours.search(q[i:i + 1], 10, params)[0][0]
        rows.append(["sqlvec index, 1 query/call", ef, recall(one, gt), *_qps(len(q), t0, c0)])
        direct.expansion_search = ef
        t0, c0 = time.perf_counter(), time.process_time()
        res = direct.search(q, 10, threads=1)
        rows.append(["usearch direct, batched", ef, recall(np.asarray(res.keys, np.int64), gt),
                     *_qps(len(q), t0, c0)])
    return direct


def _qps(n: int, t0: float, c0: float) -> list[float]:
    """[QPS, QPS per CPU second of this process] of n queries since (t0, c0)."""
    return [n / (time.perf_counter() - t0), n / (time.process_time() - c0)]


def usearch_one(direct, q: np.ndarray, gt: np.ndarray, ef: int, rows) -> None:
    """usearch one query per call at one ef: its Python API, then the compiled search below
    it (Index._compiled.search_many, what sqlvec's per-query path calls)."""
    one = np.full((len(q), 10), -1, np.int64)
    direct.expansion_search = ef
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(len(q)):
        one[i] = np.asarray(direct.search(q[i], 10, threads=1).keys, np.int64)[:10]
    rows.append(["usearch direct, 1 query/call", ef, recall(one, gt), *_qps(len(q), t0, c0)])
    compiled = getattr(direct, "_compiled", None)
    if compiled is not None and hasattr(compiled, "search_many"):
        one[:] = -1
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(len(q)):
            out = compiled.search_many(q[i:i + 1], count=10, exact=False, threads=1)
            one[i, :int(out[2][0])] = out[0][0, :int(out[2][0])]
        rows.append(["usearch compiled, 1 query/call", ef, recall(one, gt),
                     *_qps(len(q), t0, c0)])


def load_sql(x: np.ndarray, path: str | None):
    """An embedded database with table items(id, cat, emb vector(dim)), loaded as COPY
    loads (Transaction.bulk_load: straight to full segment files). Before, 50,000-row
    inserts left a 100k x 384 table in two growing segments, which get no per-segment
    (bfloat16) graphs but one float32 graph over the table: not what a COPY gives."""
    import sqlvec
    from sqlvec.catalog.catalog import Catalog

    con = sqlvec.connect(path or ":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"create table items (id int, cat int, emb vector({x.shape[1]}))")
    db = con._session.db
    n = len(x)
    t0 = time.perf_counter()
    txn = db.store.begin()
    oid = Catalog(txn, db.store).relation("public", "items").oid
    txn.bulk_load(oid, (pa.record_batch([
        pa.array(np.arange(s, min(n, s + 50_000), dtype=np.int32)),
        pa.array((np.arange(s, min(n, s + 50_000)) % 1000).astype(np.int32)),
        pa.FixedSizeListArray.from_arrays(pa.array(x[s:s + 50_000].reshape(-1)), x.shape[1]),
    ], names=["id", "cat", "emb"]) for s in range(0, n, 50_000)))
    txn.commit()
    print(f"load (Arrow batches, Transaction.bulk_load as COPY): {time.perf_counter() - t0:.2f}s")
    return con, cur


def sql_sweep(execute, ql, gt, label, efs, rows, cpu=time.process_time) -> None:
    """One client: every query through `execute(vector) -> ids`, per ef_search. `cpu()`:
    CPU seconds of the processes doing the work (this one, plus a server's), for the
    QPS (CPU) column: queries per CPU second, what a loaded machine does not distort."""
    got = np.full((len(ql), 10), -1, np.int64)
    for ef in efs:
        execute(None, ef)
        t0, c0 = time.perf_counter(), cpu()
        for i, v in enumerate(ql):
            ids = execute(v, ef)
            got[i, :len(ids)] = ids
        wall, used = time.perf_counter() - t0, cpu() - c0
        rows.append([label, ef, recall(got, gt), len(ql) / wall, len(ql) / used])


def open_embedded(stack, x, q, gt, args, rows, tag: str):
    """SQL through the embedded API on a durable database cached under bench/.cache: the
    first run loads it and builds the index (saved beside the data), later runs reopen it
    (the index as a memory-mapped view). Returns (data folder, cursor, sweep step)."""
    import shutil

    import sqlvec

    data = str(CACHE / f"db_{tag}_m{args.m}_efc{args.efc}")
    if not os.path.exists(os.path.join(data, "READY")):
        shutil.rmtree(data, ignore_errors=True)
        con, cur = load_sql(x, data)
        t0 = time.perf_counter()
        cur.execute(f"create index on items using hnsw (emb vector_l2_ops) "
                    f"with (m = {args.m}, ef_construction = {args.efc})")
        print(f"SQL CREATE INDEX ... USING hnsw (builds it): {time.perf_counter() - t0:.1f}s")
        first = "index already built"
    else:
        con = sqlvec.connect(data)
        con.autocommit = True
        cur = con.cursor()
        first = "opens the saved index as a view"
    stack.callback(con.close)
    ql = [[float(v) for v in qq] for qq in q]
    sql = "select id from items order by emb <-> %s limit 10"
    t0 = time.perf_counter()
    cur.execute(sql, (ql[0],))
    cur.fetchall()
    print(f"SQL first query ({first}): {time.perf_counter() - t0:.1f}s")
    open(os.path.join(data, "READY"), "w").close()

    def execute(v, ef):
        if v is None:
            cur.execute(f"set hnsw.ef_search = {ef}")
            return []
        cur.execute(sql, (v,))
        return [r[0] for r in cur.fetchall()]
    return data, cur, lambda ef: sql_sweep(execute, ql, gt, "SQL embedded, 1 client", [ef], rows)


WARM = 5  # untimed queries of each filtered statement before its timed ones


def filtered_sweep(execute, x, q, rows, label: str) -> None:
    """Top-10 queries at 10% and 1% selectivity (`cat < 100`, `cat < 10`) through
    `execute(sql, i) -> ids` (query i), hnsw.ef_search 40: rows short of k, recall against
    the exact filtered answer, QPS. Each path runs WARM untimed queries of each statement
    first (for every path alike: the prepare, sqlvec's passing set, a plan's first run), so
    the figure is the steady state, not a first query spread over 200."""
    cats = np.arange(len(x)) % 1000
    nq = min(len(q), 200)
    for frac, where in ((0.1, "cat < 100"), (0.01, "cat < 10")):
        ids = np.flatnonzero(cats < int(frac * 1000))
        want, _ = exact_search(np, x[ids], ids, q[:nq], 10, "l2")
        got = np.full((nq, 10), -1, np.int64)
        short = 0
        sql = f"select id from items where {where} order by emb <-> %s limit 10"
        for i in range(WARM):  # (queries outside the timed ones where there are more)
            execute(sql, min(len(q) - 1, nq + i))
        t0 = time.perf_counter()
        for i in range(nq):
            r = execute(sql, i)
            short += len(r) < 10
            got[i, :len(r)] = r
        rows.append([f"{label} {frac:.0%} (short of k: {short})", 40, recall(got, want),
                     nq / (time.perf_counter() - t0)])


def embedded_filtered(cur, q):
    """`execute(sql, i) -> ids` of filtered_sweep through the embedded API (a list of
    floats a query), hnsw.ef_search 40."""
    cur.execute("set hnsw.ef_search = 40")
    ql = [[float(v) for v in qq] for qq in q]

    def execute(sql: str, i: int) -> list:
        cur.execute(sql, (ql[i],))
        return [row[0] for row in cur.fetchall()]
    return execute


def filtered_rounds(paths: list, x, q, rows, rounds: int) -> None:
    """filtered_sweep of each (label, execute) path in turn, `rounds` times (the medians
    are reported: a change of the box's speed hits every path alike)."""
    for _round in range(rounds):
        for label, execute in paths:
            filtered_sweep(execute, x, q, rows, label)


def wire_execute(pc, sql: str):
    """`execute(vector, ef) -> ids` over a psycopg connection: the statement binary and
    prepared; a None vector sets hnsw.ef_search = ef (sql_sweep's protocol)."""
    cur = pc.cursor(binary=True)

    def execute(v, ef):
        if v is None:
            pc.execute(f"set hnsw.ef_search = {ef}")
            return []
        return [r[0] for r in cur.execute(sql, (v,), prepare=True)]
    return execute


def open_wire(stack, data: str, q, gt, args, rows):
    """`sqlvec serve` on a copy of the cached database (the embedded connection holds the
    original), psycopg binary and prepared. Returns (connection, server pid, sweep steps:
    one client, then --clients connections)."""
    import shutil

    import psycopg
    from pgvector.psycopg import register_vector

    from tests.conftest import start_server

    tmp = stack.enter_context(tempfile.TemporaryDirectory())
    shutil.copytree(data, os.path.join(tmp, "data"), ignore=shutil.ignore_patterns("LOCK"))
    srv = start_server(os.path.join(tmp, "data"), Path(tmp) / "server.log")
    stack.callback(srv.stop)
    pc = stack.enter_context(psycopg.connect(srv.dsn, autocommit=True))
    register_vector(pc)
    sql = "select id from items order by emb <-> %s limit 10"
    t0 = time.perf_counter()
    pc.execute(sql, (q[0],)).fetchall()
    print(f"wire first query (server opens the saved index): {time.perf_counter() - t0:.1f}s")
    execute = wire_execute(pc, sql)
    pid = srv.proc.pid
    steps = [lambda ef: sql_sweep(execute, list(q), gt, "SQL wire psycopg binary, 1 client", [ef],
                                  rows, cpu=lambda: time.process_time() + proc_cpu(pid))]
    if args.clients > 1:
        steps.append(lambda ef: concurrent(srv.dsn, q, gt, args, rows, "SQL wire psycopg binary",
                                           lambda _conns: proc_cpu(pid), [ef]))
    return pc, pid, steps


def concurrent(dsn: str, q: np.ndarray, gt: np.ndarray, args, rows, label: str,
               server_cpu, efs: list[int]) -> None:
    """`--clients` psycopg connections (binary, prepared) in threads of this process, the
    queries split between them, per ef_search. `server_cpu(conns)`: CPU seconds used so far
    by the server side of those connections (sqlvec: its server process, all threads;
    PostgreSQL: the backends of the connections, summed), added to this process's for the
    QPS (CPU) column. Every connection runs one query before the clock starts (prepare)."""
    import threading

    import psycopg
    from pgvector.psycopg import register_vector

    sql = "select id from items order by emb <-> %s limit 10"
    for ef in efs:
        got = np.full((len(q), 10), -1, np.int64)
        conns = []
        for _ in range(args.clients):
            c = psycopg.connect(dsn, autocommit=True)
            register_vector(c)
            c.execute(f"set hnsw.ef_search = {ef}")
            c.cursor(binary=True).execute(sql, (q[0],), prepare=True).fetchall()
            conns.append(c)

        def work(c, part, got=got) -> None:
            with c.cursor(binary=True) as cur:
                for i in part:
                    ids = [r[0] for r in cur.execute(sql, (q[i],), prepare=True)]
                    got[i, :len(ids)] = ids
        parts = np.array_split(np.arange(len(q)), args.clients)
        threads = [threading.Thread(target=work, args=(c, part)) for c, part in zip(conns, parts)]
        t0, c0 = time.perf_counter(), time.process_time() + server_cpu(conns)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        used = time.process_time() + server_cpu(conns) - c0
        rows.append([f"{label}, {args.clients} clients", ef, recall(got, gt), len(q) / wall,
                     len(q) / used])
        for c in conns:
            c.close()


def backends_cpu(conns) -> float:
    """CPU seconds of the PostgreSQL backends serving psycopg connections, summed."""
    return sum(proc_cpu(c.info.backend_pid) for c in conns)


LOADS: dict[str, list[float]] = {}  # "COPY" / "CREATE INDEX" -> [sqlvec wall, CPU, pg wall, CPU]


def timed_cpu(fn, cpu) -> tuple[float, float]:
    """(wall seconds, CPU seconds by `cpu()`) of fn()."""
    t0, c0 = time.perf_counter(), cpu()
    fn()
    return time.perf_counter() - t0, cpu() - c0


def copy_and_build(pc, x: np.ndarray, args, cpu, slot: int) -> None:
    """One binary COPY of items and its CREATE INDEX ... USING hnsw, timed into LOADS[.][slot:]."""
    LOADS.setdefault("COPY (binary, psycopg)", [float("nan")] * 4)[slot:slot + 2] = timed_cpu(
        lambda: ann_multi.copy_items(pc, x), cpu)
    LOADS.setdefault("CREATE INDEX hnsw", [float("nan")] * 4)[slot:slot + 2] = timed_cpu(
        lambda: pc.execute(f"create index on items using hnsw (emb vector_l2_ops) "
                           f"with (m = {args.m}, ef_construction = {args.efc})"), cpu)


def bench_sqlvec_load(x: np.ndarray, args) -> None:
    """sqlvec's side of the load table: a fresh `sqlvec serve` on a temporary folder, the
    same COPY and CREATE INDEX statements as pgvector's; CPU: the server (all threads) plus
    this client process."""
    import psycopg

    from tests.conftest import start_server

    with tempfile.TemporaryDirectory() as tmp:
        srv = start_server(str(Path(tmp) / "data"), Path(tmp) / "server.log")
        try:
            with psycopg.connect(srv.dsn, autocommit=True) as pc:
                pc.execute("create extension if not exists vector")
                pid = srv.proc.pid
                copy_and_build(pc, x, args, lambda: time.process_time() + proc_cpu(pid), 0)
        finally:
            srv.stop()


def _text_payload(x: np.ndarray) -> list[bytes]:
    """Text COPY lines `id<TAB>id % 1000<TAB>[v,...]` (shortest float32 digits, as
    pgvector prints), 8192 rows a piece."""
    out = []
    for s in range(0, len(x), 8192):
        ids = np.arange(s, s + len(x[s:s + 8192]))
        vecs = np.char.add(np.char.add("[", [",".join(r) for r in
                                            x[s:s + 8192].astype(str).tolist()]), "]")
        lines = [f"{i}\t{i % 1000}\t{v}\n" for i, v in zip(ids.tolist(), vecs.tolist())]
        out.append("".join(lines).encode())
    return out


def copy_text_items(pc, payload: list[bytes], dim: int) -> None:
    pc.execute(f"create table items_text (id int, cat int, emb vector({dim}))")
    with pc.cursor() as cur, cur.copy("copy items_text (id, cat, emb) from stdin") as cp:
        for piece in payload:
            cp.write(piece)


def copy_only(x: np.ndarray, args) -> None:
    """--copy-only: binary and text COPY of items into a fresh `sqlvec serve` and (with
    --pgvector) PostgreSQL + pgvector, same payloads, into the load table; nothing else."""
    import shutil

    import psycopg

    from tests.conftest import start_server

    text = _text_payload(x)
    dim = x.shape[1]
    with tempfile.TemporaryDirectory() as tmp:
        srv = start_server(str(Path(tmp) / "data"), Path(tmp) / "server.log")
        try:
            with psycopg.connect(srv.dsn, autocommit=True) as pc:
                pc.execute("create extension if not exists vector")
                cpu = lambda: time.process_time() + proc_cpu(srv.proc.pid)  # noqa: E731
                LOADS.setdefault("COPY (binary, psycopg)", [float("nan")] * 4)[0:2] = \
                    timed_cpu(lambda: ann_multi.copy_items(pc, x), cpu)
                LOADS.setdefault("COPY (text, psycopg)", [float("nan")] * 4)[0:2] = \
                    timed_cpu(lambda: copy_text_items(pc, text, dim), cpu)
        finally:
            srv.stop()
    if args.pgvector:
        tmp = tempfile.mkdtemp(prefix="pgvector-")
        try:
            with ann_multi.PgvectorServer(tmp, port=free_port(), shared_buffers="1GB") as pg, \
                    psycopg.connect(pg.dsn, autocommit=True) as pc:
                pc.execute("create extension if not exists vector")
                post = common.postmaster_pid(pc)
                cpu = lambda: time.process_time() + common.tree_cpu(post)  # noqa: E731
                LOADS["COPY (binary, psycopg)"][2:4] = timed_cpu(
                    lambda: ann_multi.copy_items(pc, x), cpu)
                LOADS["COPY (text, psycopg)"][2:4] = timed_cpu(
                    lambda: copy_text_items(pc, text, dim), cpu)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print_loads()
    print(f"load average {os.getloadavg()[0]:.1f}")


def print_loads() -> None:
    if not LOADS:
        return
    out = []
    for what, (sw, sc, pw, pcpu) in LOADS.items():
        out.append([what, *(f"{v:.2f}" for v in (sw, sc, pw, pcpu)), f"{pw / sw:.2f}x",
                    f"{pcpu / sc:.2f}x"])
    print("\nload and index build, same run (seconds; CPU: server process / PostgreSQL's "
          "postmaster tree, plus the client)")
    print_table(["step", "sqlvec", "CPU", "pgvector", "CPU", "pg/sqlvec", "(CPU)"], out)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def open_pgvector(stack, x, q, gt, args, rows):
    """The same data, index and queries on PostgreSQL + pgvector (the PyPI `pgserver`
    package's binaries, started by ann_multi.PgvectorServer with shared_buffers of 1 GB so
    the table and its index stay in PostgreSQL's cache), through psycopg with pgvector's
    adapter, binary; sqlvec's COPY and CREATE INDEX first (bench_sqlvec_load). Returns
    (connection, backend pid, sweep steps), or None without pgserver."""
    try:
        import pgserver  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        print("pgvector: `pip install pgserver` to compare (skipped)")
        return None
    import shutil

    import psycopg
    from pgvector.psycopg import register_vector

    bench_sqlvec_load(x, args)
    tmp = tempfile.mkdtemp(prefix="pgvector-")
    stack.callback(shutil.rmtree, tmp, ignore_errors=True)
    srv = stack.enter_context(ann_multi.PgvectorServer(tmp, port=free_port(),
                                                       shared_buffers="1GB"))
    pc = stack.enter_context(psycopg.connect(srv.dsn, autocommit=True))
    pc.execute("create extension if not exists vector")
    ver = pc.execute("select extversion from pg_extension where extname = 'vector'")
    print(f"pgvector {ver.fetchone()[0]} on PostgreSQL {pc.info.server_version}")
    pc.execute("set maintenance_work_mem = '2GB'")
    post = common.postmaster_pid(pc)
    copy_and_build(pc, x, args, lambda: time.process_time() + common.tree_cpu(post), 2)
    pc.execute("analyze items")
    register_vector(pc)
    sql = "select id from items order by emb <-> %s limit 10"
    execute = wire_execute(pc, sql)
    backend = pc.info.backend_pid
    steps = [lambda ef: sql_sweep(execute, list(q), gt, "pgvector psycopg binary, 1 client",
                                  [ef], rows, cpu=lambda: time.process_time() + proc_cpu(backend))]
    if args.clients > 1:
        steps.append(lambda ef: concurrent(srv.dsn, q, gt, args, rows, "pgvector psycopg binary",
                                           backends_cpu, [ef]))
    return pc, backend, steps


def wire_filtered(pc, q):
    """`execute(sql, i) -> ids` of filtered_sweep over a psycopg connection (binary,
    prepared), hnsw.ef_search 40."""
    cur = pc.cursor(binary=True)
    pc.execute("set hnsw.ef_search = 40")
    return lambda sql, i: [row[0] for row in cur.execute(sql, (q[i],), prepare=True)]


def pgvector_filtered(pc, x, q, rows) -> tuple:
    """pgvector's default plan (HNSW index scan, then the filter) at 10% and 1%, measured
    now, and its correct plan to measure with the others: a btree on `cat` and index scans
    off, so the passing rows are read by a bitmap scan and sorted exactly (sqlvec needs no
    such index). Returns (label, execute) of the correct plan and its clean-up."""
    run = wire_filtered(pc, q)
    filtered_sweep(run, x, q, rows, "pgvector filtered")
    pc.execute("create index if not exists items_cat on items (cat)")
    pc.execute("analyze items")
    pc.execute("set enable_indexscan = off")

    def undo() -> None:
        pc.execute("reset enable_indexscan")
        pc.execute("drop index items_cat")
    # (a statement of its own: a cached generic plan would keep the index)
    return ("pgvector exact plan", lambda sql, i: run(sql + " -- exact", i)), undo


def print_ratios(rows: list[list[object]], args) -> None:
    """Issue 5's ratios per ef_search, one client, one query per call: embedded / usearch
    direct (target >= 0.5), wire / usearch, and wire / pgvector (target >= 1.5 at equal
    recall; pgvector runs one client here) where both ran."""
    by = {(str(r[0]), r[1]): r for r in rows}
    out = []
    for ef in args.ef:
        def qps(label: str, ef: int = ef, col: int = 3) -> float | None:
            r = by.get((label, ef))
            v = r[col] if r is not None and len(r) > col else None
            return float(v) if isinstance(v, float) else None
        labels = ("usearch direct, 1 query/call", "SQL embedded, 1 client",
                  "SQL wire psycopg binary, 1 client", "pgvector psycopg binary, 1 client")
        u, e, w1, pg = (qps(lb) for lb in labels)
        uc, ec, w1c, pgc = (qps(lb, col=4) for lb in labels)

        def ratio(a: float | None, b: float | None) -> str:
            return f"{a / b:.2f}x" if a and b else "-"
        out.append([ef, ratio(e, u), ratio(ec, uc), ratio(w1, u), ratio(w1, pg), ratio(w1c, pgc)])
    if out:
        print()
        print_table(["ef_search", "embedded/usearch", "(CPU)", "wire/usearch", "wire/pgvector",
                     "(CPU)"], out)


def curves(rows: list[list[object]], col: int = 3) -> dict[str, list[tuple[float, float]]]:
    """Per path label, its sweep's (recall, QPS) points in ef_search order (`col` 4: QPS per
    CPU second)."""
    out: dict[str, list[tuple[int, float, float]]] = {}
    for r in rows:
        if isinstance(r[1], int) and isinstance(r[2], float) and len(r) > col \
                and isinstance(r[col], float):
            out.setdefault(str(r[0]), []).append((r[1], r[2], r[col]))
    return {k: [(rc, qp) for _ef, rc, qp in sorted(v)] for k, v in out.items()}


EQUAL_PAIRS = (  # (ours, peer, short names for the table)
    ("SQL embedded, 1 client", "usearch direct, 1 query/call", "embedded", "usearch"),
    ("SQL embedded, 1 client", "usearch compiled, 1 query/call", "embedded", "compiled"),
    ("SQL wire psycopg binary, 1 client", "pgvector psycopg binary, 1 client", "wire 1",
     "pgvector 1"),
    ("SQL wire psycopg binary, {c} clients", "pgvector psycopg binary, {c} clients",
     "wire {c}", "pgvector {c}"),
)


def print_equal_recall(rows: list[list[object]], args) -> None:
    """Issue 5's ratios at equal recall (bench/ann_equal.py): per recall level, the QPS each
    path reaches there (interpolated between the two ef_search points that bracket it) and
    embedded / usearch (target >= 0.5), wire / pgvector (target >= 1.5, 2 at 0.99), for QPS
    and for QPS per CPU second."""
    for col, what in ((3, "QPS"), (4, "QPS per CPU second")):
        got = curves(rows, col)
        named = {}
        pairs = []
        for a, b, sa, sb in EQUAL_PAIRS:
            a, b = a.format(c=args.clients), b.format(c=args.clients)
            sa, sb = sa.format(c=args.clients), sb.format(c=args.clients)
            if a in got or b in got:
                named.update({sa: got[a]} if a in got else {})
                named.update({sb: got[b]} if b in got else {})
                pairs.append((sa, sb))
        if not pairs:
            continue
        headers, out = ann_equal.table(named, pairs, args.recall_levels)
        print(f"\nat equal recall@10 ({what}; interpolated between the ef_search points that "
              "bracket each level; >=: reached at the sweep's first ef already, a lower "
              "bound; ~: a ratio with a bound in it)")
        print_table(headers, out)


def quantizer_specs(text: str) -> list[tuple[str, dict[str, str]]]:
    """--quantizer 'default,f32,bf16:2,i8' -> [(name, WITH options)]; 'q:r' sets rerank r.

    >>> quantizer_specs("default,f32,bf16:2")
    [('default', {}), ('f32', {'quantizer': 'f32'}), ('bf16:2', {'quantizer': 'bf16', 'rerank': '2'})]
    """
    out = []
    for spec in (t.strip() for t in text.split(",") if t.strip()):
        qz, _, rr = spec.partition(":")
        opts = {} if qz == "default" else {"quantizer": qz}
        if rr:
            opts["rerank"] = rr
        out.append((spec, opts))
    return out


def quantizer_db(x: np.ndarray, args, tag: str, spec: str, opts: dict[str, str]) -> tuple[str, str]:
    """The cached database of one graph setting (its own folder, built when missing; its
    build seconds kept in READY): (folder, build seconds as text)."""
    import shutil

    data = CACHE / f"db_{tag}_m{args.m}_efc{args.efc}_graph-{spec.replace(':', '-r')}"
    ready = data / "READY"
    if ready.exists():
        return str(data), ready.read_text().strip() or "?"
    shutil.rmtree(data, ignore_errors=True)  # (a half-built folder of this setting only)
    con, cur = load_sql(x, str(data))
    with_ = ", ".join([f"m = {args.m}", f"ef_construction = {args.efc}",
                       *(f"{k} = '{v}'" for k, v in opts.items())])
    t0, c0 = time.perf_counter(), time.process_time()
    cur.execute(f"create index on items using hnsw (emb vector_l2_ops) with ({with_})")
    built = f"{time.perf_counter() - t0:.1f} (CPU {time.process_time() - c0:.1f})"
    con.close()
    ready.write_text(built + "\n")
    print(f"graph {spec}: CREATE INDEX ... WITH ({with_}): {built} s")
    return str(data), built


def bench_quantizers(x: np.ndarray, q: np.ndarray, gt: np.ndarray, args, tag: str) -> None:
    """The graph storage frontier: one database per --quantizer setting, recall@10 and QPS
    through the embedded API over the ef_search sweep, the settings interleaved per ef (the
    same load on each), then the QPS each reaches at each recall level."""
    import sqlvec

    specs = quantizer_specs(args.quantizer)
    opened = []
    for spec, opts in specs:
        data, built = quantizer_db(x, args, tag, spec, opts)
        con = sqlvec.connect(data)
        con.autocommit = True
        opened.append((spec, built, con, con.cursor()))
    ql = [[float(v) for v in qq] for qq in q]
    sql = "select id from items order by emb <-> %s limit 10"
    rows: list[list[object]] = []
    for ef in args.ef:
        for spec, _built, _con, cur in opened:
            def execute(v, ef, cur=cur):
                if v is None:
                    cur.execute(f"set hnsw.ef_search = {ef}")
                    cur.execute(sql, (ql[0],))  # (warm: the first query opens the index)
                    cur.fetchall()
                    return []
                cur.execute(sql, (v,))
                return [r[0] for r in cur.fetchall()]
            sql_sweep(execute, ql, gt, spec, [ef], rows)
    for _spec, _built, con, _cur in opened:
        con.close()
    print(f"\ngraph storage (embedded, 1 client; {len(q)} queries; load average "
          f"{os.getloadavg()[0]:.1f})")
    print_table(["graph", "ef_search", "recall@10", "QPS", "QPS (CPU)"], rows)
    wall, cpu = curves(rows, 3), curves(rows, 4)
    out = []
    for spec, built, _con, _cur in opened:
        pts = wall.get(spec, [])
        row: list[object] = [spec, built, f"{max((r for r, _q in pts), default=0.0):.4f}"]
        for lv in args.recall_levels:
            row.append(ann_equal.fmt(ann_equal.qps_at_recall(pts, lv)))
        for lv in args.recall_levels:
            row.append(ann_equal.fmt(ann_equal.qps_at_recall(cpu.get(spec, []), lv)))
        out.append(row)
    levels = [f"{lv:.2f}" for lv in args.recall_levels]
    print("\nQPS at recall (then QPS per CPU second at recall); build: CREATE INDEX wall s "
          "(CPU s) when this cache folder was built")
    print_table(["graph", "build s", "max recall", *[f"QPS@{lv}" for lv in levels],
                 *[f"CPU@{lv}" for lv in levels]], out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--efc", type=int, default=64)
    ap.add_argument(
        "--ef", type=lambda s: [int(v) for v in s.split(",")], default=[10, 20, 40, 80, 160]
    )
    ap.add_argument("--rounds", type=int, default=1,
                    help="sweep every path this many times (each ef on each path in turn); "
                         "the tables take each (path, ef)'s median round")
    ap.add_argument("--no-sql", action="store_true")
    ap.add_argument("--wire", action="store_true")
    ap.add_argument("--filtered", action="store_true")
    ap.add_argument("--pgvector", action="store_true", help="also PostgreSQL + pgvector (pgserver)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent wire clients (with --wire)")
    ap.add_argument("--multi", type=int, default=100,
                    help="multi-target: query vectors per LATERAL statement (0: skip)")
    ap.add_argument("--multi-ef", type=lambda s: [int(v) for v in s.split(",")], default=[40])
    ap.add_argument("--multi-repeats", type=int, default=3)
    ap.add_argument("--copy-only", action="store_true",
                    help="only binary and text COPY of the data (with --pgvector: both peers)")
    ap.add_argument("--milvus", action="store_true", help="also Milvus Lite (milvus-lite)")
    ap.add_argument("--cache", help="where the ground truth and the SQL database are kept "
                                    "(default bench/.cache; a fresh directory builds the index "
                                    "with this checkout's defaults)")
    ap.add_argument("--pgvector-multi", action="store_true",
                    help="pgvector rows of the multi-target table (pgserver's binaries, "
                         "started without pgserver.get_server)")
    ap.add_argument("--milvus-queries", type=int, default=200,
                    help="queries of the Milvus single-query sweep (about 40 ms each)")
    ap.add_argument("--recall-levels", type=lambda s: [float(v) for v in s.split(",")],
                    default=list(ann_equal.LEVELS), help="levels of the equal-recall tables")
    ap.add_argument("--quantizer", default="",
                    help="graph storage frontier: comma-separated settings, each 'default' "
                         "(no option: this checkout's default), a quantizer (f32, f16, bf16, "
                         "i8) or quantizer:rerank (bf16:2); one cached database per setting")
    ap.add_argument("--only-quantizer", action="store_true",
                    help="with --quantizer: skip the other tables")
    args = ap.parse_args()
    if args.cache:
        global CACHE
        CACHE = Path(args.cache).resolve()
    from threadpoolctl import threadpool_limits

    x, q = dataset(args.n, args.dim, args.centres, args.queries)
    if args.copy_only:
        copy_only(x, args)
        return
    tag = f"{args.n}x{args.dim}_c{args.centres}_q{args.queries}"
    gt, t = timed(lambda: ground_truth(x, q, 10, tag))
    print(
        f"data {args.n:,} x {args.dim}, {args.queries} queries; ground truth {t:.1f}s "
        f"(cached in {CACHE})"
    )
    rows: list[list[object]] = []
    if args.quantizer and args.only_quantizer:
        with threadpool_limits(limits=1):
            bench_quantizers(x, q, gt, args, tag)
        return
    with threadpool_limits(limits=1), contextlib.ExitStack() as stack:
        direct = bench_index(x, q, gt, args, rows)
        # every path open at once, then each ef on each path in turn: load changes on a
        # shared box hit all paths alike (the ratios are what matters)
        steps = [lambda ef: usearch_one(direct, q, gt, ef, rows)]
        cur = wire_pc = pg = None
        if not args.no_sql:
            data, cur, step = open_embedded(stack, x, q, gt, args, rows, tag)
            steps.append(step)
            if args.wire:
                wire_pc, wire_pid, more = open_wire(stack, data, q, gt, args, rows)
                steps += more
        if args.pgvector:
            pg = open_pgvector(stack, x, q, gt, args, rows)
            if pg is not None:
                steps += pg[2]
        for _round in range(args.rounds):
            for ef in args.ef:
                for step in steps:
                    step(ef)
        if cur is not None and args.multi:
            ann_multi.embedded(cur, q, gt, args)
        if wire_pc is not None and args.multi:
            ann_multi.wire(wire_pc, q, gt, args, "sqlvec wire", wire_pid, load=True)
        if pg is not None and args.multi:
            ann_multi.wire(pg[0], q, gt, args, "pgvector", pg[1], load=True)
        if args.filtered:
            paths = [("SQL filtered", embedded_filtered(cur, q))] if cur is not None else []
            if wire_pc is not None:
                paths.append(("SQL wire filtered", wire_filtered(wire_pc, q)))
            if pg is not None:
                correct, undo = pgvector_filtered(pg[0], x, q, rows)
                stack.callback(undo)
                paths.append(correct)
            filtered_rounds(paths, x, q, rows, args.rounds)
        stack.close()
        if args.milvus:
            ann_multi.milvus(x, q, gt, args, rows)
        if args.pgvector_multi:
            ann_multi.pgvector(x, q, gt, args)
    rows = ann_equal.median_rounds([r + ["-"] * (5 - len(r)) for r in rows])
    first: dict[str, int] = {}
    for r in rows:
        first.setdefault(str(r[0]), len(first))
    rows.sort(key=lambda r: first[str(r[0])])  # by path (stable: ef order within each)
    print_table(["path", "ef_search", "recall@10", "QPS", "QPS (CPU)"], rows)
    print("QPS (CPU): queries per CPU second of the client process plus the server's (wire:"
          f" sqlvec serve; pgvector: its backends); load average {os.getloadavg()[0]:.1f}")
    print_ratios(rows, args)
    print_equal_recall(rows, args)
    print_loads()
    ann_multi.print_multi(print_table)
    if args.quantizer:
        with threadpool_limits(limits=1):
            bench_quantizers(x, q, gt, args, tag)


if __name__ == "__main__":
    main()
