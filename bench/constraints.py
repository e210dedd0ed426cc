"""Cost of foreign keys and expression unique indexes, sqlvec vs PostgreSQL 15 in one run.

    .venv/bin/python bench/constraints.py [--rows 100000] [--repeat 3] [--embedded]

Tables (same DDL and data in both): p (id int primary key) with `rows` rows; c (id, p int
REFERENCES p ON DELETE CASCADE, a btree index on p: without it each deleted parent is a
sequential scan of c in PostgreSQL) and c0 (same columns, no foreign key), each with `rows`
rows referencing p; u (id, email) with a unique index on lower(email) and u0 without it.
Every operation runs in a transaction that is rolled back, so each repetition starts from
the same data. Rows: the operation; "fk cost" compares a table with the constraint against
the same statement on the table without it, in the same engine (sqlvec's ratio should stay
near PostgreSQL's). Prints wall and CPU milliseconds (server + client) and ratios.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (  # noqa: E402
    backend_pid,
    machine_note,
    measure,
    pg_settings,
    postgres,
    print_table,
    ratio,
    sqlvec_server,
)


def setup(con, rows: int) -> None:
    for t in ("c", "c0", "u", "u0", "p"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    con.execute("CREATE TABLE p (id int PRIMARY KEY)")
    con.execute("CREATE TABLE c (id int, p int REFERENCES p ON DELETE CASCADE)")
    con.execute("CREATE INDEX c_p ON c (p)")  # as PostgreSQL users do: its RI queries need it
    con.execute("CREATE TABLE c0 (id int, p int)")
    con.execute("CREATE TABLE u (id int, email text)")
    con.execute("CREATE UNIQUE INDEX u_email ON u (lower(email))")
    con.execute("CREATE TABLE u0 (id int, email text)")
    con.execute(f"INSERT INTO p SELECT g FROM generate_series(1, {rows}) g")
    for t in ("c", "c0"):
        con.execute(f"INSERT INTO {t} SELECT g, g % {rows} + 1 FROM generate_series(1, {rows}) g")
    for t in ("u", "u0"):
        con.execute(f"INSERT INTO {t} SELECT g, 'user' || g || '@x' FROM generate_series(1, {rows}) g")


def ops(rows: int) -> list[tuple[str, list[str] | tuple[str, list[tuple]]]]:
    small = max(rows // 100, 1)
    return [
        (f"INSERT SELECT {rows:,} rows, FK", [f"INSERT INTO c SELECT g, g % {rows} + 1 FROM generate_series(1, {rows}) g"]),
        (f"INSERT SELECT {rows:,} rows, no FK", [f"INSERT INTO c0 SELECT g, g % {rows} + 1 FROM generate_series(1, {rows}) g"]),
        ("executemany 300 rows, FK", ("INSERT INTO c VALUES (%s, %s)", [(i, i % rows + 1) for i in range(300)])),
        ("executemany 300 rows, no FK", ("INSERT INTO c0 VALUES (%s, %s)", [(i, i % rows + 1) for i in range(300)])),
        (f"DELETE {small:,} parents, CASCADE", [f"DELETE FROM p WHERE id <= {small}"]),
        (f"UPDATE {small:,} children's key, FK", [f"UPDATE c SET p = p + 1 WHERE id <= {small}"]),
        (f"INSERT {small:,} rows, unique lower(email)", [f"INSERT INTO u SELECT g, 'new' || g || '@x' FROM generate_series(1, {small}) g"]),
        (f"INSERT {small:,} rows, no index", [f"INSERT INTO u0 SELECT g, 'new' || g || '@x' FROM generate_series(1, {small}) g"]),
    ]


def runner(con, op):
    def fn():
        with con.transaction(force_rollback=True):
            if isinstance(op, tuple):
                with con.cursor() as cur:
                    cur.executemany(op[0], op[1])
            else:
                for sql in op:
                    con.execute(sql)
    return fn


def embedded(rows: int, repeat: int) -> None:
    """sqlvec alone, in this process (sqlvec.connect(':memory:')): CPU ms per operation (min
    of `repeat`, each rolled back), with and without the constraint, and the ratio."""
    import time

    import sqlvec

    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()

    class _Con:  # setup() speaks psycopg's con.execute
        execute = staticmethod(cur.execute)

    setup(_Con, rows)
    con.autocommit = False
    out = {}
    for name, op in ops(rows):
        best = float("inf")
        for _ in range(repeat + 1):
            t = time.process_time()
            if isinstance(op, tuple):
                cur.executemany(op[0], op[1])
            else:
                for sql in op:
                    cur.execute(sql)
            best = min(best, time.process_time() - t)
            con.rollback()
        out[name] = best * 1e3
    names = list(out)
    table = [[n, out[n], out[names[i + 1]] if i % 2 == 0 and i + 1 < len(names) and "no " in names[i + 1]
              else "", ""] for i, n in enumerate(names)]
    for r in table:
        if r[2] != "":
            r[3] = f"{r[1] / r[2]:.2f}x" if r[2] > 0 else "inf"
    print_table(["operation (embedded)", "cpu ms", "cpu ms without", "with / without"], table)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--embedded", action="store_true", help="sqlvec in this process only, CPU per operation")
    a = ap.parse_args()
    print(machine_note())
    if a.embedded:
        embedded(a.rows, a.repeat)
        return
    import psycopg

    results = {}
    with postgres(pg_settings()) as pg_dsn, sqlvec_server() as srv:
        pg = psycopg.connect(pg_dsn, autocommit=True)
        sv = psycopg.connect(srv.dsn, autocommit=True)
        setup(pg, a.rows)
        setup(sv, a.rows)
        for name, op in ops(a.rows):  # interleaved: PostgreSQL, then sqlvec, per operation
            tp = measure(runner(pg, op), lambda: backend_pid(pg), a.repeat)
            ts = measure(runner(sv, op), lambda: srv.pid, a.repeat)
            results[name] = (tp, ts)
    rows = [[name, tp.wall * 1e3, ts.wall * 1e3, ratio(tp.wall, ts.wall), tp.cpu * 1e3, ts.cpu * 1e3,
             ratio(tp.cpu, ts.cpu)] for name, (tp, ts) in results.items()]
    print_table(["operation", "PG ms", "sqlvec ms", "PG/sqlvec wall", "PG cpu ms", "sqlvec cpu ms",
                 "PG/sqlvec cpu"], rows)


if __name__ == "__main__":
    main()
