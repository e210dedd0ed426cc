"""Generic plans of prepared queries: bound and optimised once, parameter slots filled per
execution; invalidated by DDL, search_path and disabled rules; results as a fresh plan's."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import DivisionByZero
from tests.session.conftest import rows_of


def _run(q, stmt, params):
    return rows_of(q.s.execute_prepared(stmt, params))


def test_generic_plan_reused_and_invalidated(q):
    q("create table t (a int, b text)")
    q("insert into t values (1, 'x'), (2, 'y'), (3, 'z')")
    stmt = q.s.prepare("select * from t where a >= $1 order by a", [], "")
    assert _run(q, stmt, [2]) == [(2, "y"), (3, "z")]
    generic = stmt.plan_cache["generic"]
    assert _run(q, stmt, [3]) == [(3, "z")] and stmt.plan_cache["generic"] is generic
    q("alter table t add column c int default 7")  # DDL: planned again, new column seen
    assert _run(q, stmt, [3]) == [(3, "z", 7)] and stmt.plan_cache["generic"] is not generic
    q("create schema s2")
    q("create table s2.t (a int, b text, c int)")
    q("insert into s2.t values (5, 'other', 0)")
    q("set search_path = s2, public")  # name resolution changed: planned again
    assert _run(q, stmt, [0]) == [(5, "other", 0)]
    q("set sqlvec.disabled_rules = 'scan_to_key_lookup'")
    assert _run(q, stmt, [6]) == []


def test_generic_plan_parameter_casts_evaluated_per_execution(q):
    q("create table v (id int, x float8)")
    q("insert into v select g, g * 0.5 from generate_series(1, 5) g")
    stmt = q.s.prepare("select id, x * $1::float8 + $2::int from v where x > $1::float8 / 4 order by id",
                       [], "")
    for k in (1, 2, 8):
        want = [(i, i * 0.5 * k + k) for i in range(1, 6) if i * 0.5 > k / 4]
        assert _run(q, stmt, [k, k]) == want


def test_cached_read_only_executions_write_nothing(q):
    q("create table kv (id int primary key, v text)")
    q("insert into kv values (1, 'a'), (2, 'b')")
    commits = []
    real = q.db.store._commit
    q.db.store._commit = lambda txn, sync: (commits.append(txn), real(txn, sync=sync))
    lookup = q.s.prepare("select v from kv where id = $1", [], "")
    plus = q.s.prepare("select $1::int + 1", [], "")
    for i in (1, 2, 3):
        assert _run(q, lookup, [i]) == ([] if i == 3 else [("a" if i == 1 else "b",)])
        assert _run(q, plus, [i]) == [(i + 1,)]
    assert commits == [] and q.s.txn is None  # read-only autocommit: no WAL record, no commit lock


def test_cached_executions_keep_reg_names_timeouts_and_errors(q):
    q("create table kv (id int primary key, v text)")
    reg = q.s.prepare("select $1::regclass", [], "")  # reg* columns print names
    assert _run(q, reg, ["kv"]) == [("kv",)] and _run(q, reg, ["public.kv"]) == [("kv",)]
    div = q.s.prepare("select 10 / $1::int", [], "")
    assert _run(q, div, [5]) == [(2,)]
    with pytest.raises(DivisionByZero):
        _run(q, div, [0])
    assert q.s.txn is None and not q.s.failed
    q("set statement_timeout = '5s'")  # the general path, with its timer
    assert _run(q, div, [2]) == [(5,)]
    q("begin")  # inside a block: the block's transaction
    assert _run(q, div, [1]) == [(10,)]
    with pytest.raises(DivisionByZero):
        _run(q, div, [0])
    assert q.s.failed
    q("rollback")
