"""Bounded memory: top-N sorts, aggregates and left joins stream a large input.

Each query computes new columns over a 1,000,000-row table, so an operator that
materialised its input would grow by about that input's size (40-70 MB); a streaming one
holds a batch or two. Each check runs in a fresh interpreter that samples its own anonymous resident memory
(RssAnon, as tests/server/test_streaming.py) while the query runs.
Every check fails with its operator's streaming switched off (`python
tests/exec/test_stream_memory.py off`).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

ROWS = 1_000_000

SCRIPT = r"""
import gc, json, sys, threading, time
from sqlvec.session import Database, Session

def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon"):
                return int(line.split()[1]) * 1024

name, rows, off = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "off"
if off:
    from sqlvec.exec import aggregate, join, topk
    aggregate._splits = lambda a: False
    join.PROBE_STREAM_BUILD_ROWS = -1
    topk.MERGE_ROWS = 1 << 40
    topk._can_enter = lambda ex, b, kept, keys: b
s = Session(Database.open(None))
for sql in ["CREATE TABLE t (id bigint, v bigint)",
            f"INSERT INTO t SELECT g, (g::int8 * 7919) % 1000003 FROM generate_series(1, {rows}) g",
            "CREATE TABLE s (k int, name text)",
            "INSERT INTO s SELECT g, 'name ' || g FROM generate_series(0, 499) g"]:
    list(s.execute(sql))
QUERIES = {
    "topn": "SELECT id, 'row ' || id || ' value ' || v, 'more text ' || v || ' and ' || id, v * 3 "
            "FROM t ORDER BY v % 100003 DESC, id LIMIT 10",
    "aggregate": "SELECT id % 100, count(*), sum(v * 2), avg(v + 1), max('row ' || id || ' value ' || v), "
                 "min('more text ' || v) FROM t GROUP BY 1",
    "left join": "SELECT t.id, t.v, t.s, t.u, s.name FROM (SELECT id, v, 'row ' || id || ' value ' || v AS s, "
                 "'more text ' || v || ' and ' || id AS u FROM t) t LEFT JOIN s ON t.id % 1000 = s.k",
}

def measure(sql):
    global peak, done
    gc.collect()
    base = peak = rss()
    done = False
    def sample():
        global peak
        while not done:
            peak = max(peak, rss())
            time.sleep(0.002)
    th = threading.Thread(target=sample)
    th.start()
    n = 0
    try:
        (res,) = list(s.execute(sql))
        for b in res.batches:  # read batch by batch, as a client would
            n += b.num_rows
        del res, b
    finally:
        done = True
        th.join()
    return {"rows": n, "growth": peak - base}

print(json.dumps(measure(QUERIES[name])))
"""

# what the operator's input would take if materialised (Arrow bytes, a low estimate)
INPUT_BYTES = {
    "topn": ROWS * (8 + 8 + 8 + 8 + len("row 500000 value 500000") + len("more text 500000 and 500000") + 8),
    "aggregate": ROWS * (8 + 8 + 8 + 8 + len("row 500000 value 500000") + len("more text 500000") + 8),
    "left join": ROWS * (8 + 8 + len("row 500000 value 500000") + len("more text 500000 and 500000")
                         + len("name 250") + 12),
}
RESULT_ROWS = {"topn": 10, "aggregate": 100, "left join": ROWS}


def _run(off: bool = False) -> dict:
    """Each query in a fresh interpreter of its own (memory an earlier query freed stays with
    the allocator and would hide growth); the three run side by side."""
    procs = {q: subprocess.Popen([sys.executable, "-c", SCRIPT, q, str(ROWS), "off" if off else "on"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for q in INPUT_BYTES}
    out = {}
    for q, p in procs.items():
        stdout, stderr = p.communicate(timeout=180)
        assert p.returncode == 0, stderr[-3000:]
        out[q] = json.loads(stdout.strip().splitlines()[-1])
    return out


@pytest.fixture(scope="module")
def measured() -> dict:
    return _run()


@pytest.mark.parametrize("name", ["topn", "aggregate", "left join"])
def test_operator_streams_with_bounded_memory(measured: dict, name: str) -> None:
    r = measured[name]
    assert r["rows"] == RESULT_ROWS[name]
    assert r["growth"] < INPUT_BYTES[name] // 2, (r["growth"], INPUT_BYTES[name])


if __name__ == "__main__":  # the control: growth with streaming switched off
    on, off = _run(), _run(off=len(sys.argv) > 1 and sys.argv[1] == "off")
    for q, size in INPUT_BYTES.items():
        print(f"{q:10s} input {size / 1e6:6.1f} MB  growth streaming {on[q]['growth'] / 1e6:6.1f} MB"
              f"  off {off[q]['growth'] / 1e6:6.1f} MB")
