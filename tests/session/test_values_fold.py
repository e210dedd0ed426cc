"""Multi-row INSERT ... VALUES: quoted constants of a column are cast in one batch
(sql/fold_values.py); values and errors must match the per-row path."""

from __future__ import annotations

import pytest

from sqlvec.core import errors as E
from sqlvec.sql import fold_values


def _insert_both_ways(q, monkeypatch, sql: str) -> tuple[list, list]:
    q("create table a (id int, emb real[], d date, n numeric(5,2))")
    q(sql)
    batched = q("select * from a order by id")
    q("delete from a")
    monkeypatch.setattr(fold_values, "MIN_ROWS", 10**9)  # the per-row path
    q(sql)
    return batched, q("select * from a order by id")


def test_batched_values_equal_per_row(q, monkeypatch):
    sql = ("insert into a values (1, '{1.5, 2,NULL}', '2024-01-02', '1.234'),"
           " (2, '{\"3\",4e2}', 'Jan 3 2024', 7), (3, NULL, '2024-01-04', '-0.5'),"
           " (4, '{{1,2},{3,4}}', '2024-01-05', '99.999')")
    batched, per_row = _insert_both_ways(q, monkeypatch, sql)
    assert batched == per_row
    assert [r[1] for r in batched] == [[1.5, 2.0, None], [3.0, 400.0], None, [1.0, 2.0, 3.0, 4.0]]
    assert [str(r[3]) for r in batched] == ["1.23", "7.00", "-0.50", "100.00"]


def test_batched_values_error_is_the_first_bad_row(q):
    q("create table b (id int, emb real[], n int2)")
    with pytest.raises(E.InvalidTextRepresentation, match='malformed array literal: "{1,,2}"'):
        q("insert into b values (1, '{1}', '1'), (2, '{1,,2}', 'x'), (3, '{zz}', '2')")
    with pytest.raises(E.InvalidTextRepresentation, match='type smallint: "x"'):
        q("insert into b values (1, '{1}', '1'), (2, '{1}', 'x'), (3, '{zz}', '2')")
    with pytest.raises(E.NumericValueOutOfRange):
        q("insert into b values (1, '{1}', '1'), (2, '{1e99}', '2')")
    assert q("select count(*) from b") == [(0,)]
