"""Wire benchmark: round trips per second through asyncpg and psycopg, sqlvec vs PostgreSQL 15.

    .venv/bin/python bench/wire.py [--seconds 2] [--rows 100000] [--only sqlvec] [--repeat 3]
                                   [--workloads select1,point,fetch] [--clients 1,8]

Starts a sqlvec server (`python -m sqlvec serve`, data in a temp dir) and a throw-away
PostgreSQL 15 cluster (initdb/pg_ctl from `pg_config --bindir`), loads the same
100k-row table into both, then measures for each driver, single client and 8
concurrent clients: `SELECT 1`, a prepared primary-key point lookup, and a
10,000-row fetch. Each client is a separate process (connected and warmed up before
the clock starts), so 8 clients are not limited by one client process's CPU.
Prints queries/s, the sqlvec/PostgreSQL ratio, server CPU per query (the sqlvec server
process, all threads; PostgreSQL: the run's backends, from /proc/<pid>/stat) and client
CPU per query (all client processes). On a shared machine, `--repeat N` measures each
cell N times, alternating the servers, and keeps the best rate (and its CPU figures);
the load average is printed before and after. `SQLVEC_PROFILE=FILE` in the environment
makes the sqlvec server cProfile its event-loop thread (where cheap requests run) and write
the stats to FILE when it stops (`python -m pstats FILE`).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
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
# Every client is its own process (forked before it connects): one Python process driving 8
# connections spends as much CPU per query as the server and was the bottleneck on 2 cores.

async def asyncpg_client(dsn: dict, kind: str, rows: int, seconds: float, go, seed: int,
                         pg: bool) -> tuple[int, float, float]:
    import asyncpg

    con = await asyncpg.connect(**dsn)
    pid = await con.fetchval("SELECT pg_backend_pid()") if pg else None
    stmt = await con.prepare(POINT if kind == "point" else FETCH if kind == "fetch" else "SELECT 1")
    await stmt.fetch(*([0] if kind == "point" else []))  # warm: the first run plans
    rnd = random.Random(seed)
    go.wait()
    c0, b0, n = self_cpu(), cpu_seconds([pid]) if pid else 0.0, 0
    stop = time.perf_counter() + seconds
    try:
        while time.perf_counter() < stop:
            if kind == "point":
                await stmt.fetchrow(rnd.randrange(rows))
            elif kind == "fetch":
                await stmt.fetch()
            else:
                await stmt.fetchval()
            n += 1
        return n, self_cpu() - c0, cpu_seconds([pid]) - b0 if pid else 0.0
    finally:
        await con.close()


def psycopg_client(dsn: str, kind: str, rows: int, seconds: float, go, seed: int,
                   pg: bool) -> tuple[int, float, float]:
    sql = {"point": POINT.replace("$1", "%s"), "fetch": FETCH, "select1": "SELECT 1"}[kind]
    with psycopg.connect(dsn, autocommit=True) as con, con.cursor(binary=True) as cur:
        pid = con.execute("SELECT pg_backend_pid()").fetchone()[0] if pg else None
        rnd = random.Random(seed)
        args = (0,) if kind == "point" else None
        for _ in range(6):  # psycopg prepares a statement server-side on its 5th run
            cur.execute(sql, args, prepare=True)
            cur.fetchall()
        go.wait()
        c0, b0, n = self_cpu(), cpu_seconds([pid]) if pid else 0.0, 0
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            cur.execute(sql, (rnd.randrange(rows),) if kind == "point" else None, prepare=True)
            cur.fetchall()
            n += 1
        return n, self_cpu() - c0, cpu_seconds([pid]) - b0 if pid else 0.0


def _client_main(target: dict, driver: str, kind: str, rows: int, seconds: float, ready, go,
                 results, seed: int) -> None:
    pg = target["name"] == "postgres"
    try:
        if driver == "asyncpg":
            async def run() -> tuple[int, float, float]:
                return await asyncpg_client(dict(target["asyncpg"]), kind, rows, seconds,
                                            _Signalled(ready, go), seed, pg)
            out = asyncio.run(run())
        else:
            out = psycopg_client(target["dsn"], kind, rows, seconds, _Signalled(ready, go),
                                 seed, pg)
        results.put(out)
    except BaseException as e:  # noqa: BLE001 - the parent reports it
        results.put(repr(e))


class _Signalled:
    """A client says it is connected and warm (`ready`), then waits for the start (`go`)."""

    def __init__(self, ready, go) -> None:
        self.ready, self.go = ready, go

    def wait(self) -> None:
        self.ready.release()
        self.go.wait()


def self_cpu() -> float:
    t = os.times()
    return t.user + t.system


def measure(target: dict, driver: str, kind: str, clients: int, seconds: float,
            rows: int) -> tuple[float, float, float]:
    """(queries per second, server CPU ms per query, client CPU ms per query)."""
    ctx = mp.get_context("fork")
    ready, go, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_client_main, args=(target, driver, kind, rows, seconds,
                                                    ready, go, results, i))
             for i in range(clients)]
    for p in procs:
        p.start()
    for _ in procs:
        if not ready.acquire(timeout=60):
            break
    before = cpu_seconds(target["pids"])
    start = time.perf_counter()
    go.set()
    outs = [results.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - start
    after = cpu_seconds(target["pids"])
    for p in procs:
        p.join()
    errors = [o for o in outs if isinstance(o, str)]
    if errors:
        raise RuntimeError(errors[0])
    n = sum(o[0] for o in outs)
    client = sum(o[1] for o in outs)
    # PostgreSQL: its backends' CPU during the run; sqlvec: the server process (all threads)
    server = sum(o[2] for o in outs) if target["name"] == "postgres" else after - before
    per = (lambda x: x / n * 1000) if n else (lambda x: float("nan"))
    return n / elapsed, per(server), per(client)


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
    ap.add_argument("--workloads", default="select1,point,fetch")
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
            header += f" {t['name'] + ' q/s':>14} {'srv ms/q':>8} {'cli ms/q':>8}"
        if len(targets) == 2:
            header += f" {'ratio':>7}"
        print(header)
        print("-" * len(header))
        nan = float("nan")
        for kind in args.workloads.split(","):
            for driver in args.drivers.split(","):
                for clients in (int(c) for c in args.clients.split(",")):
                    line = f"{kind:<10} {driver:<8} {clients:>7}"
                    best = [(nan, nan, nan)] * len(targets)
                    for _ in range(args.repeat):
                        for i, t in enumerate(targets):
                            try:
                                got = measure(t, driver, kind, clients, args.seconds, args.rows)
                            except Exception as e:  # noqa: BLE001 - report and keep going
                                print(f"{t['name']} {kind} {driver}: {e!r}", file=sys.stderr)
                                continue
                            if not best[i][0] >= got[0]:  # nan: first result
                                best[i] = got
                    for qps, srv, cli in best:
                        line += f" {qps:>14.0f} {srv:>8.3f} {cli:>8.3f}"
                    if len(best) == 2 and best[1][0]:
                        line += f" {best[0][0] / best[1][0]:>6.2f}x"
                    print(line, flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
