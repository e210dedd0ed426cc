"""Equi-joins with a small build side: indexed once, probe side streamed (inner and left).

Results are checked against a brute-force oracle (the test's own nested loop over Python
rows) on seeded data with NULL keys, duplicate keys on both sides, keys missing from the
build side, residual conditions and non-integer keys (the Acero path).
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.exec import join
from sqlvec.exec.stream import ResultStream
from sqlvec.session import Database, Session


def _rows(s: Session, sql: str) -> list[tuple]:
    r = list(s.execute(sql))[-1]
    return [row for b in r.batches for row in zip(*[c.to_pylist() for c in b.columns])]


@pytest.fixture(scope="module")
def s() -> Session:
    rnd = random.Random(7)
    s = Session(Database.open(None))
    list(s.execute("create table l (id int, k int, t text)"))
    list(s.execute("create table r (rid int, k int, w int, t text)"))
    lv = ", ".join(f"({i}, {rnd.choice(['NULL', *map(str, range(-3, 40))])}, "
                   f"'{rnd.choice('abcde')}')" for i in range(3000))
    rv = ", ".join(f"({i}, {rnd.choice(['NULL', *map(str, range(0, 30)), '1000000'])}, "
                   f"{rnd.randrange(10)}, '{rnd.choice('abcdef')}')" for i in range(400))
    list(s.execute(f"insert into l values {lv}"))
    list(s.execute(f"insert into r values {rv}"))
    return s


_ORACLE: dict = {}


def _oracle(s: Session, kind: str, cond) -> list[tuple]:
    key = (id(s), kind, cond)
    if key not in _ORACLE:
        _ORACLE[key] = _nested_loop(s, kind, cond)
    return _ORACLE[key]


def _nested_loop(s: Session, kind: str, cond) -> list[tuple]:
    left = _rows(s, "select id, k, t from l")
    right = _rows(s, "select rid, k, w, t from r")
    out = []
    for a in left:
        hits = [a + b for b in right if cond(a, b)]
        out.extend(hits or ([a + (None,) * 4] if kind == "left" else []))
    return out


JOINS = [
    ("l.k = r.k", lambda a, b: a[1] is not None and a[1] == b[1]),
    ("l.k = r.k and r.w > 4", lambda a, b: a[1] is not None and a[1] == b[1] and b[2] > 4),
    ("l.t = r.t and l.k < r.w", lambda a, b: a[2] == b[3] and None not in (a[1], b[2]) and a[1] < b[2]),
    ("l.k + 1 = r.k and l.t = r.t", lambda a, b: a[1] is not None and a[1] + 1 == b[1] and a[2] == b[3]),
]


@pytest.mark.parametrize("kind", ["inner", "left"])
@pytest.mark.parametrize("on,cond", JOINS)
def test_streamed_join_matches_the_oracle_in_probe_order(s, kind, on, cond) -> None:
    sql = f"select l.id, l.k, l.t, r.rid, r.k, r.w, r.t from l {kind} join r on {on}"
    got = _rows(s, sql)
    want = _oracle(s, kind, cond)
    assert got == want  # each probe row's matches in build-row order, probe rows in order


@pytest.mark.parametrize("kind", ["inner", "left"])
@pytest.mark.parametrize("on,cond", JOINS)
def test_a_large_build_side_gives_the_same_rows(s, kind, on, cond, monkeypatch) -> None:
    # above the size limit an integer key still streams (sorted build rows), others block
    monkeypatch.setattr(join, "PROBE_STREAM_BUILD_ROWS", 10)
    sql = f"select l.id, l.k, l.t, r.rid, r.k, r.w, r.t from l {kind} join r on {on}"
    got, want = _rows(s, sql), _oracle(s, kind, cond)
    assert sorted(got, key=repr) == sorted(want, key=repr)
    if "l.k = r.k" in on:
        assert got == want


@pytest.mark.parametrize("kind", ["inner", "left"])
def test_streamed_and_blocking_joins_give_the_same_rows(s, kind, monkeypatch) -> None:
    sql = f"select l.id, r.rid, r.w from l {kind} join r on l.k = r.k and r.w <> 3"
    streamed = _rows(s, sql)
    monkeypatch.setattr(join, "PROBE_STREAM_BUILD_ROWS", -1)
    blocking = _rows(s, sql)
    assert sorted(streamed, key=repr) == sorted(blocking, key=repr)


def test_left_join_against_an_empty_build_side(s) -> None:
    got = _rows(s, "select l.id, r.rid from l left join (select * from r where w > 100) r on l.k = r.k "
                   "where l.id < 5")
    assert got == [(i, None) for i in range(5)]


def test_a_left_join_streams() -> None:
    s = Session(Database.open(None))
    list(s.execute("create table big (id int, k int)"))
    list(s.execute("create table small (k int primary key, name text)"))
    list(s.execute("insert into big select g, g % 50 from generate_series(1, 200000) g"))
    list(s.execute("insert into small select g, 'n' || g from generate_series(0, 39) g"))
    (res,) = list(s.execute("select big.id, small.name from big left join small on big.k = small.k"))
    assert isinstance(res.batches, ResultStream)
    first = next(res.batches)
    assert first.num_rows <= 65536
    rest = list(res.batches)
    ids = np.concatenate([b.column(0).to_numpy() for b in [first, *rest]])
    assert (ids == np.arange(1, 200001)).all()  # probe order, unmatched rows in place
    names = pa.concat_arrays([b.column(1) for b in [first, *rest]])
    assert names.null_count == 200000 // 50 * 10


def test_build_index_probes() -> None:
    # dense keys (direct table), sparse keys (binary search), duplicates, NULLs, other int widths
    for rk in ([5, 3, None, 5, 9, 3, 3], [10**12, -7, None, 10**12, 42], []):
        build = join._Build([pa.array(rk, pa.int64())])
        for lk in (pa.array([3, None, 5, 10**12, 42, -7, 0, 9], pa.int64()),
                   pa.array([9, 3, None, 5, 6], pa.int16())):
            li, ri = build.probe([lk])
            want = [(i, j) for i, a in enumerate(lk.to_pylist()) for j, b in enumerate(rk)
                    if a is not None and a == b]
            assert list(zip(li.tolist(), ri.tolist())) == want
