"""The inline (event-loop) path of the protocol: what runs without a worker, what does not."""

from __future__ import annotations

import pytest

from sqlvec.wire import inline
from sqlvec.wire.protocol import RUN_ON_WORKER
from tests.wire import pgclient as c
from tests.wire.test_protocol import Harness, ready

EXEC = c.bind(stmt="s") + c.execute() + c.SYNC


pytestmark = pytest.mark.usefixtures("lifted_inline_limits")  # (tests/wire/conftest.py)


def send_inline(h: Harness, *chunks: bytes) -> bytes:
    out: list[bytes] = []
    h.conn.receive(b"".join(chunks))
    h.action = h.conn.process(out.append, inline=True)
    return b"".join(out)


def test_a_statement_runs_inline_once_it_has_run_fast_on_a_worker():
    h = ready(Harness())
    h.send(c.parse("SELECT 2", "s"), c.SYNC)
    # first execution: Bind of a statement not yet measured goes to a worker, output so far kept
    assert send_inline(h, EXEC) == b""
    assert h.action is RUN_ON_WORKER
    out = h.send()  # the worker carries on from the held Bind
    assert c.kinds(out) == "2DDCZ" and h.action is None
    # measured fast and read-only: the next executions run inline, whole
    assert c.kinds(send_inline(h, EXEC)) == "2DDCZ" and h.action is None
    assert c.kinds(send_inline(h, EXEC + EXEC)) == "2DDCZ2DDCZ" and h.action is None


def test_a_held_request_keeps_its_place_in_the_pipeline():
    h = ready(Harness())
    h.send(c.parse("SELECT 1", "fast"), c.SYNC)
    h.send(c.bind(stmt="fast") + c.execute() + c.SYNC)  # measured on the "worker"
    h.send(c.parse("SELECT 3", "new"), c.SYNC)
    pipeline = (c.bind(stmt="fast") + c.execute() + c.SYNC
                + c.bind(stmt="new") + c.execute() + c.SYNC)
    first = send_inline(h, pipeline)
    assert c.kinds(first) == "2DCZ" and h.action is RUN_ON_WORKER
    assert c.kinds(h.send()) == "2DDDCZ"


def test_writes_and_session_commands_never_run_inline():
    h = ready(Harness())
    for sql in ("BEGIN", "SET x = 1"):
        h.send(c.query(sql))
        assert send_inline(h, c.query(sql)) == b"" and h.action is RUN_ON_WORKER
        h.send()
    book = inline.CostBook()
    for sql in ("INSERT INTO t VALUES (1)", "SELECT * INTO t2 FROM t",
                "SELECT * FROM t FOR UPDATE", "select 1; delete from t", "WITH d AS (DELETE FROM t) SELECT 1"):
        book.record(sql, cpu_ns=1000, wall_ns=1000)
        assert not book.is_fast(sql), sql
    assert inline.read_only("select 1;") and inline.read_only("  VALUES (1)")


def test_a_slow_run_sends_the_statement_back_to_workers():
    book = inline.CostBook()
    book.record("SELECT 1", cpu_ns=10_000, wall_ns=10_000)
    assert book.is_fast("SELECT 1")
    book.record("SELECT 1", cpu_ns=10_000, wall_ns=inline.WALL_LIMIT_NS)  # waited (I/O)
    assert not book.is_fast("SELECT 1")


def test_the_cost_book_is_bounded():
    book = inline.CostBook()
    for i in range(inline.MAX_TEXTS + 10):
        book.record(f"SELECT {i}", cpu_ns=1, wall_ns=1)
    assert len(book._fast) <= inline.MAX_TEXTS
    long_text = "SELECT 1" + " " * inline.MAX_TEXT
    book.record(long_text, cpu_ns=1, wall_ns=1)
    assert not book.is_fast(long_text)


def test_sync_describe_and_errors_are_cheap_and_startup_is_not():
    h = Harness()
    h.conn.receive(c.startup())
    assert h.conn.process(lambda b: None, inline=True) is RUN_ON_WORKER  # auth and open_session
    h.send()
    out = send_inline(h, c.describe("S", "nope"), c.SYNC, c.SYNC)
    assert c.kinds(out) == "EZZ" and h.action is None


def test_the_inline_budget_hands_the_rest_to_a_worker(monkeypatch):
    h = ready(Harness())
    h.send(c.parse("SELECT 1", "s"), c.SYNC)
    h.send(EXEC)
    monkeypatch.setattr("sqlvec.wire.protocol.INLINE_BUDGET_NS", -1)
    assert send_inline(h, EXEC) == b"" and h.action is RUN_ON_WORKER
    assert c.kinds(h.send()) == "2DCZ"


def test_an_inline_pass_answers_a_pipeline_in_one_write():
    h = ready(Harness())
    h.send(c.parse("SELECT 2", "s"), c.SYNC)
    h.send(EXEC)  # measured on the "worker": fast from now on
    writes: list[bytes] = []
    h.conn.receive(EXEC + EXEC + EXEC)
    assert h.conn.process(writes.append, inline=True) is None
    assert len(writes) == 1 and c.kinds(writes[0]) == "2DDCZ" * 3


def test_an_inline_run_is_measured_by_wall_time_and_two_slow_ones_go_back_to_workers(
        monkeypatch):
    h = ready(Harness())
    h.send(c.parse("SELECT 2", "s"), c.SYNC)
    h.send(EXEC)
    assert c.kinds(send_inline(h, EXEC)) == "2DDCZ"
    ticks = iter(range(0, 10**12, inline.CPU_LIMIT_NS))  # every clock read: 1 ms later
    monkeypatch.setattr("sqlvec.wire.protocol.time.perf_counter_ns", lambda: next(ticks))
    monkeypatch.setattr("sqlvec.wire.protocol.time.thread_time_ns",
                        lambda: (_ for _ in ()).throw(AssertionError("syscall on the loop")))
    for strike in (1, 2):
        h.conn.receive(EXEC)
        out: list[bytes] = []
        h.conn.process(out.append, inline=True)  # ran (budget check came first), measured slow
        h.conn.process(out.append)  # the budget may leave Sync for later
        assert c.kinds(b"".join(out)) == "2DDCZ"
        assert h.conn._costs.is_fast("SELECT 2") is (strike == 1)  # maybe it was switched out
    monkeypatch.undo()
    assert send_inline(h, EXEC) == b"" and h.action is RUN_ON_WORKER


def test_a_slow_run_on_the_loop_is_a_strike_a_fast_one_clears_it():
    book = inline.CostBook()
    book.record("SELECT 1", cpu_ns=10_000, wall_ns=10_000)
    slow = inline.CPU_LIMIT_NS * 2
    book.record("SELECT 1", cpu_ns=slow, wall_ns=slow, on_loop=True)
    book.record("SELECT 1", cpu_ns=10_000, wall_ns=10_000, on_loop=True)
    book.record("SELECT 1", cpu_ns=slow, wall_ns=slow, on_loop=True)
    assert book.is_fast("SELECT 1")  # strikes were not in a row
    book.record("SELECT 1", cpu_ns=inline.WALL_LIMIT_NS, wall_ns=inline.WALL_LIMIT_NS,
                on_loop=True)
    assert not book.is_fast("SELECT 1")  # a very slow run on the loop is no accident
    book.record("SELECT 1", cpu_ns=10_000, wall_ns=10_000)
    book.record("SELECT 1", cpu_ns=slow, wall_ns=slow)  # measured CPU on a worker
    assert not book.is_fast("SELECT 1")
