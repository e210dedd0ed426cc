"""LISTEN / NOTIFY / UNLISTEN and pg_notify between sessions, embedded and over the wire."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from sqlvec.session import Database, Session


def _run(s: Session, sql: str) -> str:
    res = list(s.execute(sql))[-1]
    list(getattr(res, "batches", []))
    return getattr(res, "tag", "")


def test_delivery_rules():
    db = Database.open(None)
    a, b = Session(db), Session(db)
    b.backend_pid = 22
    assert _run(a, "listen ch") == "LISTEN"
    _run(a, 'listen "Mixed"')
    assert _run(b, "notify ch, 'hello'") == "NOTIFY"
    _run(b, "notify other, 'nobody listens'")
    assert a.notifications == [(22, "ch", "hello")]
    a.notifications.clear()
    _run(b, "begin")
    _run(b, "notify ch, 'x'")
    _run(b, "notify ch, 'x'")  # folded within one transaction
    assert a.notifications == []
    _run(b, "commit")
    assert a.notifications == [(22, "ch", "x")]
    a.notifications.clear()
    _run(b, "begin")
    _run(b, "notify ch, 'dropped'")
    _run(b, "rollback")
    _run(b, "select pg_notify('Mixed', 'via function')")
    assert a.notifications == [(22, "Mixed", "via function")]
    assert _run(a, "unlisten *") == "UNLISTEN"
    a.notifications.clear()
    _run(b, "notify ch")
    assert a.notifications == []


def test_psycopg_idle_listener_gets_notifications(server):
    psycopg = pytest.importorskip("psycopg")
    listener = psycopg.connect(server.dsn, autocommit=True)
    listener.execute("listen jobs")

    def sender() -> None:
        time.sleep(0.3)
        with psycopg.connect(server.dsn, autocommit=True) as c:
            c.execute("notify jobs, 'one'")
            with c.transaction():
                c.execute("select pg_notify('jobs', 'two')")
    t = threading.Thread(target=sender)
    t.start()
    got = [(n.channel, n.payload) for n in listener.notifies(timeout=120, stop_after=2)]
    t.join()
    listener.close()
    assert got == [("jobs", "one"), ("jobs", "two")]


def test_asyncpg_add_listener(server):
    asyncpg = pytest.importorskip("asyncpg")

    async def main() -> tuple:
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database)
        other = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                      database=server.database)
        try:
            q: asyncio.Queue = asyncio.Queue()
            await con.add_listener("news", lambda c, pid, ch, payload: q.put_nowait((pid, ch, payload)))
            await other.execute("notify news, 'hi'")
            pid, ch, payload = await asyncio.wait_for(q.get(), 120)
            return pid == other.get_server_pid(), ch, payload
        finally:
            await other.close()
            await con.close()
    assert asyncio.run(main()) == (True, "news", "hi")
