"""Error paths and operations against a real server process: every one keeps it serving."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import time

import psycopg
import pytest

from tests.wire import pgclient as c


def raw(server) -> socket.socket:
    s = socket.create_connection((server.host, server.port), timeout=60)
    s.sendall(c.startup(user=server.user, database=server.database))
    read_until(s, b"Z\x00\x00\x00\x05")
    return s


def read_until(s: socket.socket, marker: bytes) -> bytes:
    buf = b""
    while marker not in buf:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        buf += chunk
    return buf


def read_all(s: socket.socket) -> bytes:
    buf = b""
    while chunk := s.recv(1 << 16):
        buf += chunk
    return buf


def wait_running(server, fragment: str) -> None:
    """Wait until another session runs a query holding `fragment` (pg_stat_activity shows a
    request's text once it has started, so a cancel from then on is its to take)."""
    with psycopg.connect(server.dsn, autocommit=True) as con:
        deadline = time.monotonic() + 120  # a safety net: it shows in a moment
        while not con.execute("SELECT count(*) FROM pg_stat_activity WHERE pid <> "
                              "pg_backend_pid() AND position(%s in query) > 0",
                              (fragment,)).fetchone()[0]:
            assert time.monotonic() < deadline, f"no session ever ran {fragment!r}"
            time.sleep(0.02)


def alive(server) -> None:
    with psycopg.connect(server.dsn, autocommit=True) as con:
        assert con.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("payload,code", [
    (b"?\x00\x00\x00\x04", "08P01"),               # unknown message type
    (b"Q\x00\x00\x00\x01", "08P01"),               # impossible length
    (c.msg(b"B", b"\x00\x00\x00\x09"), "08P01"),   # truncated Bind
    (c.msg(b"P", b"stmt"), "08P01"),               # missing terminators
])
def test_malformed_messages(server, payload, code):
    s = raw(server)
    s.sendall(payload)
    out = read_all(s)
    f = c.error_fields(c.split(out)[0][1])
    assert f["C"] == code and f["S"] == "FATAL"
    alive(server)


def test_truncated_message_then_disconnect(server):
    s = raw(server)
    s.sendall(c.query("SELECT 1")[:6])
    s.close()
    alive(server)


def test_invalid_utf8_is_22021(server):
    s = raw(server)
    s.sendall(c.query(b"SELECT '\xc3\x28'"))
    out = c.split(read_until(s, b"Z\x00\x00\x00\x05"))
    f = c.error_fields(out[0][1])
    assert f["C"] == "22021"
    assert f["M"] == 'invalid byte sequence for encoding "UTF8": 0xc3 0x28'
    s.sendall(c.query("SELECT 1"))
    assert c.kinds(read_until(s, b"Z\x00\x00\x00\x05")) == "TDCZ"


def test_oversized_message_is_54000(server_factory):
    srv = server_factory("--max-message-size", "64kB", data=":memory:")
    s = raw(srv)
    s.sendall(c.query("SELECT '" + "x" * 100_000 + "'"))
    f = c.error_fields(c.split(read_all(s))[0][1])
    assert f["C"] == "54000"
    alive(srv)


def test_unknown_database_3d000(server):
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(f"host={server.host} port={server.port} user={server.user} "
                        "dbname=no_such_db sslmode=disable")
    assert 'database "no_such_db" does not exist' in str(info.value)


@pytest.mark.parametrize("auth", ["scram-sha-256", "password", "md5"])
def test_passwords(server_factory, auth):
    srv = server_factory("--auth", auth, "--user", "admin", "--password", "s3cret",
                         data=":memory:")
    base = f"host={srv.host} port={srv.port} dbname=sqlvec sslmode=disable"
    with psycopg.connect(f"{base} user=admin password=s3cret") as con:
        assert con.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(f"{base} user=admin password=wrong")
    assert 'password authentication failed for user "admin"' in str(info.value)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"{base} user=nobody password=s3cret")


