"""CommandComplete tags of every statement kind sqlvec runs, over the simple and the
extended protocol: each expected tag is what PostgreSQL 15 answered to the same script
(psycopg's statusmessage, captured with tests/support/pg.py)."""

from __future__ import annotations

import psycopg
from psycopg import pq

# (statement, PostgreSQL 15's tag); run in order on one connection, autocommit
SCRIPT: list[tuple[str, str]] = [
    ("create table {t} (a int primary key, b text)", "CREATE TABLE"),
    ("insert into {t} values (1, 'x'), (2, 'y')", "INSERT 0 2"),
    ("insert into {t} values (3, 'z') returning a", "INSERT 0 1"),
    ("update {t} set b = 'w' where a = 1", "UPDATE 1"),
    ("update {t} set b = 'q' where a = 1 returning a", "UPDATE 1"),
    ("delete from {t} where a = 3", "DELETE 1"),
    ("delete from {t} where a = 3 returning *", "DELETE 0"),
    ("select * from {t} order by a", "SELECT 2"),
    ("select * into {t}_2 from {t}", "SELECT 2"),
    ("select count(*) from {t}_2", "SELECT 1"),
    ("create table {t}_3 as select * from {t}", "SELECT 2"),
    ("create table if not exists {t}_3 as select * from {t}", "CREATE TABLE AS"),
    ("create table {t}_4 as select * from {t} with no data", "CREATE TABLE AS"),
    ("values (1), (2)", "SELECT 2"),
    ("table {t}", "SELECT 2"),
    ("with x as (select 1) select * from x", "SELECT 1"),
    ("with x as (insert into {t} values (20, 'k') returning a) select * from x", "SELECT 1"),
    ("create index {t}_i on {t} (b)", "CREATE INDEX"),
    ("create unique index {t}_u on {t} (b)", "CREATE INDEX"),
    ("drop index {t}_u", "DROP INDEX"),
    ("create view {t}_v as select a from {t}", "CREATE VIEW"),
    ("create or replace view {t}_v as select a from {t}", "CREATE VIEW"),
    ("drop view {t}_v", "DROP VIEW"),
    ("create sequence {t}_s", "CREATE SEQUENCE"),
    ("select nextval('{t}_s')", "SELECT 1"),
    ("drop sequence {t}_s", "DROP SEQUENCE"),
    ("create schema {t}_sc", "CREATE SCHEMA"),
    ("drop schema {t}_sc", "DROP SCHEMA"),
    ("alter table {t} add column c int", "ALTER TABLE"),
    ("alter table {t} rename column c to d", "ALTER TABLE"),
    ("alter table {t} drop column d", "ALTER TABLE"),
    ("alter table {t} rename to {t}_r", "ALTER TABLE"),
    ("alter table {t}_r rename to {t}", "ALTER TABLE"),
    ("truncate {t}_2", "TRUNCATE TABLE"),
    ("drop table {t}_2", "DROP TABLE"),
    ("drop table if exists {t}_nosuch", "DROP TABLE"),
    ("drop table {t}_3, {t}_4", "DROP TABLE"),
    ("merge into {t} using (select 1 a) s on {t}.a = s.a when matched then update set b = 'm'", "MERGE 1"),
    ("prepare {t}_p (int) as select $1", "PREPARE"),
    ("execute {t}_p(1)", "SELECT 1"),
    ("deallocate {t}_p", "DEALLOCATE"),
    ("prepare {t}_p2 as insert into {t} values (9, 'n')", "PREPARE"),
    ("execute {t}_p2", "INSERT 0 1"),
    ("deallocate all", "DEALLOCATE ALL"),
    ("set search_path = public", "SET"),
    ("reset search_path", "RESET"),
    ("show search_path", "SHOW"),
    ("set time zone 'UTC'", "SET"),
    ("listen {t}_ch", "LISTEN"),
    ("notify {t}_ch, 'x'", "NOTIFY"),
    ("unlisten *", "UNLISTEN"),
    ("vacuum {t}", "VACUUM"),
    ("analyze {t}", "ANALYZE"),
    ("vacuum analyze {t}", "VACUUM"),
    ("reindex table {t}", "REINDEX"),
    ("begin", "BEGIN"),
    ("set transaction isolation level serializable", "SET"),
    ("savepoint sp", "SAVEPOINT"),
    ("release savepoint sp", "RELEASE"),
    ("savepoint sp2", "SAVEPOINT"),
    ("rollback to savepoint sp2", "ROLLBACK"),
    ("declare {t}_c cursor for select 1", "DECLARE CURSOR"),
    ("fetch {t}_c", "FETCH 1"),
    ("move {t}_c", "MOVE 0"),
    ("close {t}_c", "CLOSE CURSOR"),
    ("lock table {t}", "LOCK TABLE"),
    ("commit", "COMMIT"),
    ("start transaction", "START TRANSACTION"),
    ("end", "COMMIT"),
    ("begin work", "BEGIN"),
    ("abort", "ROLLBACK"),
    ("comment on table {t} is 'c'", "COMMENT"),
    ("create role {t}_r1", "CREATE ROLE"),
    ("alter role {t}_r1 login", "ALTER ROLE"),
    ("drop role {t}_r1", "DROP ROLE"),
    ("create user {t}_u1", "CREATE ROLE"),
    ("drop user {t}_u1", "DROP ROLE"),
    ("explain select 1", "EXPLAIN"),
    ("select 1 where false", "SELECT 0"),
    ("discard plans", "DISCARD PLANS"),
    ("discard sequences", "DISCARD SEQUENCES"),
    ("discard all", "DISCARD ALL"),
    ("drop table {t}", "DROP TABLE"),
]


def _simple(con: psycopg.Connection, sql: str) -> str:
    res = con.pgconn.exec_(sql.encode())
    assert res.status in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK), \
        (sql, res.error_message.decode())
    return (res.command_status or b"").decode()


def _extended(con: psycopg.Connection, sql: str) -> str:
    cur = con.execute(sql)
    return cur.statusmessage or ""


def test_tags_as_postgresql_over_both_protocols(server):
    for name, run in (("tg_s", _simple), ("tg_e", _extended)):
        with psycopg.connect(server.dsn, autocommit=True) as con:
            got = [(sql, run(con, sql.format(t=name))) for sql, _ in SCRIPT]
        assert got == SCRIPT, name


def test_empty_query_and_several_statements(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        res = con.pgconn.exec_(b"")
        assert res.status == pq.ExecStatus.EMPTY_QUERY
        res = con.pgconn.exec_(b"  ;  ")
        assert res.status == pq.ExecStatus.EMPTY_QUERY
        res = con.pgconn.exec_(b"select 1; select 2, 3; create table tg_multi (a int); insert into tg_multi values (1)")
        assert res.status == pq.ExecStatus.COMMAND_OK and res.command_status == b"INSERT 0 1"
