"""The asyncio transport with a test double session: real sockets, real drivers."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time

import psycopg
import pytest

from sqlvec.server.app import Server, ServerLoop
from sqlvec.wire.protocol import ServerConfig
from tests.wire import pgclient as c
from tests.wire.fake_session import FakeSession


class SlowSession(FakeSession):
    """SLEEP runs until cancelled (or 120 s, a safety net), then raises 57014; `sleeping` is
    set once it runs (a test cancels after that: before it, the cancel is not SLEEP's)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sleeping = threading.Event()
        self.cancel_event = threading.Event()

    def _run(self, sql, params=()):
        if sql.strip().upper() == "SLEEP":
            self.cancel_event.clear()
            self.sleeping.set()
            if self.cancel_event.wait(120):
                from sqlvec.core.errors import QueryCanceled
                raise QueryCanceled("canceling statement due to user request")
            from sqlvec.core.results import Command
            return Command("SLEEP")
        return super()._run(sql, params)

    def cancel(self):
        self.cancelled = True
        self.cancel_event.set()


def sleeping(sessions) -> None:
    """Wait until the newest session runs SLEEP."""
    deadline = time.monotonic() + 120  # a safety net
    while not sessions or not sessions[-1].sleeping.wait(0.05):
        assert time.monotonic() < deadline, "SLEEP never started"


@pytest.fixture
def fake_server(request):
    opts = dict(getattr(request, "param", {}))
    plain = opts.pop("plain_loop", False)  # a stock asyncio loop (not the server's ServerLoop)
    sessions: list[FakeSession] = []

    def open_session(user, database, params):
        s = SlowSession(user, database, params)
        sessions.append(s)
        return s

    loop = asyncio.new_event_loop() if plain else ServerLoop()
    server = Server(open_session, lambda u: None, config=ServerConfig(), port=0,
                    grace_seconds=0.5, **opts)
    host, port = loop.run_until_complete(server.start())
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    yield host, port, sessions, server
    asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    t.join(5)
    loop.close()


def raw_connect(host, port) -> socket.socket:
    s = socket.create_connection((host, port), timeout=60)
    s.sendall(c.startup())
    read_until(s, b"Z\x00\x00\x00\x05I")
    return s


def read_until(s: socket.socket, marker: bytes) -> bytes:
    buf = b""
    while marker not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def test_psycopg_simple_and_extended(fake_server):
    host, port, _, _ = fake_server
    with psycopg.connect(host=host, port=port, user="alice", dbname="db", sslmode="prefer") as con:
        assert con.execute("SELECT 2").fetchall() == [(1, "r1"), (2, "r2")]
        cur = con.cursor(binary=True)
        assert cur.execute("SELECT 1", prepare=True).fetchone() == (1, "r1")


def test_asyncpg_prepared_binary(fake_server):
    asyncpg = pytest.importorskip("asyncpg")
    host, port, _, _ = fake_server

    async def go():
        con = await asyncpg.connect(host=host, port=port, user="alice", database="db", ssl=False)
        try:
            rows = await con.fetch("SELECT 4")
            stmt = await con.prepare("SELECT $1")
            val = await stmt.fetchval("hey")
        finally:
            await con.close()
        return rows, val

    rows, val = asyncio.run(go())
    assert [tuple(r) for r in rows][:2] == [(1, "r1"), (2, "r2")] and val == "hey"


def test_cancel_request_interrupts_and_connection_survives(fake_server):
    host, port, sessions, _ = fake_server
    s = socket.create_connection((host, port), timeout=60)
    s.sendall(c.startup())
    hello = read_until(s, b"Z\x00\x00\x00\x05I")
    kpos = hello.index(b"K\x00\x00\x00\x0c")
    pid, key = struct.unpack_from("!ii", hello, kpos + 5)
    s.sendall(c.query("SLEEP"))
    sleeping(sessions)
    k = socket.create_connection((host, port), timeout=60)
    k.sendall(c.cancel_request(pid, key))
    assert k.recv(10) == b""  # the server closes the cancel connection
    out = read_until(s, b"Z\x00\x00\x00\x05")
    assert c.error_fields(c.split(out)[0][1])["C"] == "57014"
    s.sendall(c.query("SELECT 1"))
    assert c.kinds(read_until(s, b"Z\x00\x00\x00\x05")) == "TDCZ"
    s.close()


def test_client_vanishing_mid_query_closes_session(fake_server):
    host, port, sessions, _ = fake_server
    s = raw_connect(host, port)
    s.sendall(c.query("SLEEP"))
    sleeping(sessions)
    s.close()
    deadline = time.monotonic() + 120  # a safety net: SLEEP ends at the cancel
    while time.monotonic() < deadline and not sessions[-1].closed:
        time.sleep(0.05)
    assert sessions[-1].cancelled and sessions[-1].closed


def test_malformed_message_closes_only_that_connection(fake_server):
    host, port, _, _ = fake_server
    good = raw_connect(host, port)
    bad = raw_connect(host, port)
    bad.sendall(b"?\x00\x00\x00\x04")
    out = read_until(bad, b"\x00\x00")
    assert c.error_fields(c.split(out)[0][1])["C"] == "08P01"
    assert bad.recv(10) == b""
    good.sendall(c.query("SELECT 1"))
    assert c.kinds(read_until(good, b"Z\x00\x00\x00\x05")) == "TDCZ"


def test_many_idle_connections(fake_server):
    host, port, _, _ = fake_server
    socks = [raw_connect(host, port) for _ in range(200)]
    socks[-1].sendall(c.query("SELECT 1"))
    assert c.kinds(read_until(socks[-1], b"Z\x00\x00\x00\x05")) == "TDCZ"
    for s in socks:
        s.close()


@pytest.mark.parametrize("fake_server", [{}, {"plain_loop": True}], indirect=True,
                         ids=["server-loop", "plain-loop"])
def test_answers_of_many_connections_served_in_one_pass_keep_their_order(fake_server):
    """Inline answers are written at the end of the loop pass; a worker's output and the
    next inline answers of the same connection come after them, on every connection."""
    host, port, _, _ = fake_server
    socks = [raw_connect(host, port) for _ in range(8)]
    for s in socks:  # the first run of a text is measured on a worker: inline from then on
        s.sendall(c.query("SELECT 1") + c.query("SELECT 2"))
        assert c.kinds(read_until(s, b"C\x00\x00\x00\rSELECT 2\x00Z\x00\x00\x00\x05I")) == "TDCZTDDCZ"
    pipeline = (c.query("SELECT 1") + c.query("BEGIN") + c.query("SELECT 2")
                + c.query("COMMIT") + c.query("SELECT 1"))
    for _ in range(3):
        for s in socks:
            s.sendall(pipeline)
        for s in socks:
            out = read_until(s, b"C\x00\x00\x00\rSELECT 1\x00Z\x00\x00\x00\x05I")
            while c.kinds(out).count("Z") < 5:
                out += s.recv(65536)
            assert c.kinds(out) == "TDCZ" + "CZ" + "TDDCZ" + "CZ" + "TDCZ"
    for s in socks:
        s.close()


def test_large_result_streams(fake_server):
    host, port, _, _ = fake_server
    with psycopg.connect(host=host, port=port, user="alice", dbname="db") as con:
        rows = con.execute("SELECT 200000").fetchall()
    assert len(rows) == 200000 and rows[-1][0] == 200000


@pytest.mark.parametrize("fake_server", [{"max_connections": 3}], indirect=True)
def test_too_many_connections_53300(fake_server):
    host, port, _, _ = fake_server
    socks = [raw_connect(host, port) for _ in range(3)]
    extra = socket.create_connection((host, port), timeout=60)
    out = read_until(extra, b"\x00\x00")
    assert c.error_fields(c.split(out)[0][1])["C"] == "53300"
    for s in socks:
        s.close()


@pytest.mark.parametrize("fake_server", [{"authentication_timeout": 0.3}], indirect=True)
def test_startup_must_finish_in_time(fake_server):
    host, port, _, _ = fake_server
    s = socket.create_connection((host, port), timeout=60)
    s.sendall(c.startup()[:5])  # a partial startup packet, then silence
    out = read_until(s, b"\x00\x00")
    assert c.error_fields(c.split(out)[0][1])["C"] == "08P01"
    assert s.recv(10) == b""
    ok = raw_connect(host, port)  # finished start-ups are not affected
    time.sleep(0.5)
    ok.sendall(c.query("SELECT 1"))
    assert c.kinds(read_until(ok, b"Z\x00\x00\x00\x05")) == "TDCZ"


def test_client_that_does_not_read_is_not_buffered_without_bound(fake_server):
    host, port, sessions, server = fake_server
    s = raw_connect(host, port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    req = c.query("SELECT 20000")  # about 300 kB of DataRows per request
    sent = 0
    s.setblocking(False)
    deadline = time.time() + 3
    while time.time() < deadline:
        try:
            s.send(req)
            sent += 1
        except BlockingIOError:
            time.sleep(0.01)
    client = next(iter(server._clients.values()))
    buffered = client.transport.get_write_buffer_size() if client.transport else 0
    assert sent > 10 and buffered < 8 * 1024 * 1024  # the server stopped reading instead
    s.close()
