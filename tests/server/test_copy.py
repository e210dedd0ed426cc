"""COPY FROM STDIN / TO STDOUT over the wire: psql, psycopg (text, csv, binary), asyncpg."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import subprocess

import psycopg
import pytest

from sqlvec.wire.copy import parse_copy


def test_parse_copy_statements():
    c = parse_copy('COPY "My T" (a, "B") FROM STDIN WITH (FORMAT csv, DELIMITER \';\', HEADER true)')
    assert (c.direction, c.target, c.columns, c.format, c.delimiter, c.header) == \
        ("in", '"My T"', ("a", '"B"'), "csv", ";", True)
    c = parse_copy("copy s.t to stdout with csv header null 'NA'")
    assert (c.direction, c.target, c.format, c.header, c.null) == ("out", "s.t", "csv", True, "NA")
    c = parse_copy("COPY t FROM '/etc/passwd'")  # a server file: wire/copy_file.py, superuser only
    assert (c.direction, c.path) == ("file", "/etc/passwd")
    assert parse_copy("COPY t TO '/tmp/out'") is None
    assert parse_copy("SELECT 1") is None
    assert parse_copy("COPY (SELECT a FROM t WHERE b = ')') TO STDOUT (FORMAT binary)").format == \
        "binary"


def test_psycopg_copy_text_csv_binary(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE cp (id integer, name text, at date)")
        with con.cursor() as cur:
            with cur.copy("COPY cp FROM STDIN") as copy:
                copy.write("1\tone\t2020-01-01\n2\t\\N\t\\N\n3\ttab\\there\t2020-01-03\n")
            assert cur.rowcount == 3
            with cur.copy("COPY cp (id, name) FROM STDIN WITH (FORMAT csv, HEADER)") as copy:
                copy.write('id,name\n4,"a,b"\n5,""\n6,\n')
            with cur.copy("COPY cp (id, name, at) FROM STDIN (FORMAT binary)") as copy:
                copy.set_types(["int4", "text", "date"])
                copy.write_row((7, "bin", dt.date(2021, 2, 3)))
                copy.write_row((8, None, None))
        rows = con.execute("SELECT id, name, at FROM cp ORDER BY id").fetchall()
        assert rows == [
            (1, "one", dt.date(2020, 1, 1)), (2, None, None), (3, "tab\there", dt.date(2020, 1, 3)),
            (4, "a,b", None), (5, "", None), (6, None, None), (7, "bin", dt.date(2021, 2, 3)),
            (8, None, None)]
        with con.cursor() as cur:
            with cur.copy("COPY (SELECT id, name FROM cp WHERE id IN (2, 3, 4) ORDER BY id) "
                          "TO STDOUT") as copy:
                text = b"".join(bytes(b) for b in copy).decode()
        assert text == "2\t\\N\n3\ttab\\there\n4\ta,b\n"
        with con.cursor() as cur:
            with cur.copy("COPY cp (id, name) TO STDOUT WITH (FORMAT csv)") as copy:
                csv_text = b"".join(bytes(b) for b in copy).decode()
        assert '4,"a,b"' in csv_text and '5,""' in csv_text and "6,\n" in csv_text
        with con.cursor() as cur:
            with cur.copy("COPY (SELECT id, at FROM cp WHERE id = 7) TO STDOUT (FORMAT binary)") \
                    as copy:
                copy.set_types(["int4", "date"])
                assert list(copy.rows()) == [(7, dt.date(2021, 2, 3))]


def test_copy_errors_leave_nothing_behind(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE cpe (id integer, v text)")
        with pytest.raises(psycopg.errors.BadCopyFileFormat):
            with con.cursor().copy("COPY cpe FROM STDIN") as copy:
                copy.write("1\ta\n2\tb\textra\n")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            with con.cursor().copy("COPY cpe FROM STDIN") as copy:
                copy.write("1\ta\nx\tb\n")
        with pytest.raises(psycopg.errors.UndefinedTable):
            with con.cursor().copy("COPY nope FROM STDIN") as copy:
                copy.write("1\n")
        assert con.execute("SELECT count(*) FROM cpe").fetchone() == (0,)
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_asyncpg_copy_records_and_out(server):
    asyncpg = pytest.importorskip("asyncpg")

    async def go():
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database, ssl=False)
        try:
            await con.execute("CREATE TABLE acp (id bigint, v text, f double precision)")
            await con.copy_records_to_table(
                "acp", records=[(i, f"v{i}", i / 4) for i in range(1000)], columns=["id", "v", "f"])
            assert await con.fetchval("SELECT sum(id) FROM acp") == sum(range(1000))
            out = []

            async def sink(chunk):
                out.append(bytes(chunk))

            await con.copy_from_query("SELECT id, v FROM acp WHERE id < 3 ORDER BY id", output=sink)
            assert b"".join(out) == b"0\tv0\n1\tv1\n2\tv2\n"
        finally:
            await con.close()

    asyncio.run(go())


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_psql_backslash_copy(server, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("1,x\n2,y\n")
    base = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", server.host, "-p", str(server.port),
            "-U", server.user, "-d", server.database, "-At"]
    env = {"PGSSLMODE": "disable", "PATH": "/usr/bin:/bin"}
    r = subprocess.run(base + ["-c", "CREATE TABLE pcp (id integer, v text)",
                               "-c", f"\\copy pcp FROM '{src}' WITH (FORMAT csv)",
                               "-c", "SELECT v FROM pcp ORDER BY id"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["CREATE", "TABLE", "COPY", "2", "x", "y"]
    r = subprocess.run(base + ["-c", "COPY pcp TO STDOUT WITH (FORMAT csv)"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.stdout == "1,x\n2,y\n"


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_psql_script_inline_data_ends_at_the_marker(server, tmp_path):
    """A script's COPY ... FROM STDIN data ends at a line `\\.`, which psql sends too: the
    server reads it as the end of the data in csv as in text (PostgreSQL's copyfromparse)."""
    script = tmp_path / "load.sql"
    script.write_text("CREATE TABLE pin (id int, v text);\n"
                      "COPY pin FROM STDIN;\n1\t[1,2]\n\\.\n"
                      "COPY pin (id, v) FROM STDIN WITH (FORMAT csv);\n2,\"[3,4]\"\n\\.\n"
                      "SELECT string_agg(v, ';' ORDER BY id) FROM pin;\n")
    r = subprocess.run(["psql", "-X", "-v", "ON_ERROR_STOP=1", "-h", server.host, "-p",
                        str(server.port), "-U", server.user, "-d", server.database, "-At",
                        "-f", str(script)],
                       capture_output=True, text=True, timeout=60,
                       env={"PGSSLMODE": "disable", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["CREATE", "TABLE", "COPY", "1", "COPY", "1", "[1,2];[3,4]"]
