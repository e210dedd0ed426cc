"""CPU cost of one call of a dense distance operator (<->, <=>, <#>) on few and many rows.

    .venv/bin/python bench/vector_fn.py [--base DIR]

Each call evaluates `emb <op> $1` over a column of n x 128 vectors (stored as
fixed_size_list, and as the unsized list<float> the binder's cast to `vector` gives)
against one constant query vector, through the operator's implementation. Figures are
CPU microseconds per call (best of 5 rounds); with --base DIR the same runs in a
checkout at DIR (a subprocess) and the table gets base / this.
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


def measure() -> dict[str, float]:
    import numpy as np
    import pyarrow as pa

    from sqlvec.core import types as T
    from sqlvec.functions.registry import CallContext
    from sqlvec.functions.vectors import ops
    from sqlvec.functions.vectors import types as V

    rng = np.random.default_rng(0)
    q = pa.scalar(rng.standard_normal(128).astype(np.float32).tolist(), pa.list_(pa.float32()))
    out: dict[str, float] = {}
    for n in (10, 100_000):
        x = rng.standard_normal((n, 128)).astype(np.float32)
        fsl = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), 128)
        lst = fsl.cast(pa.list_(pa.float32()))
        ctx = CallContext((V.VECTOR, V.VECTOR), T.FLOAT8, n)
        count = 2000 if n < 1000 else 20
        for op, metric in (("<->", "l2_distance"), ("<=>", "cosine_distance"),
                           ("<#>", "negative_inner_product")):
            impl = ops.dense_distance(metric, "vector")
            for form, col in (("fsl", fsl), ("list", lst)):
                best = float("inf")
                for _ in range(5):
                    t = time.process_time()
                    for _ in range(count):
                        impl(ctx, [col, q])
                    best = min(best, (time.process_time() - t) / count * 1e6)
                out[f"{op} {form:4s} n={n}"] = best
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", help="a checkout to compare with (run in a subprocess)")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.json:
        print(json.dumps(measure()))
        return

    def run(tree: str) -> dict[str, float]:
        env = dict(os.environ, PYTHONPATH=tree)
        res = subprocess.run([sys.executable, __file__, "--json"], env=env,
                             capture_output=True, text=True, check=True, cwd="/")
        return json.loads(res.stdout.strip().splitlines()[-1])

    this = run(str(REPO))
    base = run(args.base) if args.base else None
    print(f"CPU us per operator call, 128 dims (load average {os.getloadavg()[0]:.1f})")
    head = f"{'case':24s} {'this':>10s}" + (f" {'base':>10s} {'base/this':>9s}" if base else "")
    print(head)
    print("-" * len(head))
    for k, v in this.items():
        line = f"{k:24s} {v:10.1f}"
        if base:
            line += f" {base[k]:10.1f} {base[k] / v:8.2f}x"
        print(line)


if __name__ == "__main__":
    main()
