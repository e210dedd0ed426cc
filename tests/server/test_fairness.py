"""Fast statements run on the event loop; heavy ones must still block no one and stay cancellable."""

from __future__ import annotations

import asyncio
import threading
import time

import psycopg
import pytest

asyncpg = pytest.importorskip("asyncpg")

HEAVY = "SELECT count(*) FROM fx a, fx b WHERE a.id * b.id = -1"


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
        time.sleep(0.3)

        async def lookups() -> tuple[int, float]:
            other = await asyncpg.connect(host=server.host, port=server.port,
                                          user=server.user, database=server.database)
            try:
                stmt = await other.prepare("SELECT id FROM fx WHERE id = $1")
                worst, n, stop = 0.0, 0, time.monotonic() + 1.0
                while time.monotonic() < stop:
                    t0 = time.monotonic()
                    assert await stmt.fetchval(n % 3000) == n % 3000
                    worst = max(worst, time.monotonic() - t0)
                    n += 1
                return n, worst
            finally:
                await other.close()

        n, worst = asyncio.run(lookups())
        assert runner.is_alive()  # the heavy statement was running all along
        con.cancel()
        runner.join(30)
        assert not runner.is_alive()
        assert isinstance(failure[0], psycopg.errors.QueryCanceled)
        assert n > 5 and worst < 2.0, (n, worst)  # never stuck behind the heavy statement
        assert con.execute("SELECT 5").fetchone() == (5,)
