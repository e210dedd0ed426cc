"""Scans skip segments by min/max for `col <op> const` filters (after CLUSTER); results unchanged."""

from __future__ import annotations

import pytest

import sqlvec.exec.prune as prune_mod
import sqlvec.storage.store as store_mod


@pytest.fixture
def skipped(monkeypatch) -> list[int]:
    """Counts the segments the scan's prune hook skipped (one list entry per segment)."""
    out: list[int] = []
    real = prune_mod.pruner

    def counting(predicate, names, params=None):
        fn = real(predicate, names, params)
        if fn is None:
            return None

        def prune(stats):
            skip = fn(stats)
            out.append(int(skip))
            return skip

        return prune

    monkeypatch.setattr(prune_mod, "pruner", counting)
    return out


def _clustered(q, monkeypatch) -> None:
    monkeypatch.setattr(store_mod, "SEAL_ROWS", 2000)  # small sealed segments for the test
    q("create table c (id int, k int, d date, s text)")
    q("create index c_k on c (k)")
    for part in range(4):
        q(f"insert into c select g, (g * 7919) % 20000, date '2024-01-01' + (g % 300), 'x' || (g % 50) "
          f"from generate_series({part * 5000}, {part * 5000 + 4999}) g")
    q("cluster c using c_k")


QUERIES = [
    ("k < 150", "k + 0 < 150"),
    ("k >= 19990", "k + 0 >= 19990"),
    ("150 > k", "k + 0 < 150"),
    ("k = 777", "k + 0 = 777"),
    ("k > 500 and k <= 2500 and s = 'x7'", "k + 0 > 500 and k + 0 <= 2500 and s || '' = 'x7'"),
    ("k between 3000 and 3100", "k + 0 between 3000 and 3100"),
    ("k < -5", "k + 0 < -5"),
    ("d = date '2024-03-01'", "d + 0 = date '2024-03-01'"),
]


@pytest.mark.parametrize(("pruned", "plain"), QUERIES)
def test_results_unchanged(q, monkeypatch, skipped, pruned, plain):
    _clustered(q, monkeypatch)
    got = q(f"select id, k, d, s from c where {pruned} order by id")
    want = q(f"select id, k, d, s from c where {plain} order by id")
    assert got == want


def test_segments_skipped(q, monkeypatch, skipped):
    _clustered(q, monkeypatch)
    oid = q("select oid::int from pg_class where relname = 'c'")[0][0]
    views = q.db.store.version.tables[oid].views
    assert len(views) >= 8 and not any(v.seg.growing for v in views)
    skipped.clear()
    assert q("select count(*) from c where k < 150") == [(150,)]
    assert len(skipped) == len(views) and sum(skipped) == len(views) - 1
    skipped.clear()
    assert q("select count(*) from c where k + 1 < 151") == [(150,)]  # not prunable: all read
    assert skipped == []


def test_explain_analyze_reports_skipped_segments(q, monkeypatch):
    _clustered(q, monkeypatch)
    n = len(q.db.store.version.tables[q("select oid::int from pg_class where relname = 'c'")[0][0]].views)
    lines = [r[0] for r in q("explain analyze select count(*) from c where k < 150")]
    assert f"Segments Skipped by Min/Max: {n - 1} of {n}" in "\n".join(lines)
    plain = "\n".join(r[0] for r in q("explain select count(*) from c where k < 150"))
    assert "Segments" not in plain
    assert q("select count(*) from c where k < 150") == [(150,)]  # the counter is gone afterwards


@pytest.mark.parametrize(("pruned", "plain", "skips"), [
    ("k in (5, 19999)", "k + 0 in (5, 19999)", True),
    ("k not in (5, 19999)", "k + 0 not in (5, 19999)", False),
    ("k in (5, null)", "k + 0 in (5, null)", False),
])
def test_in_list(q, monkeypatch, skipped, pruned, plain, skips):
    _clustered(q, monkeypatch)
    skipped.clear()
    assert q(f"select id from c where {pruned} order by id") == q(f"select id from c where {plain} order by id")
    assert (sum(skipped) > 0) == skips


def test_parameters_prune_like_constants(q, monkeypatch, skipped):
    _clustered(q, monkeypatch)
    ps = q.s.prepare("select count(*) from c where k < $1 and k >= $2", [23, 23], "")
    for hi, lo, want in ((150, 0, 150), (19999, 19990, 9), (5, 10, 0)):
        skipped.clear()
        res, _ = q.s.execute_portal(q.s.bind(ps, [hi, lo], [], ""), 0)
        assert [r for b in res.batches for r in zip(*[c.to_pylist() for c in b.columns])] == [(want,)]
        assert sum(skipped) >= len(skipped) - 1 > 0


def test_nan_never_prunes(q, monkeypatch, skipped):
    monkeypatch.setattr(store_mod, "SEAL_ROWS", 100)
    q("create table f (x float8)")
    q("create index f_x on f (x)")
    q("insert into f select g::float8 from generate_series(1, 500) g")
    q("cluster f using f_x")
    assert q("select count(*) from f where x < 'NaN'::float8") == [(500,)]
    assert q("select count(*) from f where x in ('NaN'::float8, 3)") == [(1,)]
