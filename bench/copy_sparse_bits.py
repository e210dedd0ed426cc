"""Binary COPY FROM of bit / varbit / sparsevec columns: the column-at-once decoder
(wire/copy_binary_sparse.py) against the per-value receive path it replaced, in one process
and one run, interleaved. Prints CPU seconds (process time) and wall seconds per load.

    .venv/bin/python bench/copy_sparse_bits.py [rows]     # default 100,000 rows, ~1 min
"""

from __future__ import annotations

import os
import struct
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlvec.session import Database, Session  # noqa: E402
from sqlvec.wire import copy as wire_copy  # noqa: E402
from sqlvec.wire import copy_binary  # noqa: E402
from sqlvec.wire.copy import BINARY_SIGNATURE, CopyIn, parse_copy  # noqa: E402
from tests.support.rows import run  # noqa: E402

COLUMNS = {"b": "bit(64)", "vb": "varbit", "s": "sparsevec(10000)"}


def payload(n: int, col: str, rng: np.random.Generator) -> bytes:
    """(id int4, col) tuples in PostgreSQL's binary COPY format."""
    parts = [BINARY_SIGNATURE + bytes(8)]
    for i in range(n):
        if col == "b":
            raw = struct.pack("!i", 64) + rng.bytes(8)
        elif col == "vb":
            nb = int(rng.integers(0, 41))
            raw = bytearray(struct.pack("!i", nb) + rng.bytes((nb + 7) // 8))
            if nb % 8:
                raw[-1] &= (0xFF << (8 - nb % 8)) & 0xFF
            raw = bytes(raw)
        else:
            idx = np.sort(rng.choice(10000, 20, replace=False)).astype(">i4")
            raw = struct.pack("!iii", 10000, 20, 0) + idx.tobytes() + \
                (rng.random(20) + 0.5).astype(">f4").tobytes()
        parts.append(struct.pack("!hii", 2, 4, i) + struct.pack("!i", len(raw)) + raw)
    parts.append(b"\xff\xff")
    return b"".join(parts)


def load(s: Session, table: str, data: bytes) -> tuple[float, float]:
    cmd = parse_copy(f"COPY {table} FROM STDIN (FORMAT binary)")
    c = CopyIn(s, cmd, s.prepare(f"SELECT * FROM {table}", [], "").columns)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(0, len(data), 1 << 16):
        c.feed(data[i:i + (1 << 16)])
    c.finish()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = np.random.default_rng(5)
    db = Database.open(None)
    s = Session(db)
    run(s, "CREATE EXTENSION IF NOT EXISTS vector")
    native = copy_binary.native_decoder
    print(f"binary COPY FROM, {n:,} rows (id int4, one column); load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"{'column':<22}{'per-value CPU s':>16}{'at once CPU s':>15}{'CPU ratio':>11}"
          f"{'per-value wall s':>18}{'at once wall s':>16}")
    for col, typ in COLUMNS.items():
        data = payload(n, col, rng)
        res = {}
        for mode in ("per-value", "at once", "per-value", "at once"):  # interleaved, best of 2
            table = f"t_{col}_{mode.replace(' ', '_').replace('-', '_')}"
            run(s, f"DROP TABLE IF EXISTS {table}")
            run(s, f"CREATE TABLE {table} (id int4, x {typ})")
            wire_copy.CB.native_decoder = native if mode == "at once" else \
                (lambda c, _n=native: _n(c) and c.type.short not in ("bit", "varbit", "sparsevec"))
            try:
                got = load(s, table, data)
            finally:
                wire_copy.CB.native_decoder = native
            best = res.get(mode)
            res[mode] = got if best is None or got[0] < best[0] else best
        a = run(s, f"SELECT x::text FROM t_{col}_per_value ORDER BY id")
        b = run(s, f"SELECT x::text FROM t_{col}_at_once ORDER BY id")
        assert a == b and len(a) == n, f"{col}: the two paths loaded different values"
        pv, ao = res["per-value"], res["at once"]
        print(f"{typ:<22}{pv[0]:>16.2f}{ao[0]:>15.2f}{pv[0] / max(ao[0], 1e-9):>10.1f}x"
              f"{pv[1]:>18.2f}{ao[1]:>16.2f}")
    s.close()
    db.close()


if __name__ == "__main__":
    main()
