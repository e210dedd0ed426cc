"""Analytic SQL on sqlvec vs PostgreSQL 15: filter + group-by, top-100 sort, hash join, windows.

    .venv/bin/python bench/sql.py [--rows 1000000] [--dim-rows 100000] [--repeat 3]

Both databases get the same generated data (facts: ints, floats, text, timestamps; dim:
the join side) through the same INSERT ... SELECT generate_series, in the same run. Each
query runs once to warm up, then --repeat times, PostgreSQL and sqlvec interleaved; the
median wall time and CPU time (server process tree + client) are printed with ratios
(PostgreSQL time / sqlvec time: above 1 means sqlvec is faster), and the results of the
two are compared. sqlvec is measured over the wire (psycopg, like PostgreSQL) and embedded
(sqlvec.connect in this process, no wire).
"""

from __future__ import annotations

import argparse
import math
import time

import common  # noqa: F401  first: it pins BLAS threads before numpy loads
import psycopg
from common import (
    PG_ANALYTIC,
    Timing,
    machine_note,
    measure,
    pg_settings,
    postgres,
    postmaster_pid,
    print_table,
    ratio,
    self_cpu,
    sqlvec_server,
)

DDL = [
    "CREATE TABLE facts (id int8 PRIMARY KEY, grp int4, cat text, x float8, y float8, "
    "ts timestamp, k int4)",
    "CREATE TABLE dim (k int4 PRIMARY KEY, name text, weight float8)",
]


def load_sql(rows: int, dim_rows: int) -> list[str]:
    """Deterministic data in SQL both databases run the same way."""
    return [
        "INSERT INTO facts SELECT g, g % 1000, 'cat_' || (g % 50), "
        "((g * 7919) % 10007) / 100.0, ((g * 104729) % 1009) / 10.0, "
        "timestamp '2024-01-01' + g * interval '1 second', (g * 31) % " + str(dim_rows) + " "
        f"FROM generate_series(1::int8, {rows}) g",
        "INSERT INTO dim SELECT g, 'name_' || (g % 100), ((g * 7907) % 1000) / 1000.0 "
        f"FROM generate_series(0::int8, {dim_rows - 1}) g",
    ]


QUERIES = {
    "filter + group-by": "SELECT grp, count(*), sum(x), avg(y) FROM facts "
    "WHERE x > 20 AND cat <> 'cat_3' GROUP BY grp",
    "top-100 sort": "SELECT id, x, ts FROM facts ORDER BY x DESC, id LIMIT 100",
    "hash join facts x dim": "SELECT d.name, count(*), sum(f.x) FROM facts f "
    "JOIN dim d ON f.k = d.k WHERE d.weight < 0.5 GROUP BY d.name",
    "window row_number": "SELECT count(*), sum(rn) FROM (SELECT row_number() OVER "
    "(PARTITION BY grp ORDER BY x DESC, id) AS rn FROM facts) s WHERE rn <= 3",
    "window running sum": "SELECT grp, max(rs) FROM (SELECT grp, sum(y) OVER "
    "(PARTITION BY grp ORDER BY ts) AS rs FROM facts) s GROUP BY grp",
}


def same_rows(a: list[tuple], b: list[tuple]) -> bool:
    """Equal as multisets of rows, floats within 1e-9 relative (summation order differs)."""

    def key(r: tuple) -> tuple:
        return tuple(f"{v:.6g}" if isinstance(v, float) else str(v) for v in r)

    if len(a) != len(b):
        return False
    for ra, rb in zip(sorted(a, key=key), sorted(b, key=key)):
        for va, vb in zip(ra, rb):
            if isinstance(va, float) or isinstance(vb, float):
                if not math.isclose(float(va), float(vb), rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif va != vb:
                return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--dim-rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-embedded", action="store_true")
    args = ap.parse_args()
    print(f"# bench/sql.py: {args.rows:,} + {args.dim_rows:,} rows; {machine_note()}")
    print(f"# PostgreSQL 15 settings: {PG_ANALYTIC} (fsync off for the load)")
    with postgres(pg_settings(PG_ANALYTIC)) as pg_dsn, sqlvec_server() as sv:
        pg = psycopg.connect(pg_dsn, autocommit=True)
        svc = psycopg.connect(sv.dsn, autocommit=True)
        emb = None
        if not args.no_embedded:
            import sqlvec

            emb = sqlvec.connect(":memory:")
        load_rows = []
        for name, conn in (("PostgreSQL 15", pg), ("sqlvec (wire)", svc), ("sqlvec embedded", emb)):
            if conn is None:
                continue
            cur = conn.cursor()
            t0 = time.perf_counter()
            for sql in DDL + load_sql(args.rows, args.dim_rows):
                cur.execute(sql)
            if conn is pg:
                cur.execute("VACUUM ANALYZE")
            if conn is emb:
                conn.commit()
            load_rows.append([name, time.perf_counter() - t0])
        print_table(["load (INSERT ... SELECT generate_series)", "seconds"], load_rows)
        pg_pid = postmaster_pid(pg)

        def runner(conn: object, sql: str) -> callable:
            def run() -> list[tuple]:
                cur = conn.cursor()
                cur.execute(sql)
                return cur.fetchall()

            return run

        rows, emb_rows = [], []
        for name, sql in QUERIES.items():
            pg_t = measure(runner(pg, sql), lambda: pg_pid, args.repeat)
            sv_t = measure(runner(svc, sql), lambda: sv.pid, args.repeat)
            same = same_rows(runner(pg, sql)(), runner(svc, sql)())
            rows.append(
                [
                    name,
                    pg_t.wall * 1e3,
                    sv_t.wall * 1e3,
                    ratio(pg_t.wall, sv_t.wall),
                    pg_t.cpu * 1e3,
                    sv_t.cpu * 1e3,
                    ratio(pg_t.cpu, sv_t.cpu),
                    "yes" if same else "NO",
                ]
            )
            if emb is not None:
                e_t = measure_embedded(runner(emb, sql), args.repeat)
                emb_rows.append(
                    [
                        name,
                        pg_t.wall * 1e3,
                        e_t.wall * 1e3,
                        ratio(pg_t.wall, e_t.wall),
                        ratio(pg_t.cpu, e_t.cpu),
                    ]
                )
        print()
        print_table(
            [
                "query (median ms)",
                "PG15",
                "sqlvec",
                "PG/sqlvec",
                "PG cpu",
                "sqlvec cpu",
                "PG/sqlvec cpu",
                "same result",
            ],
            rows,
        )
        if emb_rows:
            print()
            print_table(
                ["embedded (median ms)", "PG15", "sqlvec emb", "PG/emb", "PG/emb cpu"], emb_rows
            )
        print("\n# cpu = server process tree + this client process; ratios > 1: sqlvec faster")
        pg.close()
        svc.close()


def measure_embedded(fn: callable, repeat: int) -> Timing:
    """Like common.measure, for the engine running inside this process (CPU is all ours)."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = self_cpu(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(self_cpu() - c0)
    walls.sort()
    cpus.sort()
    return Timing(walls[len(walls) // 2], 0.0, cpus[len(cpus) // 2])


if __name__ == "__main__":
    main()
