"""Ingest into sqlvec vs PostgreSQL 15: COPY binary and batched INSERT of 128-dim vector rows.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--max-seconds 60] [--wal-rows 200000]

Rows: id int8, a int4, b float8, label text, emb float4[128] (the type both databases have;
sqlvec's vector(128) is measured too). Methods, each into a fresh table with no index:
COPY FROM STDIN (FORMAT BINARY) from one pre-built payload (psycopg), executemany (psycopg
pipelines it; one transaction per 10,000 rows) and multi-row VALUES (1,000 rows per
statement and transaction). Each method loads --rows rows or stops at the first batch
boundary after --max-seconds and reports the rows/s it reached (so a slow method still
finishes; the row count is printed). Both servers are durable (fsync on, synchronous
commit). Then recovery: a sqlvec server whose WAL holds --wal-rows vector rows (no
checkpoint since: tests/durability/serve_hooked.py sets a huge threshold) is SIGKILLed and
restarted; the time to listen and to answer the first query is printed (the WAL is
filled by INSERT ... SELECT of 20,000 generated rows per statement). And server-side
COPY t FROM 'file' of --file-rows rows: csv into both servers, Parquet into sqlvec.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import common  # noqa: F401  first: it pins BLAS threads before numpy loads
import numpy as np
import psycopg
from common import (
    PG_DURABLE,
    machine_note,
    pg_bindir,
    pg_settings,
    postgres,
    postmaster_pid,
    print_table,
    ratio,
    self_cpu,
    sqlvec_server,
    tree_cpu,
)

DIM = 128
LABEL_LEN = 14  # 'label_%08d'
ROW = np.dtype([
    ("nf", ">i2"), ("l_id", ">i4"), ("id", ">i8"), ("l_a", ">i4"), ("a", ">i4"),
    ("l_b", ">i4"), ("b", ">f8"), ("l_label", ">i4"), ("label", f"S{LABEL_LEN}"),
    ("l_emb", ">i4"), ("ndim", ">i4"), ("flags", ">i4"), ("oid", ">i4"), ("dim", ">i4"),
    ("lbound", ">i4"), ("emb", [("l", ">i4"), ("v", ">f4")], (DIM,)),
])  # fmt: skip
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
COPY_TRAILER = b"\xff\xff"


def batch(first: int, n: int) -> dict[str, np.ndarray]:
    """Rows first .. first+n-1, deterministic (seeded by `first`)."""
    rng = np.random.default_rng(first)
    ids = np.arange(first, first + n, dtype=np.int64)
    return {
        "id": ids,
        "a": (ids % 100).astype(np.int32),
        "b": ids * 0.25,
        "label": np.char.mod("label_%08d", ids).astype(f"S{LABEL_LEN}"),
        "emb": rng.standard_normal((n, DIM), dtype=np.float32),
    }


def copy_payload(b: dict[str, np.ndarray]) -> bytes:
    """The rows of `b` as PostgreSQL binary COPY tuples, built with numpy in one pass."""
    n = len(b["id"])
    rec = np.zeros(n, ROW)
    rec["nf"], rec["l_id"], rec["id"] = 5, 8, b["id"]
    rec["l_a"], rec["a"], rec["l_b"], rec["b"] = 4, b["a"], 8, b["b"]
    rec["l_label"], rec["label"] = LABEL_LEN, b["label"]
    rec["l_emb"], rec["ndim"], rec["oid"], rec["dim"], rec["lbound"] = 20 + 8 * DIM, 1, 700, DIM, 1
    rec["emb"]["l"], rec["emb"]["v"] = 4, b["emb"]
    return rec.tobytes()


def csv_payload(b: dict[str, np.ndarray], vector_text: bool) -> bytes:
    """The rows of `b` as csv lines; the embedding quoted as '{...}' or '[...]' text."""
    o, c = ("[", "]") if vector_text else ("{", "}")
    emb = [o + ",".join(map(repr, e)) + c for e in b["emb"].tolist()]
    lines = [f'{i},{a},{x!r},{lab},"{e}"' for i, a, x, lab, e in zip(
        b["id"].tolist(), b["a"].tolist(), b["b"].tolist(), b["label"].astype(str).tolist(), emb)]
    return ("\n".join(lines) + "\n").encode()


def rows_of(b: dict[str, np.ndarray], vector_text: bool) -> list[tuple]:
    """Python rows for INSERT parameters; the embedding as a list or as vector text."""
    embs = b["emb"].tolist()
    if vector_text:
        embs = ["[" + ",".join(map(repr, e)) + "]" for e in embs]
    return list(
        zip(
            b["id"].tolist(),
            b["a"].tolist(),
            b["b"].tolist(),
            b["label"].astype(str).tolist(),
            embs,
        )
    )


def table_ddl(name: str, emb_type: str) -> str:
    return f"CREATE TABLE {name} (id int8, a int4, b float8, label text, emb {emb_type})"


def batches(total: int, size: int) -> Iterator[tuple[int, int]]:
    for first in range(0, total, size):
        yield first, min(size, total - first)


def timed_load(
    load_batch: Callable[[int, int], None],
    total: int,
    size: int,
    max_s: float,
    server_cpu: Callable[[], float],
) -> tuple[int, float, float]:
    """Load batches until `total` rows or `max_s` seconds; rows, seconds, CPU seconds."""
    done, c0, s0, t0 = 0, self_cpu(), server_cpu(), time.perf_counter()
    for first, n in batches(total, size):
        load_batch(first, n)
        done += n
        if time.perf_counter() - t0 > max_s:
            break
    return done, time.perf_counter() - t0, self_cpu() - c0 + server_cpu() - s0


def run_methods(
    conn: psycopg.Connection, server_cpu: Callable[[], float], args, emb_types, out: dict
) -> None:
    """Every method into `conn`'s database; results keyed by (method, emb type)."""
    for emb_type in emb_types:
        vt = emb_type.startswith("vector")
        tag = emb_type.split("(")[0]
        # COPY binary (float4[] only: the payload's array format)
        if not vt:
            conn.execute(table_ddl("t_copy", emb_type))
            payload = copy_payload(batch(0, args.copy_batch))

            def copy_batch(first: int, n: int, payload: bytes = payload) -> None:
                body = payload if n == args.copy_batch else copy_payload(batch(first, n))
                with conn.cursor().copy("COPY t_copy FROM STDIN (FORMAT BINARY)") as cp:
                    cp.write(COPY_HEADER)
                    cp.write(body)
                    cp.write(COPY_TRAILER)

            try:
                out[("COPY binary", tag)] = timed_load(
                    copy_batch, args.rows, args.copy_batch, args.max_seconds, server_cpu
                )
            except psycopg.Error as e:
                out[("COPY binary", tag)] = f"{e.sqlstate}: {str(e).splitlines()[0]}"
        # COPY csv (the embedding as '{...}' for float4[], '[...]' for vector)
        conn.execute(table_ddl("t_csv", emb_type))
        text = csv_payload(batch(0, args.copy_batch), vt)

        def csv_batch(first: int, n: int, text: bytes = text, vt: bool = vt) -> None:
            body = text if n == args.copy_batch else csv_payload(batch(first, n), vt)
            with conn.cursor().copy("COPY t_csv FROM STDIN (FORMAT csv)") as cp:
                cp.write(body)

        try:
            out[("COPY csv", tag)] = timed_load(
                csv_batch, args.rows, args.copy_batch, args.max_seconds, server_cpu
            )
        except psycopg.Error as e:
            out[("COPY csv", tag)] = f"{e.sqlstate}: {str(e).splitlines()[0]}"
        conn.execute("DROP TABLE t_csv")
        if args.only_copy:
            conn.execute("DROP TABLE IF EXISTS t_copy")
            continue
        # executemany, pipelined by psycopg, one transaction per batch
        conn.execute(table_ddl("t_many", emb_type))

        def many_batch(first: int, n: int, vt: bool = vt) -> None:
            with conn.transaction():
                conn.cursor().executemany(
                    "INSERT INTO t_many VALUES (%s, %s, %s, %s, %s)", rows_of(batch(first, n), vt)
                )

        out[("executemany", tag)] = timed_load(
            many_batch, args.rows, 10_000, args.max_seconds, server_cpu
        )
        # multi-row VALUES, values inlined client-side (ClientCursor)
        conn.execute(table_ddl("t_values", emb_type))
        ccur = psycopg.ClientCursor(conn)

        def values_batch(first: int, n: int, vt: bool = vt, ccur=ccur) -> None:
            rows = rows_of(batch(first, n), vt)
            sql = "INSERT INTO t_values VALUES " + ",".join(["(%s, %s, %s, %s, %s)"] * n)
            with conn.transaction():
                ccur.execute(sql, [v for r in rows for v in r])

        out[("multi-row VALUES", tag)] = timed_load(
            values_batch, args.rows, 1000, args.max_seconds, server_cpu
        )
        for t in ("t_copy", "t_many", "t_values"):
            conn.execute(f"DROP TABLE IF EXISTS {t}")


