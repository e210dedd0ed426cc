"""Multi-target search and the Milvus Lite peer, for bench/ann.py (--multi N, --milvus).

Multi-target: N query vectors answered by ONE statement,

    SELECT q.qid, r.id FROM bench_queries q
      CROSS JOIN LATERAL (SELECT id FROM items ORDER BY emb <-> q.emb LIMIT 10) r

against N single statements `SELECT id FROM items ORDER BY emb <-> $1 LIMIT 10`, and
(embedded) the same LATERAL statement with the batching rule switched off (one search per
outer row). Peers in the same run: pgvector (the same two forms over psycopg) and Milvus
Lite (one `search` call with N vectors vs N calls). Figures: recall@10 against the exact
answer, targets per second (wall) and CPU ms per target (this process + the server's,
where there is one), and the speed-up of the batched form over single statements.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import numpy as np

ROWS: list[list[object]] = []  # filled by the functions below, printed by print_multi()
HEADERS = ["path", "targets/stmt", "ef_search", "recall@10", "targets/s", "CPU ms/target",
           "x single"]

LATERAL = ("select q.qid, r.id from bench_queries q cross join lateral "
           "(select id from items order by emb <-> q.emb limit 10) r")
SINGLE = "select id from items order by emb <-> %s limit 10"


def _recall(got: np.ndarray, want: np.ndarray) -> float:
    hits = sum(len(set(g.tolist()) & set(w.tolist())) for g, w in zip(got, want))
    return hits / want.size


def _grid(pairs: list[tuple[int, int]], m: int) -> np.ndarray:
    """(qid, id) result rows -> an (m, 10) id matrix (rows kept in their order per qid)."""
    got = np.full((m, 10), -1, np.int64)
    fill = np.zeros(m, np.int64)
    for qid, rid in pairs:
        if fill[qid] < 10:
            got[qid, fill[qid]] = rid
            fill[qid] += 1
    return got


def _measure(label: str, ef: int, m: int, run, gt: np.ndarray, cpu, repeats: int,
             per_stmt: int) -> tuple[float, list[object]]:
    """Run `run()` (-> (m, 10) ids) `repeats` times; a table row and its targets/s."""
    got = run()  # warm: plans, index views, caches
    c0, t0 = cpu(), time.perf_counter()
    for _ in range(repeats):
        got = run()
    wall, used = time.perf_counter() - t0, cpu() - c0
    tps = m * repeats / wall
    return tps, [label, per_stmt, ef, _recall(got, gt[:m]), tps,
                 1000 * used / (m * repeats)]


def _pair(rows: list[list[object]], batched: list[object], single: list[object],
          tps_b: float, tps_s: float, extra: list[list[object]] = ()) -> None:
    rows.append(single + [1.0])
    for r in extra:
        rows.append(r)
    rows.append(batched + [tps_b / tps_s])


def sql_multi(label: str, execute, set_ef, q: np.ndarray, gt: np.ndarray, args,
              cpu, per_row_off=None) -> None:
    """LATERAL over args.multi targets vs as many single statements, per ef in args.multi_ef.

    execute(sql, params | None) -> rows; set_ef(ef); per_row_off(on: bool) switches the
    batching rule off and back (embedded / sqlvec only).
    """
    m = min(args.multi, len(q))
    ql = [q[i] for i in range(m)]
    for ef in args.multi_ef:
        set_ef(ef)

        def single() -> np.ndarray:
            out = np.full((m, 10), -1, np.int64)
            for i, v in enumerate(ql):
                ids = [r[0] for r in execute(SINGLE, (v,))]
                out[i, :len(ids)] = ids
            return out

        def lateral() -> np.ndarray:
            return _grid([(r[0], r[1]) for r in execute(LATERAL, None)], m)
        reps = max(1, args.multi_repeats)
        tps_s, row_s = _measure(f"{label}: {m} single statements", ef, m, single, gt, cpu, reps, 1)
        extra = []
        if per_row_off is not None:
            per_row_off(True)
            try:
                _t, row_p = _measure(f"{label}: 1 LATERAL statement, per-row path", ef, m,
                                     lateral, gt, cpu, reps, m)
            finally:
                per_row_off(False)
            extra.append(row_p + [_t / tps_s])
        tps_b, row_b = _measure(f"{label}: 1 LATERAL statement" +
                                (", batched" if per_row_off is not None else ""), ef, m,
                                lateral, gt, cpu, reps, m)
        _pair(ROWS, row_b, row_s, tps_b, tps_s, extra)


def load_queries(execute, q: np.ndarray, m: int, literal) -> None:
    """Table bench_queries(qid, emb) with the first m queries."""
    execute("drop table if exists bench_queries", None)
    execute(f"create table bench_queries (qid int, emb vector({q.shape[1]}))", None)
    values = ",".join(f"({i}, '{literal(q[i])}')" for i in range(min(m, len(q))))
    execute(f"insert into bench_queries values {values}", None)


def _vec_text(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def embedded(cur: Any, q: np.ndarray, gt: np.ndarray, args) -> None:
    """sqlvec embedded: cur is a DB-API cursor on the benchmark database (autocommit)."""
    def execute(sql, params):
        cur.execute(sql, params if params is None else tuple(
            [float(x) for x in p] if isinstance(p, np.ndarray) else p for p in params))
        return cur.fetchall() if cur.description else []
    load_queries(execute, q, args.multi, _vec_text)

    def off(on: bool) -> None:
        rule = "lateral_top_n_to_batched_search" if on else ""
        cur.execute(f"set sqlvec.disabled_rules = '{rule}'")
    sql_multi("sqlvec embedded", execute, lambda ef: cur.execute(f"set hnsw.ef_search = {ef}"),
              q, gt, args, time.process_time, off)
    cur.execute("set hnsw.ef_search = 40")


def _server_cpu(pid: int | None):
    """CPU seconds of this process plus the server process (psutil), as a callable."""
    proc = None
    if pid is not None:
        try:
            import psutil
            proc = psutil.Process(pid)
        except Exception:
            proc = None

    def cpu() -> float:
        own = time.process_time()
        if proc is None:
            return own
        t = proc.cpu_times()
        return own + t.user + t.system
    return cpu


def wire(pc: Any, q: np.ndarray, gt: np.ndarray, args, label: str, pid: int | None,
         load: bool = False) -> None:
    """Over psycopg (binary, prepared) against a server: sqlvec serve or pgvector."""
    cur = pc.cursor(binary=True)

    def execute(sql, params):
        if params is None:
            return cur.execute(sql).fetchall() if "select" in sql else (pc.execute(sql) and [])
        return cur.execute(sql, params, prepare=True).fetchall()
    if load:
        load_queries(execute, q, args.multi, _vec_text)
    sql_multi(label, execute, lambda ef: pc.execute(f"set hnsw.ef_search = {ef}"), q, gt,
              args, _server_cpu(pid))
    pc.execute("set hnsw.ef_search = 40")


def milvus(x: np.ndarray, q: np.ndarray, gt: np.ndarray, args, rows: list[list[object]]) -> None:
    """Milvus Lite (milvus-lite + pymilvus): the same data and HNSW parameters; a sweep of
    single searches (rows of the main table) and one search call with args.multi vectors."""
    try:
        from pymilvus import DataType, MilvusClient
    except ImportError:
        print("milvus: `pip install milvus-lite pymilvus` to compare (skipped)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        client = MilvusClient(os.path.join(tmp, "milvus.db"))
        try:
            schema = client.create_schema(auto_id=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("emb", DataType.FLOAT_VECTOR, dim=x.shape[1])
            client.create_collection("items", schema=schema)
            t0 = time.perf_counter()
            for s in range(0, len(x), 10_000):
                e = min(len(x), s + 10_000)
                client.insert("items", [{"id": i, "emb": x[i]} for i in range(s, e)])
            client.flush("items")  # else every search rescans the unflushed rows
            print(f"milvus lite insert + flush: {time.perf_counter() - t0:.1f}s")
            ip = client.prepare_index_params()
            # Lite reads build parameters only when nested under "params"
            ip.add_index(field_name="emb", index_type="HNSW", metric_type="L2",
                         params={"params": {"M": args.m, "efConstruction": args.efc}})
            t0 = time.perf_counter()
            client.create_index("items", ip)
            client.load_collection("items")
            print(f"milvus lite hnsw build: {time.perf_counter() - t0:.1f}s "
                  f"({client.describe_index('items', 'emb').get('params')})")

            def search(vs: np.ndarray, ef: int) -> np.ndarray:
                res = client.search("items", data=[v.tolist() for v in vs], limit=10,
                                    search_params={"params": {"ef": ef}}, output_fields=["id"])
                out = np.full((len(vs), 10), -1, np.int64)
                for i, hits in enumerate(res):
                    ids = [h["id"] for h in hits][:10]
                    out[i, :len(ids)] = ids
                return out
            nq = min(len(q), args.milvus_queries)
            for ef in args.ef:
                search(q[:1], ef)
                t0 = time.perf_counter()
                got = np.concatenate([search(q[i:i + 1], ef) for i in range(nq)])
                rows.append([f"milvus lite, 1 query/call ({nq} queries)", ef,
                             _recall(got, gt[:nq]), nq / (time.perf_counter() - t0)])
            m = min(args.multi, len(q))
            reps = max(1, args.multi_repeats)
            for ef in args.multi_ef:
                tps_s, row_s = _measure(f"milvus lite: {m} single search calls", ef, m,
                                        lambda ef=ef: np.concatenate(
                                            [search(q[i:i + 1], ef) for i in range(m)]),
                                        gt, time.process_time, reps, 1)
                tps_b, row_b = _measure(f"milvus lite: 1 search call with {m} vectors", ef, m,
                                        lambda ef=ef: search(q[:m], ef), gt, time.process_time,
                                        reps, m)
                _pair(ROWS, row_b, row_s, tps_b, tps_s)
        finally:
            client.close()


def print_multi(print_table) -> None:
    if ROWS:
        print("\nmulti-target search (targets/s: query vectors answered per second; "
              "x single: speed-up over one statement per target)")
        print_table(HEADERS, ROWS)


# ---- pgvector without pgserver.get_server (which, run as root, creates an OS user) ----------

class PgvectorServer:
    """PostgreSQL + pgvector from the `pgserver` wheel's own binaries on a folder of ours,
    run as the `postgres` OS user when we are root (initdb refuses root)."""

    def __init__(self, folder: str, port: int = 55432, shared_buffers: str = "512MB") -> None:
        import pgserver  # type: ignore[import-not-found]

        self.bin = os.path.join(os.path.dirname(pgserver.__file__), "pginstall", "bin")
        self.data = os.path.join(folder, "pgdata")
        self.folder = folder
        self.port = port
        self.shared_buffers = shared_buffers
        self.dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"

    def _run(self, *cmd: str) -> None:
        import subprocess

        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + [os.path.join(self.bin, cmd[0]), *cmd[1:]], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self) -> PgvectorServer:
        if os.geteuid() == 0:
            import shutil
            os.chmod(self.folder, 0o755)
            os.makedirs(self.data, exist_ok=True)
            shutil.chown(self.data, "postgres", "postgres")
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres")
        self._run("pg_ctl", "-D", self.data, "-w", "-l", os.path.join(self.data, "log"), "-o",
                  f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                  f"-c shared_buffers={self.shared_buffers}", "start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "immediate", "stop")


def load_items(pc: Any, x: np.ndarray) -> float:
    """pgvector's `items (id, cat = id % 1000, emb)` filled by binary COPY; its seconds."""
    pc.execute("create extension if not exists vector")
    ver = pc.execute("select extversion from pg_extension where extname = 'vector'")
    print(f"pgvector {ver.fetchone()[0]} on PostgreSQL {pc.info.server_version}")
    return copy_items(pc, x)


