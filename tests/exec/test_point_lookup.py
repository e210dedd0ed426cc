"""Prepared `WHERE key = $n` over an integer key: txn.find_row / fetch_at (storage/point_lookup.py)
give the rows the sequential scan gives, across segments, deletes, updates and own writes."""

from __future__ import annotations

import weakref

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.session import Database, Session
from sqlvec.storage.point_lookup import NO_INDEX

OFF = "set sqlvec.disabled_rules = 'scan_to_key_lookup'"
SETUP = [
    "create table t (id int primary key, v text, b bigint unique, s smallint unique, f float8)",
    "insert into t select g, 'v' || g, g * 10, g, g * 0.5 from generate_series(1, 50) g",
    "insert into t select g, 'v' || g, g * 10, NULL::smallint, NULL::float8 from generate_series(51, 100) g",
    "insert into t values (-5, 'neg', NULL, -5, NULL), (2147483647, 'max', 9223372036854775807, 32767, 1)",
    "delete from t where id in (7, 60)",
    "update t set v = 'changed' where id in (8, 61)",
    "insert into t values (7, 'again', 70, 7, 3.5)",
]
KEYS = [1, 7, 8, 50, 51, 60, 61, 100, 101, -5, 0, 2147483647, -2147483648, 32767, 40000, None]


def _sessions() -> tuple[Session, Session]:
    on, off = Session(Database.open(None)), Session(Database.open(None))
    for s in (on, off):
        for q in SETUP:
            list(s.execute(q))
    list(off.execute(OFF))
    return on, off


def _run(s: Session, st, params: list) -> list:
    res, _ = s.execute_portal(s.bind(st, params))
    return [row for b in res.batches for row in zip(*[c.to_pylist() for c in b.columns])]


@pytest.mark.parametrize("sql,oid", [
    ("select id, v, f from t where id = $1", 23),
    ("select v, id, v from t where id = $1", 20),
    ("select * from t where b = $1", 23),
    ("select * from t where b = $1", 20),
    ("select id from t where s = $1", 23),
    ("select id, s from t where s = $1::smallint", 20),
    ("select v as name from t where id = $1::bigint", 23),
])
def test_prepared_point_lookups_equal_the_scan(sql, oid):
    on, off = _sessions()
    st_on, st_off = on.prepare(sql, [oid]), off.prepare(sql, [oid])
    for key in KEYS:
        try:
            want = _run(off, st_off, [key])
        except Exception as e:  # noqa: BLE001 - the same error either way
            with pytest.raises(type(e)):
                _run(on, st_on, [key])
            continue
        assert _run(on, st_on, [key]) == want, key


def test_own_writes_in_a_block_are_seen():
    on, off = _sessions()
    sql = "select id, v from t where id = $1"
    sts = [s.prepare(sql, [23]) for s in (on, off)]
    for s in (on, off):
        for q in ["begin", "insert into t values (500, 'mine', 5000, 500, 0)",
                  "delete from t where id = 9", "update t set v = 'upd' where id = 10"]:
            list(s.execute(q))
    for key in (500, 9, 10, 11):
        assert _run(on, sts[0], [key]) == _run(off, sts[1], [key])
    assert _run(on, sts[0], [500]) == [(500, "mine")]


def test_find_row_reads_the_live_row_and_says_when_it_cannot():
    db = Database.open(None)
    txn = db.store.begin()
    txn.create_table(1, pa.schema([("k", pa.int32()), ("v", pa.string())]))
    ids = txn.insert(1, pa.table({"k": pa.array([5, 3, 9], pa.int32()), "v": ["a", "b", "c"]}))
    txn.commit()
    txn = db.store.begin()
    txn.delete(1, ids[1:2])
    txn.insert(1, pa.table({"k": pa.array([3], pa.int32()), "v": ["b2"]}))
    seg, pos = txn.find_row(1, "k", 9)
    assert [a.to_pylist() for a in txn.fetch_at(seg, pos, ["v", "k"])] == [["c"], [9]]
    seg, pos = txn.find_row(1, "k", 3)
    assert txn.fetch_at(seg, pos, ["v"])[0].to_pylist() == ["b2"]
    assert txn.find_row(1, "k", 4) is None
    assert txn.find_row(1, "k", 1 << 40) is None  # outside every segment's key range
    assert txn.find_row(1, "v", 1) is NO_INDEX
    found, rowids = txn.lookup(1, "k", pa.array([3, 9], pa.int32()))
    assert found.all() and np.array_equal(
        txn.fetch(1, rowids, ["v"]).column("v").to_pylist(), ["c", "b2"])


@pytest.mark.parametrize("formats", [0, 1])
def test_wire_rows_from_the_point_values_equal_arrows(formats):
    from sqlvec.exec import key_lookup as KL
    from sqlvec.wire.rows import data_rows

    on, _ = _sessions()
    st = on.prepare("select v, id, f, v, s, b from t where id = $1", [23])
    types = [c.type for c in st.columns]
    fmts = [formats] * len(types)
    seen = 0
    for key in (1, 8, 51, 61, 7, -5, 2147483647):
        res, _ = on.execute_portal(on.bind(st, [key]))
        (batch,) = list(res.batches)
        values = KL.point_row_values(batch)
        seen += values is not None
        assert values is None or values == [c.to_pylist()[0] for c in batch.columns]
        assert KL.point_row_values(batch) is None  # read once
        seg, pos, cols = _point_source(on, key)
        KL._POINT_ROWS[id(batch)] = (batch, weakref.ref(seg), pos, cols)
        fast = data_rows(batch, types, fmts)
        assert fast == data_rows(batch, types, fmts)  # the second: from Arrow
    assert seen


def _point_source(s: Session, key: int) -> tuple:
    """(segment, position, columns) of t's row with id = key, as the point path records them."""
    txn = s.db.store.begin()
    oid = next(o for o, lt in txn.snapshot.tables.items() if "f" in lt.schema.names)
    seg, pos = txn.find_row(oid, "id", key)
    txn.rollback()
    return seg, pos, ("v", "id", "f", "v", "s", "b")
