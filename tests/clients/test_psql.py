"""psql 15 meta-commands against sqlvec, compared with PostgreSQL 15 for the same objects."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.clients.conftest import need

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")

SCHEMA = [
    "create table items (id int primary key, name text not null, price numeric(10,2), tags text[])",
    "create index items_name_idx on items (name)",
    "create view v_items as select id, name from items",
    "create schema s2",
    "create table s2.t (a bigint)",
    "create table defaults (id serial primary key, label varchar(20) default 'none', "
    "note text default 'it''s', n int default 42, ok boolean default true)",
]
COMPARED = [r"\dt", r"\d items", r"\di", r"\dv", r"\d", r"\dt s2.*", r"\d s2.t", r"\d v_items", r"\dn", r"\d defaults",
            r"\d+ items", r"\dT", r"\df", r"\dx", r"\ds",
            r"\d defaults_id_seq"]  # (\dt+ sizes are storage-specific)


def psql(host: str, port: int, user: str, db: str, *commands: str) -> str:
    """Run psql with each -c command; stdout (errors fail the test)."""
    args = ["psql", "-X", "-P", "pager=off", "-h", host, "-p", str(port), "-U", user, "-d", db,
            "-v", "ON_ERROR_STOP=1"]
    for c in commands:
        args += ["-c", c]
    env = dict(os.environ, PGCLIENTENCODING="UTF8", PGCONNECT_TIMEOUT="10")
    env.pop("PGPASSWORD", None)
    r = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def sqlvec_psql(server):
    def run(*cmds: str) -> str:
        return psql(server.host, server.port, server.user, server.database, *cmds)
    for stmt in SCHEMA:
        run(stmt)
    return run


@pytest.fixture(scope="module")
def pg_psql(pg15):
    pg = need(pg15)
    psql(pg.host, pg.port, "postgres", "postgres", "drop database if exists sqlvec",
         "drop role if exists sqlvec", "create role sqlvec superuser login",
         "create database sqlvec owner sqlvec")

    def run(*cmds: str) -> str:
        return psql(pg.host, pg.port, "sqlvec", "sqlvec", *cmds)
    for stmt in SCHEMA:
        run(stmt)
    return run


@pytest.mark.parametrize("command", COMPARED)
def test_meta_command_matches_postgresql(command, sqlvec_psql, pg_psql):
    assert sqlvec_psql(command) == pg_psql(command)


def test_vector_table_and_extension(sqlvec_psql):
    sqlvec_psql("create extension if not exists vector",
                "create table docs (id bigint primary key, body text, emb vector(3))",
                "create index docs_emb_idx on docs using hnsw (emb vector_cosine_ops)")
    out = sqlvec_psql(r"\d docs")
    assert " emb    | vector(3) |" in out
    assert '"docs_pkey" PRIMARY KEY, btree (id)' in out
    assert '"docs_emb_idx" hnsw (emb vector_cosine_ops)' in out
    dx = sqlvec_psql(r"\dx")
    assert " vector  | 0.8.0" in dx and "plpgsql" in dx


def test_conninfo_x_timing(sqlvec_psql, server):
    out = sqlvec_psql(r"\conninfo")
    assert f'database "sqlvec" as user "sqlvec" on host "{server.host}" at port "{server.port}"' in out
    out = sqlvec_psql(r"\x on", "select 1 as a, 'b' as b")
    assert "-[ RECORD 1 ]\na | 1\nb | b" in out
    out = sqlvec_psql(r"\timing on", "select 1")
    assert "Time: " in out


def test_list_roles_schemas_databases(sqlvec_psql):
    assert "sqlvec" in sqlvec_psql(r"\du")
    dn = sqlvec_psql(r"\dn")
    assert " public |" in dn and " s2     |" in dn
    assert " sqlvec " in sqlvec_psql(r"\l")
    assert "lower" in sqlvec_psql(r"\df lower")


def _complete(host: str, port: int, user: str, db: str, typed: bytes, expect: str) -> str:
    """What an interactive psql shows after `typed` + TAB (through a pseudo-terminal), read
    until `expect` shows (the completion's query answered) or 60 s pass."""
    import pty
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child becomes psql
        os.environ["PGCLIENTENCODING"] = "UTF8"
        os.execvp("psql", ["psql", "-X", "-h", host, "-p", str(port), "-U", user, "-d", db])

    def read_until(done, seconds: float = 60) -> bytes:  # (a safety net: it takes a moment)
        out, end = b"", time.monotonic() + seconds
        while not done(out) and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    out += os.read(fd, 4096)
                except OSError:  # psql is gone
                    break
        return out
    try:
        read_until(lambda out: out.rstrip().endswith((b"=#", b"=>")))  # the prompt: connected
        os.write(fd, typed + b"\t\t")
        shown = read_until(lambda out: expect.encode() in out).decode(errors="replace")
        os.write(fd, b"\x15\\q\n")
        read_until(lambda out: False, 10)  # until psql exits (EOF)
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    return shown


def test_tab_completion_of_tables_and_columns(sqlvec_psql, server):
    for typed, expect in [(b"select * from ite", "items"), (b"select * from items where na", "name"),
                          (b"\\d ite", "ms")]:
        shown = _complete(server.host, server.port, server.user, server.database, typed, expect)
        assert expect in shown, (typed, shown)