def copy_items(pc: Any, x: np.ndarray) -> float:
    """`items (id, cat = id % 1000, emb vector(dim))` created and filled by one binary COPY
    through psycopg (pgvector's adapter; the vector type must exist); its seconds."""
    from pgvector.psycopg import register_vector

    register_vector(pc)
    pc.execute(f"create table items (id int, cat int, emb vector({x.shape[1]}))")
    t0 = time.perf_counter()
    with pc.cursor() as cur, cur.copy(
            "copy items (id, cat, emb) from stdin with (format binary)") as cp:
        cp.write(b"PGCOPY\n\xff\r\n\x00" + bytes(8))  # signature, flags, extension length
        for s in range(0, len(x), 8192):
            cp.write(copy_rows(x[s:s + 8192], s))
        cp.write(b"\xff\xff")
    return time.perf_counter() - t0


def copy_rows(x: np.ndarray, first: int) -> bytes:
    """Binary COPY tuples (id, id % 1000, x[i] as pgvector's binary vector: int16 dim,
    int16 0, float4s, all big-endian) for rows first, first + 1, ..., built by numpy.

    >>> copy_rows(np.array([[1.0, 2.0]], np.float32), 7).hex()
    '0003000000040000000700000004000000070000000c000200003f80000040000000'
    """
    dim = x.shape[1]
    rec = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("id", ">i4"), ("l2", ">i4"), ("cat", ">i4"),
                    ("l3", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("v", ">f4", (dim,))])
    out = np.zeros(len(x), rec)
    ids = np.arange(first, first + len(x))
    out["nf"], out["l1"], out["l2"], out["l3"], out["dim"] = 3, 4, 4, 4 + 4 * dim, dim
    out["id"], out["cat"], out["v"] = ids, ids % 1000, x
    return out.tobytes()


def pgvector(x: np.ndarray, q: np.ndarray, gt: np.ndarray, args) -> None:
    """The multi-target table's pgvector rows: same data, HNSW parameters and statements."""
    try:
        import pgvector.psycopg  # noqa: F401  (installed with pgserver?)
        import psycopg
        server = PgvectorServer(tempfile.mkdtemp(prefix="pgvector-"))
    except ImportError:
        print("pgvector: `pip install pgserver` to compare (skipped)")
        return
    with server, psycopg.connect(server.dsn, autocommit=True) as pc:
        t0 = time.perf_counter()
        load_items(pc, x)
        pc.execute("set maintenance_work_mem = '2GB'")
        pc.execute(f"create index on items using hnsw (emb vector_l2_ops) "
                   f"with (m = {args.m}, ef_construction = {args.efc})")
        pc.execute("analyze items")
        print(f"pgvector load + hnsw build: {time.perf_counter() - t0:.1f}s")
        pid = pc.execute("select pg_backend_pid()").fetchone()[0]
        wire(pc, q, gt, args, "pgvector", pid, load=True)
        plan = pc.execute("explain " + LATERAL).fetchall()
        print("pgvector LATERAL plan: " + " / ".join(r[0].strip() for r in plan[:4]))
