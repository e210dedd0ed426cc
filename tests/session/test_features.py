from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError


def test_windows(q):
    q("create table t (a int, b text)")
    q("insert into t values (1,'x'),(2,'x'),(3,'y'),(4,'y'),(4,'y')")
    assert q("select a, row_number() over (partition by b order by a desc), rank() over (order by a) "
             "from t order by a, 2") == [(1, 2, 1), (2, 1, 2), (3, 3, 3), (4, 1, 4), (4, 2, 4)]
    assert q("select a, sum(a) over (order by a), lag(a) over (order by a) from t order by a, 3") == [
        (1, 1, None), (2, 3, 1), (3, 6, 2), (4, 14, 3), (4, 14, 4)]


def test_on_conflict_and_returning(q):
    q("create table t (a int primary key, b text)")
    assert q("insert into t values (1,'x'),(2,'y') returning a") == [(1,), (2,)]
    assert q("insert into t values (1,'q') on conflict (a) do update set b = excluded.b returning *") == [(1, "q")]
    assert q("insert into t values (1,'r') on conflict do nothing") == "INSERT 0 0"
    assert q("select b from t order by a") == [("q",), ("y",)]


def test_serial_and_defaults(q):
    q("create table s (id serial primary key, v text default 'd')")
    q("insert into s (v) values ('a'), (default)")
    q("insert into s default values")
    assert q("select * from s order by id") == [(1, "a"), (2, "d"), (3, "d")]


def test_set_ops_cte_distinct_on(q):
    assert q("with recursive r(n) as (select 1 union all select n+1 from r where n < 5) "
             "select sum(n) from r") == [(15,)]
    assert q("select 1 union select 2 union select 1 order by 1") == [(1,), (2,)]
    assert q("select * from generate_series(1, 10, 3)") == [(1,), (4,), (7,), (10,)]
    q("create table t (a int, b text)")
    q("insert into t values (1,'x'),(2,'x'),(3,'y')")
    assert q("select distinct on (b) b, a from t order by b, a desc") == [("x", 2), ("y", 3)]


def test_transaction_block_failure(q):
    q("create table t (a int)")
    assert q("begin") == "BEGIN"
    q("insert into t values (1)")
    with pytest.raises(SqlError):
        q("select 1/0")
    assert q.s.txn_status == "E"
    with pytest.raises(SqlError) as ei:
        q("select 1")
    assert ei.value.code == "25P02"
    assert q("commit") == "ROLLBACK"
    assert q("select count(*) from t") == [(0,)]


def test_prepare_bind_execute_with_row_limit(q):
    q("create table t (a int, b text)")
    q("insert into t select g, 'v' from generate_series(1, 10) g")
    stmt = q.s.prepare("select a from t where a > $1 order by a", [])
    assert [t.short for t in stmt.param_types] == ["int4"]
    portal = q.s.bind(stmt, [5], [])
    res, suspended = q.s.execute_portal(portal, 3)
    rows = [r for b in res.batches for r in b.column(0).to_pylist()]
    assert rows == [6, 7, 8] and suspended
    res, suspended = q.s.execute_portal(portal, 0)
    assert [r for b in res.batches for r in b.column(0).to_pylist()] == [9, 10] and not suspended


def test_set_show_explain(q):
    assert q("set application_name = 'abc'") == "SET"
    assert q("show application_name") == [("abc",)]
    assert q("show DateStyle") == [("ISO, MDY",)]
    q("create table t (a int)")
    plan = [r[0] for r in q("explain select * from t where a = 1")]
    assert plan[0] == "Seq Scan on t" and "Filter" in plan[1]


def test_multi_statement_query_is_one_implicit_transaction(q):
    with pytest.raises(SqlError):
        q("create table sq2 (id int); insert into sq2 values (1); select * from nope")
    with pytest.raises(SqlError) as ei:
        q("select count(*) from sq2")
    assert ei.value.code == "42P01"
    assert q("create table t (a int); insert into t values (1); select count(*) from t") == [(1,)]
    assert q.s.txn_status == "I"
    q("begin; insert into t values (2)")
    assert q.s.txn_status == "T"
    q("commit")
    assert q("select count(*) from t") == [(2,)]


def test_any_all_arrays_json_similar(q):
    q("create table t (a int, arr int[])")
    q("insert into t values (1, '{1,2}'), (3, null), (null, '{}')")
    assert q("select a = any(array[1,2]), a = any(arr), 2 = all(arr) from t order by a") == [
        (True, True, False), (False, None, None), (None, False, True)]
    assert q("select 'hello' similar to 'h%', 'x' similar to 'h%'") == [(True, False)]
    assert q("select array[1, 2]") == [([1, 2],)]
    assert q("select * from unnest(array['a','b'])") == [("a",), ("b",)]
    assert q("select a from t order by a limit all") == [(1,), (3,), (None,)]


