"""SELECT ... INTO [TEMP] t creates and fills t, as CREATE TABLE AS (was: the rows were
returned and no table made)."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError


def test_select_into_creates_the_table(q):
    q("create table t (a int, b text)")
    q("insert into t values (1, 'x'), (2, 'y')")
    assert q("select * into t2 from t") == "SELECT 2"
    assert q("select * from t2 order by a") == [(1, "x"), (2, "y")]
    assert q("select a + 1 as c into temp t3 from t where a > 1") == "SELECT 1"
    assert q("select c from t3") == [(3,)]
    assert q("select 1 as z into t4") == "SELECT 1"
    with pytest.raises(SqlError) as ei:
        q("select * into t2 from t")
    assert ei.value.code == "42P07"
    q("begin")
    q("select * into t5 from t")
    q("rollback")
    with pytest.raises(SqlError) as ei:
        q("select * from t5")
    assert ei.value.code == "42P01"


def test_prepared_select_into_has_no_result_columns(q):
    q("create table t (a int)")
    ps = q.s.prepare("select a into t6 from t", [], "p")
    assert ps.columns is None  # Describe answers NoData, as PostgreSQL
    res, _ = q.s.execute_portal(q.s.bind(ps, [], [], ""))
    assert res.tag == "SELECT 0"
    assert q("select count(*) from t6") == [(0,)]
