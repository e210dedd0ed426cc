from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError


def test_alter_table_forms(q):
    q("create table t (id serial primary key, a int, b varchar(3))")
    q("insert into t (a, b) values (1,'x'),(2,'y')")
    q("alter table t add column c int not null default 5")
    q("alter table t rename column a to aa")
    q("alter table t alter column b type varchar(10)")
    q("alter table t alter column aa set default 42")
    q("insert into t (b) values ('longer one')")
    assert q("select * from t order by id") == [(1, 1, "x", 5), (2, 2, "y", 5), (3, 42, "longer one", 5)]
    q("alter table t drop column c")
    q("alter table t rename to t2")
    assert q("select count(*) from t2") == [(3,)]
    q("truncate t2 restart identity")
    q("insert into t2 (b) values ('r')")
    assert q("select id, b from t2") == [(1, "r")]
    q("alter table t2 add constraint ck check (aa > 0)")
    with pytest.raises(SqlError) as ei:
        q("insert into t2 (aa) values (-1)")
    assert ei.value.code == "23514"


def test_create_table_as_and_errors(q):
    q("create table t (a int, b text)")
    q("insert into t values (1, 'x'), (2, 'y')")
    assert q("create table c as select a * 2 as d from t") == "SELECT 2"
    assert q("select d from c order by d") == [(2,), (4,)]
    with pytest.raises(SqlError) as ei:
        q("create table t (x int)")
    assert ei.value.code == "42P07"
    with pytest.raises(SqlError) as ei:
        q("drop table nosuch")
    assert ei.value.code == "42P01"
    assert q("drop table if exists nosuch") == "DROP TABLE"
    q("create index i on t (a)")
    assert q("drop index i") == "DROP INDEX"


def test_merge(q):
    q("create table t (a int primary key, b text)")
    q("create table s (a int, b text)")
    q("insert into t values (1,'x'),(2,'y'),(3,'z')")
    q("insert into s values (1,null),(2,'new'),(4,'ins'),(-5,'neg')")
    assert q("merge into t using s on t.a = s.a "
             "when matched and s.b is null then delete "
             "when matched then update set b = s.b "
             "when not matched and s.a > 0 then insert (a, b) values (s.a, s.b) "
             "when not matched then do nothing") == "MERGE 3"
    assert q("select * from t order by a") == [(2, "new"), (3, "z"), (4, "ins")]
    q("insert into s values (2, 'again')")
    with pytest.raises(SqlError) as ei:
        q("merge into t using s on t.a = s.a when matched then update set b = s.b")
    assert ei.value.code == "21000"
