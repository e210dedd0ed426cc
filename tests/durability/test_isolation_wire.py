"""Snapshot isolation over the wire with concurrent writers: 40001 instead of lost updates
under REPEATABLE READ (as PostgreSQL gives it); READ COMMITTED, PostgreSQL's default, takes a
snapshot per statement, so a read-then-write there may lose an update as it may on
PostgreSQL."""

from __future__ import annotations

import random
import threading
import time

import psycopg
import pytest

from tests.support.engine import ENGINE_MISSING, engine_available

pytestmark = pytest.mark.skipif(not engine_available(), reason=ENGINE_MISSING)

ACCOUNTS, START = 20, 1000
# A write-write conflict on a primary-key row is 40001 (the storage checks conflicts before
# unique keys); the retry loops only ever need to retry serialization failures.
RETRYABLE = (psycopg.errors.SerializationFailure,)


def _connect(dsn: str, autocommit: bool = False) -> psycopg.Connection:
    """A connection whose blocks are REPEATABLE READ: one snapshot each, 40001 on a
    write-write conflict."""
    conn = psycopg.connect(dsn, autocommit=autocommit)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return conn


def _retrying(conn: psycopg.Connection, body, attempts: int = 200) -> int:
    """Run body(conn) in a transaction until it commits; returns the number of 40001 retries."""
    for n in range(attempts):
        try:
            with conn.transaction():
                body(conn)
            return n
        except RETRYABLE:
            time.sleep(random.uniform(0, 0.002))
    raise AssertionError("no commit after many serialization failures")


def test_write_write_conflict_first_committer_wins(server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE ww0 (k int PRIMARY KEY, v int)")
        c.execute("INSERT INTO ww0 VALUES (1, 0), (2, 0)")
    a, b = _connect(server.dsn), _connect(server.dsn)
    try:
        a.execute("UPDATE ww0 SET v = 10 WHERE k = 1")
        b.execute("UPDATE ww0 SET v = 5 WHERE k = 2")
        with pytest.raises(RETRYABLE):
            b.execute("UPDATE ww0 SET v = 20 WHERE k = 1")
            a.commit()
            b.commit()
        b.rollback()
        a.commit()
        assert dict(b.execute("SELECT k, v FROM ww0").fetchall()) == {1: 10, 2: 0}
    finally:
        a.close()
        b.close()


def test_write_write_conflict_is_40001(server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE ww (k int PRIMARY KEY, v int)")
        c.execute("INSERT INTO ww VALUES (1, 0), (2, 0)")
    a, b = _connect(server.dsn), _connect(server.dsn)
    try:
        a.execute("UPDATE ww SET v = 10 WHERE k = 1")
        b.execute("UPDATE ww SET v = 5 WHERE k = 2")  # another row: no conflict
        with pytest.raises(psycopg.errors.SerializationFailure):
            b.execute("UPDATE ww SET v = 20 WHERE k = 1")
            a.commit()
            b.commit()  # the conflict shows at the latest at commit
        b.rollback()
        a.commit()
        rows = dict(b.execute("SELECT k, v FROM ww").fetchall())
        b.rollback()
        assert rows == {1: 10, 2: 0}, "the failed transaction left changes behind"
        # a delete racing an update on the same row is a conflict too
        a.execute("DELETE FROM ww WHERE k = 2")
        b.execute("SELECT v FROM ww WHERE k = 2")  # b's snapshot still sees the row
        a.commit()
        with pytest.raises(psycopg.errors.SerializationFailure):
            b.execute("UPDATE ww SET v = 7 WHERE k = 2")
            b.commit()
        b.rollback()
    finally:
        a.close()
        b.close()


def test_concurrent_read_modify_write_loses_no_update(server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE counter (k int PRIMARY KEY, v int8)")
        c.execute("INSERT INTO counter VALUES (1, 0)")
    per_thread, threads, retries, errors = 25, 4, [], []

    def incr(conn: psycopg.Connection) -> None:
        (v,) = conn.execute("SELECT v FROM counter WHERE k = 1").fetchone()
        conn.execute("UPDATE counter SET v = %s WHERE k = 1", (v + 1,))

    def worker() -> None:
        try:
            with _connect(server.dsn, autocommit=True) as conn:
                retries.append(sum(_retrying(conn, incr) for _ in range(per_thread)))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors, errors
    with psycopg.connect(server.dsn, autocommit=True) as c:
        (v,) = c.execute("SELECT v FROM counter WHERE k = 1").fetchone()
    assert v == per_thread * threads, f"lost updates: {v} != {per_thread * threads}"
    print(f"\nread-modify-write: {sum(retries)} serialization failures retried")


def test_snapshots_never_see_half_a_transfer(server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE bank (id int PRIMARY KEY, bal int8)")
        c.execute("INSERT INTO bank SELECT g, %s FROM generate_series(1, %s) g", (START, ACCOUNTS))
    stop, errors, done = threading.Event(), [], []
    total = ACCOUNTS * START

    def transfer(conn: psycopg.Connection, rng: random.Random) -> None:
        a, b = rng.sample(range(1, ACCOUNTS + 1), 2)
        amt = rng.randint(1, 50)
        conn.execute("UPDATE bank SET bal = bal - %s WHERE id = %s", (amt, a))
        conn.execute("UPDATE bank SET bal = bal + %s WHERE id = %s", (amt, b))

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            with psycopg.connect(server.dsn, autocommit=True) as conn:
                for _ in range(30):
                    _retrying(conn, lambda c: transfer(c, rng))
                    done.append(1)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    def reader() -> None:
        try:
            with psycopg.connect(server.dsn, autocommit=True) as conn:
                while not stop.is_set():
                    (s,) = conn.execute("SELECT sum(bal) FROM bank").fetchone()
                    assert s == total, f"autocommit read saw a partial transfer: {s}"
                    with conn.transaction():  # one snapshot for the whole transaction
                        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                        first = conn.execute("SELECT id, bal FROM bank ORDER BY id").fetchall()
                        time.sleep(0.01)
                        again = conn.execute("SELECT id, bal FROM bank ORDER BY id").fetchall()
                    assert first == again, "a REPEATABLE READ transaction's snapshot moved"
                    assert sum(b for _, b in first) == total
                    with conn.transaction():  # READ COMMITTED: a snapshot per statement
                        for _ in range(2):
                            (s,) = conn.execute("SELECT sum(bal) FROM bank").fetchone()
                            assert s == total, f"a statement saw a partial transfer: {s}"
                            time.sleep(0.005)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    ws = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    rs = [threading.Thread(target=reader) for _ in range(2)]
    for t in ws + rs:
        t.start()
    for t in ws:
        t.join(120)
    stop.set()
    for t in rs:
        t.join(30)
    assert not errors, errors
    assert len(done) == 90
    with psycopg.connect(server.dsn, autocommit=True) as c:
        assert c.execute("SELECT sum(bal), count(*) FROM bank").fetchone() == (total, ACCOUNTS)


def test_concurrent_inserts_of_one_key_keep_it_unique(server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as c:
        c.execute("CREATE TABLE uk (k int PRIMARY KEY, who int)")
    a, b = _connect(server.dsn), _connect(server.dsn)
    try:
        a.execute("INSERT INTO uk VALUES (1, 1)")
        with pytest.raises((psycopg.errors.SerializationFailure, psycopg.errors.UniqueViolation)):
            b.execute("INSERT INTO uk VALUES (1, 2)")
            a.commit()
            b.commit()
        b.rollback()
        a.commit()
        assert b.execute("SELECT k, who FROM uk").fetchall() == [(1, 1)]
    finally:
        a.close()
        b.close()
