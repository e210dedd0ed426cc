"""COPY through client libraries, every common type, compared byte for byte with PostgreSQL 15."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import pytest

from tests.clients.conftest import need

psycopg = pytest.importorskip("psycopg")

DDL = ("create table cp (i int, b bigint, s smallint, f float8, r real, n numeric(10,2), t text, "
       "v varchar(10), bo boolean, d date, ts timestamp, tz timestamptz, j jsonb, u uuid, "
       "by bytea, arr int[], tarr text[], iv interval)")
ROWS = ("1\t2\t3\t1.5\t2.5\t3.25\thello\tvc\tt\t2024-01-02\t2024-01-02 03:04:05\t"
        "2024-01-02 03:04:05+00\t{\"a\": 1}\t11111111-2222-3333-4444-555555555555\t\\\\x0102\t"
        "{1,2,NULL}\t{\"a b\",c}\t1 day 02:00:00\n" + "\t".join(["\\N"] * 18) + "\n")
CSV_IN = "id;name\n1;'semi;colon'\n2;NULL\n3;''\n"
OUT = [
    "copy cp to stdout",
    "copy cp to stdout (format csv, header)",
    "copy cp to stdout with (format csv, delimiter ';', null 'NULL', quote '''')",
    "copy (select i, t from cp order by i) to stdout",
    "copy cp (i, t) to stdout (format csv)",
    "copy csvin to stdout (format csv, header)",
]


def _scenario(dsn: str) -> dict[str, bytes]:
    """Load rows with COPY FROM (text, csv options, binary round trip); what COPY TO returns."""
    out: dict[str, bytes] = {}
    with psycopg.connect(dsn, autocommit=True) as con:
        for t in ("cp", "cp2", "csvin"):
            con.execute(f"drop table if exists {t}")
        con.execute(DDL)
        con.execute(DDL.replace("cp (", "cp2 ("))
        con.execute("create table csvin (id int, name text)")
        with con.cursor().copy("copy cp from stdin") as c:
            c.write(ROWS)
        with con.cursor().copy("copy csvin from stdin (format csv, header, delimiter ';', "
                               "null 'NULL', quote '''')") as c:
            c.write(CSV_IN)

        def copy_out(sql: str) -> bytes:
            with con.cursor().copy(sql) as c:
                return b"".join(bytes(x) for x in c)
        for sql in OUT:
            out[sql] = copy_out(sql)
        binary = copy_out("copy cp to stdout (format binary)")
        with con.cursor().copy("copy cp2 from stdin (format binary)") as c:
            c.write(binary)
        out["binary round trip"] = copy_out("copy cp2 to stdout")
    return out


def test_copy_matches_postgresql(server, pg15):
    mine = _scenario(server.dsn)
    assert mine["copy (select i, t from cp order by i) to stdout"] == b"1\thello\n\\N\t\\N\n"
    assert mine["binary round trip"] == mine["copy cp to stdout"]
    theirs = _scenario(need(pg15).dsn)
    assert mine == theirs


def test_copy_vectors_text_and_binary(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("drop table if exists cpv")
        con.execute("create table cpv (id int, e vector(3), h halfvec(2))")
        with con.cursor().copy("copy cpv from stdin") as c:
            c.write("1\t[1,2,3]\t[0.5,1]\n2\t\\N\t\\N\n")
        with con.cursor().copy("copy cpv to stdout (format binary)") as c:
            binary = b"".join(bytes(x) for x in c)
        con.execute("truncate cpv")
        with con.cursor().copy("copy cpv from stdin (format binary)") as c:
            c.write(binary)
        with con.cursor().copy("copy cpv to stdout (format csv)") as c:
            text = b"".join(bytes(x) for x in c).decode()
    assert text == '1,"[1,2,3]","[0.5,1]"\n2,,\n'


def test_asyncpg_copy_records_and_query(server):
    asyncpg = pytest.importorskip("asyncpg")

    async def main() -> list:
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database)
        try:
            await con.execute("drop table if exists acp")
            await con.execute("create table acp (id int, name text, score float8)")
            await con.copy_records_to_table("acp", records=[(1, "a", 0.5), (2, None, 1.5)])
            lines: list[bytes] = []

            async def sink(chunk: bytes) -> None:
                lines.append(chunk)
            await con.copy_from_query("select id, name from acp order by id", output=sink)
            return [b"".join(lines), await con.fetch("select * from acp order by id")]
        finally:
            await con.close()
    raw, rows = asyncio.run(main())
    assert raw == b"1\ta\n2\t\\N\n"
    assert [tuple(r) for r in rows] == [(1, "a", 0.5), (2, None, 1.5)]


def test_psql_backslash_copy(server, tmp_path):
    if shutil.which("psql") is None:
        pytest.skip("psql is not installed")
    src = tmp_path / "in.csv"
    src.write_text("id,name\n1,x\n2,\"y, z\"\n")
    dst = tmp_path / "out.csv"
    args = ["psql", "-X", "-h", server.host, "-p", str(server.port), "-U", server.user, "-d",
            server.database, "-v", "ON_ERROR_STOP=1",
            "-c", "drop table if exists pcp", "-c", "create table pcp (id int, name text)",
            "-c", f"\\copy pcp from '{src}' with (format csv, header)",
            "-c", f"\\copy (select * from pcp order by id) to '{dst}' with (format csv)"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, PGCLIENTENCODING="UTF8"))
    assert r.returncode == 0, r.stderr
    assert dst.read_text() == '1,x\n2,"y, z"\n'
