"""Transaction control as PostgreSQL 15 (each expectation taken from PostgreSQL running the
same strings): BEGIN inside a multi-statement Query takes the statements before it into its
block; COMMIT / ROLLBACK there warn and commit / roll them back; savepoints there are 25P01;
AND CHAIN; the two-phase commit statements with max_prepared_transactions = 0."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError


@pytest.fixture
def m(q):
    q("create table m (a int primary key)")
    return q


def rows(q) -> list[int]:
    return [r[0] for r in q("select a from m order by a")]


def code(q, sql: str) -> str:
    with pytest.raises(SqlError) as ei:
        q(sql)
    return ei.value.code


def warnings(q) -> list[str]:
    return [n.code for n in q.s.notices()]


def test_begin_in_a_string_takes_the_statements_before_it(m):
    m("insert into m values (5); begin; insert into m values (6)")
    assert m.s.txn_status == "T"
    m("rollback")
    assert rows(m) == []  # 5 was part of the block
    m("insert into m values (1); begin; insert into m values (2); commit")
    assert rows(m) == [1, 2]
    assert code(m, "select 1; begin isolation level serializable; commit") == "25001"
    assert m.s.txn_status == "I"


def test_commit_or_rollback_in_a_string_end_its_implicit_block(m):
    m.s.notices()
    m("insert into m values (10); commit; insert into m values (11)")
    assert warnings(m) == ["25P01"]
    m("insert into m values (12); rollback; insert into m values (13)")
    assert warnings(m) == ["25P01"]
    assert code(m, "insert into m values (14); savepoint a; insert into m values (15)") == "25P01"
    assert rows(m) == [10, 11, 13]


def test_and_chain_starts_a_block_with_the_same_modes(m):
    assert code(m, "commit and chain") == "25P01"
    m("begin read only, isolation level repeatable read")
    assert m("commit and chain") == "COMMIT"
    assert m.s.txn_status == "T"
    assert m("show transaction_isolation") == [("repeatable read",)]
    assert m("show transaction_read_only") == [("on",)]
    m("rollback")
    m("begin; insert into m values (18); commit and chain; insert into m values (19); rollback")
    assert rows(m) == [18]
    m("begin")
    assert code(m, "select 1/0") == "22012"
    assert m("rollback and chain") == "ROLLBACK" and m.s.txn_status == "T"
    m("commit")


def test_two_phase_commit_statements_without_prepared_transactions(m):
    m.s.notices()
    assert m("prepare transaction 'x'") == "ROLLBACK" and warnings(m) == ["25P01"]
    assert code(m, "commit prepared 'x'") == "42704"
    assert code(m, "rollback prepared 'x'") == "42704"
    m("begin")
    m("insert into m values (1)")
    with pytest.raises(SqlError) as ei:
        m("prepare transaction 'x'")
    assert (ei.value.code, str(ei.value)) == ("55000", "prepared transactions are disabled")
    assert m.s.txn_status == "I" and rows(m) == []  # the block ended, rolled back
    m("begin")
    assert code(m, "commit prepared 'x'") == "25001"
    m("rollback")
    m("begin")
    code(m, "select 1/0")
    assert m("prepare transaction 'y'") == "ROLLBACK" and m.s.txn_status == "I"
