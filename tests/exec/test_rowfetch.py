"""Rows by id for ON CONFLICT DO UPDATE: right rows, caller's order, key-range segment skipping."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import sqlvec.storage.store as store_mod
from sqlvec.core.errors import SqlError
from sqlvec.exec.rowfetch import fetch_rows, key_pruner
from sqlvec.session import Database, Session


def _run(s: Session, sql: str) -> list:
    res = list(s.execute(sql))[-1]
    out: list = []
    for b in getattr(res, "batches", []):
        out.extend(zip(*[c.to_pylist() for c in b.columns]))
    return out


@pytest.fixture
def db(monkeypatch):
    monkeypatch.setattr(store_mod, "SEAL_ROWS", 1000)  # several sealed segments
    d = Database.open(None)
    s = Session(d)
    _run(s, "create table t (id int primary key, k text unique, v float8)")
    _run(s, "create index t_id on t (id)")
    _run(s, "insert into t select g, 'k' || lpad(g::text, 5, '0'), g / 2.0 from generate_series(1, 5000) g")
    _run(s, "cluster t using t_id")
    return d, s


def test_key_pruner():
    p = key_pruner("a", pa.array([5, 50, None]))
    assert p({"a": (0, 4)}) and p({"a": (51, 60)}) and p({"a": (6, 49)})
    assert not p({"a": (0, 5)}) and not p({"a": (50, 50)}) and not p({"b": (0, 1)})
    s = key_pruner("s", pa.array(["m", "c"]))
    assert s({"s": ("d", "l")}) and not s({"s": ("a", "c")})
    assert key_pruner("a", pa.array([None], pa.int32())) is None


def test_fetch_rows_order_and_skip(db):
    d, s = db
    oid = _run(s, "select oid::int from pg_class where relname = 't'")[0][0]
    txn = d.store.begin()
    try:
        want = np.array([4000, 17, 2500], np.int64)
        rows = txn.scan_table(oid, ["id"])
        ids = dict(zip(rows.column(0).to_pylist(), rows.column(1).to_pylist()))
        keys = pa.array([ids[r] for r in want.tolist()], pa.int32())
        seen: list[bool] = []
        p = key_pruner("id", keys)

        def counting(stats):
            seen.append(p(stats))
            return seen[-1]

        got = fetch_rows(txn, oid, ["id", "v"], want, counting)
        assert got.column(0).to_pylist() == want.tolist()
        assert got.column("id").to_pylist() == keys.to_pylist()
        assert len(seen) >= 5 and sum(seen) == len(seen) - 3  # only the 3 segments holding them
        with pytest.raises(KeyError):
            fetch_rows(txn, oid, ["id"], np.array([10**9]))
    finally:
        txn.rollback()


def test_upsert_after_cluster(db):
    _, s = db
    got = _run(s, "insert into t values (4999, 'new', 0), (3, 'k00003', 1), (6000, 'n6000', 2) "
                  "on conflict (id) do update set v = excluded.v + t.v returning id, k, v")
    assert sorted(got) == [(3, "k00003", 2.5), (4999, "k04999", 2499.5), (6000, "n6000", 2.0)]
    got = _run(s, "insert into t values (0, 'k00010', 7) on conflict (k) do update set v = excluded.v "
                  "returning id, k, v")
    assert got == [(10, "k00010", 7.0)]
    assert _run(s, "select count(*) from t") == [(5001,)]
    assert _run(s, "select v from t where id in (3, 10, 4999) order by id") == [(2.5,), (7.0,), (2499.5,)]


def test_multi_column_unique_check(db):
    _, s = db
    _run(s, "create table m (a int, b text, c int, unique (a, b))")
    _run(s, "insert into m select g % 100, 'b' || (g / 100), g from generate_series(0, 2999) g")
    _run(s, "insert into m values (1, 'zz', 0), (1, null, 0), (null, 'b0', 0), (1, null, 0)")  # no conflicts
    for sql in ("insert into m values (5, 'b3', 0)", "insert into m values (7, 'q', 0), (7, 'q', 1)",
                "insert into m values (99, 'b29', 0)"):
        with pytest.raises(SqlError) as err:
            _run(s, sql)
        assert err.value.sqlstate.value == "23505", sql
    assert _run(s, "insert into m values (5, 'b3', 9) on conflict (a, b) do update set c = excluded.c "
                   "returning a, b, c") == [(5, "b3", 9)]
    assert _run(s, "insert into m values (5, 'b3', 1), (6, 'new', 2) on conflict do nothing") == []
    assert _run(s, "select count(*), sum(c) from m") == [(3005, sum(range(3000)) - 305 + 9 + 2)]
    with pytest.raises(SqlError):
        _run(s, "update m set b = 'b1' where a = 150 - 100 and b = 'b0'")  # (50, 'b1') exists
    _run(s, "update m set b = 'fresh' where a = 50 and b = 'b0'")
    assert _run(s, "select c from m where a = 50 and b in ('fresh', 'b0')") == [(50,)]