WAL_FILL = (
    "INSERT INTO items SELECT g, g %% 100, g * 0.25, 'label_' || g, "
    "('{' || rtrim(repeat(((g %% 1000) / 7.0)::float4::text || ',', 128), ',') || '}')::float4[] "
    "FROM generate_series(%s::int8, %s) g"
)


RECOVERY_HEADERS = ["recovery", "rows in WAL", "WAL MiB", "s to listen", "s to first answer"]


RECOVERY_HEADERS = ["recovery", "rows in WAL", "WAL MiB", "s to listen", "s to first answer"]


def recovery(args) -> list[list[object]]:
    """SIGKILL a sqlvec server with --wal-rows rows in its WAL; time restart + first query."""
    from tests.durability.harness import start_hooked

    root = tempfile.mkdtemp(prefix="sqlvec-recovery-")
    data, log, ev = (Path(root) / x for x in ("data", "log", "events"))
    srv = start_hooked(data, log, ev, checkpoint_bytes=1 << 50)
    try:
        with psycopg.connect(srv.dsn, autocommit=True) as c:
            c.execute(table_ddl("items", "float4[]"))
            t0 = time.perf_counter()
            for first, n in batches(args.wal_rows, 20_000):  # vectors built in SQL: fast
                c.execute(WAL_FILL, (first, first + n - 1))
                if time.perf_counter() - t0 > args.max_seconds:
                    break
            (loaded,) = c.execute("SELECT count(*) FROM items").fetchone()
        wal = sum(e.stat().st_size for e in os.scandir(data / "wal"))
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        t0 = time.perf_counter()
        srv = start_hooked(data, log, ev, checkpoint_bytes=1 << 50, timeout=600)
        listen = time.perf_counter() - t0
        with psycopg.connect(srv.dsn, autocommit=True) as c:
            (n,) = c.execute("SELECT count(*) FROM items").fetchone()
        first = time.perf_counter() - t0
        assert n == loaded, f"recovered {n} rows of {loaded}"
        return [["sqlvec, SIGKILL", loaded, wal / 2**20, listen, first]] + pg_recovery(args, loaded)
    finally:
        srv.kill()
        shutil.rmtree(root, ignore_errors=True)


