"""ivfflat and sparse indexes per segment: build, reopen and query cost against one structure.

    .venv/bin/python bench/ivf_segments.py [--n 200000] [--dim 128] [--lists 100] [--nq 200]

The same seeded clustered vectors as bench/ann.py go into a durable embedded database
(segments seal at 65,536 rows, so 200,000 rows make 3 sealed segments and a delta).
CREATE INDEX ... USING ivfflat trains the centroids once and assigns each segment's rows
(one part per sealed segment, saved beside it); the peer is one IvfflatIndex built over all
the rows (the former one-structure design) in the same run. Then: reopening the index after
a restart (parts opened as memory-mapped views) against building it again, and CPU per
query with recall@10 over `ivfflat.probes`, through SQL and through the peer structure.
CPU seconds of this process (all threads) are the figures to compare on a shared box.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from ann import dataset  # noqa: E402
from ann_build import timed  # noqa: E402
from common import print_table  # noqa: E402

from sqlvec.index.exact import exact_search  # noqa: E402
from sqlvec.index.ivfflat import IvfflatIndex, IvfflatOptions, IvfflatParams  # noqa: E402


def _vec(v: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.6g}" for x in v) + "]"


def _connect(path: str):  # noqa: ANN202
    import sqlvec

    con = sqlvec.connect(path)
    con.autocommit = True
    return con, con.cursor()


def load(path: str, x: np.ndarray) -> None:
    from sqlvec.catalog.catalog import Catalog

    con, cur = _connect(path)
    cur.execute(f"create table items (id int, emb vector({x.shape[1]}))")
    db = con._session.db
    step = 1 << 16  # one commit per sealed segment's worth of rows: several segments
    for s in range(0, len(x), step):
        e = min(len(x), s + step)
        txn = db.store.begin()
        oid = Catalog(txn, db.store).relation("public", "items").oid
        txn.insert(oid, pa.record_batch([
            pa.array(np.arange(s, e, dtype=np.int32)),
            pa.FixedSizeListArray.from_arrays(pa.array(x[s:e].reshape(-1)), x.shape[1]),
        ], names=["id", "emb"]))
        txn.commit()
    cur.execute("checkpoint")
    con.close()


def recall(got: list[list[int]], want: np.ndarray) -> float:
    k = want.shape[1]
    return sum(len(set(g[:k]) & set(w.tolist())) for g, w in zip(got, want)) / want.size


def sql_queries(cur, q: np.ndarray, probes: int) -> tuple[float, list[list[int]]]:  # noqa: ANN001
    cur.execute(f"set ivfflat.probes = {probes}")
    texts = [f"select id from items order by emb <-> '{_vec(v)}' limit 10" for v in q]
    for t in texts:  # (untimed: first use opens parts and faults their pages in)
        cur.execute(t)
        cur.fetchall()
    out: list[list[int]] = []

    def run() -> None:
        for t in texts:
            cur.execute(t)
            out.append([r[0] for r in cur.fetchall()])
    _w, cpu = timed(run)
    return cpu, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--lists", type=int, default=100)
    ap.add_argument("--nq", type=int, default=200)
    ap.add_argument("--probes", default="1,4,10")
    a = ap.parse_args()
    x, q = dataset(a.n, a.dim, 100, a.nq)
    want, _ = exact_search(np, x, np.arange(len(x)), q, 10, "l2")
    print(f"load average {os.getloadavg()[0]:.1f}; {a.n} x {a.dim}, lists = {a.lists}, "
          f"{a.nq} queries")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "db")
        load(path, x)
        con, cur = _connect(path)
        sql = f"create index items_idx on items using ivfflat (emb vector_l2_ops) with (lists = {a.lists})"
        bw, bc = timed(lambda: cur.execute(sql))
        from sqlvec.exec import vector_search as VS
        built = next(b for k, b in VS._CACHE[con._session.db.store].items()
                     if not isinstance(k, tuple))
        n_parts = len(built.parts)
        con.close()
        pw, pc = timed(lambda: IvfflatIndex.build(x, np.arange(len(x)), IvfflatOptions(lists=a.lists),
                                                  "l2"))
        peer = IvfflatIndex.build(x, np.arange(len(x)), IvfflatOptions(lists=a.lists), "l2")
        rows = [["build: CREATE INDEX (per segment)", f"{bw:.2f}", f"{bc:.2f}", f"{bc / pc:.2f}x"],
                ["build: one IvfflatIndex (peer)", f"{pw:.2f}", f"{pc:.2f}", "1.00x"]]
        con, cur = _connect(path)
        ow, oc = timed(lambda: (cur.execute(f"select id from items order by emb <-> '{_vec(q[0])}' "
                                            "limit 10"), cur.fetchall()))
        rows.append(["first query after restart (parts mmap)", f"{ow:.2f}", f"{oc:.2f}",
                     f"{oc / pc:.2f}x"])
        print(f"{n_parts} segment parts + delta of {a.n - sum(len(p.keys) for p in built.parts.values())}"
              " rows")
        print_table(["step", "wall s", "CPU s", "CPU vs peer build"], rows)
        rows = []
        con._session.db.store.wait_background()  # (compaction after the restart: not timed)
        cur.execute("set sqlvec.exact_scan_threshold = 0")
        for probes in [int(p) for p in a.probes.split(",")]:
            sc, got = sql_queries(cur, q, probes)
            res: list[np.ndarray] = []

            def peer_queries(params: IvfflatParams = IvfflatParams(probes=probes),
                             res: list[np.ndarray] = res) -> None:
                res.extend(peer.search(v[None, :], 10, params)[0] for v in q)
            _w, ic = timed(peer_queries)
            rows.append([probes, f"{recall(got, want):.3f}", f"{1e3 * sc / len(q):.2f}",
                         f"{recall([r[0].tolist() for r in res], want):.3f}",
                         f"{1e3 * ic / len(q):.2f}", f"{sc / ic:.2f}x"])
        texts = [f"select {i}" for i in range(len(q))]

        def points() -> None:
            for t in texts:
                cur.execute(t)
                cur.fetchall()
        _w, fc = timed(points)
        con.close()
    print(f"SQL floor (select <n> through the same cursor): {1e3 * fc / len(q):.2f} ms CPU "
          "per query")
    print_table(["probes", "SQL recall@10", "SQL CPU ms/q", "peer recall@10",
                 "peer CPU ms/q", "SQL / peer"], rows)


if __name__ == "__main__":
    main()
