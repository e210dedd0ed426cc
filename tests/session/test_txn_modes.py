"""Transaction modes as PostgreSQL 15: READ ONLY enforced (25006), ISOLATION LEVEL shown,
SET TRANSACTION / SET SESSION CHARACTERISTICS / default_transaction_*, START TRANSACTION's tag.
Expected messages and tags were taken from PostgreSQL 15 running the same statements."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError


def err(q, sql: str) -> tuple[str, str]:
    with pytest.raises(SqlError) as ei:
        q(sql)
    return ei.value.code, str(ei.value)


@pytest.fixture
def t(q):
    q("create table t (a int primary key)")
    q("create sequence s")
    return q


def test_start_transaction_tag_and_modes_shown(t):
    assert t("start transaction") == "START TRANSACTION"
    assert t("commit") == "COMMIT"
    assert t("start transaction read only, isolation level serializable") == "START TRANSACTION"
    assert t("show transaction_isolation") == [("serializable",)]
    assert t("show transaction_read_only") == [("on",)]
    assert t("rollback") == "ROLLBACK"
    assert t("show transaction_isolation") == [("read committed",)]
    assert t("show transaction_read_only") == [("off",)]
    assert t("begin isolation level read uncommitted not deferrable") == "BEGIN"
    assert t("show transaction_isolation") == [("read uncommitted",)]
    assert t("show transaction_deferrable") == [("off",)]
    assert t("end") == "COMMIT"


@pytest.mark.parametrize("sql,verb", [
    ("insert into t values (1)", "INSERT"),
    ("update t set a = 2", "UPDATE"),
    ("delete from t", "DELETE"),
    ("merge into t using (select 1 a) s on t.a = s.a when matched then delete", "MERGE"),
    ("with x as (insert into t values (5) returning *) select * from x", "SELECT"),
    ("select nextval('s')", "nextval()"),
    ("select setval('s', 5)", "setval()"),
    ("select * into u from t", "SELECT INTO"),
    ("create table u (a int)", "CREATE TABLE"),
    ("create table u as select 1", "CREATE TABLE AS"),
    ("create index on t (a)", "CREATE INDEX"),
    ("create view v as select 1", "CREATE VIEW"),
    ("drop table t", "DROP TABLE"),
    ("truncate t", "TRUNCATE TABLE"),
    ("alter table t add column b int", "ALTER TABLE"),
    ("comment on table t is 'x'", "COMMENT"),
    ("create role r", "CREATE ROLE"),
    ("create extension if not exists vector", "CREATE EXTENSION"),
    ("lock table t", "LOCK TABLE"),
    ("select * from t for update", "SELECT FOR UPDATE"),
])
def test_read_only_block_refuses_writes(t, sql, verb):
    t("begin read only")
    assert err(t, sql) == ("25006", f"cannot execute {verb} in a read-only transaction")
    assert t.s.txn_status == "E"
    assert t("rollback") == "ROLLBACK"
    assert t("select count(*) from t") == [(0,)]


def test_read_only_block_still_reads(t):
    t("insert into t values (1)")
    t("begin transaction read only")
    assert t("select a from t") == [(1,)]
    assert t("lock table t in access share mode") == "LOCK TABLE"
    assert t("show transaction_read_only") == [("on",)]
    assert t("commit") == "COMMIT"


def test_set_transaction_in_a_block(t):
    t("begin")
    assert t("set transaction read only") == "SET"
    assert err(t, "update t set a = 2")[0] == "25006"
    t("rollback")
    t("begin read only")
    assert t("set transaction read write") == "SET"  # before any query: allowed
    assert t("insert into t values (1)") == "INSERT 0 1"
    t("rollback")
    t("begin read only")
    t("select 1")
    assert err(t, "set transaction read write") == (
        "25001", "transaction read-write mode must be set before any query")
    t("rollback")
    t("begin")
    t("select 1")
    assert t("set transaction read only") == "SET"  # read only may come later
    assert err(t, "set transaction isolation level repeatable read") == (
        "25001", "SET TRANSACTION ISOLATION LEVEL must be called before any query")
    t("rollback")
    t("begin")
    assert t("set transaction_read_only = on") == "SET"  # the setting itself, as PostgreSQL
    assert err(t, "insert into t values (1)")[0] == "25006"
    t("rollback")


def test_set_transaction_outside_a_block_warns_and_lasts_for_nothing(t):
    assert t("set transaction read only") == "SET"
    assert [(n.code, n.message) for n in t.s.notices()] == [
        ("25P01", "SET TRANSACTION can only be used in transaction blocks")]
    assert t("show transaction_read_only") == [("off",)]
    assert t("set transaction_read_only = on") == "SET"
    assert t("show transaction_read_only") == [("off",)]
    assert t("insert into t values (1)") == "INSERT 0 1"


def test_session_characteristics_and_defaults(t):
    assert t("set session characteristics as transaction read only") == "SET"
    assert t("show default_transaction_read_only") == [("on",)]
    assert t("show transaction_read_only") == [("on",)]
    assert err(t, "delete from t") == ("25006", "cannot execute DELETE in a read-only transaction")
    assert t("begin read write") == "BEGIN"  # a block's own mode wins over the default
    assert t("insert into t values (3)") == "INSERT 0 1"
    assert t("commit") == "COMMIT"
    assert t("show transaction_read_only") == [("on",)]
    t("set session characteristics as transaction read write")
    t("set default_transaction_read_only = true")
    assert t("show default_transaction_read_only") == [("on",)]
    assert err(t, "insert into t values (4)")[0] == "25006"
    assert t("reset all") == "RESET"
    assert t("insert into t values (4)") == "INSERT 0 1"
    t("set session characteristics as transaction isolation level repeatable read")
    assert t("show default_transaction_isolation") == [("repeatable read",)]
    assert t("show transaction_isolation") == [("repeatable read",)]
    t("begin")
    assert t("show transaction_isolation") == [("repeatable read",)]
    t("commit")
    t("set default_transaction_isolation = 'SERIALIZABLE'")
    assert t("show transaction_isolation") == [("serializable",)]
    assert t("discard all") == "DISCARD ALL"
    assert t("show transaction_isolation") == [("read committed",)]


def test_bad_modes_are_errors(t):
    assert err(t, "begin isolation level bogus") == ("42601", 'syntax error at or near "bogus"')
    assert err(t, "begin read")[0] == "42601"
    assert err(t, "set transaction")[0] == "42601"
    assert err(t, "set default_transaction_isolation = 'bogus'")[0] == "22023"
    assert err(t, "set default_transaction_read_only = maybe") == (
        "22023", 'parameter "default_transaction_read_only" requires a Boolean value')
    assert t.s.txn_status == "I"


def test_failed_block_accepts_rollback_through_parse(t):
    """Parse/Bind of ROLLBACK in a failed block are allowed (drivers prepare it: psycopg
    after five executions), any other statement is 25P02."""
    t("begin")
    err(t, "select 1/0")
    assert err(t, "select 1")[0] == "25P02"
    with pytest.raises(SqlError) as ei:
        t.s.prepare("select 1", [], "x")
    assert ei.value.code == "25P02"
    stmt = t.s.prepare("rollback", [], "r")
    portal = t.s.bind(stmt, [], [], "")
    res, _ = t.s.execute_portal(portal)
    assert res.tag == "ROLLBACK" and t.s.txn_status == "I"
