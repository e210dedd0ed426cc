"""A real `sqlvec serve` process driven by psycopg, asyncpg and psql."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess
import uuid
from decimal import Decimal

import psycopg
import pytest

asyncpg = pytest.importorskip("asyncpg")


def test_psycopg_text_binary_and_prepared(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE pc_items (id integer PRIMARY KEY, name text, score float8, "
                    "flag boolean, amount numeric(10,2), born date, ts timestamp, u uuid, b bytea)")
        rows = [
            (1, "one", 1.5, True, Decimal("1.25"), dt.date(2020, 1, 2),
             dt.datetime(2020, 1, 2, 3, 4, 5), uuid.UUID(int=1), b"\x00\x01"),
            (2, None, None, None, None, None, None, None, None),
        ]
        with con.cursor() as cur:
            cur.executemany("INSERT INTO pc_items VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
        for binary in (False, True):
            with con.cursor(binary=binary) as cur:
                got = cur.execute("SELECT * FROM pc_items ORDER BY id").fetchall()
                assert got == rows, binary
                cur.execute("SELECT name FROM pc_items WHERE id = %s", (1,), prepare=True)
                assert cur.fetchone() == ("one",)
        assert con.execute("SELECT 1 AS a, 'x' AS b").fetchone() == (1, "x")
        cur = con.execute("UPDATE pc_items SET name = 'uno' WHERE id = 1")
        assert cur.statusmessage == "UPDATE 1"


def test_psycopg_transactions_and_errors(server):
    with psycopg.connect(server.dsn) as con:
        con.execute("CREATE TABLE pc_tx (id integer PRIMARY KEY)")
        con.commit()
        con.execute("INSERT INTO pc_tx VALUES (1)")
        with pytest.raises(psycopg.errors.UndefinedTable):
            con.execute("SELECT * FROM no_such_table")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            con.execute("SELECT 1")
        con.rollback()
        assert con.execute("SELECT count(*) FROM pc_tx").fetchone() == (0,)
        with pytest.raises(psycopg.errors.SyntaxError):
            con.execute("SELEC 1")
        con.rollback()
        assert con.execute("SELECT 2").fetchone() == (2,)


def test_asyncpg_prepared_binary(server):
    async def go():
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database, ssl=False)
        try:
            await con.execute("CREATE TABLE ap_items (id bigint PRIMARY KEY, name text, "
                              "score double precision, tags text[], at timestamptz)")
            at = dt.datetime(2021, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
            await con.executemany("INSERT INTO ap_items VALUES ($1, $2, $3, $4, $5)",
                                  [(i, f"n{i}", i / 2, ["a", str(i)], at) for i in range(50)])
            stmt = await con.prepare("SELECT id, name, score, tags, at FROM ap_items WHERE id = $1")
            row = await stmt.fetchrow(7)
            assert tuple(row) == (7, "n7", 3.5, ["a", "7"], at)
            assert await con.fetchval("SELECT count(*) FROM ap_items") == 50
            async with con.transaction():
                n = 0
                async for _r in con.cursor("SELECT id FROM ap_items ORDER BY id", prefetch=7):
                    n += 1
                assert n == 50
            with pytest.raises(asyncpg.exceptions.UndefinedTableError):
                await con.fetch("SELECT * FROM nope")
            assert await con.fetchval("SELECT $1::int + 1", 41) == 42
        finally:
            await con.close()

    asyncio.run(go())


psql = shutil.which("psql")


def run_psql(server, *args, input=None):
    return subprocess.run([psql, "-X", "-v", "ON_ERROR_STOP=1", "-h", server.host,
                           "-p", str(server.port), "-U", server.user, "-d", server.database,
                           *args], input=input, capture_output=True, text=True, timeout=60,
                          env={"PGSSLMODE": "prefer", "PATH": "/usr/bin:/bin"})


@pytest.mark.skipif(psql is None, reason="psql not installed")
def test_psql_c_f_and_interactive(server, tmp_path):
    r = run_psql(server, "-At", "-c", "SELECT 40 + 2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "42"
    script = tmp_path / "s.sql"
    script.write_text("CREATE TABLE ps_t (id integer, v text);\n"
                      "INSERT INTO ps_t VALUES (1, 'a'), (2, 'b');\n"
                      "SELECT v FROM ps_t ORDER BY id;\n")
    r = run_psql(server, "-At", "-f", str(script))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["CREATE", "TABLE", "INSERT", "0", "2", "a", "b"]
    r = run_psql(server, "-At", input="SELECT count(*) FROM ps_t;\n\\q\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "2"
    r = run_psql(server, "-c", "SELECT * FROM missing_tbl")
    assert r.returncode != 0 and 'relation "missing_tbl" does not exist' in r.stderr


def test_psycopg_pipeline_and_error_recovery(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE pl (id integer PRIMARY KEY, v text)")
        with con.pipeline():
            with con.cursor() as cur:
                for i in range(20):
                    cur.execute("INSERT INTO pl VALUES (%s, %s)", (i, f"v{i}"))
        assert con.execute("SELECT count(*) FROM pl").fetchone() == (20,)
        with pytest.raises(psycopg.errors.UniqueViolation):
            with con.pipeline():
                con.execute("INSERT INTO pl VALUES (%s, 'dup')", (1,))
                con.execute("INSERT INTO pl VALUES (%s, 'skipped')", (100,))
        assert con.execute("SELECT count(*) FROM pl WHERE id = 100").fetchone() == (0,)


def test_simple_query_stops_at_first_error(server):
    """Statements after the error are skipped (the wire's job, always checked)."""
    from tests.server.test_robustness import raw, read_until
    from tests.wire import pgclient as c

    s = raw(server)
    s.sendall(c.query("CREATE TABLE sq (id integer); INSERT INTO sq VALUES (1); "
                      "SELECT * FROM nope; INSERT INTO sq VALUES (2)"))
    out = c.split(read_until(s, b"Z\x00\x00\x00\x05"))
    assert [k for k, _ in out] == ["C", "C", "E", "Z"]
    s.sendall(c.query("SELECT count(*) FROM sq WHERE id = 2"))
    out = c.split(read_until(s, b"Z\x00\x00\x00\x05"))
    assert out[0][0] == "E"  # the CREATE TABLE was rolled back with the rest
    s.close()


def test_simple_query_error_rolls_back_the_whole_string(server):
    from tests.server.test_robustness import raw, read_until
    from tests.wire import pgclient as c

    s = raw(server)
    s.sendall(c.query("CREATE TABLE sq2 (id integer); SELECT * FROM nope"))
    read_until(s, b"Z\x00\x00\x00\x05")
    s.sendall(c.query("SELECT count(*) FROM sq2"))
    out = c.split(read_until(s, b"Z\x00\x00\x00\x05"))
    s.close()
    assert c.error_fields(out[0][1])["C"] == "42P01"  # as in PostgreSQL: nothing was kept


def test_extended_begin_without_sync_and_row_limits(server):
    from tests.server.test_robustness import raw, read_until
    from tests.wire import pgclient as c

    s = raw(server)
    s.sendall(c.query("CREATE TABLE ex (id integer)"))
    read_until(s, b"Z\x00\x00\x00\x05")
    s.sendall(c.parse("BEGIN") + c.bind() + c.execute() +
              c.parse("INSERT INTO ex VALUES ($1)", oids=(23,)) + c.bind([b"1"]) + c.execute() +
              c.bind([b"2"]) + c.execute() + c.SYNC)
    out = read_until(s, b"Z\x00\x00\x00\x05")
    assert c.kinds(out) == "12C12C2CZ" and out.endswith(b"T")
    s.sendall(c.parse("SELECT id FROM ex ORDER BY id") + c.bind(portal="p") +
              c.describe("P", "p") + c.execute("p", 1) + c.execute("p", 1) + c.execute("p", 1) +
              c.close("P", "p") + c.parse("COMMIT") + c.bind() + c.execute() + c.SYNC)
    out = read_until(s, b"Z\x00\x00\x00\x05I")
    assert c.kinds(out) in ("12TDsDsC3" "12CZ", "12TDsDCC3" "12CZ")  # PG: s; sqlvec may finish early
    s.close()


def test_server_version_names_sqlvec_and_every_driver_parses_it(server):
    """ParameterStatus server_version is '15.0 (sqlvec x)'; version() says sqlvec once."""
    import sqlvec

    with psycopg.connect(server.dsn, autocommit=True) as con:
        assert con.info.parameter_status("server_version") == f"15.0 (sqlvec {sqlvec.__version__})"
        assert con.info.server_version == 150000  # libpq's parse (psql uses the same)
        version = con.execute("SELECT version()").fetchone()[0]
        assert version.startswith("PostgreSQL 15.0 (sqlvec") and version.count("sqlvec") == 1
        assert con.execute("SHOW server_version_num").fetchone() == ("150000",)

    async def go():
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database)
        try:
            return con.get_server_version()
        finally:
            await con.close()

    assert asyncio.run(go())[:2] == (15, 0)
    if shutil.which("psql"):
        r = subprocess.run(["psql", "-h", server.host, "-p", str(server.port), "-U", server.user,
                            "-d", server.database, "-X", "-c", "select 1"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "WARNING" not in r.stderr + r.stdout, r.stderr


def test_command_tags_and_session_statements_over_the_wire(server):
    """Exact CommandComplete tags, and SET/SHOW/RESET, PREPARE/EXECUTE/DEALLOCATE, DISCARD ALL."""
    with psycopg.connect(server.dsn, autocommit=True) as con:
        cur = con.cursor()

        def tag(sql: str) -> str:
            cur.execute(sql)
            return cur.statusmessage

        assert tag("CREATE TABLE tags_t (id integer PRIMARY KEY, v text)") == "CREATE TABLE"
        assert tag("INSERT INTO tags_t VALUES (1, 'a'), (2, 'b'), (3, 'c')") == "INSERT 0 3"
        assert tag("UPDATE tags_t SET v = 'z' WHERE id > 1") == "UPDATE 2"
        assert tag("SELECT * FROM tags_t") == "SELECT 3"
        assert tag("DELETE FROM tags_t WHERE id = 3") == "DELETE 1"
        assert tag("SET application_name = 'tagger'") == "SET"
        assert con.info.parameter_status("application_name") == "tagger"  # ParameterStatus
        assert tag("SHOW application_name") == "SHOW" and cur.fetchone() == ("tagger",)
        assert tag("RESET application_name") == "RESET"
        assert tag("PREPARE q (int) AS SELECT v FROM tags_t WHERE id = $1") == "PREPARE"
        assert tag("EXECUTE q (2)") == "SELECT 1" and cur.fetchone() == ("z",)
        assert tag("DEALLOCATE q") == "DEALLOCATE"
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            cur.execute("EXECUTE q (2)")
        assert tag("PREPARE q2 AS SELECT 1") == "PREPARE"
        assert tag("BEGIN") == "BEGIN"
        assert con.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert tag("ROLLBACK") == "ROLLBACK"
        assert tag("DISCARD ALL") == "DISCARD ALL"
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            cur.execute("EXECUTE q2")
        assert tag("DROP TABLE tags_t") == "DROP TABLE"


def test_timestamptz_text_follows_the_session_time_zone(server):
    """Text results print timestamptz in the session's TimeZone, as PostgreSQL does, for
    one-row, few-row and many-row batches; binary results carry the same instants."""
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("SET TimeZone = 'America/New_York'")
        raw = con.cursor()  # text results read as strings: what psql would print
        raw.adapters.register_loader("timestamptz", psycopg.types.string.TextLoader)
        one = raw.execute("SELECT '2024-01-01 12:00:00+00'::timestamptz").fetchone()
        assert one == ("2024-01-01 07:00:00-05",)
        for n in (3, 300):
            rows = raw.execute("SELECT '2024-07-01 12:00:00+00'::timestamptz + i * interval '1 hour'"
                               f" FROM generate_series(0, {n - 1}) i").fetchall()
            assert rows[0] == ("2024-07-01 08:00:00-04",) and len(rows) == n
        with con.cursor(binary=True) as cur:
            got = cur.execute("SELECT '2024-01-01 12:00:00+00'::timestamptz").fetchone()[0]
            assert got == dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC)
        con.execute("RESET TimeZone")
        assert raw.execute("SELECT '2024-01-01 12:00:00+00'::timestamptz").fetchone() == (
            "2024-01-01 12:00:00+00",)
