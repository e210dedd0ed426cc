"""SIGKILL a real server during bulk COPY FROM STDIN: every acknowledged COPY is all there.

A psycopg client sends binary COPYs: 9,000 rows with 128-dim float4[] embeddings (about
4.7 MB decoded: the bulk path, rows straight to fsynced segment files that the commit's
WAL record names), 2,000 rows with 16-dim ones (the WAL path), or both in one
transaction; the server is killed at a random moment. After the restart each
acknowledged COPY's rows are present with their values, the one in flight is either
entirely present or entirely absent, and nothing else is. Bounded for CI: 3 rounds.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from tests.durability.harness import start_hooked
from tests.support.engine import ENGINE_MISSING, engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)

ROUNDS = int(os.environ.get("SQLVEC_WIRE_COPY_CRASH_ROUNDS", "3"))
BIG, SMALL = (9000, 128), (2000, 16)  # rows, dimensions
HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8


def payload(first: int, n: int, dim: int) -> bytes:
    """Binary COPY tuples (id int8, emb float4[dim]); emb[1] = id / 2, emb[k] = k."""
    dt = np.dtype([("nf", ">i2"), ("l_id", ">i4"), ("id", ">i8"), ("l_e", ">i4"),
                   ("head", ">i4", 5), ("e", [("l", ">i4"), ("v", ">f4")], dim)])
    rec = np.zeros(n, dt)
    ids = np.arange(first, first + n)
    rec["nf"], rec["l_id"], rec["id"] = 2, 8, ids
    rec["l_e"], rec["head"] = 20 + 8 * dim, [1, 0, 700, dim, 1]
    rec["e"]["l"] = 4
    rec["e"]["v"] = np.arange(1, dim + 1, dtype=np.float32)
    rec["e"]["v"][:, 0] = ids / 2
    return HEADER + rec.tobytes() + b"\xff\xff"


class Copier(threading.Thread):
    """Sends COPYs until the server goes away; records what was acknowledged."""

    def __init__(self, dsn: str, first: int, rng: random.Random) -> None:
        super().__init__(daemon=True)
        self.dsn, self.next, self.rng = dsn, first, rng
        self.acked: list[tuple[int, int]] = []  # (first id, rows) per acknowledged commit
        self.in_flight: tuple[int, int] | None = None
        self.unexpected: list[str] = []
        self.ready = threading.Event()

    def run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as c:
                self.ready.set()
                while True:
                    kind = self.rng.choice(["big", "small", "both"])
                    parts = {"big": [BIG], "small": [SMALL], "both": [BIG, SMALL]}[kind]
                    n = sum(rows for rows, _ in parts)
                    self.in_flight = (self.next, n)
                    with c.transaction() if len(parts) > 1 else _nothing():
                        at = self.next
                        for rows, dim in parts:
                            with c.cursor().copy("COPY items FROM STDIN (FORMAT binary)") as cp:
                                cp.write(payload(at, rows, dim))
                            at += rows
                    self.acked.append((self.next, n))
                    self.in_flight = None
                    self.next += n
        except psycopg.OperationalError:
            pass  # the server was killed
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.unexpected.append(repr(e))
        finally:
            self.ready.set()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _check(dsn: str, acked: list[tuple[int, int]], in_flight: tuple[int, int] | None) -> bool:
    """Whether the in-flight COPY was applied; asserts everything else."""
    with psycopg.connect(dsn, autocommit=True) as c:
        ids = np.array([r[0] for r in c.execute("SELECT id FROM items").fetchall()], np.int64)
        (bad,) = c.execute("SELECT count(*) FROM items WHERE emb[1] * 2 <> id "
                           "OR emb[2] <> 2").fetchone()
    assert bad == 0, "rows with wrong values"
    assert len(np.unique(ids)) == len(ids), "duplicate rows"
    want = np.concatenate([np.arange(f, f + n) for f, n in acked]) if acked else np.zeros(0)
    have = set(ids.tolist())
    assert set(want.tolist()) <= have, "rows of an acknowledged COPY are missing"
    rest = have - set(want.tolist())
    if in_flight is None or not rest:
        assert not rest, "rows nobody sent"
        return False
    assert rest == set(range(in_flight[0], in_flight[0] + in_flight[1])), \
        "the COPY in flight was applied in part"
    return True


def test_sigkill_during_copy_keeps_every_acknowledged_copy(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    data, log, events = tmp_path / "data", tmp_path / "server.log", tmp_path / "events"
    srv = start_hooked(data, log, events)
    with psycopg.connect(srv.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE items (id int8, emb float4[])")
    acked: list[tuple[int, int]] = []
    first, applied = 0, 0
    try:
        for _ in range(ROUNDS):
            w = Copier(srv.dsn, first, random.Random(rng.randrange(1 << 30)))
            w.start()
            assert w.ready.wait(120)
            deadline = time.monotonic() + 120  # a safety net: one COPY takes well under 1 s
            while not w.acked:  # one acknowledged COPY a round: the floor asserted at the end
                assert w.is_alive() and time.monotonic() < deadline, w.unexpected
                time.sleep(0.005)
            time.sleep(rng.uniform(0.3, 1.5))
            srv.kill()
            w.join(30)
            assert not w.is_alive() and not w.unexpected, w.unexpected
            acked += w.acked
            srv = start_hooked(data, log, events)
            if _check(srv.dsn, acked, w.in_flight):
                acked.append(w.in_flight)  # type: ignore[arg-type]
                applied += 1
            first = w.next + BIG[0] + SMALL[0]
        assert srv.stop() == 0
        srv = start_hooked(data, log, events)
        _check(srv.dsn, acked, None)
    finally:
        srv.kill()
    print(f"\nwire COPY crash test: {ROUNDS} rounds, {len(acked)} COPY commits acknowledged "
          f"or applied ({sum(n for _, n in acked)} rows), in flight applied {applied}")
    assert len(acked) >= ROUNDS, "the client barely copied anything"
