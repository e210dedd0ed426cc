"""10,000 tables created over the wire survive a restart; start-up and first query stay fast.

Slow-ish (tens of seconds on 2 busy cores) but kept in CI: it is the only test of lazy
loading through a real server. Tables are created 500 per simple-Query message (one
implicit transaction each); a few get rows. After a clean restart the server's CPU time to
listen and to answer the first query on one table is bounded (CPU, not wall time: the
bound must hold on a loaded machine), and after a SIGKILL (tables created since the last
checkpoint are only in the WAL) every table is still there.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.durability.harness import Hooked, start_hooked
from tests.support.engine import ENGINE_MISSING, engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)

TABLES = 10_000
PER_MESSAGE = 500
START_BUDGET_S = 15.0  # server CPU seconds; the issue asks for "a few seconds" (of wall time)


def _create(dsn: str, first: int, last: int) -> None:
    with psycopg.connect(dsn, autocommit=True) as c:
        for lo in range(first, last, PER_MESSAGE):
            hi = min(lo + PER_MESSAGE, last)
            c.execute(
                "; ".join(
                    f"CREATE TABLE t{i} (id int8 PRIMARY KEY, v text)" for i in range(lo, hi)
                )  # no parameters: one simple-Query message, one implicit transaction
            )
        for i in range(first, last, 997):
            c.execute(f"INSERT INTO t{i} VALUES ({i}, 'row of t{i}')")


def _check(srv: Hooked, tables: int) -> float:
    """Server CPU seconds to the first answer (connection included); then every table
    exists and the sampled rows are there."""
    t0 = srv.cpu_s()
    with psycopg.connect(srv.dsn, autocommit=True) as c:
        assert c.execute("SELECT v FROM t4985").fetchall() == [("row of t4985",)]
        first = srv.cpu_s() - t0
        (n,) = c.execute(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'"
        ).fetchone()
        assert n == tables
        for i in (0, 997, tables - 1000, tables - 3):
            assert c.execute(f"SELECT id FROM t{i}").fetchall() == [(i,)]
        assert c.execute(f"SELECT count(*) FROM t{tables - 1}").fetchone() == (0,)
    return first


def test_ten_thousand_tables_restart_and_first_query(tmp_path) -> None:
    data, log, events = tmp_path / "data", tmp_path / "server.log", tmp_path / "events"
    srv = start_hooked(data, log, events)
    try:
        t0 = time.monotonic()
        _create(srv.dsn, 0, TABLES - 1000)
        create_s = time.monotonic() - t0
        assert srv.stop() == 0  # clean: checkpointed
        srv = start_hooked(data, log, events)
        _create(srv.dsn, TABLES - 1000, TABLES)  # these live only in the WAL...
        srv.kill()  # ...when the server dies
        srv = start_hooked(data, log, events)
        start_s = srv.cpu_s()  # start-up and WAL recovery: the server is idle once listening
        first_s = _check(srv, TABLES)
    finally:
        srv.kill()
    print(
        f"\n{TABLES} tables: created in {create_s:.1f} s, restart after SIGKILL "
        f"{srv.started_s:.2f} s to listen ({start_s:.2f} s CPU), first query {first_s:.3f} s CPU"
    )
    assert start_s < START_BUDGET_S, f"start-up with {TABLES} tables took {start_s:.1f} s CPU"
    assert first_s < 5.0
