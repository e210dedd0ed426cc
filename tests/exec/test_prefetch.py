"""Inputs computed one batch ahead on a worker thread (exec/stream.prefetch): same rows,
errors on either side surface as the statement's error, the worker always stops."""

from __future__ import annotations

import threading

import pytest

from sqlvec.core.errors import DivisionByZero
from sqlvec.exec import operators, stream
from sqlvec.session import Database, Session


def _rows(s: Session, sql: str) -> list[tuple]:
    r = list(s.execute(sql))[-1]
    return [row for b in r.batches for row in zip(*[c.to_pylist() for c in b.columns])]


@pytest.fixture
def s(monkeypatch) -> Session:
    s = Session(Database.open(None))
    list(s.execute("create table t (id int, g int, x float8)"))
    list(s.execute("insert into t select i, i % 17, (i * 7919 % 1000) / 8.0 from generate_series(1, 5000) i"))
    monkeypatch.setattr(operators, "SCAN_BATCH_ROWS", 128)
    return s


QUERIES = [
    "select g, count(*), sum(x), avg(id), max(x) from t where id % 3 <> 0 group by g",
    "select id, x from t where g < 9 order by x desc, id limit 12",
    "select count(*), min(x) from t",
]


def _workers() -> int:
    return sum(t.name == "sqlvec-prefetch" for t in threading.enumerate())


@pytest.mark.parametrize("sql", QUERIES)
def test_prefetched_input_gives_the_same_rows(s, sql, monkeypatch) -> None:
    monkeypatch.setattr(stream, "PREFETCH_MIN_ROWS", 10**12)
    inline = _rows(s, sql)
    monkeypatch.setattr(stream, "PREFETCH_MIN_ROWS", 1)
    assert _rows(s, sql) == inline
    assert _workers() == 0


@pytest.mark.parametrize("sql", [
    "select g, sum(x) from t where 10 / (id - 4000) > -1 group by g",  # fails on the worker
    "select g, sum(10 / (id - 4000)) from t group by g",  # fails in the consumer
    "select id from t where 10 / (id - 4000) > -1 order by x limit 3",
])
def test_errors_on_either_side_stop_the_worker(s, sql, monkeypatch) -> None:
    monkeypatch.setattr(stream, "PREFETCH_MIN_ROWS", 1)
    with pytest.raises(DivisionByZero):
        _rows(s, sql)
    assert _workers() == 0
    assert _rows(s, "select count(*) from t") == [(5000,)]


def test_only_scan_chains_without_subqueries_are_prefetched(s, monkeypatch) -> None:
    monkeypatch.setattr(stream, "PREFETCH_MIN_ROWS", 1)
    seen: list[bool] = []
    rule = stream.prefetchable
    monkeypatch.setattr(stream, "prefetchable", lambda plan: seen.append(rule(plan)) or seen[-1])
    _rows(s, "select g, count(*) from t where x > 1 group by g")
    _rows(s, "select g, count(*) from t where x > (select avg(x) from t) group by g")
    _rows(s, "select count(*) from t join t u on t.id = u.g")  # a join below: not a scan chain
    # the subquery's own aggregate (a scan) may prefetch, the outer one (a subquery in its
    # filter) and the one over a join may not
    assert seen == [True, True, False, False]