def test_asyncpg_scram(server_factory):
    asyncpg = pytest.importorskip("asyncpg")
    srv = server_factory("--auth", "scram-sha-256", "--user", "admin", "--password", "pw",
                         data=":memory:")

    async def go():
        con = await asyncpg.connect(host=srv.host, port=srv.port, user="admin", password="pw",
                                    database="sqlvec", ssl=False)
        assert await con.fetchval("SELECT 1") == 1
        await con.close()
        with pytest.raises(asyncpg.InvalidPasswordError):
            await asyncpg.connect(host=srv.host, port=srv.port, user="admin", password="no",
                                  database="sqlvec", ssl=False)

    asyncio.run(go())



def heavy(tag: int) -> str:
    """~0.5 s of work; `tag` (3 digits) tells one test's statement from another's."""
    return f"SELECT count(*) FROM cx a, cx b WHERE a.id * b.id = -{tag}"


def test_cancel_long_statement(server):
    """A CancelRequest stops the running statement with 57014; the connection stays usable."""
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE cx (id integer)")
        con.execute("INSERT INTO cx VALUES " + ",".join(f"({i})" for i in range(3000)))
        long_sql = "; ".join([heavy(101)] * 200)  # minutes, unless cancelled
        failed: list[BaseException] = []

        def cancel_once_running() -> None:
            try:
                wait_running(server, "= -101")
                con.cancel()
            except BaseException as e:  # noqa: BLE001 - reported below
                failed.append(e)
                con.cancel()  # (end the statement anyway)

        canceller = threading.Thread(target=cancel_once_running)
        canceller.start()
        with pytest.raises(psycopg.errors.QueryCanceled) as info:
            con.execute(long_sql)
        canceller.join()
        assert not failed, failed
        assert "canceling statement due to user request" in str(info.value)
        assert con.execute("SELECT 5").fetchone() == (5,)


def test_200_idle_connections(server):
    socks = [raw(server) for _ in range(200)]
    try:
        alive(server)
        socks[0].sendall(c.query("SELECT 1"))
        assert c.kinds(read_until(socks[0], b"Z\x00\x00\x00\x05")) == "TDCZ"
    finally:
        for s in socks:
            s.close()


