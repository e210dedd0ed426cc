"""Correlated subqueries: the join form must give the same rows as per-key execution."""

from __future__ import annotations

import pytest

from sqlvec.session import Database, Session

QUERIES = [
    "select id, exists (select 1 from o where o.pid = p.id) from p order by id",
    "select id, not exists (select 1 from o where o.pid = p.id and o.qty > 2) from p order by id",
    "select id, (select count(*) from o where o.pid = p.id) from p order by id",
    "select id, (select sum(qty) from o where o.pid = p.id) from p order by id",
    "select id, (select max(qty) + 1 from o where p.id = o.pid) from p order by id",
    "select id, price in (select qty from o where o.pid = p.id) from p order by id",
    "select id, price not in (select qty from o where o.pid = p.id) from p order by id",
    "select id, (select qty from o where o.pid = p.id and o.qty = 5) from p order by id",
]


def _run(disabled: str) -> list:
    s = Session(Database.open(None))
    for sql in ["create table p(id int, price int)", "create table o(pid int, qty int)",
                "insert into p values (1, 5), (2, 2), (3, null), (4, 7), (null, 1)",
                "insert into o values (1, 5), (1, 2), (3, 1), (9, 4), (null, 1), (4, null)",
                f"set sqlvec.disabled_rules = '{disabled}'"]:
        list(s.execute(sql))
    out = []
    for sql in QUERIES:
        r = list(s.execute(sql))[-1]
        out.append([row for b in r.batches for row in zip(*[c.to_pylist() for c in b.columns])])
    return out


def test_decorrelated_equals_per_key_execution():
    on, off = _run(""), _run("decorrelate_subqueries")
    for sql, a, b in zip(QUERIES, on, off):
        assert a == b, sql


@pytest.mark.parametrize("sql", QUERIES[:3])
def test_decorrelation_is_used(sql, monkeypatch):
    import sqlvec.exec.decorrelate as D

    calls = []
    orig = D.evaluate
    monkeypatch.setattr(D, "evaluate", lambda *a: calls.append(1) or orig(*a))
    s = Session(Database.open(None))
    for q in ["create table p(id int, price int)", "create table o(pid int, qty int)",
              "insert into p values (1, 5)", sql]:
        list(s.execute(q))
    assert calls
