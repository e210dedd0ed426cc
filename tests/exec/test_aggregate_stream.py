"""Streamed (partial, then combined) aggregation equals aggregation of the whole input.

Scans are cut into small batches and states are merged every few hundred rows, so every
step (partial per batch, repeated merges, finish) runs; the blocking path, forced by
switching the partial form off, is the reference. Groups come out in the same
first-appearance order.
"""

from __future__ import annotations

import math

import pytest

from sqlvec.exec import aggregate, operators
from sqlvec.session import Database, Session


def _rows(s: Session, sql: str) -> list[tuple]:
    r = list(s.execute(sql))[-1]
    return [row for b in r.batches for row in zip(*[c.to_pylist() for c in b.columns])]


@pytest.fixture(scope="module")
def s() -> Session:
    s = Session(Database.open(None))
    list(s.execute("create table t (id int, g int, h text, i2 smallint, i8 bigint, f float8, "
                   "n numeric(10,3), b bool, d date, tx text)"))

    def col(expr: str, every: int) -> str:  # scrambled values, NULL on every `every`-th row
        return f"case when (g * 7) % {every} = 1 then null else {expr} end"

    cols = [col("(g * 37) % 30 - 5", 7), col("chr(112 + (g * 13) % 4)", 11),
            col("((g * 7919) % 600 - 300)::smallint", 13),
            col("(g::int8 * 1000003 * 99991) % 2000000000000000 - 1000000000000000", 17),
            col("((g * 104729) % 20011) / 10.0 - 1000 + g * 1e-7", 5),
            col("(((g * 7907) % 1999000) / 1000.0 - 999)::numeric(10,3)", 19),
            col("(g * 31) % 3 = 0", 23), col("date '2024-01-01' + (g * 17) % 300", 29),
            col("'w' || (g * 29) % 100", 31)]
    list(s.execute(f"insert into t select g, {', '.join(cols)} from generate_series(1, 4000) g"))
    return s


QUERIES = [
    "select g, count(*), count(f), sum(i2), sum(i8), sum(f), sum(n), avg(i2), avg(i8), avg(f), avg(n) "
    "from t group by g",
    "select h, g, min(f), max(f), min(tx), max(tx), min(d), max(d), min(n), max(n), bool_and(b), "
    "bool_or(b), every(b) from t group by h, g",
    "select bit_and(i2), bit_or(i2), count(*) filter (where b), sum(f) filter (where g > 3), "
    "avg(i8) filter (where h = 'q') from t",
    "select g % 3, h is null, count(*), sum(i2 * 2), max(id) from t where id % 7 <> 0 group by 1, 2",
    "select count(*), sum(f), avg(n), min(tx), max(d) from t where id < 0",  # no rows: one row
    "select g, count(*) from t where id < 0 group by g",  # no rows: no groups
    "select tx, count(*), sum(n) from t group by tx having count(*) > 30",
    "select count(*) from t",
    "select h, g from t group by h, g",  # no aggregates: the distinct keys
    "select 'x', count(*), min(g) from t group by 1",  # a constant key
    "select d, count(*) from t group by d order by d nulls first",
]


def _same(a: list[tuple], b: list[tuple]) -> bool:
    if len(a) != len(b):
        return False
    for ra, rb in zip(a, b):
        for x, y in zip(ra, rb):
            if isinstance(x, float) and isinstance(y, float):
                if not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-9):
                    return False
            elif x != y:
                return False
    return True


@pytest.mark.parametrize("sql", QUERIES)
def test_streamed_aggregate_equals_blocking(s, sql, monkeypatch) -> None:
    monkeypatch.setattr(operators, "SCAN_BATCH_ROWS", 301)
    monkeypatch.setattr(aggregate, "FOLD_ROWS", 64)
    streamed = _rows(s, sql)
    monkeypatch.setattr(aggregate, "_splits", lambda a: False)
    blocking = _rows(s, sql)
    assert _same(streamed, blocking), (streamed[:5], blocking[:5])


def test_many_groups_fall_back_to_one_pass(s, monkeypatch) -> None:
    monkeypatch.setattr(aggregate, "WIDE_GROUPS", 10)
    assert len(_rows(s, "select id, sum(f) from t group by id")) == 4000
    assert _rows(s, "select id, count(*) from t where id in (5, 7) group by id order by id") == [(5, 1), (7, 1)]


def test_sums_stay_exact_across_batches(monkeypatch) -> None:
    monkeypatch.setattr(operators, "SCAN_BATCH_ROWS", 2)
    s = Session(Database.open(None))
    list(s.execute("create table o (v int)"))
    list(s.execute("insert into o select 2147483647 from generate_series(1, 8) g"))
    assert _rows(s, "select sum(v) from o") == [(8 * 2147483647,)]
    list(s.execute("create table o8 (v bigint)"))
    list(s.execute("insert into o8 select 9223372036854775807 from generate_series(1, 4) g"))
    assert _rows(s, "select sum(v), avg(v) from o8") == [(4 * 9223372036854775807, 9223372036854775807)]
