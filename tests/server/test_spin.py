"""The event loop's selector polls before it sleeps only while requests come that fast
(server/spin.py): it catches a request already there, never polls when cold, when the
server says no or when switched off, and an idle server uses no CPU."""

from __future__ import annotations

import asyncio
import selectors
import socket
import subprocess
import sys
import time

import psycopg
import pytest

from sqlvec.server.app import ServerLoop
from sqlvec.server.cli import build_parser
from sqlvec.server.spin import DEFAULT_WINDOW, SpinningSelector


@pytest.fixture()
def pair():
    a, b = socket.socketpair()
    yield a, b
    a.close()
    b.close()


def _selector(sock: socket.socket, window: float = DEFAULT_WINDOW) -> SpinningSelector:
    sel = SpinningSelector(window)
    sel.register(sock, selectors.EVENT_READ)
    return sel


def _cpu_of(fn) -> tuple[object, float]:
    t = time.thread_time()
    got = fn()
    return got, time.thread_time() - t


def test_an_event_within_the_window_makes_it_hot_and_the_next_one_is_caught_polling(pair):
    a, b = pair
    sel = _selector(a)
    assert not sel.hot and sel.caught == 0
    b.send(b"x")
    assert len(sel.select(None)) == 1  # (cold: a plain wait, ended at once)
    assert sel.hot and sel.caught == 0
    a.recv(16)
    b.send(b"y")
    assert len(sel.select(None)) == 1
    assert sel.caught == 1  # found by polling, before any sleep
    sel.close()


def test_a_wait_longer_than_the_window_cools_it_and_a_cold_wait_does_not_poll(pair):
    a, b = pair
    sel = _selector(a)
    sel.hot = True
    got, cpu = _cpu_of(lambda: sel.select(0.2))  # polls one window, then sleeps
    assert got == [] and not sel.hot
    assert cpu < 0.1  # (200 us of polling, not 0.2 s of it)
    b.send(b"x")
    assert len(sel.select(None)) == 1 and sel.caught == 0
    sel.close()


def test_no_polling_when_the_server_says_no_or_the_window_is_zero(pair):
    a, b = pair
    for window, allow in ((DEFAULT_WINDOW, False), (0.0, True)):
        sel = _selector(a, window)
        sel.hot = True
        sel.may_spin = lambda allow=allow: allow
        b.send(b"x")
        assert len(sel.select(None)) == 1
        assert sel.caught == 0
        a.recv(16)
        sel.close()


def test_the_server_loop_keeps_its_timers_while_polling():
    loop = ServerLoop(0.05)  # a long window: timers due inside it still fire on time
    try:
        loop.spinner.hot = True
        fired: list[float] = []
        start = time.perf_counter()
        loop.call_later(0.01, lambda: fired.append(time.perf_counter() - start))
        loop.run_until_complete(asyncio.sleep(0.03))
        assert len(fired) == 1 and fired[0] < 0.03
    finally:
        loop.close()


def test_the_command_line_option():
    assert build_parser().parse_args(["serve"]).spin_us == DEFAULT_WINDOW * 1e6
    assert build_parser().parse_args(["serve", "--spin-us", "0"]).spin_us == 0
    bad = subprocess.run([sys.executable, "-m", "sqlvec", "serve", "--spin-us", "-1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--spin-us" in bad.stderr


def _cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@pytest.mark.parametrize("spin", [None, "0"])
def test_a_client_in_a_loop_gets_its_answers_and_an_idle_server_uses_no_cpu(server_factory, spin):
    srv = server_factory(*(("--spin-us", spin) if spin else ()))
    with psycopg.connect(srv.dsn, autocommit=True) as con:
        cur = con.cursor(binary=True)
        for i in range(300):
            assert cur.execute("SELECT %s::int + 1", (i,), prepare=True).fetchone() == (i + 1,)
        time.sleep(0.1)
        before = _cpu_ticks(srv.proc.pid)
        time.sleep(1.0)  # the connection open, nothing sent
        assert _cpu_ticks(srv.proc.pid) - before <= 5  # (clock ticks: 10 ms each)
        assert cur.execute("SELECT 41 + 1").fetchone() == (42,)
