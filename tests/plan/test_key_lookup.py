"""scan_to_key_lookup: unique-key point lookups give the scan's rows without a table scan."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.session import Database, Session

OFF = "set sqlvec.disabled_rules = 'scan_to_key_lookup'"


def _rows(s: Session, sql: str) -> list:
    r = list(s.execute(sql))[-1]
    return sorted(row for b in r.batches for row in zip(*[c.to_pylist() for c in b.columns]))


def _plan(s: Session, sql: str) -> list[str]:
    return [x[0] for x in _rows_unsorted(s, "explain " + sql)]


def _rows_unsorted(s: Session, sql: str) -> list:
    r = list(s.execute(sql))[-1]
    return [row for b in r.batches for row in zip(*[c.to_pylist() for c in b.columns])]


def _session() -> Session:
    s = Session(Database.open(None))
    for q in ["create table t (id int primary key, v text, b bigint unique, c int)",
              "insert into t select g, 'v' || g, g * 10, g % 3 from generate_series(1, 300) g",
              "insert into t values (301, NULL, NULL, NULL)",
              "create table s (code text primary key, n int)",
              "insert into s values ('a', 1), ('b', 2), ('c', NULL)"]:
        list(s.execute(q))
    return s


QUERIES = [
    "select * from t where id = 7",
    "select v from t where 7 = id",
    "select * from t where id = 7 and c = 1",
    "select * from t where id = 7 and c = 2",
    "select * from t where id in (3, 5, 5, 999, NULL)",
    "select * from t where id = NULL",
    "select * from t where id = 7::bigint",
    "select * from t where id = 7.0",
    "select * from t where id = 7.5",
    "select * from t where id = '8'",
    "select * from t where id = 99999999999",
    "select * from t where b = 70",
    "select * from t where b = 70 or id = 3",
    "select x.v from t as x where x.id = 12",
    "select * from s where code = 'b'",
    "select * from s where code in ('a', 'zz', 'c')",
    "select count(*) from t where id = 9",
    "select t.id, s.n from t join s on t.c = s.n where t.id = 4",
    "select * from t where id = 301",
    "select * from t where c = 1 and id > 290",
    # plain columns over a lookup: only those columns are fetched (repeats, reorders, residuals)
    "select v, v, id from t where id = 7",
    "select c, v from t where id in (7, 8, 999)",
    "select v from t where id = 7 and c = 1",
    "select v from t where id = 7 and c = 2",
    "select v from t where id = 7.5",
    "select v from t where id = 999",
]


def test_explain_shows_index_scan():
    s = _session()
    assert _plan(s, "select * from t where id = 7") == ["Index Scan using t_pkey on t", "  Index Cond: (id = 7)"]
    lines = _plan(s, "select * from t where b = 70 and c = 1")
    assert lines[0] == "Index Scan using t_b_key on t" and "Filter: (c = 1)" in lines[2]
    assert _plan(s, "select * from t where c = 1")[0] == "Seq Scan on t"  # not a key
    list(s.execute(OFF))
    assert _plan(s, "select * from t where id = 7")[0] == "Seq Scan on t"


def test_unique_index_is_a_key():
    s = _session()
    list(s.execute("create unique index t_c_uq on s (n)"))
    assert _plan(s, "select * from s where n = 2")[0] == "Index Scan using t_c_uq on s"
    assert _rows(s, "select * from s where n = 2") == [("b", 2)]


@pytest.mark.parametrize("q", QUERIES)
def test_rule_on_and_off_give_the_same_rows(q):
    on, off = _session(), _session()
    list(off.execute(OFF))
    assert _rows(on, q) == _rows(off, q)


def test_own_uncommitted_writes_are_seen():
    s = _session()
    list(s.execute("begin"))
    list(s.execute("insert into t values (1000, 'new', 10000, 0)"))
    list(s.execute("delete from t where id = 5"))
    list(s.execute("update t set v = 'changed' where id = 6"))
    assert _rows(s, "select id, v from t where id = 1000") == [(1000, "new")]
    assert _rows(s, "select id from t where id = 5") == []
    assert _rows(s, "select id, v from t where id in (5, 6, 1000)") == [(6, "changed"), (1000, "new")]
    assert _plan(s, "select id from t where id = 6")[0].startswith("Index Scan")
    list(s.execute("rollback"))
    assert _rows(s, "select id, v from t where id in (5, 6, 1000)") == [(5, "v5"), (6, "v6")]


def _prepared(s: Session, sql: str, oids: list[int], params: list) -> list:
    st = s.prepare(sql, oids)
    res, _ = s.execute_portal(s.bind(st, params))
    return sorted(row for b in res.batches for row in zip(*[c.to_pylist() for c in b.columns]))


@pytest.mark.parametrize("oids,param", [
    ([23], 7), ([20], 7), ([20], 2**40), ([1700], Decimal("7")), ([1700], Decimal("7.5")),
    ([23], None), ([0], "7"), ([25], "7"),
])
def test_prepared_parameters(oids, param):
    on, off = _session(), _session()
    list(off.execute(OFF))
    sql = "select id, v from t where id = $1"
    try:
        want = _prepared(off, sql, oids, [param])
    except Exception as e:  # the same error either way
        with pytest.raises(type(e)):
            _prepared(on, sql, oids, [param])
        return
    assert _prepared(on, sql, oids, [param]) == want


def test_prepared_plan_is_reused_with_new_params():
    s = _session()
    st = s.prepare("select v from t where id = $1", [23])
    for i in (1, 150, 301, 302):
        res, _ = s.execute_portal(s.bind(st, [i]))
        got = [r for b in res.batches for r in b.column(0).to_pylist()]
        assert got == ([] if i == 302 else [None if i == 301 else f"v{i}"])


def test_txn_fetch_reads_visible_rows_by_id():
    db = Database.open(None)
    store = db.store
    txn = store.begin()
    txn.create_table(1, pa.schema([("k", pa.int64()), ("v", pa.string())]))
    ids = txn.insert(1, pa.table({"k": [1, 2, 3], "v": ["a", "b", "c"]}))
    more = txn.insert(1, pa.table({"k": [4], "v": ["d"]}))
    txn.delete(1, ids[1:2])
    got = txn.fetch(1, np.array([more[0], ids[0], ids[1], 12345]), ["v"])
    assert got.column_names == ["_rowid", "v"]
    assert got.column("v").to_pylist() == ["a", "d"]
    assert txn.fetch(1, np.array([], np.int64)).num_rows == 0


def test_keys_with_looser_equality_keep_the_scan():
    s = Session(Database.open(None))
    for q in ["create table f (k float8 primary key)", "insert into f values (0.0), (1.5)",
              "create table c (k char(3) primary key)", "insert into c values ('a'), ('bc')"]:
        list(s.execute(q))
    assert _plan(s, "select * from f where k = -0.0")[0] == "Seq Scan on f"
    assert _rows(s, "select * from f where k = -0.0") == [(0.0,)]
    assert _plan(s, "select * from c where k = 'a'")[0] == "Seq Scan on c"


@pytest.mark.parametrize("oid,param", [(21, 7), (21, None), (1700, Decimal("7.5")), (701, 7.0)])
def test_cast_parameters_use_the_key(oid, param):
    on, off = _session(), _session()
    list(off.execute(OFF))
    sql = "select id, v from t where id = $1"
    assert _prepared(on, sql, [oid], [param]) == _prepared(off, sql, [oid], [param])
    assert _plan(on, "select id from t where id = 7::smallint")[0].startswith("Index Scan")


def test_explain_analyze_counts_the_lookup_under_a_projection():
    s = _session()
    lines = _plan(s, "analyze select v from t where id = 7")
    scan = [x for x in lines if "Index Scan using t_pkey" in x]
    assert scan and "rows=1" in scan[0]
