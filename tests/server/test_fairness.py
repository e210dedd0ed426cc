"""Fast statements run on the event loop; heavy ones must still block no one and stay cancellable."""

from __future__ import annotations

import asyncio
import threading
import time

import psycopg
import pytest

asyncpg = pytest.importorskip("asyncpg")

HEAVY = "SELECT count(*) FROM fx a, fx b WHERE a.id * b.id = -1"
LOOKUPS = 50


def test_fast_lookups_flow_while_a_heavy_statement_runs_and_is_cancelled(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE fx (id integer PRIMARY KEY)")
        con.execute("INSERT INTO fx SELECT g FROM generate_series(0, 2999) g")
        failure: list[BaseException] = []

        def heavy() -> None:
            try:
                con.execute("; ".join([HEAVY] * 200))  # minutes, unless cancelled
            except BaseException as e:  # noqa: BLE001 - checked below
                failure.append(e)

        runner = threading.Thread(target=heavy)
        runner.start()

        async def lookups() -> tuple[int, float]:
            other = await asyncpg.connect(host=server.host, port=server.port,
                                          user=server.user, database=server.database)
            try:
                deadline = time.monotonic() + 120  # a safety net: it shows in a moment
                while not await other.fetchval(  # the heavy statement runs from here on
                        "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                        "AND position('a.id * b.id' in query) > 0"):
                    assert time.monotonic() < deadline, "the heavy statement never started"
                    await asyncio.sleep(0.02)
                stmt = await other.prepare("SELECT id FROM fx WHERE id = $1")
                worst = 0.0
                for n in range(LOOKUPS):
                    t0 = time.monotonic()
                    assert await stmt.fetchval(n) == n
                    worst = max(worst, time.monotonic() - t0)
                return worst
            finally:
                await other.close()

        worst = asyncio.run(lookups())
        # the 200 heavy statements take minutes: had a lookup waited behind them (was: a
        # latency bound of 2 s, which a loaded machine can break), they would be over by now
        assert runner.is_alive(), f"the heavy statement ended first (worst lookup {worst:.3f} s)"
        con.cancel()
        runner.join(120)
        assert not runner.is_alive()
        assert isinstance(failure[0], psycopg.errors.QueryCanceled)
        assert con.execute("SELECT 5").fetchone() == (5,)
