"""The cost of PostgreSQL's per-value numeric display scale (functions/numeric_scale.py).

    .venv/bin/python bench/numeric_scale.py [--rows 1000000] [--repeat 3] [--no-pg]

Kernels, in this process, on a numeric(12,2) column of --rows values spread over 1e-2..1e6:
the quotient n / 3 with one scale per column (arith.numeric_binary + textio.format_text, what
a result column cost before) against the per-value scale (numeric_scale.divide + its text),
and the text output alone (the static formatter against format_decimal); the kernels of an
unconstrained numeric column held as text (NUMERIC_TEXT): parsing to decimals, the order key,
+ and sum per group, against the decimal kernels they replace. Then end to end: `SELECT n / 3
FROM t`, `SELECT avg(n) ... GROUP BY g` (numeric(12,2)) and reads, arithmetic, sums, a sort and
a filter on an unconstrained numeric column u.n, fetched by psycopg from PostgreSQL 15 and
embedded from sqlvec (rows as Decimals), in the same run. CPU seconds (process time of
this process; PostgreSQL's backend CPU for it), median of --repeat; ratios are
baseline / measured (above 1: faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import common  # noqa: F401  first: it pins BLAS threads before numpy loads
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from common import machine_note, postgres, print_table

from sqlvec.core.textio import format_text
from sqlvec.core.textio_numeric import (
    format_decimal,
    numeric_key,
    numeric_text_of,
    numeric_text_values,
    order_key,
)
from sqlvec.functions.arith import numeric_binary, numeric_with
from sqlvec.functions.numeric_scale import Scaled, divide, text_binary, text_sum


def cpu(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def column(rows: int) -> pa.Array:
    rng = np.random.default_rng(7)
    cents = (10 ** rng.uniform(0, 8, rows)).astype(np.int64) * rng.choice([-1, 1], rows)
    ints = pa.array(cents).cast(pa.decimal128(38, 0))
    return pa.Array.from_buffers(pa.decimal128(12, 2), rows, ints.buffers()[:2])  # cents / 100


def kernels(n: pa.Array, repeat: int) -> list[list[object]]:
    three = pa.array(np.full(len(n), 3), pa.int32())
    q = numeric_binary("divide", n, three)
    qt = numeric_with(q.type)
    static = cpu(lambda: format_text(numeric_binary("divide", n, three), qt), repeat)
    scaled = cpu(lambda: divide([Scaled.of(n), Scaled.of(three)]).text(), repeat)
    fmt_static = cpu(lambda: format_text(n, numeric_with(n.type)), repeat)
    fmt_digits = cpu(lambda: format_decimal(n, 2), repeat)
    text = numeric_text_of(n)
    one = numeric_text_of(pa.array(np.ones(len(n), np.int64)))
    gid = np.arange(len(n), dtype=np.int64) % 1000
    wide = pc.cast(n, pa.decimal128(38, 16))
    dec_add = cpu(lambda: numeric_binary("add", wide, pa.array(np.ones(len(n), np.int64)).cast(pa.decimal128(38, 0))),
                  repeat)
    dec_sum = cpu(lambda: pa.table({"g": gid, "v": wide}).group_by("g", use_threads=False).aggregate([("v", "sum")]),
                  repeat)
    dec_sort = cpu(lambda: pc.sort_indices(wide), repeat)
    return [
        ["n / 3 as text at the column scale (numeric_binary)", static, 1.0],
        ["n / 3 as text, a scale per value", scaled, static / scaled],
        ["text of numeric(12,2): Arrow cast", fmt_static, 1.0],
        ["text of numeric(12,2): format_decimal", fmt_digits, fmt_static / fmt_digits],
        ["NUMERIC_TEXT: decimal -> text (numeric_text_of)", cpu(lambda: numeric_text_of(n), repeat), ""],
        ["NUMERIC_TEXT: text -> decimal (numeric_text_values)", cpu(lambda: numeric_text_values(text), repeat), ""],
        ["n + 1, decimal128(38,16) (numeric_binary)", dec_add, 1.0],
        ["n + 1, NUMERIC_TEXT (text_binary)", (t := cpu(lambda: text_binary("+", text, one, len(n)), repeat)),
         dec_add / t],
        ["sort, decimal128(38,16) (sort_indices)", dec_sort, 1.0],
        ["sort, NUMERIC_TEXT (order_key + sort_indices)",
         (t := cpu(lambda: pc.sort_indices(order_key(text)), repeat)), dec_sort / t],
        ["sort, NUMERIC_TEXT with a NaN (numeric_key + sort_indices)",
         (t := cpu(lambda: pc.sort_indices(numeric_key(text)), repeat)), dec_sort / t],
        ["sum per 1000 groups, decimal128(38,16)", dec_sum, 1.0],
        ["sum per 1000 groups, NUMERIC_TEXT (text_sum)", (t := cpu(lambda: text_sum(text, gid, 1000), repeat)),
         dec_sum / t],
    ]


LOAD = ("INSERT INTO t SELECT i % 1000, (i::int8 * 7919 % 100000000)::numeric / "
        "(CASE i % 4 WHEN 0 THEN 100 WHEN 1 THEN 10000 WHEN 2 THEN 1000000 ELSE 100000000 END) "
        "FROM generate_series(1, {rows}) i")
QUERIES = [("SELECT round(n / 3, 16) FROM t", "round(n / 3, 16): one scale"),
           ("SELECT n / 3 FROM t", "n / 3, all rows"),
           ("SELECT g, avg(n) FROM t GROUP BY g", "avg(n), 1000 groups"),
           ("SELECT sqrt(n) FROM t WHERE n > 0", "sqrt(n), all rows"),
           ("SELECT n FROM u", "u.n (numeric), all rows"),
           ("SELECT n + 1 FROM u", "u.n + 1, all rows"),
           ("SELECT g, sum(n) FROM u GROUP BY g", "sum(u.n), 1000 groups"),
           ("SELECT n FROM u ORDER BY n DESC LIMIT 100", "u.n top 100"),
           ("SELECT count(*) FROM u WHERE n > 5000", "count where u.n > 5000")]


def end_to_end(rows: int, repeat: int, with_pg: bool) -> list[list[object]]:
    """The same generated table in both; each query's rows fetched as Decimals."""
    import psycopg

    import sqlvec

    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    for table, typ in (("t", "numeric(12,2)"), ("u", "numeric")):
        cur.execute(f"CREATE TABLE {table} (g int, n {typ})")
        cur.execute(LOAD.replace(" t ", f" {table} ").format(rows=rows))
    con.commit()
    out = []
    pg_ctx = postgres() if with_pg else None
    dsn = pg_ctx.__enter__() if pg_ctx is not None else None
    try:
        pg = None
        if dsn is not None:
            pg = psycopg.connect(dsn, autocommit=True)
            for table, typ in (("t", "numeric(12,2)"), ("u", "numeric")):
                pg.execute(f"CREATE TABLE {table} (g int, n {typ})")
                pg.execute(LOAD.replace(" t ", f" {table} ").format(rows=rows))
                pg.execute(f"VACUUM ANALYZE {table}")
        for sql, label in QUERIES:
            sv_rows = cur.execute(sql).fetchall()
            sv = cpu(lambda sql=sql: cur.execute(sql).fetchall(), repeat)
            row: list[object] = [label, sv]
            if pg is not None:
                pid = pg.execute("SELECT pg_backend_pid()").fetchone()[0]

                def run_pg(sql: str = sql) -> list:
                    return pg.execute(sql).fetchall()

                same = sorted(map(str, run_pg())) == sorted(map(str, sv_rows))
                times = []
                for _ in range(repeat):
                    before = _proc_cpu(pid) + time.process_time()
                    run_pg()
                    times.append(_proc_cpu(pid) + time.process_time() - before)
                pg_t = statistics.median(times)
                row += [pg_t, pg_t / sv, "same text" if same else "DIFFERENT"]
            out.append(row)
    finally:
        if pg_ctx is not None:
            pg_ctx.__exit__(None, None, None)
    return out


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-pg", action="store_true", help="skip the PostgreSQL comparison")
    args = ap.parse_args()
    print(machine_note())
    n = column(args.rows)
    print(f"\nkernels on {args.rows:,} numeric(12,2) values (CPU s, ratio = baseline / this)")
    print_table(["kernel", "cpu s", "ratio"], kernels(n, args.repeat))
    e2e_rows = min(args.rows, 200_000)
    print(f"\nend to end on {e2e_rows:,} rows: sqlvec embedded vs PostgreSQL 15 via psycopg "
          "(CPU s incl. the backend; ratio = PostgreSQL / sqlvec)")
    print_table(["query", "sqlvec cpu s", "pg cpu s", "ratio", "results"] if not args.no_pg
                else ["query", "sqlvec cpu s"], end_to_end(e2e_rows, args.repeat, not args.no_pg))


if __name__ == "__main__":
    main()
