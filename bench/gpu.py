"""The GPU search path (CuPy) against the numpy path on the same vectors, in one process.

    python bench/gpu.py [--n 1000000] [--dim 128] [--queries 100] [--batch 1000] [--lists 1000]

The seeded clustered vectors of bench/ann.py. Three levels, each run with the array module
numpy (every core: BLAS threads are not pinned here) and then CuPy, with a check that
both return the same keys:

- kernel: exact_search over the whole matrix (already on the device for CuPy), one query
  per call and `--batch` queries in one call;
- ivfflat: IvfflatIndex search at two probe counts (recall@10 against the exact answer);
- SQL: the embedded API, `SET sqlvec.gpu = off | on`, an exact top-10 scan of table items
  (no index), unfiltered, for `--batch` targets in one LATERAL join (one batched search)
  and under a 50% WHERE clause, then an ivfflat index.

Without CuPy and a device only the numpy rows print. Prints a table; the ratio column is
CuPy's QPS over numpy's on the same row.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, str(os.cpu_count() or 1))
# both modules' copies of the column stay cached (numpy's views and the device's copy), so
# a timed row never pays for the other's eviction
os.environ.setdefault("SQLVEC_MATRIX_CACHE_BYTES", str(8 << 30))

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ann import dataset, ground_truth, print_table, recall  # noqa: E402
from ann_build import load_sqlvec  # noqa: E402

from sqlvec.index.exact import exact_search  # noqa: E402
from sqlvec.index.ivfflat import IvfflatIndex, IvfflatOptions, IvfflatParams  # noqa: E402
from sqlvec.index.xp import array_module, gpu_available  # noqa: E402


def qps(fn: Callable[[int], object], count: int) -> tuple[float, list]:
    """(calls per second, results) of fn(0..count-1), after one untimed warm call."""
    fn(0)
    t0 = time.perf_counter()
    out = [fn(i) for i in range(count)]
    return count / (time.perf_counter() - t0), out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--centres", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--lists", type=int, default=1000)
    args = ap.parse_args()
    x, q = dataset(args.n, args.dim, args.centres, max(args.queries, args.batch))
    gt = ground_truth(x, q, 10, f"{args.n}x{args.dim}_c{args.centres}_q{len(q)}")
    mods = [("numpy", np)] + ([("cupy", array_module(True))] if gpu_available() else [])
    keys = np.arange(args.n, dtype=np.int64)
    nq = args.queries
    table: dict[str, dict[str, tuple[float, float, bool]]] = {}

    def put(row: str, mod: str, rate: float, got: np.ndarray, base: str | None = None) -> None:
        """One measurement: QPS, recall@10 and whether the keys equal numpy's on that row."""
        got = np.asarray(got)
        ref = table.get(row, {}).get("numpy")
        same = ref is None or np.array_equal(ref[3], got)
        table.setdefault(row, {})[mod] = (rate, recall(got, gt[:len(got)]), same, got)

    def kernel(name: str, xp) -> None:
        xd = xp.asarray(x)
        sq = (xd * xd).sum(axis=1)
        rate, out = qps(lambda i: exact_search(xp, xd, keys, q[i:i + 1], 10, "l2", x_sq=sq,
                                               host=x)[0][0], nq)
        put("kernel exact, 1 query a call", name, rate, out)
        t0 = time.perf_counter()
        got = exact_search(xp, xd, keys, q[:args.batch], 10, "l2", x_sq=sq, host=x)[0]
        put(f"kernel exact, {args.batch} queries a call", name,
            args.batch / (time.perf_counter() - t0), got)

    for name, xp in mods:
        kernel(name, xp)

    t0 = time.perf_counter()
    ivf = IvfflatIndex.build(x, keys, IvfflatOptions(lists=args.lists), "l2")
    print(f"ivfflat build (numpy k-means, {args.lists} lists): {time.perf_counter() - t0:.1f} s")
    for probes in (10, 40):
        for name, _xp in mods:
            params = IvfflatParams(probes=probes, gpu=name == "cupy")
            rate, out = qps(lambda i, p=params: ivf.search(q[i:i + 1], 10, p)[0][0], nq)
            put(f"ivfflat kernel, probes {probes}", name, rate, out)

    with tempfile.TemporaryDirectory() as tmp:
        con = load_sqlvec(x, tmp)
        cur = con.cursor()
        texts = ["[" + ",".join(f"{v:.6g}" for v in row) + "]" for row in q[:nq]]

        def sql_rows(label: str, sql: str) -> None:
            for name, _xp in mods:
                cur.execute(f"set sqlvec.gpu = {'on' if name == 'cupy' else 'off'}")

                def one(i: int) -> list[int]:
                    cur.execute(sql, {"q": texts[i]})
                    return [r[0] for r in cur.fetchall()]
                rate, out = qps(one, nq)
                put(label, name, rate, out)

        sql_rows("SQL exact scan", "select id from items order by emb <-> %(q)s limit 10")
        cur.execute(f"create table qs (qid int, emb vector({args.dim}))")
        batch = ["[" + ",".join(f"{v:.6g}" for v in row) + "]" for row in q[:args.batch]]
        cur.execute("insert into qs values " + ",".join(f"({i}, '{t}')" for i, t in enumerate(batch)))
        for name, _xp in mods:
            cur.execute(f"set sqlvec.gpu = {'on' if name == 'cupy' else 'off'}")
            t0 = time.perf_counter()
            cur.execute("select s.id from qs cross join lateral (select id from items "
                        "order by items.emb <-> qs.emb limit 10) s order by qs.qid")
            got = np.array([r[0] for r in cur.fetchall()]).reshape(-1, 10)
            put(f"SQL LATERAL exact, {args.batch} targets in one statement", name,
                args.batch / (time.perf_counter() - t0), got)
        sql_rows("SQL exact scan, WHERE id % 2 = 0 (50%)",
                 "select id from items where id %% 2 = 0 order by emb <-> %(q)s limit 10")
        t0 = time.perf_counter()
        cur.execute(f"create index on items using ivfflat (emb vector_l2_ops) "
                    f"with (lists = {args.lists})")
        print(f"SQL CREATE INDEX ... USING ivfflat: {time.perf_counter() - t0:.1f} s")
        cur.execute("set sqlvec.exact_scan_threshold = 0")
        for probes in (10, 40):
            cur.execute(f"set ivfflat.probes = {probes}")
            sql_rows(f"SQL ivfflat, probes {probes}",
                     "select id from items order by emb <-> %(q)s limit 10")
        con.close()

    print(f"\n{args.n:,} x {args.dim} float32, {nq} queries; numpy with "
          f"{os.environ['OPENBLAS_NUM_THREADS']} BLAS threads; "
          f"{'CuPy ' + mods[1][1].__version__ if len(mods) > 1 else 'no CuPy/GPU here'}")
    headers = ["path", "numpy QPS", "recall@10"]
    if len(mods) > 1:
        headers += ["CuPy QPS", "recall@10", "same keys", "CuPy/numpy"]
    rows = []
    for row, by in table.items():
        r: list[object] = [row, by["numpy"][0], by["numpy"][1]]
        if "cupy" in by:
            g = by["cupy"]
            r += [g[0], g[1], "yes" if g[2] else "NO", f"{g[0] / by['numpy'][0]:.2f}x"]
        rows.append(r)
    print_table(headers, rows)


if __name__ == "__main__":
    main()
