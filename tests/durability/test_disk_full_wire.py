"""A full disk on WAL write over the wire: the statement fails (53100), nothing acknowledged is
lost, the failed statement never appears, and the server keeps running."""

from __future__ import annotations

import signal
import time

import psycopg
import pytest

from tests.durability.harness import Hooked, start_hooked
from tests.support.engine import ENGINE_MISSING, engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)


def _toggle(srv: Hooked, want: str) -> None:
    """SIGUSR2 the hooked server and wait until it reports `want` (disk-full / disk-ok)."""
    before = srv.events.read_text().split().count(want) if srv.events.exists() else 0
    srv.proc.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 60  # a safety net: the signal is handled at once
    while srv.events.read_text().split().count(want) <= before:
        assert time.monotonic() < deadline, "the server did not toggle the disk"
        time.sleep(0.01)


def test_disk_full_fails_the_statement_and_loses_nothing(tmp_path) -> None:
    data, log, events = tmp_path / "data", tmp_path / "server.log", tmp_path / "events"
    events.touch()
    srv = start_hooked(data, log, events)
    try:
        with psycopg.connect(srv.dsn, autocommit=True) as c:
            c.execute("CREATE TABLE t (k int PRIMARY KEY, v text)")
            c.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')")
            _toggle(srv, "disk-full")
            with pytest.raises(psycopg.errors.DiskFull):
                c.execute("INSERT INTO t VALUES (3, 'three'), (4, 'four')")
            with pytest.raises(psycopg.errors.DiskFull):
                with c.transaction():
                    c.execute("UPDATE t SET v = 'changed' WHERE k = 1")
                    c.execute("INSERT INTO t VALUES (5, 'five')")
            # reads still work while the disk is full, and show nothing of the failures
            assert c.execute("SELECT k, v FROM t ORDER BY k").fetchall() == [
                (1, "one"),
                (2, "two"),
            ]
            _toggle(srv, "disk-ok")
            c.execute("INSERT INTO t VALUES (6, 'six')")  # the same session goes on
        with psycopg.connect(srv.dsn, autocommit=True) as c:  # and new ones connect
            c.execute("UPDATE t SET v = 'TWO' WHERE k = 2")
        srv.kill()
        srv = start_hooked(data, log, events)
        with psycopg.connect(srv.dsn, autocommit=True) as c:
            assert c.execute("SELECT k, v FROM t ORDER BY k").fetchall() == [
                (1, "one"),
                (2, "TWO"),
                (6, "six"),
            ]
            c.execute("INSERT INTO t VALUES (3, 'three')")  # the failed keys are free
    finally:
        srv.kill()