def pg_recovery(args, rows: int) -> list[list[object]]:
    """The same WAL in PostgreSQL 15 (no checkpoint since), immediate stop, timed restart."""
    settings = pg_settings(PG_DURABLE, {"max_wal_size": "16GB", "checkpoint_timeout": "1h"})
    user = "postgres" if os.geteuid() == 0 else None
    bindir = pg_bindir()
    with postgres(settings) as dsn:
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute(table_ddl("items", "float4[]"))
            c.execute("CHECKPOINT")
            (lsn0,) = c.execute("SELECT pg_current_wal_lsn()").fetchone()
            for first, n in batches(rows, 20_000):
                c.execute(WAL_FILL, (first, first + n - 1))
            (wal,) = c.execute(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", (lsn0,)
            ).fetchone()
            (pgdata,) = c.execute("SHOW data_directory").fetchone()
        ctl = [str(bindir / "pg_ctl"), "-D", pgdata]
        subprocess.run(
            [*ctl, "-m", "immediate", "-w", "stop"], user=user, check=True, capture_output=True
        )
        t0 = time.perf_counter()
        log = str(Path(pgdata).parent / "server.log")
        subprocess.run(
            [*ctl, "-l", log, "-w", "-t", "600", "start"],
            user=user,
            check=True,
            capture_output=True,
        )
        listen = time.perf_counter() - t0
        with psycopg.connect(dsn, autocommit=True) as c:
            (n,) = c.execute("SELECT count(*) FROM items").fetchone()
        first = time.perf_counter() - t0
        assert n == rows, f"PostgreSQL recovered {n} rows of {rows}"
    return [["PG15, immediate stop", rows, float(wal) / 2**20, listen, first]]


FILE_HEADERS = ["COPY FROM 'file'", "rows", "file MiB", "rows/s", "server cpu us/row",
                "vs PG csv rows/s"]