def test_grouping_sets_rollup_cube(q):
    q("create table t (a int, b text, c int)")
    q("insert into t values (1,'x',10),(1,'y',20),(2,'x',30)")
    assert q("select a, b, sum(c) from t group by rollup(a, b) order by a, b") == [
        (1, "x", 10), (1, "y", 20), (1, None, 30), (2, "x", 30), (2, None, 30), (None, None, 60)]
    assert len(q("select a, b, count(*) from t group by cube(a, b)")) == 8
    assert q("select b, sum(c) from t group by grouping sets ((b), ()) order by 1") == [
        ("x", 40), ("y", 20), (None, 60)]


def test_lateral_and_dml_joins(q):
    q("create table t (a int, b text)")
    q("create table u (a int)")
    q("insert into t values (1,'x'),(2,'y'),(3,'z')")
    q("insert into u values (1),(1),(3)")
    assert q("select t.a, g from t, generate_series(1, t.a) g order by 1, 2") == [
        (1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3)]
    assert q("select t.a, s.m from t left join lateral (select max(u.a) m from u where u.a < t.a) s "
             "on true order by 1") == [(1, None), (2, 1), (3, 1)]
    assert q("delete from t using u where t.a = u.a returning t.*") == [(1, "x"), (3, "z")]
    assert q("update t set b = 'q' from u where u.a + 1 = t.a returning *") == [(2, "q")]


def test_prepared_plan_is_cached_until_ddl(q):
    q("create table t (a int)")
    q("insert into t values (1), (2)")
    stmt = q.s.prepare("select count(*) from t where a >= $1", [], "p")
    res, _ = q.s.execute_portal(q.s.bind(stmt, [1], []))
    assert [r for b in res.batches for r in b.column(0).to_pylist()] == [2]
    assert "plan" in stmt.plan_cache
    cached = stmt.plan_cache["plan"]
    q.s.execute_portal(q.s.bind(stmt, [2], []))
    assert stmt.plan_cache["plan"] is cached
    q("alter table t add column b int")
    q.s.execute_portal(q.s.bind(stmt, [2], []))
    assert stmt.plan_cache["plan"] is not cached
    assert q("execute p(2)") == [(1,)]


def test_statement_timeout(q):
    q("set statement_timeout = 1")
    with pytest.raises(SqlError) as ei:
        q("with recursive r(n) as (select 1 union all select n + 1 from r where n < 100000000) "
          "select count(*) from r")
    assert ei.value.code == "57014"
    assert "statement timeout" in ei.value.message
    q("reset statement_timeout")
    assert q("select 1") == [(1,)]


def test_aggregate_order_grouping_and_dml_ctes(q):
    q("create table s (g text, v int, k int)")
    q("insert into s values ('a', 3, null), ('a', 1, 2), ('b', 2, 1)")
    assert q("select g, string_agg(v::text, ',' order by v desc) from s group by g order by g") == [
        ("a", "3,1"), ("b", "2")]
    assert q("select g, grouping(g), count(*) from s group by rollup(g) order by 1") == [
        ("a", 0, 2), ("b", 0, 1), (None, 1, 3)]
    q("create table log (id int)")
    assert q("with ins as (insert into log values (1), (2) returning id) select sum(id) from ins") == [(3,)]
    assert q("with x as (select 5 as v) insert into log select v from x") == "INSERT 0 1"
    assert q("select count(*) from log") == [(3,)]


def test_join_using_merged_columns_and_row_in(q):
    q("create table a (id int, x text)")
    q("create table b (y text, id int)")
    q("insert into a values (1,'a1'),(2,'a2')")
    q("insert into b values ('b2',2),('b4',4)")
    assert q("select * from a full join b using (id) order by id") == [
        (1, "a1", None), (2, "a2", "b2"), (4, None, "b4")]
    assert q("select * from a join b using (id)") == [(2, "a2", "b2")]
    assert q("select x from a where (id, x) in (select id, 'a' || id from a) order by 1") == [("a1",), ("a2",)]
    assert q("select id from a where (id, x) in ((2, 'a2'), (3, 'z'))") == [(2,)]


def test_window_frames_and_named_windows(q):
    q("create table w (emp text, sal int)")
    q("insert into w values ('a', 10), ('b', 20), ('c', 30), ('d', 40)")
    assert q("select emp, sum(sal) over (order by emp rows between 1 preceding and 1 following) "
             "from w order by emp") == [("a", 30), ("b", 60), ("c", 90), ("d", 70)]
    assert q("select emp, sum(sal) over (order by sal range between 10 preceding and current row) "
             "from w order by emp") == [("a", 10), ("b", 30), ("c", 50), ("d", 70)]
    assert q("select emp, ntile(2) over win, last_value(emp) over (win rows between unbounded preceding "
             "and unbounded following) from w window win as (order by emp) order by emp") == [
        ("a", 1, "d"), ("b", 1, "d"), ("c", 2, "d"), ("d", 2, "d")]
    with pytest.raises(SqlError) as ei:
        q("select emp from w where row_number() over () > 1")
    assert ei.value.code == "42P20"


