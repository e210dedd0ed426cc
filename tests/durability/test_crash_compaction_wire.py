"""SIGKILL a real server while automatic background compaction runs; nothing acked is lost.

Like test_crash_wire (same writers, model and checks), but every round waits for the
server's own size-tiered compaction (Store._bg_compact, started by commits, not by
VACUUM) to begin and kills the server a few milliseconds into it. serve_hooked.py makes
growing data a full segment every 256 rows and the compaction fanout 2, so merges start
every few hundred rows written; the WAL checkpoint threshold is 64 KiB.
Bounded for CI: SQLVEC_WIRE_COMPACT_CRASH_ROUNDS rounds (default 3).
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.durability.crash_model import Model, Writer
from tests.durability.harness import start_hooked
from tests.durability.test_crash_wire import _events, _interrupted, _verify
from tests.support.engine import ENGINE_MISSING, engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)

ROUNDS = int(os.environ.get("SQLVEC_WIRE_COMPACT_CRASH_ROUNDS", "3"))
WRITERS = 3
CHECKPOINT_BYTES = 64 << 10
FANOUT = 2
SEAL_ROWS = 256


def test_sigkill_during_background_compaction_keeps_every_acknowledged_commit(
    tmp_path: Path,
) -> None:
    rng = random.Random(20261126)
    data, log, events = tmp_path / "data", tmp_path / "server.log", tmp_path / "events"

    def start():
        return start_hooked(data, log, events, checkpoint_bytes=CHECKPOINT_BYTES,
                            compact_fanout=FANOUT, seal_rows=SEAL_ROWS)

    srv = start()
    with psycopg.connect(srv.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE acct (k int8 PRIMARY KEY, v int8 NOT NULL, pad text)")
        c.execute("CREATE TABLE txlog (id int8 PRIMARY KEY, writer int4)")
    model, lock = Model(), threading.Lock()
    stats = {"comp_started": 0, "comp_killed": 0, "acked": 0, "applied_in_flight": 0}
    try:
        for _ in range(ROUNDS):
            ev_start = len(events.read_text()) if events.exists() else 0
            writers = [
                Writer(w, srv.dsn, model, rng.randrange(1 << 30), lock) for w in range(WRITERS)
            ]
            for w in writers:
                w.start()
            for w in writers:
                assert w.ready.wait(120)
            time.sleep(rng.uniform(0.05, 0.3))  # let compactions start and end in between
            seen = _events(srv, ev_start).count("comp+")
            deadline = time.monotonic() + 60  # a safety net
            while time.monotonic() < deadline and _events(srv, ev_start).count("comp+") <= seen:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.003))
            srv.kill()
            for w in writers:
                w.join(30)
                assert not w.is_alive(), "a writer hangs after the server was killed"
                assert not w.unexpected, w.unexpected
            words = _events(srv, ev_start)
            stats["comp_started"] += words.count("comp+") > seen
            stats["comp_killed"] += _interrupted(words, "comp")
            stats["acked"] += sum(w.acked for w in writers)
            srv = start()
            got = _verify(srv, model, [w.in_flight for w in writers if w.in_flight])
            stats["applied_in_flight"] += got["in_flight_applied"]
        assert srv.stop() == 0
        srv = start()
        _verify(srv, model, [])
    finally:
        srv.kill()
    print(f"\nwire compaction crash test: {ROUNDS} rounds, {stats}, rows {len(model.acct)}")
    assert stats["comp_started"] == ROUNDS, "automatic compaction did not start in every round"
    assert stats["comp_killed"] >= 1, "no SIGKILL landed inside an automatic compaction"
