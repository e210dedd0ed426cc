from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError


def test_select_constants(q):
    assert q("select 1") == [(1,)]
    r = q.result("select 1+2 as x, 'a'")
    assert [c.name for c in r.columns] == ["x", "?column?"]
    assert [c.type.short for c in r.columns] == ["int4", "text"]


def test_create_insert_select(q):
    assert q("create table t (a int primary key, b text, c float8)") == "CREATE TABLE"
    assert q("insert into t values (1,'x',1.5),(2,'y',null),(3,null,2.5)") == "INSERT 0 3"
    assert q("select * from t where a > 1 order by a desc") == [(3, None, 2.5), (2, "y", None)]
    assert q("select a from t order by b nulls first") == [(3,), (1,), (2,)]


def test_dml_tags_and_effects(q):
    q("create table t (a int primary key, b int)")
    q("insert into t (a, b) values (1, 10), (2, 20), (3, 30)")
    assert q("update t set b = b + 1 where a >= 2") == "UPDATE 2"
    assert q("delete from t where a = 1") == "DELETE 1"
    assert q("select a, b from t order by a") == [(2, 21), (3, 31)]


@pytest.mark.parametrize(
    "sql,code",
    [
        ("select * from nosuch", "42P01"),
        ("select nosuch from t", "42703"),
        ("select a from t t1, t t2", "42702"),
        ("select a from t group by b", "42803"),
        ("select 1 from where", "42601"),
        ("select 1/0", "22012"),
        ("insert into t values (1, 5)", "23505"),
        ("insert into t values (null, 5)", "23502"),
    ],
)
def test_errors(q, sql, code):
    q("create table t (a int primary key, b int)")
    q("insert into t values (1, 1)")
    with pytest.raises(SqlError) as ei:
        q(sql)
    assert ei.value.code == code
    assert q("select count(*) from t") == [(1,)]


def test_syntax_error_position(q):
    with pytest.raises(SqlError) as ei:
        q("select 1 from where")
    assert ei.value.position == 15
    assert ei.value.message == 'syntax error at or near "where"'


def test_aggregates_and_subqueries(q):
    q("create table t (a int, b text, c float8)")
    q("insert into t values (1,'x',1.5),(2,'y',null),(3,null,2.5)")
    assert q("select count(*), sum(a), count(c), max(b) from t") == [(3, 6, 2, "y")]
    assert q("select a, (select max(c) from t t2 where t2.a < t.a) from t order by 1") == [
        (1, None), (2, 1.5), (3, 1.5)]
    assert q("select a from t where a in (select a from t where c > 2)") == [(3,)]
    assert q("select a from t where exists (select 1 from t t2 where t2.a = t.a + 1) order by a") == [
        (1,), (2,)]


def test_views(q):
    q("create table t (a int, b text)")
    q("insert into t values (1,'x'),(2,'y')")
    assert q("create view v as select a, b from t where a > 1") == "CREATE VIEW"
    assert q("select * from v") == [(2, "y")]
    assert q("drop view v") == "DROP VIEW"
    with pytest.raises(SqlError):
        q("select * from v")


def test_error_positions_for_names(q):
    q("create table t (a int)")
    for sql, pos in [("select nosuch from t", 8), ("select 1; select t.b from t", 18),
                     ("select * from nosuch", 15)]:
        with pytest.raises(SqlError) as ei:
            q(sql)
        assert ei.value.position == pos, sql


def test_coalesce_is_lazy(q):
    q("create table t (a int, b int)")
    q("insert into t values (1, 2147483647), (null, 2)")
    assert q("select coalesce(a, b * 2) from t order by 1") == [(1,), (4,)]
