"""psql 15's \\d of tables with foreign keys, expression / partial unique indexes and
materialized views, compared with PostgreSQL 15 for the same objects."""

from __future__ import annotations

import shutil

import pytest

from tests.clients.conftest import need
from tests.clients.test_psql import psql

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")

SCHEMA = [
    "create table pc_parent (id int primary key, email text, gone int)",
    "create unique index pc_parent_email on pc_parent (lower(email)) where gone is null",
    "create table pc_child (id int, pid int references pc_parent on delete cascade, "
    "constraint pc_child_self unique (id))",
    "create table pc_grand (cid int, constraint pc_grand_c foreign key (cid) references pc_child (id) match full)",
    "create materialized view pc_mv as select id, email from pc_parent",
]
COMPARED = [r"\d pc_parent", r"\d pc_child", r"\d pc_grand", r"\d pc_mv"]


@pytest.fixture(scope="module")
def both(server, pg15):
    pg = need(pg15)
    psql(pg.host, pg.port, "postgres", "postgres", "drop database if exists pcdb", "create database pcdb")

    def sv(*cmds: str) -> str:
        return psql(server.host, server.port, server.user, server.database, *cmds)

    def pgr(*cmds: str) -> str:
        return psql(pg.host, pg.port, "postgres", "pcdb", *cmds)
    for stmt in SCHEMA:
        sv(stmt)
        pgr(stmt)
    return sv, pgr


@pytest.mark.parametrize("command", COMPARED)
def test_describe_matches_postgresql(command, both):
    sv, pgr = both
    assert sv(command).replace("| sqlvec", "| postgres") == pgr(command)


def test_list_materialized_views(both):
    sv, _ = both
    assert " public | pc_mv | materialized view | sqlvec" in sv(r"\dm")