def test_array_subscripts_and_srfs_in_select_list(q):
    q("create table a (id int, xs int[])")
    q("insert into a values (1, '{1,2,3}'), (2, null), (3, '{}')")
    assert q("select id, xs[1], xs[2:3], xs[10] from a order by id") == [
        (1, 1, [2, 3], None), (2, None, None, None), (3, None, [], None)]
    assert q("select id, unnest(xs) from a order by 1, 2") == [(1, 1), (1, 2), (1, 3)]
    assert q("select count(*) from a, unnest(xs) as u(v) where v is not null") == [(3,)]
    assert q("select id, generate_series(1, id) from a where id < 3 order by 1, 2") == [
        (1, 1), (2, 1), (2, 2)]
    assert len(q("select distinct xs from a")) == 3


def test_function_shapes_from_sqlglot_nodes(q):
    assert q("select trim('  x  ') || '|' || ltrim('  x  ') || '|' || rtrim('  x  ')") == [("x|x  |  x",)]
    assert q("select 'abc' not like '%b%', 'abc' not ilike '%B%'") == [(False, False)]
    r = q.result("select lpad('7', 3, '0'), extract(year from date '2024-05-07')")
    assert [c.name for c in r.columns] == ["lpad", "extract"]
    assert q("select to_char(timestamp '2024-05-07 13:04:05', 'YYYY-MM-DD HH24:MI:SS')") == [
        ("2024-05-07 13:04:05",)]
    assert q("select array(select x from (values (2), (1)) v(x) order by x)") == [([1, 2],)]
    assert q("select percentile_disc(0.5) within group (order by x) from (values (1),(2),(3)) v(x)") == [(2,)]


def test_table_functions_records_and_multi_unnest(q):
    assert q("select u.v, u.n from unnest(array[10, 20], array['p', 'q', 'r']) as u(v, n)") == [
        (10, "p"), (20, "q"), (None, "r")]
    assert q("""select key, value::text from jsonb_each('{"a":1,"b":[2]}')""") == [("a", "1"), ("b", "[2]")]


def test_cached_plans_see_ddl_committed_by_another_session(q):
    from sqlvec.session import Session

    q("create table t (a int)")
    q("insert into t values (1)")
    other = Session(q.db)
    assert q("select * from t") == [(1,)]
    list(other.execute("begin"))
    list(other.execute("alter table t add column b int"))
    assert q("select * from t") == [(1,)]  # not committed yet: old shape
    list(other.execute("commit"))
    assert q("select * from t") == [(1, None)]


def test_with_ties_comment_lock_missing_param(q):
    q("create table t (a int)")
    q("insert into t values (1), (2), (2), (3)")
    assert q("select a from t order by a fetch first 2 rows with ties") == [(1,), (2,), (2,)]
    assert q("comment on table t is 'x'") == "COMMENT"
    with pytest.raises(SqlError) as ei:  # as PostgreSQL: only in a transaction block
        q("lock table t")
    assert ei.value.code == "25P01"
    assert q("begin; lock table t; commit") == "COMMIT"
    with pytest.raises(SqlError) as ei:
        q("select * from t where a = $1")
    assert ei.value.code == "42P02"


def test_savepoints(q):
    q("create table t (a int)")
    q("begin")
    q("insert into t values (1)")
    assert q("savepoint s1") == "SAVEPOINT"
    q("insert into t values (2)")
    with pytest.raises(SqlError):
        q("select 1/0")
    assert q("rollback to savepoint s1") == "ROLLBACK"
    assert q.s.txn_status == "T"
    q("insert into t values (3)")
    assert q("release savepoint s1") == "RELEASE"
    assert q("commit") == "COMMIT"
    assert q("select a from t order by a") == [(1,), (3,)]
    with pytest.raises(SqlError) as ei:
        q("savepoint x")
    assert ei.value.code == "25P01"


def test_groups_frames_group_by_empty_multi_assign(q):
    q("create table w (emp text, sal int)")
    q("insert into w values ('a', 10), ('b', 20), ('c', 20), ('d', 40)")
    assert q("select emp, sum(sal) over (order by sal groups between 1 preceding and current row) "
             "from w order by emp") == [("a", 10), ("b", 50), ("c", 50), ("d", 80)]
    assert q("select count(*) from w group by ()") == [(4,)]
    q("update w set (emp, sal) = ('z', 1) where emp = 'a'")
    assert q("select emp, sal from w order by sal limit 1") == [("z", 1)]


def test_window_frame_exclusion(q):
    q("create table w (emp text, sal int)")
    q("insert into w values ('a', 100), ('b', 90), ('c', 90), ('d', 80)")
    assert q("select emp, sum(sal) over (order by emp rows between unbounded preceding and unbounded "
             "following exclude current row) from w order by emp") == [
        ("a", 260), ("b", 270), ("c", 270), ("d", 280)]
    assert q("select emp, sum(sal) over (order by sal rows between unbounded preceding and unbounded "
             "following exclude group), count(*) over (order by sal range between unbounded preceding and current row exclude ties) "
             "from w order by emp") == [
        ("a", 260, 4), ("b", 180, 2), ("c", 180, 2), ("d", 280, 1)]
