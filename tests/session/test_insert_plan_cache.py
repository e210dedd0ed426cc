"""Prepared INSERT ... VALUES keeps its bound plan (executemany: one bind, parameters filled
per row); results and errors are a fresh bind's, DDL plans it again."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError


def _ins(q, stmt, params):
    """One Bind/Execute/Sync cycle (a failed one rolls back at Sync)."""
    try:
        return q.s.execute_prepared(stmt, params).tag
    finally:
        q.s.sync()


def test_prepared_insert_plan_reused_and_errors_unchanged(q):
    q("create table t (id int primary key, v float4[], s text not null)")
    stmt = q.s.prepare("insert into t values ($1, $2, $3)", [], "")
    assert _ins(q, stmt, [1, [1.0, 2.0], "a"]) == "INSERT 0 1"
    generic = stmt.plan_cache["generic"]
    assert _ins(q, stmt, [2, None, "b"]) == "INSERT 0 1" and stmt.plan_cache["generic"] is generic
    with pytest.raises(SqlError) as e:
        _ins(q, stmt, [1, [3.0], "c"])
    assert e.value.sqlstate == "23505" and "Key (id)=(1) already exists." in str(e.value.detail)
    with pytest.raises(SqlError) as e:
        _ins(q, stmt, [3, [3.0], None])
    assert e.value.sqlstate == "23502"
    q.s.sync()
    assert _ins(q, stmt, [3, [3.0], "c"]) == "INSERT 0 1"
    q("alter table t add column w int default 7")  # DDL: bound again, the default filled
    assert _ins(q, stmt, [4, [4.0], "d"]) == "INSERT 0 1" and stmt.plan_cache["generic"] is not generic
    assert q("select id, v, s, w from t order by id") == [
        (1, [1.0, 2.0], "a", 7), (2, None, "b", 7), (3, [3.0], "c", 7), (4, [4.0], "d", 7)]


def test_prepared_insert_with_sequence_or_select_not_cached(q):
    q("create table s (id serial primary key, v text)")
    q("create table src (x text)")
    q("insert into src values ('z')")
    stmt = q.s.prepare("insert into s (v) values ($1)", [], "")
    sel = q.s.prepare("insert into s (v) select x || $1 from src", [], "")
    for i in range(3):
        assert _ins(q, stmt, [f"v{i}"]) == "INSERT 0 1"
        assert _ins(q, sel, [str(i)]) == "INSERT 0 1"
    assert "generic" not in stmt.plan_cache and "generic" not in sel.plan_cache
    assert q("select id, v from s order by id") == [
        (1, "v0"), (2, "z0"), (3, "v1"), (4, "z1"), (5, "v2"), (6, "z2")]


def test_prepared_insert_returning_and_on_conflict(q):
    q("create table t (id int primary key, n int)")
    stmt = q.s.prepare("insert into t values ($1, $2) on conflict (id) do update set n = t.n + excluded.n "
                       "returning id, n", [], "")
    for n in (1, 2, 3):
        res = q.s.execute_prepared(stmt, [1, n])
        assert [tuple(r) for b in res.batches for r in zip(*[c.to_pylist() for c in b.columns])] == \
            [(1, {1: 1, 2: 3, 3: 6}[n])]
    assert "generic" in stmt.plan_cache
