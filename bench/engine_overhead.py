"""Per-execution engine cost of cached prepared statements, embedded (no wire).

    .venv/bin/python bench/engine_overhead.py [--base DIR] [--rounds 5]

Queries (one client, `sqlvec.connect(':memory:')`, repeated `cursor.execute(sql, params)`
which reuses the prepared statement and its generic plan):
  - pk:  `SELECT v FROM kv WHERE id = %s` on 2,000 rows (primary-key point lookup)
  - ann: `SELECT id FROM items ORDER BY emb <-> %s LIMIT 10` on 20,000 x 128 with an hnsw
         index (sqlvec.exact_scan_threshold lowered so the index serves it)
  - one: `SELECT %s::int + 1` (no table: the fixed cost of a statement)
With --ann-db DIR (a database bench/ann.py made: bench/.cache/db_100000x128_...) two more
rows run on its clustered `items` table, one query at a time, hnsw.ef_search = 40, k = 10:
  - ann100k: the same ANN statement through the embedded API (the query a list of floats),
  - annnp: the same with the query a float32 numpy array (what the wire's binary vector
    parameter decodes to),
  - annoff: ann100k with `SET sqlvec.disabled_rules = 'ann_fast_path'` (the operators'
    general path instead of exec/ann_fast.py's compiled one),
  - usearch: usearch's own Python search on the graph sqlvec saved for that table (the same
    vectors, M, ef_construction and ef_search: the ceiling), so usearch/ann100k is the
    fraction of usearch's single-query rate the embedded API reaches.
Each figure is the minimum over rounds of CPU microseconds per query of this process; with
--base DIR the same runs alternate with a checkout at DIR (e.g. `git archive <rev> | tar
-x -C DIR`) in a subprocess and the table gets the ratio base / this.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def measure_ann_db(path: str, rounds: int, count: int = 500) -> dict[str, float]:
    """CPU us per query on a bench/ann.py database: the embedded SQL query and usearch itself."""
    import glob
    import shutil
    import tempfile

    import sqlvec

    saved = list(sys.path)  # (sqlvec is imported already: the tree measured stays the one used)
    sys.path.insert(0, str(REPO / "bench"))
    import ann
    sys.path[:] = saved
    from usearch.index import Index

    tmp = tempfile.mkdtemp(prefix="sqlvec_overhead_")
    try:
        data = os.path.join(tmp, "db")  # a private copy: the checkout compared may rewrite files
        shutil.copytree(path, data, ignore=shutil.ignore_patterns("LOCK"))
        con = sqlvec.connect(data)
        con.autocommit = True
        cur = con.cursor()
        dim = cur.execute("select vector_dims(emb) from items limit 1").fetchone()[0]
        n = cur.execute("select count(*) from items").fetchone()[0]
        _x, q = ann.dataset(n, dim, 1000, count, seed=42)
        ql = [[float(v) for v in r] for r in q]
        cur.execute("set hnsw.ef_search = 40")
        sql = "select id from items order by emb <-> %s limit 10"
        graphs = [g for g in glob.glob(os.path.join(data, "indexes", "*.usearch"))]
        out: dict[str, list[float]] = {"ann100k": [], "annnp": [], "annoff": [], "usearch": []}
        for _ in range(rounds):
            for name, qs in (("ann100k", ql), ("annnp", list(q)), ("annoff", ql)):
                if name == "annoff":  # the general path (operators), compiled fast path off
                    cur.execute("set sqlvec.disabled_rules = 'ann_fast_path'")
                for v in qs[:20]:
                    cur.execute(sql, (v,)).fetchall()
                t = time.process_time()
                for v in qs:
                    cur.execute(sql, (v,)).fetchall()
                out[name].append((time.process_time() - t) / len(qs) * 1e6)
                if name == "annoff":
                    cur.execute("reset sqlvec.disabled_rules")
            if graphs:
                g = Index.restore(max(graphs, key=os.path.getsize), view=True)
                g.expansion_search = 40
                t = time.process_time()
                for i in range(len(q)):
                    g.search(q[i], 10, threads=1)
                out["usearch"].append((time.process_time() - t) / len(q) * 1e6)
        con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {k: min(v) for k, v in out.items() if v}


def measure(rounds: int) -> dict[str, float]:
    """CPU us per query for each workload (median of rounds), in this process."""
    import numpy as np
    import pyarrow as pa

    import sqlvec
    from sqlvec.catalog.catalog import Catalog

    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    cur.execute("create table kv (id int8 primary key, v text)")
    cur.executemany("insert into kv values (%s, %s)", [(i, f"v{i}") for i in range(2000)])
    con.commit()
    con.autocommit = True
    dim, n = 128, 20_000
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    cur.execute(f"create table items (id int, emb vector({dim}))")
    db = con._session.db
    txn = db.store.begin()
    oid = Catalog(txn, db.store).relation("public", "items").oid
    txn.insert(oid, pa.record_batch([pa.array(np.arange(n, dtype=np.int32)),
                                     pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), dim)],
                                    names=["id", "emb"]))
    txn.commit()
    cur.execute("create index on items using hnsw (emb vector_l2_ops)")
    cur.execute("set sqlvec.exact_scan_threshold = 1000")
    qs = [[float(v) for v in r] for r in rng.standard_normal((300, dim)).astype(np.float32)]
    work = {
        "one": ("select %s::int + 1", lambda i: i, 3000),
        "pk": ("select v from kv where id = %s", lambda i: i % 2000, 3000),
        "ann": ("select id from items order by emb <-> %s limit 10", lambda i: qs[i % 300], 600),
    }
    out: dict[str, list[float]] = {k: [] for k in work}
    for _ in range(rounds):
        for name, (sql, arg, count) in work.items():
            for i in range(20):
                cur.execute(sql, (arg(i),)).fetchall()
            t = time.process_time()
            for i in range(count):
                cur.execute(sql, (arg(i),)).fetchall()
            out[name].append((time.process_time() - t) / count * 1e6)
    con.close()
    return {k: min(v) for k, v in out.items()}  # the least disturbed round (shared machine)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", help="a checkout to compare with (run in a subprocess)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ann-db", help="a database made by bench/ann.py (100k x 128 clustered)")
    ap.add_argument("--only-ann", action="store_true", help="with --ann-db: skip the other rows")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.json:
        res = {} if args.only_ann else measure(args.rounds)
        if args.ann_db:
            res.update(measure_ann_db(args.ann_db, args.rounds))
        print(json.dumps(res))
        return

    def run(tree: str) -> dict[str, float]:
        env = dict(os.environ, PYTHONPATH=tree)
        extra = (["--ann-db", os.path.abspath(args.ann_db)] if args.ann_db else []) + \
            (["--only-ann"] if args.only_ann else [])
        res = subprocess.run([sys.executable, __file__, "--json", "--rounds", str(args.rounds),
                              *extra], env=env, capture_output=True, text=True, check=True, cwd="/")
        return json.loads(res.stdout.strip().splitlines()[-1])

    this = run(str(REPO))
    base = run(args.base) if args.base else None
    if base is not None:  # a second pair, alternated, against drift in the machine's load
        this2, base2 = run(str(REPO)), run(args.base)
        this = {k: min(this[k], this2[k]) for k in this}
        base = {k: min(base[k], base2[k]) for k in base}
    load = os.getloadavg()[0]
    print(f"CPU us per query, embedded, one client (load average {load:.1f})")
    head = f"{'query':7s} {'this':>9s} {'QPS(cpu)':>9s}" + (f" {'base':>9s} {'base/this':>9s}" if base else "")
    print(head)
    print("-" * len(head))
    for k, v in this.items():
        line = f"{k:7s} {v:9.1f} {1e6 / v:9,.0f}"
        if base:
            line += (f" {base[k]:9.1f} {base[k] / v:8.2f}x" if k in base else f" {'-':>9s} {'-':>9s}")
        print(line)
    if "usearch" in this:
        print(f"embedded ANN / usearch direct QPS (CPU): this {this['usearch'] / this['ann100k']:.2f}"
              f" (numpy query {this['usearch'] / this['annnp']:.2f})"
              + (f", base {base['usearch'] / base['ann100k']:.2f}" if base else "")
              + " (issue 5 target: >= 0.5)")
        print(f"embedded ANN - usearch direct (CPU us per query): this {this['ann100k'] - this['usearch']:.1f}"
              f" (numpy query {this['annnp'] - this['usearch']:.1f})"
              + (f", base {base['ann100k'] - base['usearch']:.1f}" if base else ""))


if __name__ == "__main__":
    main()
