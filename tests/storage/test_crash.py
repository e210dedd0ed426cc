"""kill -9 a process committing through the Store API; every acknowledged commit survives."""

from __future__ import annotations

import os
import random
import selectors
import signal
import subprocess
import sys
import time

import pyarrow as pa

from sqlvec.storage import Store

WRITER = os.path.join(os.path.dirname(__file__), "crash_writer.py")
ROUNDS = int(os.environ.get("SQLVEC_CRASH_ROUNDS", "20"))


def _run_until_killed(path: str, rng: random.Random) -> list[int]:
    """Start the writer, let it commit for a random while, SIGKILL it; returns acked tags."""
    proc = subprocess.Popen(
        [sys.executable, WRITER, path], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    acked: list[int] = []
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = None
    started = time.monotonic()
    buf = b""
    try:
        while True:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            if sel.select(timeout=0.05):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    raise AssertionError(proc.stderr.read().decode())
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    if line.startswith(b"ack "):
                        acked.append(int(line[4:]))
                        if deadline is None:  # kill at a random moment after the first ack
                            deadline = time.monotonic() + rng.uniform(0.0, 0.6)
            if deadline is None and now - started > 300:  # a safety net: a second or two
                raise AssertionError("writer made no progress")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # acks printed before the kill but not read yet still count
        rest = buf + proc.stdout.read()
        for line in rest.split(b"\n"):
            if line.startswith(b"ack "):
                acked.append(int(line[4:]))
        proc.stdout.close()
        proc.stderr.close()
    return acked


def _check(path: str, acked: set[int]) -> int:
    """Reopen and verify: all acked tags present, no transaction half-applied."""
    s = Store.open(path)
    try:
        t = s.begin()
        last = t.catalog_get("last")["i"]
        t1 = t.scan_table(1).column("tag").to_pylist()
        t2 = t.scan_table(2).column("tag").to_pylist()
        t3 = t.scan_table(3)
        counts: dict[int, int] = {}
        for tag in t1:
            counts[tag] = counts.get(tag, 0) + 1
        assert all(c == 3 for c in counts.values()), "a transaction was half-applied"
        assert sorted(counts) == sorted(t2) == list(range(1, last + 1))
        assert acked <= set(t2), f"lost acknowledged commits {sorted(acked - set(t2))[:5]}"
        keys = t3.column("k").to_pylist()
        assert len(keys) == len(set(keys)) == min(10, last)
        for k, v in zip(keys, t3.column("v").to_pylist()):
            assert v % 10 == k and v > last - 10, "an update was lost"
        found, _ = t.lookup(3, "k", pa.array(list(range(10))))
        assert int(found.sum()) == min(10, last)
        return last
    finally:
        s.close()


def test_kill_9_loses_no_acknowledged_commit(tmp_path):
    rng = random.Random(1234)
    path = str(tmp_path / "data")
    all_acked: set[int] = set()
    start = _cpu_s()
    for _ in range(ROUNDS):
        acked = _run_until_killed(path, rng)
        all_acked.update(acked)
        _check(path, all_acked)
    assert len(all_acked) >= ROUNDS
    assert _cpu_s() - start < 180  # CPU seconds (a loaded machine stretches wall time)


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the killed writers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
