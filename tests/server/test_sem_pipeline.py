"""The extended protocol's implicit transaction: what runs between two Syncs commits at the
Sync, or not at all when a statement fails (PostgreSQL; what asyncpg's executemany and
psycopg's pipelines rely on). Checked against PostgreSQL 15."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from tests.server.test_robustness import raw, read_until
from tests.wire import pgclient as c

asyncpg = pytest.importorskip("asyncpg")
READY = b"Z\x00\x00\x00\x05"


def test_asyncpg_executemany_is_all_or_nothing(server):
    async def go():
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database, ssl=False)
        try:
            await con.execute("CREATE TABLE sem_pl_a (id int PRIMARY KEY, v text)")
            with pytest.raises(asyncpg.UniqueViolationError):
                await con.executemany("INSERT INTO sem_pl_a VALUES ($1, $2)",
                                      [(1, "a"), (2, "b"), (1, "dup"), (3, "c")])
            assert await con.fetchval("SELECT count(*) FROM sem_pl_a") == 0
            await con.executemany("INSERT INTO sem_pl_a VALUES ($1, $2)", [(1, "a"), (2, "b")])
            assert await con.fetchval("SELECT count(*) FROM sem_pl_a") == 2
        finally:
            await con.close()

    asyncio.run(go())


def test_psycopg_pipeline_rolls_back_what_ran_before_the_error(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE sem_pl_p (id int PRIMARY KEY)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            with con.pipeline():
                con.execute("INSERT INTO sem_pl_p VALUES (%s)", (1,))
                con.execute("INSERT INTO sem_pl_p VALUES (%s)", (2,))
                con.execute("INSERT INTO sem_pl_p VALUES (%s)", (1,))
        assert con.execute("SELECT count(*) FROM sem_pl_p").fetchone() == (0,)
        with con.pipeline():
            con.execute("INSERT INTO sem_pl_p VALUES (%s)", (1,))
            cur = con.execute("SELECT count(*) FROM sem_pl_p")  # sees the insert before it
        assert cur.fetchone() == (1,)
        with con.cursor() as cur:
            with pytest.raises(psycopg.errors.UniqueViolation):
                cur.executemany("INSERT INTO sem_pl_p VALUES (%s)", [(5,), (6,), (1,)])
        assert con.execute("SELECT count(*) FROM sem_pl_p").fetchone() == (1,)


def _run(s, payload: bytes) -> list[tuple[str, str]]:
    s.sendall(payload)
    out = []
    for kind, body in c.split(read_until(s, READY)):
        if kind == "E":
            out.append((kind, c.error_fields(body)["C"]))
        elif kind in ("C", "D", "Z"):
            out.append((kind, body.decode()[-2:-1] if kind == "C" else body[-1:].decode()))
    return out


def test_statements_until_sync_commit_together(server):
    s = raw(server)
    try:
        def q(sql):
            return c.parse(sql) + c.bind() + c.execute()

        _run(s, c.query("CREATE TABLE sem_pl_r (a int)"))
        got = _run(s, q("INSERT INTO sem_pl_r VALUES (1)")
                   + q("SELECT 1 / (a - 1) FROM sem_pl_r") + c.SYNC)
        assert got == [("C", "1"), ("E", "22012"), ("Z", "I")]
        assert _run(s, c.query("SELECT count(*) FROM sem_pl_r")) == [("D", "0"), ("C", "1"), ("Z", "I")]
        got = _run(s, q("INSERT INTO sem_pl_r VALUES (2)") + q("VACUUM sem_pl_r") + c.SYNC)
        assert got == [("C", "1"), ("E", "25001"), ("Z", "I")]  # a block now: VACUUM refuses it
        got = _run(s, q("VACUUM sem_pl_r") + q("INSERT INTO sem_pl_r VALUES (3)") + c.SYNC)
        assert [k for k, _ in got] == ["C", "C", "Z"]  # the first statement is not in one
        got = _run(s, q("INSERT INTO sem_pl_r VALUES (4)") + q("BEGIN") + q("INSERT INTO sem_pl_r VALUES (5)")
                   + c.SYNC)
        assert got[-1] == ("Z", "T")  # BEGIN took the insert before it into its block
        assert _run(s, c.query("ROLLBACK"))[-1] == ("Z", "I")
        assert _run(s, c.query("SELECT a FROM sem_pl_r")) == [("D", "3"), ("C", "1"), ("Z", "I")]
    finally:
        s.close()