def file_copies(args) -> list[list[object]]:
    """COPY t FROM 'file' (server side): csv into both, Parquet into sqlvec; --file-rows rows.

    The files are written once (numpy/pyarrow) in a folder both servers can read; the
    embedding is float4[] in csv ('{...}' text) and a list<float> column in Parquet.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    root = tempfile.mkdtemp(prefix="sqlvec-filecopy-")
    os.chmod(root, 0o755)
    n = args.file_rows
    b = batch(0, n)
    emb = pa.FixedSizeListArray.from_arrays(pa.array(b["emb"].ravel()), DIM)
    t = pa.table({"id": b["id"], "a": b["a"], "b": b["b"], "label": b["label"].astype(str),
                  "emb": emb.cast(pa.list_(pa.float32()))})
    pq.write_table(t, f"{root}/rows.parquet", row_group_size=65_536)
    emb_text = ["{" + ",".join(map(repr, r)) + "}" for r in b["emb"].tolist()]
    pacsv.write_csv(t.set_column(4, "emb", pa.array(emb_text)), f"{root}/rows.csv",
                    pacsv.WriteOptions(include_header=False))
    for f in ("rows.csv", "rows.parquet"):
        os.chmod(f"{root}/{f}", 0o644)
    size = {f: os.path.getsize(f"{root}/{f}") / 2**20 for f in ("rows.csv", "rows.parquet")}
    out: list[list[object]] = []

    def one(conn, cpu, label: str, sql: str, fname: str) -> float:
        conn.execute("DROP TABLE IF EXISTS t_file")
        conn.execute(table_ddl("t_file", "float4[]"))
        c0, t0 = cpu(), time.perf_counter()
        conn.execute(sql.format(path=f"{root}/{fname}"))
        secs, used = time.perf_counter() - t0, cpu() - c0
        (got,) = conn.execute("SELECT count(*) FROM t_file").fetchone()
        assert got == n, f"{label}: {got} rows of {n}"
        out.append([label, n, size[fname], n / secs, used / n * 1e6, ""])
        return n / secs

    try:
        with postgres(pg_settings(PG_DURABLE, {"max_wal_size": "4GB"})) as pg_dsn:
            with psycopg.connect(pg_dsn, autocommit=True) as pg:
                pm = postmaster_pid(pg)
                pg_rate = one(pg, lambda: tree_cpu(pm), "PG15 csv",
                              "COPY t_file FROM '{path}' (FORMAT csv)", "rows.csv")
        with sqlvec_server() as sv, psycopg.connect(sv.dsn, autocommit=True) as svc:
            for label, sql, fname in (
                ("sqlvec csv", "COPY t_file FROM '{path}' (FORMAT csv)", "rows.csv"),
                ("sqlvec parquet", "COPY t_file FROM '{path}'", "rows.parquet"),
            ):
                rate = one(svc, lambda: tree_cpu(sv.pid), label, sql, fname)
                out[-1][-1] = ratio(rate, pg_rate)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--copy-batch", type=int, default=50_000)
    ap.add_argument("--wal-rows", type=int, default=200_000)
    ap.add_argument("--file-rows", type=int, default=200_000)
    ap.add_argument("--only-recovery", action="store_true")
    ap.add_argument("--only-files", action="store_true")
    ap.add_argument("--only-copy", action="store_true",
                    help="only the COPY FROM STDIN methods (binary and csv), no files/recovery")
    args = ap.parse_args()
    if args.only_recovery:
        print_table(RECOVERY_HEADERS, recovery(args))
        return
    if args.only_files:
        print(f"# bench/ingest.py --only-files: {machine_note()}")
        print_table(FILE_HEADERS, file_copies(args))
        return
    print(
        f"# bench/ingest.py: up to {args.rows:,} rows x {DIM}-dim float4, at most "
        f"{args.max_seconds:.0f} s per method; {machine_note()}"
    )
    results: dict[str, dict] = {"pg": {}, "sv": {}}
    with postgres(pg_settings(PG_DURABLE, {"max_wal_size": "4GB"})) as pg_dsn:
        with psycopg.connect(pg_dsn, autocommit=True) as pg:
            pm = postmaster_pid(pg)
            run_methods(pg, lambda: tree_cpu(pm), args, ["float4[]"], results["pg"])
    with sqlvec_server() as sv, psycopg.connect(sv.dsn, autocommit=True) as svc:
        run_methods(svc, lambda: tree_cpu(sv.pid), args, ["float4[]", "vector(128)"], results["sv"])
    table = []
    for key in sorted(set(results["pg"]) | set(results["sv"]), key=str):
        cells: list[object] = [f"{key[0]} ({key[1]})"]
        rates = []
        for who in ("pg", "sv"):
            r = results[who].get(key)
            if r is None:
                cells += ["-", "-"]
                rates.append(None)
            elif isinstance(r, str):
                cells += [r[:40], "-"]
                rates.append(None)
            else:
                rows, secs, cpu = r
                cells += [f"{rows / secs:,.0f} ({rows:,} rows)", f"{cpu / rows * 1e6:,.1f}"]
                rates.append((rows / secs, cpu / rows))
        pg_r, sv_r = rates
        cells.append(ratio(sv_r[0], pg_r[0]) if pg_r and sv_r else "-")
        cells.append(ratio(pg_r[1], sv_r[1]) if pg_r and sv_r else "-")
        table.append(cells)
    print()
    print_table(
        [
            "method (emb type)",
            "PG15 rows/s",
            "PG cpu us/row",
            "sqlvec rows/s",
            "sqlvec cpu us/row",
            "sqlvec/PG rows/s",
            "PG/sqlvec cpu",
        ],
        table,
    )
    print("\n# ratios > 1: sqlvec faster; cpu = server process tree + client per row")
    print(f"# load average after: {os.getloadavg()[0]:.2f}")
    if args.only_copy:
        return
    print()
    print_table(FILE_HEADERS, file_copies(args))
    print()
    print_table(RECOVERY_HEADERS, recovery(args))


if __name__ == "__main__":
    main()
