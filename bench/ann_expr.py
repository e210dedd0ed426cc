"""Vector indexes on expressions (pgvector's half-precision and binary-quantization indexing)
against the index on the column itself, in one process on the same vectors.

    .venv/bin/python bench/ann_expr.py [--n 100000] [--dim 128] [--queries 300] [--ef 40]

The seeded clustered vectors of bench/ann.py, loaded as COPY loads them (full segments).
For each index: CREATE INDEX wall and CPU seconds (an expression index also computes the
expression for every row: its hidden column), recall@10 against the exact float32 answer
and queries per second through the embedded API (one prepared statement, the query vector
a parameter), then DROP INDEX seconds (an expression index's column goes with it: a
rewrite of the table). The binary-quantized index is queried as pgvector's README writes
it: the best 100 by Hamming distance, re-ranked by the full vectors.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ann import dataset, ground_truth, print_table, recall  # noqa: E402
from ann_build import load_sqlvec, timed  # noqa: E402


def variants(d: int) -> list[tuple[str, str, str]]:
    """(label, index key, query with %(q)s for the query vector)."""
    half = f"emb::halfvec({d})"
    bq = f"binary_quantize(emb)::bit({d})"
    return [
        ("column: emb vector_l2_ops", "emb vector_l2_ops",
         "select id from items order by emb <-> %(q)s limit 10"),
        (f"({half}) halfvec_l2_ops", f"({half}) halfvec_l2_ops",
         f"select id from items order by {half} <-> %(q)s limit 10"),
        (f"({bq}) bit_hamming_ops + re-rank", f"({bq}) bit_hamming_ops",
         f"select id from (select id, emb from items order by {bq} <~> "
         f"binary_quantize(%(q)s::vector({d})) limit 100) s order by emb <-> %(q)s limit 10"),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--ef", type=int, default=40)
    args = ap.parse_args()
    x, q = dataset(args.n, args.dim, args.centres, args.queries)
    gt = ground_truth(x, q, 10, f"{args.n}x{args.dim}_c{args.centres}_q{args.queries}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        con = load_sqlvec(x, tmp)
        cur = con.cursor()
        cur.execute(f"set hnsw.ef_search = {args.ef}")
        texts = ["[" + ",".join(f"{v:.6g}" for v in row) + "]" for row in q]
        for label, key, sql in variants(args.dim):
            wall, cpu = timed(lambda k=key: cur.execute(
                f"create index items_x on items using hnsw ({k}) with (m = 16, ef_construction = 64)"))
            for t in texts[:20]:  # (warm: the plan cached, the graphs mapped)
                cur.execute(sql, {"q": t})
                cur.fetchall()
            t0 = time.perf_counter()
            got = []
            for t in texts:
                cur.execute(sql, {"q": t})
                got.append([r[0] for r in cur.fetchall()])
            qps = len(texts) / (time.perf_counter() - t0)
            drop, _ = timed(lambda: cur.execute("drop index items_x"))
            rows.append([label, wall, cpu, recall(np.array(got), gt), qps, drop])
        con.close()
    print(f"\n{args.n:,} x {args.dim} clustered vectors, ef_search {args.ef}, "
          f"{args.queries} queries, one embedded connection")
    print_table(["index", "build s", "build CPU s", "recall@10", "QPS", "DROP INDEX s"], rows)


if __name__ == "__main__":
    main()
