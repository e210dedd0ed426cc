"""Statements that wait, the same checks against sqlvec and PostgreSQL 15.

Advisory locks between real sessions: session and transaction level, shared and
exclusive, the two key spaces, counting, NULL keys, the WARNING of an unlock not held,
pg_locks' rows, waiting until release, and the ends of a wait (lock_timeout 55P03,
statement_timeout and cancel 57014, deadlock 40P01). LangChain's PGVector runs `SELECT
pg_advisory_xact_lock(...)` before CREATE EXTENSION. pg_sleep, pg_sleep_for and
pg_sleep_until: per row, NULL, ended by statement_timeout or a cancel. Waiting statements
hold no server resource the others need (sqlvec: its worker threads)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

pytest_plugins = ["tests.support.conftest_pg"]


@pytest.fixture
def dsn(either_dsn):
    return either_dsn


def _connect(dsn):
    con = psycopg.connect(dsn, autocommit=True)
    con.warnings = []
    con.add_notice_handler(lambda d: con.warnings.append((d.severity, d.message_primary)))
    return con


def one(con, sql, *params):
    return con.execute(sql, params or None).fetchone()


def _free(dsn):
    """No advisory lock left (the next test starts clean; a closed PostgreSQL backend
    releases its locks as it exits, shortly after the client is gone)."""
    with _connect(dsn) as c:
        for _ in range(100):
            if one(c, "select count(*) from pg_locks where locktype = 'advisory'")[0] == 0:
                return
            time.sleep(0.05)
        raise AssertionError("advisory locks left behind")


def test_try_locks_levels_modes_and_keys(dsn):
    _free(dsn)
    a, b = _connect(dsn), _connect(dsn)
    assert one(a, "select pg_advisory_lock(42), pg_try_advisory_lock(1, 2)") == ('', True)
    # int pair (0, 42) is another key space than bigint 42
    assert one(b, "select pg_try_advisory_lock(42), pg_try_advisory_lock_shared(42), "
                  "pg_try_advisory_lock(1, 2), pg_try_advisory_lock(0, 42)") == \
        (False, False, False, True)
    assert a.execute(
        "select classid::int8, objid::int8, objsubid, mode, granted, pid = pg_backend_pid() "
        "from pg_locks where locktype = 'advisory' order by objsubid, objid").fetchall() == [
        (0, 42, 1, "ExclusiveLock", True, True), (1, 2, 2, "ExclusiveLock", True, True),
        (0, 42, 2, "ExclusiveLock", True, False)]
    big = (7 << 32) + 5
    assert one(a, "select pg_advisory_lock(%s), pg_advisory_lock(-1)", big) == ("", "")
    assert a.execute("select classid::int8, objid::int8 from pg_locks where locktype = "
                     "'advisory' and objsubid = 1 order by 1, 2").fetchall() == [
        (0, 42), (7, 5), (4294967295, 4294967295)]
    # released as often as taken; an unlock not held: false and a WARNING
    assert one(a, "select pg_advisory_unlock(42), pg_advisory_unlock(42)") == (True, False)
    assert a.warnings == [("WARNING", "you don't own a lock of type ExclusiveLock")]
    assert one(a, "select pg_advisory_unlock_shared(1, 2)") == (False,)
    assert a.warnings[-1] == ("WARNING", "you don't own a lock of type ShareLock")
    assert one(a, "select pg_advisory_lock(5), pg_advisory_lock(5), pg_advisory_unlock(5)") \
        == ("", "", True)
    assert one(b, "select pg_try_advisory_lock(5)") == (False,)
    assert one(a, "select pg_advisory_unlock(5)") == (True,)
    assert one(b, "select pg_try_advisory_lock(5), pg_advisory_unlock(5)") == (True, True)
    # shared locks share; an exclusive waits for the others' shared ones, not its own
    assert one(a, "select pg_advisory_lock_shared(7)") == ("",)
    assert one(b, "select pg_try_advisory_lock_shared(7), pg_try_advisory_lock(7)") == \
        (True, False)
    assert one(a, "select pg_advisory_unlock_shared(7)") == (True,)
    assert one(b, "select pg_try_advisory_lock(7)") == (True,)
    # NULL keys: NULL, nothing locked
    assert one(a, "select pg_advisory_lock(null::int8), pg_try_advisory_lock(1, null), "
                  "pg_advisory_unlock(null::int8)") == (None, None, None)
    # transaction level: to the end of the statement (autocommit) or of the block
    assert one(b, "select pg_try_advisory_xact_lock(9)") == (True,)
    assert one(a, "select pg_try_advisory_lock(9), pg_advisory_unlock(9)") == (True, True)
    b.execute("begin")
    assert one(b, "select pg_try_advisory_xact_lock(9), pg_try_advisory_xact_lock_shared(8)") \
        == (True, True)
    assert one(a, "select pg_try_advisory_lock(9), pg_try_advisory_lock(8)") == (False, False)
    b.execute("commit")
    assert one(a, "select pg_try_advisory_lock(9), pg_try_advisory_lock(8)") == (True, True)
    for _ in range(4):  # (a prepared statement's cached plan: its lock ends with it too)
        assert b.execute("select pg_try_advisory_xact_lock(%s)", (12,), prepare=True) \
            .fetchone() == (True,)
        assert one(a, "select pg_try_advisory_xact_lock(12)") == (True,)
    b.execute("begin")
    assert one(b, "select pg_try_advisory_xact_lock(10)") == (True,)
    with pytest.raises(psycopg.errors.DivisionByZero):
        b.execute("select 1 / 0")
    b.execute("rollback")
    assert one(a, "select pg_try_advisory_lock(10)") == (True,)
    # unlock_all: the session-level ones; a closed session's go too
    assert one(a, "select pg_advisory_unlock_all()") == ("",)
    assert one(b, "select pg_try_advisory_lock(1, 2), pg_try_advisory_lock(10)") == (True, True)
    b.close()
    for _ in range(100):
        if one(a, "select pg_try_advisory_lock(10)") == (True,):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("a closed session's lock was kept")
    a.close()
    _free(dsn)


def _in_thread(fn):
    out = {}

    def run():
        try:
            out["value"] = fn()
        except Exception as e:  # noqa: BLE001 - handed to the test
            out["error"] = e
    t = threading.Thread(target=run)
    t.start()
    return t, out


def test_waits_and_their_ends(dsn):
    _free(dsn)
    a, b = _connect(dsn), _connect(dsn)
    one(a, "select pg_advisory_lock(1)")
    t0 = time.monotonic()
    t, out = _in_thread(lambda: one(b, "select pg_advisory_lock(1), 'got it'"))
    time.sleep(0.3)
    assert t.is_alive()
    waiting = a.execute("select mode, granted from pg_locks where locktype = 'advisory' and "
                        "objid = 1 order by granted").fetchall()
    assert waiting == [("ExclusiveLock", False), ("ExclusiveLock", True)]
    one(a, "select pg_advisory_unlock(1)")
    t.join(10)
    assert out == {"value": ("", "got it")} and time.monotonic() - t0 >= 0.3
    # first come first served: a shared request does not pass an exclusive one queued
    # before it (a try fails), unless its session holds the key already
    one(a, "select pg_advisory_lock_shared(3)")
    c = _connect(dsn)
    t, out = _in_thread(lambda: one(b, "select pg_advisory_lock(3)"))
    time.sleep(0.3)
    assert one(c, "select pg_try_advisory_lock_shared(3)") == (False,)
    assert one(a, "select pg_try_advisory_lock_shared(3)") == (True,)
    tc, outc = _in_thread(lambda: one(c, "select pg_advisory_lock_shared(3), 'c'"))
    time.sleep(0.3)
    one(a, "select pg_advisory_unlock_all()")
    t.join(10)
    assert out == {"value": ("",)} and tc.is_alive()  # b first, c still behind it
    one(b, "select pg_advisory_unlock(3)")
    tc.join(10)
    assert outc == {"value": ("", "c")}
    c.close()
    # lock_timeout, statement_timeout and a cancel end a wait; the session goes on
    a.execute("set lock_timeout = '150ms'")
    with pytest.raises(psycopg.errors.LockNotAvailable, match="canceling statement due to "
                                                              "lock timeout"):
        a.execute("select pg_advisory_lock(1)")
    a.execute("reset lock_timeout")
    a.execute("set statement_timeout = '150ms'")
    with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
        a.execute("select pg_advisory_lock_shared(1)")
    a.execute("reset statement_timeout")
    t, out = _in_thread(lambda: one(a, "select pg_advisory_lock(1)"))
    time.sleep(0.3)
    a.cancel()
    t.join(10)
    assert isinstance(out.get("error"), psycopg.errors.QueryCanceled)
    assert one(a, "select pg_try_advisory_lock(1), 2") == (False, 2)
    # a deadlock: one of the two waits fails with 40P01 (sqlvec: the one that closes the
    # cycle, at once; PostgreSQL: the first to have waited deadlock_timeout), the other gets
    # its lock once the failed one's session lets its own lock go
    one(a, "select pg_advisory_lock(2)")
    ta, oa = _in_thread(lambda: one(a, "select pg_advisory_lock(1)"))
    time.sleep(0.3)
    tb, ob = _in_thread(lambda: one(b, "select pg_advisory_lock(2)"))
    for _ in range(200):
        if "error" in oa or "error" in ob:
            break
        time.sleep(0.05)
    failed = [o["error"] for o in (oa, ob) if "error" in o]
    assert len(failed) == 1 and isinstance(failed[0], psycopg.errors.DeadlockDetected)
    if "error" in ob:
        tb.join(10)
        one(b, "select pg_advisory_unlock(1)")
        ta.join(10)
        assert oa == {"value": ("",)}
    else:
        ta.join(10)
        one(a, "select pg_advisory_unlock(2)")
        tb.join(10)
        assert ob == {"value": ("",)}
    a.close()
    b.close()
    _free(dsn)


def test_waiters_beyond_the_workers_do_not_stop_the_server(server_factory):
    """Every worker thread waiting on a lock: the statement that releases it still runs (a
    waiting statement lends its worker), and so do other clients' queries; a prepared lock
    statement that ran quickly before is not run on the event loop, where a wait would
    stop the server."""
    srv = server_factory("--workers", "2")
    holder = _connect(srv.dsn)
    waiters = [_connect(srv.dsn) for _ in range(5)]
    sql = "select pg_advisory_lock(%s), pg_advisory_unlock(%s)"
    for w in waiters:
        w.execute("set lock_timeout = '5s'")  # (a regression fails, not hangs)
        for _ in range(3):  # (prepared and quick: still never run on the event loop)
            w.execute(sql, (77, 77), prepare=True)
    one(holder, "select pg_advisory_lock(77)")
    runs = [_in_thread(lambda w=w: w.execute(sql, (77, 77), prepare=True).fetchone())
            for w in waiters]
    time.sleep(0.5)
    with _connect(srv.dsn) as other:
        assert one(other, "select count(*) from pg_locks where not granted") == (5,)
    assert one(holder, "select pg_advisory_unlock(77)") == (True,)
    for t, out in runs:
        t.join(20)
        assert out == {"value": ("", True)}
    for c in (holder, *waiters):
        c.close()


def _timed(con, sql):
    t0 = time.monotonic()
    rows = con.execute(sql).fetchall()
    return rows, time.monotonic() - t0


def test_sleep(dsn):
    con = _connect(dsn)
    rows, took = _timed(con, "select pg_sleep(0.2)")
    assert rows == [("",)] and took >= 0.2
    rows, took = _timed(con, "select pg_sleep(null), pg_sleep(-1), pg_sleep('nan')")
    assert rows == [(None, "", "")] and took < 0.5
    rows, took = _timed(con, "select pg_sleep(0.05) from generate_series(1, 3)")
    assert rows == [("",)] * 3 and took >= 0.15
    rows, took = _timed(con, "select pg_sleep_for('150 milliseconds'), "
                             "pg_sleep_until(clock_timestamp() + interval '0.1 s')")
    assert rows == [("", "")] and took >= 0.25
    assert _timed(con, "select pg_sleep_for('-1 day'), pg_sleep_until('2000-01-01')")[1] < 0.5
    con.execute("set statement_timeout = '150ms'")
    t0 = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled, match="statement timeout"):
        con.execute("select pg_sleep(30)")
    assert time.monotonic() - t0 < 5
    con.execute("reset statement_timeout")
    t, out = _in_thread(lambda: con.execute("select pg_sleep(30)").fetchall())
    time.sleep(0.3)
    con.cancel()
    t.join(10)
    assert isinstance(out.get("error"), psycopg.errors.QueryCanceled)
    assert one(con, "select 1") == (1,)
    con.close()


def test_sleepers_beyond_the_workers_do_not_stop_the_server(server_factory):
    srv = server_factory("--workers", "2")
    sleepers = [_connect(srv.dsn) for _ in range(4)]
    for c in sleepers:
        for _ in range(3):  # (prepared and quick: still never run on the event loop)
            c.execute("select pg_sleep(%s)", (0.001,), prepare=True)
    runs = [_in_thread(lambda c=c: c.execute("select pg_sleep(%s)", (2,), prepare=True)
                       .fetchall()) for c in sleepers]
    time.sleep(0.3)
    with _connect(srv.dsn) as other:
        rows, took = _timed(other, "select count(*) from generate_series(1, 10)")
        assert rows == [(10,)] and took < 1.0
    for t, out in runs:
        t.join(10)
        assert out == {"value": [("",)]}
    for c in sleepers:
        c.close()


def test_the_next_holder_sees_the_writes_made_under_the_lock(dsn):
    """A transaction-level lock goes after its transaction commits, and a READ COMMITTED
    block that waited for it reads what was committed meanwhile (each statement of such a
    block takes a fresh snapshot). LangChain's guard
    (the lock, then CREATE EXTENSION IF NOT EXISTS, in one transaction) relies on both:
    its second session must see the extension the first created, not fail with 40001."""
    _free(dsn)
    a, b = _connect(dsn), _connect(dsn)
    a.execute("drop table if exists guarded")
    a.execute("create table guarded (n int)")
    for n in range(1, 6):
        a.execute("begin")
        one(a, "select pg_advisory_xact_lock(70)")

        def waiter():
            with b.transaction():
                one(b, "select pg_advisory_xact_lock(70)")
                return one(b, "select count(*) from guarded")
        t, out = _in_thread(waiter)
        time.sleep(0.1)
        a.execute("insert into guarded values (%s)", (n,))
        a.execute("commit")
        t.join(10)
        assert out == {"value": (n,)}
    a.execute("drop table guarded")
    a.close()
    b.close()


def test_a_guarded_create_if_not_exists_in_a_block(dsn):
    _free(dsn)
    a, b = _connect(dsn), _connect(dsn)
    a.execute("drop table if exists guarded2")
    a.execute("begin")
    one(a, "select pg_advisory_xact_lock(71)")
    a.execute("create table if not exists guarded2 (x int)")
    t, out = _in_thread(lambda: b.execute(
        "select pg_advisory_xact_lock(71); create table if not exists guarded2 (x int); "
        "insert into guarded2 values (2)"))
    time.sleep(0.3)
    a.execute("insert into guarded2 values (1)")
    a.execute("commit")
    t.join(10)
    assert "error" not in out, out
    assert a.execute("select x from guarded2 order by x").fetchall() == [(1,), (2,)]
    a.execute("drop table guarded2")
    a.close()
    b.close()
