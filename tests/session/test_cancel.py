"""Session.cancel stops the request that runs, whichever of its statements it lands in.

A cancel that landed after a statement's last check, or between two statements of one
simple query, was cleared when the next statement started, and the rest of the query ran
on (a vanished client's session then stayed busy for minutes; a CancelRequest was lost)."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import QueryCanceled
from sqlvec.session import Database, Session


@pytest.fixture
def s() -> Session:
    s = Session(Database.open(None))
    list(s.execute("CREATE TABLE t (id int)"))
    return s


def count(s: Session) -> int:
    (res,) = list(s.execute("SELECT count(*) FROM t"))
    return next(iter(res.batches)).column(0)[0].as_py()


def test_a_cancel_between_statements_cancels_the_rest_and_the_implicit_block(s):
    results = s.execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); SELECT 3")
    assert next(results).tag == "INSERT 0 1"
    s.cancel()  # the first statement is done, the second has not started
    with pytest.raises(QueryCanceled, match="canceling statement due to user request") as info:
        next(results)
    assert info.value.code == "57014"
    assert s.txn_status == "I" and count(s) == 0  # the implicit block rolled back


def test_a_cancel_between_statements_in_a_block_fails_the_block(s):
    list(s.execute("BEGIN"))
    results = s.execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)")
    next(results)
    s.cancel()
    with pytest.raises(QueryCanceled):
        next(results)
    assert s.txn_status == "E"
    list(s.execute("ROLLBACK"))
    assert count(s) == 0


def test_a_cancel_while_idle_is_dropped_at_the_next_request(s):
    s.cancel()  # nothing runs: PostgreSQL ignores it too
    assert [r.tag for r in s.execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)")] == [
        "INSERT 0 1", "INSERT 0 1"]
    s.cancel()
    stmt = s.prepare("SELECT count(*) FROM t", [], "")
    res, _ = s.execute_portal(s.bind(stmt, [], []))  # the extended protocol's request
    assert next(iter(res.batches)).column(0)[0].as_py() == 2


def test_a_statement_timeout_that_fires_as_its_statement_ends_spares_the_next(s):
    list(s.execute("SET statement_timeout = '1h'"))

    def expire_at_the_end(fn):  # the timer fires after the statement's last check
        def run(txn):
            res = fn(txn)
            s.cancel_reason = "statement timeout"
            s.cancel_event.set()
            return res
        return run

    real = s._in_txn
    s._in_txn = lambda fn: real(expire_at_the_end(fn))
    assert [r.tag for r in s.execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)")] == [
        "INSERT 0 1", "INSERT 0 1"]
    del s._in_txn
    assert count(s) == 2
