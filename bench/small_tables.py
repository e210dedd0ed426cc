"""Top-k of small tables, ranked exactly: the compiled plan against the general path.

    python bench/small_tables.py [--rows 1000,5000,19000] [--dim 128] [--queries 300] [--wire]

A table of at most `sqlvec.exact_scan_threshold` rows (20,000), or one without an index, is
ranked exactly. Per table size, the seeded clustered vectors of bench/ann.py go into table
`items` three ways: one sealed segment (one INSERT, then VACUUM FULL), the same with an hnsw
index, and rows of many small commits (growing pieces of a few rows each, no index). Each
runs `SELECT id FROM items ORDER BY emb <-> $1 LIMIT 10` as a prepared statement through the
embedded API (and, with --wire, psycopg binary against `sqlvec serve` on a copy of the data),
with the compiled plan (ann_fast's exact scan of a passing set of every row) and then with
`SET sqlvec.disabled_rules = 'ann_fast_path'` (the general path: operators, one exact kernel
call per part), interleaved `--rounds` times; the median round of each. The ratio column is
compiled / general. A last row per size forces the index (`exact_scan_threshold = 0`), for
scale: the approximate answer, and its recall@10.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine_note, print_table, start_sqlvec  # noqa: E402 (pins BLAS first)

# isort: split
import numpy as np  # noqa: E402
from ann import dataset, ground_truth, recall  # noqa: E402

SQL = "select id from items order by emb <-> %s limit 10"


def load(path: str, x: np.ndarray, how: str) -> None:
    """Table items (id, emb) at `path` with x's rows: 'one' (one sealed segment), 'indexed'
    (the same plus hnsw) or 'commits' (growing pieces of many small commits)."""
    import sqlvec

    con = sqlvec.connect(path)
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"create table items (id int, emb vector({x.shape[1]}))")
    if how == "commits":
        lo, rng = 0, np.random.default_rng(1)
        while lo < len(x):
            n = int(min(len(x) - lo, rng.choice([1, 2, 3, 500])))
            cur.executemany("insert into items values (%s, %s)",
                            [(i, x[i]) for i in range(lo, lo + n)])
            lo += n
    else:
        con.autocommit = False
        cur.executemany("insert into items values (%s, %s)", [(i, x[i]) for i in range(len(x))])
        con.commit()
        con.autocommit = True
        cur.execute("vacuum full items")
        if how == "indexed":
            cur.execute("create index on items using hnsw (emb vector_l2_ops)")
    con.close()


def sweep(cur, q: np.ndarray, gt: np.ndarray, setting: str) -> tuple[float, float]:
    """(QPS, recall@10) of every query under one SET (after warming the plan)."""
    cur.execute(setting)
    for v in q[:10]:
        cur.execute(SQL, (v,))
        cur.fetchall()
    got = []
    t0 = time.perf_counter()
    for v in q:
        cur.execute(SQL, (v,))
        got.append([r[0] for r in cur.fetchall()])
    return len(q) / (time.perf_counter() - t0), recall(np.array(got), gt)


SETTINGS = {
    "compiled": "reset sqlvec.disabled_rules",
    "general": "set sqlvec.disabled_rules = 'ann_fast_path'",
}


def measure(cur, q, gt, rounds: int, forced: bool) -> dict[str, tuple[float, float]]:
    """Each setting's median round (interleaved), and the forced index's."""
    runs: dict[str, list] = {k: [] for k in SETTINGS}
    for _ in range(rounds):
        for name, setting in SETTINGS.items():
            runs[name].append(sweep(cur, q, gt, setting))
    cur.execute("reset sqlvec.disabled_rules")
    out = {k: sorted(v)[len(v) // 2] for k, v in runs.items()}
    if forced:
        cur.execute("set sqlvec.exact_scan_threshold = 0")
        out["index"] = sweep(cur, q, gt, "reset sqlvec.disabled_rules")
        cur.execute("reset sqlvec.exact_scan_threshold")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", default="1000,5000,19000")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--wire", action="store_true")
    args = ap.parse_args()
    import sqlvec

    print(machine_note())
    table = []
    root = tempfile.mkdtemp(prefix="sqlvec-small-")
    try:
        for n in (int(v) for v in args.rows.split(",")):
            centres = max(10, n // 100)
            x, q = dataset(n, args.dim, centres, args.queries)
            gt = ground_truth(x, q, 10, f"{n}x{args.dim}_c{centres}_q{args.queries}")
            for how in ("one", "indexed", "commits"):
                path = os.path.join(root, f"{n}-{how}")
                load(path, x, how)
                paths = [("embedded", path)]
                if args.wire:
                    paths.append(("wire", path))
                for via, p in paths:
                    if via == "embedded":
                        con = sqlvec.connect(p)
                        stop = con.close
                    else:
                        import psycopg
                        from pgvector.psycopg import register_vector

                        copy = p + "-wire"
                        shutil.copytree(p, copy, ignore=shutil.ignore_patterns("LOCK"))
                        srv, _ = start_sqlvec(copy)
                        con = psycopg.connect(srv.dsn, autocommit=True, prepare_threshold=0)
                        register_vector(con)

                        def stop(con=con, srv=srv) -> None:
                            con.close()
                            srv.stop()
                    con.autocommit = True
                    cur = con.cursor(binary=True) if via == "wire" else con.cursor()
                    got = measure(cur, q, gt, args.rounds, how == "indexed")
                    stop()
                    c, g = got["compiled"], got["general"]
                    table.append([f"{n:,} x {args.dim}", how, via, c[0], g[0],
                                  f"{c[0] / g[0]:.2f}x", f"{c[1]:.4f}"])
                    if "index" in got:
                        table.append([f"{n:,} x {args.dim}", "index forced", via, got["index"][0],
                                      "-", "-", f"{got['index'][1]:.4f}"])
        print_table(["rows", "table", "path", "compiled QPS", "general QPS", "ratio", "recall"],
                    table)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
