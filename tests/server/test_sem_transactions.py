"""Transaction modes and block rules over the wire, with the drivers' own transaction APIs
(psycopg's read_only / isolation_level, asyncpg's transaction(readonly=, isolation=))."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from psycopg import IsolationLevel

asyncpg = pytest.importorskip("asyncpg")


def test_psycopg_read_only_serializable_transaction(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE sem_ro (id int PRIMARY KEY, v text)")
        con.execute("INSERT INTO sem_ro VALUES (1, 'a')")
    with psycopg.connect(server.dsn) as con:
        con.read_only = True
        con.isolation_level = IsolationLevel.SERIALIZABLE  # BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY
        assert con.execute("SELECT v FROM sem_ro").fetchall() == [("a",)]
        assert con.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
        assert con.execute("SHOW transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction) as ei:
            con.execute("INSERT INTO sem_ro VALUES (2, 'b')")
        assert ei.value.diag.message_primary == "cannot execute INSERT in a read-only transaction"
        con.rollback()
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction, match="COPY FROM"):
            with con.cursor().copy("COPY sem_ro FROM STDIN") as cp:
                cp.write_row((3, "c"))
        con.rollback()
        con.read_only = False
        con.execute("INSERT INTO sem_ro VALUES (2, 'b')")
        con.commit()
        assert con.execute("SELECT count(*) FROM sem_ro").fetchone() == (2,)


def test_start_transaction_tag_and_rollback_prepared_in_a_failed_block(server):
    # prepare_threshold=0: every statement, ROLLBACK included, goes through a named Parse
    with psycopg.connect(server.dsn, autocommit=True, prepare_threshold=0) as con:
        assert con.execute("START TRANSACTION READ WRITE").statusmessage == "START TRANSACTION"
        for _ in range(3):
            with pytest.raises(psycopg.errors.DivisionByZero):
                con.execute("SELECT 1 / 0")
            with pytest.raises(psycopg.errors.InFailedSqlTransaction):
                con.execute("SELECT 1")
            assert con.execute("ROLLBACK").statusmessage == "ROLLBACK"
            assert con.execute("BEGIN").statusmessage == "BEGIN"
        assert con.execute("COMMIT").statusmessage == "COMMIT"
        assert con.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_asyncpg_readonly_transaction_and_session_default(server):
    async def go():
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database, ssl=False)
        try:
            await con.execute("CREATE TABLE sem_ro_a (id int PRIMARY KEY)")
            async with con.transaction(isolation="repeatable_read", readonly=True):
                assert await con.fetchval("SHOW transaction_isolation") == "repeatable read"
                with pytest.raises(asyncpg.exceptions.ReadOnlySQLTransactionError):
                    await con.execute("INSERT INTO sem_ro_a VALUES ($1)", 1)
            await con.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            with pytest.raises(asyncpg.exceptions.ReadOnlySQLTransactionError, match="DELETE"):
                await con.execute("DELETE FROM sem_ro_a")
            assert await con.fetchval("SHOW default_transaction_read_only") == "on"
            assert await con.execute("BEGIN READ WRITE") == "BEGIN"  # the block's own mode wins
            await con.execute("INSERT INTO sem_ro_a VALUES ($1)", 1)
            assert await con.execute("COMMIT") == "COMMIT"
            await con.execute("RESET default_transaction_read_only")
            assert await con.fetchval("SELECT count(*) FROM sem_ro_a") == 1
        finally:
            await con.close()

    asyncio.run(go())


def test_startup_option_makes_every_transaction_read_only(server):
    dsn = server.dsn + " options='-c default_transaction_read_only=on'"
    with psycopg.connect(dsn, autocommit=True) as con:
        assert con.execute("SHOW transaction_read_only").fetchone() == ("on",)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            con.execute("CREATE TABLE sem_never (a int)")