def make_cert(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_tls(server_factory, tmp_path):
    cert, key = make_cert(tmp_path)
    srv = server_factory("--tls-cert", str(cert), "--tls-key", str(key), data=":memory:")
    dsn = f"host={srv.host} port={srv.port} user=sqlvec dbname=sqlvec"
    with psycopg.connect(dsn + " sslmode=require") as con:
        assert con.pgconn.ssl_in_use
        assert con.execute("SELECT 1").fetchone() == (1,)
    with psycopg.connect(dsn + " sslmode=disable") as con:
        assert not con.pgconn.ssl_in_use


def test_sigterm_shutdown_is_clean_and_durable(server_factory, tmp_path):
    data = str(tmp_path / "d")
    srv = server_factory(data=data)
    idle = psycopg.connect(srv.dsn, autocommit=True)
    with psycopg.connect(srv.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE st (id integer)")
        con.execute("INSERT INTO st VALUES (1), (2), (3)")
    assert srv.stop(signal.SIGTERM) == 0
    assert "sqlvec stopped" in srv.log_text()
    with pytest.raises(psycopg.OperationalError):
        idle.execute("SELECT 1")
    srv2 = server_factory(data=data)
    with psycopg.connect(srv2.dsn) as con:
        assert con.execute("SELECT count(*) FROM st").fetchone() == (3,)


def test_kill9_during_writes_keeps_acknowledged_rows(server_factory, tmp_path):
    data = str(tmp_path / "k")
    srv = server_factory(data=data)
    acked = []
    with psycopg.connect(srv.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE kw (id integer)")

    def writer():
        try:
            with psycopg.connect(srv.dsn, autocommit=True) as con:
                for i in range(100_000):
                    con.execute("INSERT INTO kw VALUES (%s)", (i,))
                    acked.append(i)
        except psycopg.Error:
            pass

    t = threading.Thread(target=writer)
    t.start()
    deadline = time.monotonic() + 120  # a safety net
    while len(acked) < 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    srv.proc.send_signal(signal.SIGKILL)
    t.join(30)
    srv.proc.wait()
    assert len(acked) >= 50
    srv2 = server_factory(data=data)
    with psycopg.connect(srv2.dsn) as con:
        got = {r[0] for r in con.execute("SELECT id FROM kw").fetchall()}
    assert set(acked) <= got


def test_directory_in_use_gives_clear_error(server_factory, tmp_path):
    import sqlvec
    import sqlvec.dbapi

    data = str(tmp_path / "locked")
    server_factory(data=data)
    with pytest.raises(sqlvec.dbapi.OperationalError) as info:
        sqlvec.connect(data)
    assert "in use" in str(info.value) and info.value.sqlstate == "55006"


def test_created_role_logs_in_with_scram(server_factory):
    srv = server_factory("--auth", "scram-sha-256", "--user", "admin", "--password", "root",
                         data=":memory:")
    base = f"host={srv.host} port={srv.port} dbname=sqlvec sslmode=disable"
    with psycopg.connect(f"{base} user=admin password=root", autocommit=True) as con:
        con.execute("CREATE ROLE bob LOGIN PASSWORD 'b0b'")
    with psycopg.connect(f"{base} user=bob password=b0b") as con:
        assert con.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(f"{base} user=bob password=nope")
    assert 'password authentication failed for user "bob"' in str(info.value)


def test_serve_on_a_directory_in_use_fails_cleanly(server_factory, tmp_path):
    import sys

    data = str(tmp_path / "busy")
    server_factory(data=data)
    r = subprocess.run([sys.executable, "-m", "sqlvec", "serve", "--port", "0", "--data", data],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    assert "is in use by another process" in r.stderr and "Traceback" not in r.stderr


def test_sigterm_cancels_a_running_statement(server_factory, tmp_path):
    srv = server_factory(data=str(tmp_path / "busy_stop"))
    errors = []
    with psycopg.connect(srv.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE cx (id integer)")
        con.execute("INSERT INTO cx VALUES " + ",".join(f"({i})" for i in range(3000)))

    def run():
        try:
            with psycopg.connect(srv.dsn, autocommit=True) as con:
                con.execute("; ".join([heavy(102)] * 400))
        except psycopg.Error as e:
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    wait_running(srv, "= -102")
    # the grace period (5 s), then the statement is cancelled: 400 of them take minutes
    assert srv.stop(signal.SIGTERM, timeout=120) == 0
    t.join(60)
    assert errors  # the client saw its statement end with an error, not a hang
    assert "sqlvec stopped" in srv.log_text()


def test_client_vanishing_mid_statement_rolls_back(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE TABLE IF NOT EXISTS cx (id integer)")
        if con.execute("SELECT count(*) FROM cx").fetchone()[0] < 3000:
            con.execute("INSERT INTO cx VALUES " + ",".join(f"({i})" for i in range(3000)))
        con.execute("CREATE TABLE gone (id integer)")
    s = raw(server)
    s.sendall(c.query("BEGIN; INSERT INTO gone VALUES (1), (2)"))
    read_until(s, b"Z\x00\x00\x00\x05")
    s.sendall(c.query("; ".join([heavy(103)] * 200)))  # minutes, unless cancelled
    wait_running(server, "= -103")
    s.close()  # vanish mid-statement, inside an open transaction
    with psycopg.connect(server.dsn, autocommit=True) as con:
        deadline = time.monotonic() + 120  # a safety net: the statement is cancelled at once
        while con.execute("SELECT count(*) FROM pg_stat_activity").fetchone() != (1,):
            assert time.monotonic() < deadline, "the vanished client's session is still there"
            time.sleep(0.05)
        assert con.execute("SELECT count(*) FROM gone").fetchone() == (0,)
        con.execute("INSERT INTO gone VALUES (3)")  # nothing left locked either
        assert con.execute("SELECT count(*) FROM gone").fetchone() == (1,)
