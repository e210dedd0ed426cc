"""Filtered top-k over sealed (memory-mapped) segments: the WHERE compiled to numpy kernels
(exec/filtered_predicate.py) passes exactly the rows the evaluator passes, and the answers
equal the exact filtered top k at every selectivity, for fixed and per-query predicates."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import sqlvec
from sqlvec.catalog.catalog import Catalog
from sqlvec.dbapi.exceptions import Error
from sqlvec.exec import filtered_predicate as FP
from sqlvec.exec import filtered_search as FS
from sqlvec.exec import vector_search as VS

N, D = 20_000, 16


@pytest.fixture(scope="module")
def sealed(tmp_path_factory):
    """t(id, cat, n, tag, flag, emb): two sealed segments (several batches each), some rows
    deleted; n and tag hold NULLs, emb a NULL every 211 rows; then a growing segment."""
    con = sqlvec.connect(str(tmp_path_factory.mktemp("filt") / "db"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"create table t (id int, cat int, n bigint, tag text, flag boolean, "
                f"emb vector({D}))")
    db = con._session.db
    oid = Catalog(db.store.begin(), db.store).relation("public", "t").oid
    rng = np.random.default_rng(11)
    x = np.round(rng.standard_normal((N + 300, D)), 2).astype(np.float32)
    for lo, hi in ((0, 12_000), (12_000, N)):
        txn = db.store.begin()
        for s in range(lo, hi, 5000):
            ids = np.arange(s, min(hi, s + 5000))
            emb = pa.FixedSizeListArray.from_arrays(pa.array(x[ids].ravel()), D)
            emb = pa.array(emb.to_pylist(), emb.type, mask=ids % 211 == 0)
            txn.insert(oid, pa.record_batch([
                pa.array(ids.astype(np.int32)), pa.array((ids % 1000).astype(np.int32)),
                pa.array(ids.astype(np.int64) * 3, mask=ids % 13 == 0),
                pa.array([f"g{i % 7}" for i in ids.tolist()], mask=ids % 17 == 0),
                pa.array(ids % 3 == 0), emb], names=["id", "cat", "n", "tag", "flag", "emb"]))
        txn.commit()
    cur.execute("delete from t where id % 101 = 5")
    cur.execute("checkpoint")
    vals = ",".join(f"({i}, {i % 1000}, {i * 3}, 'g{i % 7}', {str(i % 3 == 0).lower()}, "
                    f"'[{','.join(map(str, x[i]))}]')" for i in range(N, N + 300))
    cur.execute(f"insert into t values {vals}")  # a growing segment too

    def run(sql, params=None):
        cur.execute(sql, params)
        return [r[0] for r in cur.fetchall()] if cur.description else None
    ids = np.arange(N + 300)
    cols = {"id": ids, "cat": ids % 1000, "live": (ids % 101 != 5),
            "vec": (ids % 211 != 0) | (ids >= N)}
    yield run, x, cols
    con.close()


def _exact(x, cols, mask, q, k):
    ok = mask & cols["live"] & cols["vec"]
    ids = np.flatnonzero(ok)
    d = np.sqrt(((x[ids].astype(np.float64) - q) ** 2).sum(1))
    return ids[np.lexsort((ids, d))][:k].tolist()


@pytest.mark.parametrize("vary", [False, True])
def test_answers_equal_the_exact_filtered_top_k_at_every_selectivity(sealed, vary):
    run, x, cols = sealed
    cat = cols["cat"]
    for width in (500, 100, 10, 1):  # 50%, 10%, 1%, 0.1%
        for i, qi in enumerate((7, 4321, 15_555)):
            lo = (i * 137) % (1000 - width + 1) if vary else 0
            q = x[qi] + 0.01
            got = run("select id from t where cat >= %s and cat < %s order by emb <-> %s "
                      "limit 10", (lo, lo + width, [float(v) for v in q]))
            assert got == _exact(x, cols, (cat >= lo) & (cat < lo + width), q, 10), \
                (width, lo, qi)
            assert VS.LAST.strategy == "exact"


def test_held_norms_serve_later_queries_with_equal_answers(sealed):
    run, x, cols = sealed
    q = x[99] - 0.02
    for lo in (100, 300, 100):  # streamed each time (a new predicate), norms held after one
        got = run("select id from t where cat >= %s and cat < %s order by emb <-> %s limit 10",
                  (lo, lo + 150, [float(v) for v in q]))
        assert got == _exact(x, cols, (cols["cat"] >= lo) & (cols["cat"] < lo + 150), q, 10)
    assert FS._PASSING  # (the test reads the segments the cached sets point at)
    segs = {id(v.seg): v.seg for e in FS._PASSING.values() for v in e.base.views}
    assert any(k[1] == "sq" for s in segs.values() for k in s._cache.get(FP.HELD, {}))


PREDICATES = [  # (WHERE, params, compiled on every sealed segment)
    ("cat >= %s and cat < %s", (10, 200), True),
    ("not (cat < %s) or id = %s", (990, 17), True),
    ("%s > cat", (3,), True),
    ("cat in (1, 2, %s) and flag", (500,), True),
    ("cat not in (%s, 4) and not flag", (3,), True),
    ("tag = 'g3' and cat < 300", (), False),  # tag holds NULLs: the evaluator
    ("tag is null or cat = %s", (5,), True),
    ("n is not null and cat <= %s", (20,), True),
    ("n > %s", (30_000,), False),  # n holds NULLs
    ("cat < %s", (None,), False),  # NULL parameter
    ("cat < %s", (2 ** 40,), False),  # beyond int4: the evaluator's answer (or error)
    ("id - cat = %s", (2000,), False),
    ("flag = %s and cat < 400", (True,), True),
    ("true and cat = 9", (), True),
    ("cat >= %s::int2 and cat < %s::bigint", (10, 300), True),  # (as drivers bind ints)
    ("cat < %s::numeric::int4", (40,), True),
    ("cat < %s::int2", (40_000,), False),  # smallint out of range: the evaluator's error
]


@pytest.mark.parametrize("where,params,compiled", PREDICATES)
def test_compiled_predicates_pass_the_rows_the_evaluator_passes(sealed, monkeypatch, where,
                                                              params, compiled):
    run, x, _cols = sealed
    q = [float(v) for v in x[1234]]
    sql = f"select id from t where {where} order by emb <-> %s limit 25"
    seen: list[bool] = []
    real = FS._segment_mask

    def spy(*a):
        got = real(*a)
        seen.append(got is not None)
        return got
    monkeypatch.setattr(FS, "_segment_mask", spy)
    FS._PASSING.clear()
    try:
        fast = run(sql, (*params, q))
    except Error as ex:
        fast = (type(ex), str(ex))
    assert (bool(seen) and all(seen[:5])) == compiled  # (the five file-backed segments)
    monkeypatch.setattr(FS, "compile_mask", lambda f: None)
    FS._PASSING.clear()
    try:
        slow = run(sql, (*params, q))
    except Error as ex:
        slow = (type(ex), str(ex))
    assert fast == slow


def test_text_columns_compare_by_dictionary_codes_or_arrow():
    from sqlvec.core import types as T
    from sqlvec.plan import expr as E

    c = E.ColRef(0, T.TEXT, "s")
    eq = FP.compile_mask(E.Func("=", (c, E.Param(0, T.TEXT)), T.BOOL))
    isin = FP.compile_mask(E.InList(c, (E.Const("b", T.TEXT), E.Param(0, T.TEXT)), True, T.BOOL))
    words = pa.table({"s": ["a", "b", "c", "b"]})
    many = pa.table({"s": [f"w{i}" for i in range(FP.MAX_CODES + 10)]})
    assert eq(FP.Columns(words, ["s"]), ["b"]).tolist() == [False, True, False, True]
    assert eq(FP.Columns(words, ["s"]), ["zz"]).tolist() == [False] * 4
    assert isin(FP.Columns(words, ["s"]), ["a"]).tolist() == [False, False, True, False]
    assert np.flatnonzero(eq(FP.Columns(many, ["s"]), ["w7"])).tolist() == [7]
    unknown = E.Param(0, T.TEXT.__class__(**{**T.TEXT.__dict__, "short": "unknown"}))
    cast = FP.compile_mask(E.Func("=", (c, E.Cast(unknown, T.TEXT)), T.BOOL))
    assert cast(FP.Columns(words, ["s"]), ["c"]).tolist() == [False, False, True, False]
    short = E.Cast(E.Param(0, T.TEXT), T.TEXT.__class__(**{**T.TEXT.__dict__, "typmod": 5}))
    assert FP.compile_mask(E.Func("=", (c, short), T.BOOL)) is None  # varchar(1) truncates
    assert (~isin(FP.Columns(many, ["s"]), ["w9"])).sum() == 1


def test_the_module_example_runs():
    import doctest

    result = doctest.testmod(FP)
    assert result.failed == 0 and result.attempted > 0


def test_index_strategy_asks_the_masks_and_they_agree_with_the_expanded_set(sealed):
    run, x, cols = sealed
    run("create index t_idx on t using hnsw (emb vector_l2_ops) with (m = 4, ef_construction = 8)")
    try:
        run("set sqlvec.exact_scan_threshold = 10")
        q = x[77] + 0.01
        # compiled on every segment; evaluator-decided on the sealed ones (tag's NULLs)
        for where in ("cat < 400 and not flag", "tag = 'g3' and cat < 300"):
            sql = f"select id from t where {where} order by emb <-> %s limit 10"
            for _ in range(2):  # first use opens the index, then the fast path
                FS._PASSING.clear()
                got = run(sql, ([float(v) for v in q],))
            assert VS.LAST.strategy.startswith("hnsw") and len(got) == 10
            (entry,) = FS._PASSING.values()
            assert entry.rowids is None  # the index strategy never expanded the masks
            every = np.concatenate([v.seg.rowids for v in entry.base.views])
            asked = entry.contains(every)
            entry.ready()
            assert (entry.contains(every) == asked).all() and asked.sum() == entry.n
            assert set(got) <= set(run(f"select id from t where {where}"))
    finally:
        run("reset sqlvec.exact_scan_threshold")
        run("drop index t_idx")


def test_products_of_long_runs_in_place_and_short_ones_gathered_equal_direct_ones():
    rng = np.random.default_rng(2)
    m = rng.standard_normal((5000, 24)).astype(np.float32)
    qv = rng.standard_normal(24).astype(np.float32)
    runs = [np.arange(10, 400), np.arange(900, 905), np.array([1000, 1002, 1400]),
            np.arange(2000, 2064), np.arange(2064 + 1, 2064 + 63), np.arange(4000, 5000)]
    for pos in (np.concatenate(runs), np.sort(rng.choice(5000, 3000, replace=False)),
                np.arange(5000), np.array([3, 4, 7])):
        dots, sq = np.empty(len(pos), np.float32), np.empty(len(pos), np.float32)
        FS._products(m, pos, qv, dots, sq)
        np.testing.assert_allclose(dots, m[pos] @ qv, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(sq, (m[pos] ** 2).sum(1), rtol=1e-5)
        FS._products(m, pos, qv, dots2 := np.empty(len(pos), np.float32), None)
        assert (dots2 == dots).all()


def test_a_filter_that_passes_only_far_rows_is_answered_exactly_not_by_endless_widening(db):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3000, 8)).astype(np.float32)
    x[::10] += 50  # the passing rows (g = 0) lie far from every query
    db("create table far (id int, g int, emb vector(8))")
    db("insert into far select i, i %% 10, e::vector from unnest(%s::int[], %s::text[]) as u(i, e)",
       (list(range(3000)), ["[" + ",".join(map(str, r)) + "]" for r in x.tolist()]))
    db("create index far_idx on far using hnsw (emb vector_l2_ops)")
    db("set sqlvec.exact_scan_threshold = 10")  # the index strategy first
    q = [0.1] * 8
    for _ in range(2):  # first use opens the index, then the fast path
        got = [r[0] for r in db("select id from far where g = 0 order by emb <-> %s limit 5",
                                (q,))]
    ids = np.arange(0, 3000, 10)
    d = np.sqrt(((x[ids].astype(np.float64) - np.float64(0.1)) ** 2).sum(1))
    assert got == ids[np.lexsort((ids, d))][:5].tolist()
    assert VS.LAST.strategy.startswith("exact (")


def test_held_columns_follow_the_segment_table_they_were_taken_from():
    from sqlvec.core import types as T
    from sqlvec.plan import expr as E

    class Seg:  # what Columns uses of a storage Segment: its cache
        _cache: dict = {}

    prog = FP.compile_mask(E.Func("<", (E.ColRef(0, T.INT4, "c"), E.Const(3, T.INT4)), T.BOOL))
    seg, first = Seg(), pa.table({"c": pa.chunked_array([[1, 5], [2]])})
    assert prog(FP.Columns(first, ["c"], seg), []).tolist() == [True, False, True]
    held = seg._cache[FP.HELD]
    assert ("c", "int") in held
    again = pa.table({"c": [1, 5, 2]})  # the same rows, now from its file
    assert prog(FP.Columns(again, ["c"], seg), []).tolist() == [True, False, True]
    assert held[FP.OF] == id(again) and len(held) == 2
