"""Wire benchmark: round trips per second through asyncpg and psycopg, sqlvec vs PostgreSQL 15.

    .venv/bin/python bench/wire.py [--seconds 2] [--rows 100000] [--only sqlvec] [--repeat 3]

Starts a sqlvec server (`python -m sqlvec serve`, data in a temp dir) and a throw-away
PostgreSQL 15 cluster (initdb/pg_ctl from `pg_config --bindir`), loads the same
100k-row table into both, then measures for each driver, single client and 8
concurrent clients: `SELECT 1`, a prepared primary-key point lookup, and a
10,000-row fetch. Prints queries/s, the sqlvec/PostgreSQL ratio and server CPU time
per query (from /proc/<pid>/stat of the server process or the PG backends). On a shared
machine, `--repeat N` measures each cell N times, alternating the servers, and keeps the
best rate (and its CPU figure); the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import start_server  # noqa: E402
from tests.support.pg import pg_available, postgres_server  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
POINT = "SELECT id, v, f FROM bench_kv WHERE id = $1"
FETCH = "SELECT id, v, f FROM bench_kv WHERE id < 10000"


def cpu_seconds(pids: list[int]) -> float:
    """user+system CPU of processes (all their threads) from /proc/<pid>/stat."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            pass
    return total / TICK


