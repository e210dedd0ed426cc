"""Foreign keys across concurrent transactions: a child row committed after its parent's
deletion committed is 23503 at its commit (storage/unique_fk.py)."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError
from sqlvec.session import Session


def _run(s: Session, sql: str):
    return list(s.execute(sql))[-1]


def test_child_committed_after_its_parent_was_deleted_is_23503(q):
    q("create table fp (id int primary key, a int, b int, unique (a, b))")
    q("create table fc (id int, p int references fp, a int, b int, foreign key (a, b) references fp (a, b))")
    q("insert into fp values (1, 1, 1), (2, 2, 2), (3, 3, 3)")
    for delete, insert, name in (("delete from fp where id = 1", "insert into fc values (10, 2, null, null), "
                                  "(11, 1, null, null)", "fc_p_fkey"),
                                 ("delete from fp where id = 3", "insert into fc values (12, null, 3, 3)",
                                  "fc_a_b_fkey")):
        a, b = Session(q.db), Session(q.db)
        _run(a, "begin")
        _run(b, "begin")
        _run(a, delete)
        _run(b, insert)  # b's snapshot still has the parent: the statement passes
        _run(a, "commit")
        with pytest.raises(SqlError) as err:
            _run(b, "commit")
        assert err.value.sqlstate.value == "23503" and name in str(err.value)
        assert b.txn_status == "I"
    assert q("select count(*) from fc") == [(0,)]
    a, b = Session(q.db), Session(q.db)  # a parent that stays, an unrelated delete: both commit
    _run(a, "begin")
    _run(b, "begin")
    _run(a, "delete from fc")
    _run(b, "insert into fc values (13, 2, 2, 2)")
    _run(a, "commit")
    _run(b, "commit")
    assert q("select id from fc") == [(13,)]
