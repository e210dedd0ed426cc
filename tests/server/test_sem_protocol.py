"""Protocol behaviour issue 2 names, shown through real clients: ParameterStatus for what
drivers read (and again when a SET changes or a ROLLBACK undoes it), ReadyForQuery's I/T/E,
NoticeResponse, Describe of statements and portals, Execute row limits, SCRAM with psql,
28P01 and 3D000 with their SQLSTATEs."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import psycopg
import pytest
from psycopg.pq import TransactionStatus

import sqlvec

asyncpg = pytest.importorskip("asyncpg")


def test_parameter_status_for_what_drivers_read(server):
    dsn = server.dsn + " application_name=semapp"
    with psycopg.connect(dsn, autocommit=True) as con:
        ps = con.info.parameter_status
        assert {n: ps(n) for n in (
            "server_version", "server_encoding", "client_encoding", "DateStyle", "TimeZone",
            "integer_datetimes", "standard_conforming_strings", "application_name",
            "is_superuser", "session_authorization", "IntervalStyle")} == {
            "server_version": f"15.0 (sqlvec {sqlvec.__version__})", "server_encoding": "UTF8",
            "client_encoding": "UTF8", "DateStyle": "ISO, MDY", "TimeZone": "UTC",
            "integer_datetimes": "on", "standard_conforming_strings": "on",
            "application_name": "semapp", "is_superuser": "on",
            "session_authorization": server.user, "IntervalStyle": "postgres"}
        con.execute("SET TimeZone = 'Europe/Paris'")
        assert ps("TimeZone") == "Europe/Paris"
        con.execute("BEGIN")
        con.execute("SET application_name = 'inside'")
        assert ps("application_name") == "inside"
        con.execute("ROLLBACK")  # the SET is undone, and the client told so
        assert ps("application_name") == "semapp"
        con.execute("SET DateStyle = 'German'")
        assert ps("DateStyle") == "German, DMY"
        con.execute("RESET ALL")
        assert (ps("DateStyle"), ps("TimeZone")) == ("ISO, MDY", "UTC")


def test_ready_for_query_carries_the_transaction_status(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        status = []
        con.execute("SELECT 1")
        status.append(con.info.transaction_status)
        con.execute("BEGIN")
        status.append(con.info.transaction_status)
        with pytest.raises(psycopg.errors.DivisionByZero):
            con.execute("SELECT 1 / 0")
        status.append(con.info.transaction_status)
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            con.execute("SELECT 1")
        status.append(con.info.transaction_status)
        con.execute("ROLLBACK")
        status.append(con.info.transaction_status)
        assert status == [TransactionStatus.IDLE, TransactionStatus.INTRANS, TransactionStatus.INERROR,
                          TransactionStatus.INERROR, TransactionStatus.IDLE]


def test_notices_reach_psycopg_and_asyncpg(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        seen: list[tuple[str, str, str]] = []
        con.add_notice_handler(lambda d: seen.append((d.severity, d.sqlstate, d.message_primary)))
        con.execute("ROLLBACK")
        con.execute("SET TRANSACTION READ ONLY")
        con.execute("DROP TABLE IF EXISTS sem_no_such_table")
        assert seen == [
            ("WARNING", "25P01", "there is no transaction in progress"),
            ("WARNING", "25P01", "SET TRANSACTION can only be used in transaction blocks"),
            ("NOTICE", "00000", 'table "sem_no_such_table" does not exist, skipping'),
        ]

    async def go():
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database, ssl=False)
        got = []
        con.add_log_listener(lambda c, msg: got.append((msg.sqlstate, msg.args[0])))
        try:
            await con.execute("COMMIT")
            await asyncio.sleep(0)  # (listeners are called soon after, on the loop)
            assert got == [("25P01", "there is no transaction in progress")]
        finally:
            await con.close()

    asyncio.run(go())


def test_describe_statement_and_portal_and_row_limits_with_asyncpg(server):
    async def go():
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database, ssl=False)
        try:
            await con.execute("CREATE TABLE sem_desc (id int PRIMARY KEY, v text)")
            st = await con.prepare("SELECT id, v, $2::float8 AS f FROM sem_desc WHERE id > $1")
            assert [t.name for t in st.get_parameters()] == ["int4", "float8"]  # ParameterDescription
            assert [(a.name, a.type.name) for a in st.get_attributes()] == [
                ("id", "int4"), ("v", "text"), ("f", "float8")]          # RowDescription
            ins = await con.prepare("INSERT INTO sem_desc VALUES ($1, $2)")
            assert [t.name for t in ins.get_parameters()] == ["int4", "text"]
            assert ins.get_attributes() == ()                                 # NoData
            await ins.executemany([(i, f"v{i}") for i in range(10)])
            async with con.transaction():
                # a cursor fetches with Execute(max_rows) and gets PortalSuspended until the end
                cur = await st.cursor(2, 0.5)
                first = await cur.fetch(3)
                rest = [r async for r in st.cursor(6, 0.5, prefetch=2)]
                assert [r["id"] for r in first] == [3, 4, 5]
                assert [r["id"] for r in rest] == [7, 8, 9]
        finally:
            await con.close()

    asyncio.run(go())


def test_auth_errors_carry_their_sqlstate_and_psql_logs_in_with_scram(server_factory):
    srv = server_factory("--auth", "scram-sha-256", "--user", "admin", "--password", "pw",
                         data=":memory:")

    async def go():
        with pytest.raises(asyncpg.InvalidPasswordError) as ei:
            await asyncpg.connect(host=srv.host, port=srv.port, user="admin", password="no",
                                  database="sqlvec", ssl=False)
        assert ei.value.sqlstate == "28P01"
        with pytest.raises(asyncpg.InvalidCatalogNameError) as ei:
            await asyncpg.connect(host=srv.host, port=srv.port, user="admin", password="pw",
                                  database="sem_no_db", ssl=False)
        assert ei.value.sqlstate == "3D000"

    asyncio.run(go())
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"host={srv.host} port={srv.port} user=admin password=no dbname=sqlvec "
                        "sslmode=disable")
    if shutil.which("psql") is None:
        pytest.skip("psql not installed")
    env = dict(os.environ, PGPASSWORD="pw", PGCONNECT_TIMEOUT="60")
    args = ["psql", "-h", srv.host, "-p", str(srv.port), "-U", "admin", "-d", "sqlvec", "-X", "-At"]
    r = subprocess.run([*args, "-c", "select current_user"], capture_output=True, text=True,
                       env=env, timeout=120)
    assert (r.returncode, r.stdout.strip()) == (0, "admin"), r.stderr
    r = subprocess.run(args + ["-c", "select 1"], capture_output=True, text=True,
                       env=dict(env, PGPASSWORD="wrong"), timeout=120)
    assert r.returncode != 0 and 'password authentication failed for user "admin"' in r.stderr