def load(dsn: str, rows: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS bench_kv")
        con.execute("CREATE TABLE bench_kv (id integer PRIMARY KEY, v text, f double precision)")
        step = 1000
        for start in range(0, rows, step):
            values = ",".join(f"({i}, 'value {i}', {i * 0.5})"
                              for i in range(start, min(rows, start + step)))
            con.execute(f"INSERT INTO bench_kv VALUES {values}")


# --- workloads ------------------------------------------------------------------------------

async def asyncpg_worker(dsn: dict, kind: str, rows: int, stop: float, pids: list) -> int:
    import asyncpg

    is_pg = dsn.pop("_pg", False)
    con = await asyncpg.connect(**dsn)
    pid = await con.fetchval("SELECT pg_backend_pid()") if is_pg else None
    stmt = await con.prepare(POINT if kind == "point" else FETCH if kind == "fetch" else "SELECT 1")
    n = 0
    rnd = random.Random(n)
    try:
        while time.perf_counter() < stop:
            if kind == "point":
                await stmt.fetchrow(rnd.randrange(rows))
            elif kind == "fetch":
                await stmt.fetch()
            else:
                await stmt.fetchval()
            n += 1
    finally:
        if pid:
            pids.append(cpu_seconds([pid]))  # a backend's CPU, read before it exits
        await con.close()
    return n


def run_asyncpg(dsn: dict, kind: str, clients: int, seconds: float, rows: int,
                pids: list) -> int:
    async def main() -> int:
        stop = time.perf_counter() + seconds
        counts = await asyncio.gather(*[asyncpg_worker(dict(dsn), kind, rows, stop, pids)
                                        for _ in range(clients)])
        return sum(counts)

    return asyncio.run(main())


def run_psycopg(dsn: str, kind: str, clients: int, seconds: float, rows: int,
                pids: list, pg: bool) -> int:
    counts = [0] * clients
    cons = [psycopg.connect(dsn, autocommit=True) for _ in range(clients)]
    backends = [con.execute("SELECT pg_backend_pid()").fetchone()[0] for con in cons] if pg else []
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        con, rnd, n = cons[i], random.Random(i), 0
        sql = {"point": POINT.replace("$1", "%s"), "fetch": FETCH, "select1": "SELECT 1"}[kind]
        with con.cursor(binary=True) as cur:
            while time.perf_counter() < stop:
                if kind == "point":
                    cur.execute(sql, (rnd.randrange(rows),), prepare=True)
                else:
                    cur.execute(sql, prepare=True)
                cur.fetchall()
                n += 1
        counts[i] = n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pids.extend(cpu_seconds([b]) for b in backends)  # backends' CPU, read before they exit
    for con in cons:
        con.close()
    return sum(counts)


def measure(target: dict, driver: str, kind: str, clients: int, seconds: float,
            rows: int) -> tuple[float, float]:
    """(queries per second, server CPU milliseconds per query)."""
    pids: list = []  # PostgreSQL: CPU seconds of each backend used by the run
    is_pg = target["name"] == "postgres"
    fn: Callable[[], int]
    if driver == "asyncpg":
        fn = lambda: run_asyncpg(dict(target["asyncpg"], _pg=is_pg), kind, clients,  # noqa: E731
                                 seconds, rows, pids)
    else:
        fn = lambda: run_psycopg(target["dsn"], kind, clients, seconds, rows, pids, is_pg)  # noqa: E731
    before = cpu_seconds(target["pids"])
    start = time.perf_counter()
    n = fn()
    elapsed = time.perf_counter() - start
    if is_pg:  # backends were created for the run: their whole life is the run
        cpu = sum(pids)
    else:
        cpu = cpu_seconds(target["pids"]) - before
    return n / elapsed, (cpu / n * 1000 if n else float("nan"))


def asyncpg_params(dsn: str) -> dict:
    parts = dict(p.split("=", 1) for p in dsn.split())
    return {"host": parts["host"], "port": int(parts["port"]), "user": parts["user"],
            "database": parts["dbname"], "ssl": False}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--only", choices=["sqlvec", "postgres"], default=None)
    ap.add_argument("--drivers", default="asyncpg,psycopg")
    ap.add_argument("--clients", default="1,8")
    ap.add_argument("--repeat", type=int, default=1, help="runs per cell; the best is kept")
    args = ap.parse_args()

    targets = []
    with ExitStack() as stack:
        if args.only != "postgres":
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sqlvec-bench-")))
            srv = start_server(str(tmp / "data"), tmp / "server.log")
            stack.callback(srv.stop)
            targets.append({"name": "sqlvec", "dsn": srv.dsn, "pids": [srv.proc.pid]})
        if args.only != "sqlvec":
            if pg_available():
                dsn = stack.enter_context(postgres_server({"max_connections": "100"}))
                targets.append({"name": "postgres", "dsn": dsn + " sslmode=disable", "pids": []})
            else:
                print("PostgreSQL 15 not found: sqlvec only", file=sys.stderr)
        for t in targets:
            t["asyncpg"] = asyncpg_params(t["dsn"])
            t0 = time.perf_counter()
            load(t["dsn"], args.rows)
            print(f"loaded {args.rows} rows into {t['name']} in {time.perf_counter() - t0:.1f}s",
                  file=sys.stderr)

        print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores, "
              f"{args.seconds:g} s per run, best of {args.repeat}")
        header = f"{'workload':<10} {'driver':<8} {'clients':>7}"
        for t in targets:
            header += f" {t['name'] + ' q/s':>14} {'cpu ms/q':>9}"
        if len(targets) == 2:
            header += f" {'ratio':>7}"
        print(header)
        print("-" * len(header))
        for kind in ("select1", "point", "fetch"):
            for driver in args.drivers.split(","):
                for clients in (int(c) for c in args.clients.split(",")):
                    line = f"{kind:<10} {driver:<8} {clients:>7}"
                    best = [(float("nan"), float("nan"))] * len(targets)
                    for _ in range(args.repeat):
                        for i, t in enumerate(targets):
                            try:
                                qps, cpu = measure(t, driver, kind, clients, args.seconds,
                                                   args.rows)
                            except Exception as e:  # noqa: BLE001 - report and keep going
                                print(f"{t['name']} {kind} {driver}: {e!r}", file=sys.stderr)
                                continue
                            if not best[i][0] >= qps:  # nan: first result
                                best[i] = (qps, cpu)
                    rates = [qps for qps, _ in best]
                    for qps, cpu in best:
                        line += f" {qps:>14.0f} {cpu:>9.3f}"
                    if len(rates) == 2 and rates[1]:
                        line += f" {rates[0] / rates[1]:>6.2f}x"
                    print(line, flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
