"""DISCARD ALL resets a session for its next user (what poolers send): settings (not the
session user), prepared statements, cursors (WITH HOLD too), LISTEN, currval; DISCARD
SEQUENCES only currval; inside a block DISCARD ALL is 25001."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import SqlError
from sqlvec.session import Session
from sqlvec.session.notify import hub


def code(q, sql: str) -> str:
    with pytest.raises(SqlError) as ei:
        q(sql)
    return ei.value.code


def test_discard_all_resets_everything_a_client_left(q):
    q("create table t (a int)")
    q("insert into t values (1), (2)")
    q("create sequence s")
    q("select nextval('s')")
    q("prepare p as select 1")
    q("begin")
    q("declare c cursor with hold for select a from t order by a")
    q("commit")
    q("set search_path = x")
    q("listen ch")
    assert q.s in hub(q.db).listeners["ch"]
    assert q("discard all") == "DISCARD ALL"
    assert q("show search_path") == [('"$user", public',)]
    assert code(q, "execute p") == "26000"
    assert code(q, "fetch c") == "34000"
    assert code(q, "select currval('s')") == "55000"
    assert "ch" not in hub(q.db).listeners
    q("begin")
    assert code(q, "discard all") == "25001"
    q("rollback")


def test_discard_sequences_and_reset_all_keep_the_session_user(q):
    s = Session(q.db, user="admin")
    list(s.execute("create sequence s2"))
    list(s.execute("select nextval('s2')"))
    assert list(s.execute("discard sequences"))[-1].tag == "DISCARD SEQUENCES"
    with pytest.raises(SqlError) as ei:
        list(s.execute("select currval('s2')"))
    assert ei.value.code == "55000"
    for sql in ("reset all", "discard all"):
        list(s.execute(sql))
        res = list(s.execute("show session_authorization"))[-1]
        assert [b.column(0).to_pylist() for b in res.batches] == [["admin"]]
