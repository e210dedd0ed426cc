"""ORDER BY ... LIMIT through the top-k path equals the full sort (ties, DESC, offsets)."""

from __future__ import annotations

import pytest

from sqlvec.session import Database, Session


def _rows(s: Session, sql: str) -> list:
    r = list(s.execute(sql))[-1]
    return [row for b in r.batches for row in zip(*[c.to_pylist() for c in b.columns])]


@pytest.mark.parametrize("sql", [
    "select id, k from t order by k limit 7",
    "select id, k from t order by k desc limit 7 offset 3",
    "select id, x from t order by x desc limit 5",
    "select id, x from t order by x limit 5 offset 100",
    "select id, n from t order by n limit 5",  # has NULLs: full sort path
    "select id, k from t order by k desc, id desc limit 9",
])
def test_topk_matches_full_sort(sql):
    s = Session(Database.open(None))
    list(s.execute("create table t (id int, k int, x float8, n int)"))
    list(s.execute("insert into t select g, g % 13, (g * 7919 % 1000) / 7.0, "
                   "case when g % 5 = 0 then null else g % 17 end from generate_series(1, 2000) g"))
    fast = _rows(s, sql)
    full = sorted(_rows(s, sql.split(" order by")[0]),
                  key=lambda r: (r[1] is None, r[1], r[0]), reverse=False)
    if " desc" in sql:
        full = sorted(_rows(s, sql.split(" order by")[0]), key=lambda r: (-r[1], r[0]))
    if "id desc" in sql:
        full = sorted(_rows(s, sql.split(" order by")[0]), key=lambda r: (-r[1], -r[0]))
    off = int(sql.split("offset ")[1]) if "offset" in sql else 0
    lim = int(sql.split("limit ")[1].split()[0])
    assert repr(fast) == repr(full[off:off + lim])  # repr: NaN equals NaN


@pytest.mark.parametrize("order", [
    "k, id", "k desc, id desc", "x desc", "x", "n nulls first, id", "n desc, id", "f, id",
    "f desc nulls last, id", "t desc, id", "k * 2 - id % 3, id", "x desc, k",
])
@pytest.mark.parametrize("page", ["limit 7", "limit 5 offset 100", "limit 250", "limit 3000", "limit 0"])
def test_streamed_top_n_matches_full_sort(order, page, monkeypatch):
    from sqlvec.exec import operators, topk

    s = Session(Database.open(None))
    list(s.execute("create table t (id int, k int, x float8, n int, f float8, t text)"))
    list(s.execute("insert into t select g, g % 13, (g * 7919 % 1000) / 7.0, "
                   "case when g % 5 = 0 then null else g % 17 end, "
                   "case when g % 9 = 0 then 'NaN'::float8 when g % 11 = 0 then null else g % 23 end, "
                   "'w' || (g * 31 % 97) from generate_series(1, 2000) g"))
    monkeypatch.setattr(operators, "SCAN_BATCH_ROWS", 97)  # many batches
    monkeypatch.setattr(topk, "MERGE_ROWS", 50)  # many merges
    fast = _rows(s, f"select id, k, x, n, f, t from t order by {order} {page}")
    full = _rows(s, f"select id, k, x, n, f, t from t order by {order}")  # the plain sort
    off = int(page.split("offset ")[1]) if "offset" in page else 0
    lim = int(page.split("limit ")[1].split()[0])
    assert repr(fast) == repr(full[off:off + lim])  # repr: NaN equals NaN


@pytest.mark.parametrize("order,want", [
    ("asc nulls first", [None, -1.0, 1.0, "nan"]), ("desc nulls last", ["nan", 1.0, -1.0, None]),
    ("asc", [-1.0, 1.0, "nan", None]), ("desc", [None, "nan", 1.0, -1.0]),
])
def test_nan_sorts_as_the_greatest_number(order, want):
    s = Session(Database.open(None))
    list(s.execute("create table q (id int, f float8)"))
    list(s.execute("insert into q values (1, 1), (2, null), (3, 'NaN'), (4, -1)"))
    for sql in (f"select f from q order by f {order}", f"select f from q order by f {order}, id limit 3",
                f"select f, row_number() over (order by f {order}) as rn from q order by rn"):
        got = ["nan" if x != x else x for x, *_ in _rows(s, sql)]
        assert got == want[:len(got)], sql


@pytest.mark.parametrize("values, desc, ordered", [
    ([1.0, 2.0, 2.0, 5.0], False, True), ([5, 2, 2, 1], True, True), ([1.0, 3.0, 2.0], False, False),
    ([1.0, float("nan")], False, False), ([3, 1], False, False), ([1, 3], True, False), ([7], False, True),
])
def test_in_order_shortcut_only_for_ordered_keys(values, desc, ordered):
    """_merge returns rows already in key order as they are (a stable sort keeps them), and
    sorts anything else, NaN included."""
    import pyarrow as pa

    from sqlvec.core import types as T
    from sqlvec.exec import topk
    from sqlvec.exec.evaluate import Evaluator
    from sqlvec.plan import expr as E
    from sqlvec.plan import logical as L

    typ = T.FLOAT8 if values and isinstance(values[0], float) else T.INT8
    t = pa.table({"v": pa.array(values, typ.arrow), "pos": pa.array(range(len(values)), pa.int64())})
    key = L.SortKey(E.ColRef(0, typ), desc=desc)
    assert topk._in_order(Evaluator(None), t, key) is ordered

    class Ex:
        ev = Evaluator(None)
    out = topk._merge(Ex(), None, t.to_batches(), (key,), 3, t.schema)
    want = sorted(range(len(values)), key=lambda i: (values[i] != values[i], -values[i] if desc
                                                      else values[i], i))[:3]
    assert out.column("pos").to_pylist() == want
