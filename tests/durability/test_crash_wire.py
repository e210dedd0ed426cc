"""SIGKILL a real `sqlvec serve` under concurrent wire writers; nothing acknowledged is lost.

Rounds: start the server on the same data directory, verify it against the model of
acknowledged commits, let 4 psycopg writers run, kill -9 the server at a random moment.
Every third round forces a checkpoint + VACUUM (SIGUSR1 to serve_hooked.py) and kills the
server while it runs; the WAL checkpoint threshold is 64 KiB so background checkpoints
and automatic compaction also happen in ordinary rounds.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.durability.crash_model import Model, Op, Writer
from tests.durability.harness import Hooked, start_hooked
from tests.support.engine import ENGINE_MISSING, engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)

ROUNDS = int(os.environ.get("SQLVEC_WIRE_CRASH_ROUNDS", "21"))
WRITERS = 4
ROUND_ACKS = 11  # commits acknowledged in a round before its kill: the floor asserted at the end
CHECKPOINT_BYTES = 64 << 10


def _events(srv: Hooked, start: int) -> list[str]:
    try:
        return srv.events.read_text()[start:].split()
    except FileNotFoundError:
        return []


def _interrupted(words: list[str], what: str) -> bool:
    """Whether a `what+` in the event words has no matching `what-` (killed in the middle)."""
    return words.count(what + "+") > words.count(what + "-")


def _await_acks(writers: list[Writer], n: int) -> None:
    """Wait until the writers have n commits acknowledged between them."""
    deadline = time.monotonic() + 120  # a safety net: a few milliseconds on a quiet box
    while sum(w.acked for w in writers) < n:
        assert all(w.is_alive() for w in writers), [w.unexpected for w in writers]
        assert time.monotonic() < deadline, "the writers commit nothing"
        time.sleep(0.005)


def _kill_during(srv: Hooked, rng: random.Random, what: str, ev_start: int) -> None:
    """Force maintenance and SIGKILL the server shortly after `what` begins."""
    time.sleep(rng.uniform(0.05, 0.3))
    before = _events(srv, ev_start).count(what + "+")
    srv.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 60  # a safety net: it starts at once
    while time.monotonic() < deadline and _events(srv, ev_start).count(what + "+") <= before:
        time.sleep(0.001)
    time.sleep(rng.uniform(0, 0.004))
    srv.kill()


def _verify(srv: Hooked, model: Model, in_flight: list[Op]) -> dict[str, int]:
    """Check the restarted server against the model; adopt in-flight ops found applied."""
    with psycopg.connect(srv.dsn, autocommit=True) as c:
        rows = c.execute("SELECT k, v FROM acct").fetchall()
        actual = dict(rows)
        assert len(actual) == len(rows), "duplicate primary keys in a full scan"
        (count,) = c.execute("SELECT count(*) FROM acct").fetchone()
        assert count == len(rows), "count(*) disagrees with a full scan"
        dups = c.execute("SELECT k FROM acct GROUP BY k HAVING count(*) > 1").fetchall()
        assert dups == []
        txlog = {r[0] for r in c.execute("SELECT id FROM txlog").fetchall()}
        applied = 0
        for op in in_flight:
            post = {k: actual.get(k) for k in op.acct}
            pre = {k: model.acct.get(k) for k in op.acct}
            logged = {i in txlog for i in op.txlog}
            if post == op.acct and logged <= {True}:
                model.apply(op)
                applied += 1
            else:
                assert post == pre and logged <= {False}, (
                    f"half-applied statement {op.sql}: before {pre}, wanted {op.acct}, "
                    f"found {post}, txlog {logged}"
                )
        missing = {k: v for k, v in model.acct.items() if actual.get(k) != v}
        extra = {k: actual[k] for k in actual.keys() - model.acct.keys()}
        assert not missing, f"acknowledged rows lost or stale: {list(missing.items())[:5]}"
        assert not extra, f"rows nobody acknowledged: {list(extra.items())[:5]}"
        assert txlog == model.txlog
        if model.acct:  # point lookups through the primary key agree with the scan
            for k in random.Random(len(rows)).sample(sorted(model.acct), min(10, len(rows))):
                assert c.execute("SELECT v FROM acct WHERE k = %s", (k,)).fetchall() == [
                    (model.acct[k],)
                ]
            k = next(iter(model.acct))
            with pytest.raises(psycopg.errors.UniqueViolation):
                c.execute("INSERT INTO acct VALUES (%s, 0, 'dup')", (k,))
    return {"rows": len(rows), "in_flight_applied": applied, "in_flight": len(in_flight)}


def test_sigkill_rounds_keep_every_acknowledged_commit(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    data, log, events = tmp_path / "data", tmp_path / "server.log", tmp_path / "events"
    srv = start_hooked(data, log, events, checkpoint_bytes=CHECKPOINT_BYTES)
    with psycopg.connect(srv.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE acct (k int8 PRIMARY KEY, v int8 NOT NULL, pad text)")
        c.execute("CREATE TABLE txlog (id int8 PRIMARY KEY, writer int4)")
    model, lock = Model(), threading.Lock()
    stats = {"ckpt": 0, "vac": 0, "acked": 0, "recover_s": 0.0, "applied_in_flight": 0}
    try:
        for rnd in range(ROUNDS):
            ev_start = len(events.read_text()) if events.exists() else 0
            writers = [
                Writer(w, srv.dsn, model, rng.randrange(1 << 30), lock) for w in range(WRITERS)
            ]
            for w in writers:
                w.start()
            for w in writers:
                assert w.ready.wait(120)
            _await_acks(writers, ROUND_ACKS)  # (was left to time: 403 < 420 at load 13)
            if rnd % 3 == 1:
                _kill_during(srv, rng, "ckpt", ev_start)
            elif rnd % 3 == 2:
                _kill_during(srv, rng, "vac", ev_start)
            else:
                time.sleep(rng.uniform(0.2, 0.9))
                srv.kill()
            for w in writers:
                w.join(30)
                assert not w.is_alive(), "a writer hangs after the server was killed"
                assert not w.unexpected, w.unexpected
            words = _events(srv, ev_start)
            stats["ckpt"] += _interrupted(words, "ckpt")
            stats["vac"] += _interrupted(words, "vac")
            stats["acked"] += sum(w.acked for w in writers)
            srv = start_hooked(data, log, events, checkpoint_bytes=CHECKPOINT_BYTES)
            stats["recover_s"] = max(stats["recover_s"], srv.started_s)
            got = _verify(srv, model, [w.in_flight for w in writers if w.in_flight])
            stats["applied_in_flight"] += got["in_flight_applied"]
        assert srv.stop() == 0  # a clean shutdown checkpoints; the next start sees the same
        srv = start_hooked(data, log, events, checkpoint_bytes=CHECKPOINT_BYTES)
        _verify(srv, model, [])
    finally:
        srv.kill()
    print(f"\nwire crash test: {ROUNDS} rounds, {stats}, final rows {len(model.acct)}")
    assert stats["acked"] >= ROUND_ACKS * ROUNDS, "writers barely committed anything"
    assert stats["ckpt"] >= 1, "no SIGKILL landed inside a checkpoint"
    assert stats["vac"] >= 1, "no SIGKILL landed inside a VACUUM"
