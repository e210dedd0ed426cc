"""The asyncio transport around the sans-IO protocol: accept loop, one protocol per connection.

Each connection is an `asyncio.Protocol`: bytes in go to the ServerConnection. Requests
the protocol knows to be cheap (a fast prepared read, Sync, Describe: wire/inline.py) run
right there on the loop, with no thread hop; the rest run on a thread pool (the engine is
synchronous) while the loop keeps reading and serving other clients, so that a long
statement blocks no one and a client that vanishes gets its statement cancelled and its
session closed.
When several connections' requests arrive in one loop pass, they run at its end, after
their ANN top-k searches were made together (Server._run_together).
Output up to 256 kB is written when the statement's batch of messages is done;
bigger results stream through the loop with flow control. CancelRequests find their
target through BackendKeyData. Shutdown stops accepting, lets running statements
finish for a grace period, cancels the rest, tells idle clients 57P01 and closes the
Database so data is flushed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import os
import secrets
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlvec.core.errors import AdminShutdown, ProtocolViolation, TooManyConnections
from sqlvec.exec import ann_fast
from sqlvec.server.spin import DEFAULT_WINDOW, SpinningSelector
from sqlvec.wire import backend as be
from sqlvec.wire.protocol import (
    CloseConnection,
    DeliverCancel,
    RunOnWorker,
    ServerConfig,
    ServerConnection,
    StartTLS,
)

log = logging.getLogger("sqlvec.server")

BYE = be.error_response(
    AdminShutdown("terminating connection due to administrator command"), "FATAL")
TOO_MANY = be.error_response(TooManyConnections("sorry, too many clients already"), "FATAL")
AUTH_TIMEOUT = be.error_response(ProtocolViolation("canceling authentication due to timeout"),
                                 "FATAL")
WRITE_THROUGH = 256 * 1024  # a worker hands output to the loop (and waits) past this size
READ_SIZE = 256 * 1024  # bytes one read may take from a socket (asyncio's own default)
INBOX_LIMIT = 8 * 1024 * 1024  # stop reading a client that sends this much ahead


class ServerLoop(asyncio.SelectorEventLoop):
    """The server's event loop: a selector loop that counts the ready events of each pass
    and polls a while before it sleeps (server/spin.py; `spin` seconds, 0: never).

    After a pass of several events, `pass_end` runs the requests that came in it together
    (Server._run_together)."""

    events_in_pass = 0
    pass_end: Callable[[], None] | None = None  # run after a pass of several events' callbacks

    def __init__(self, spin: float = DEFAULT_WINDOW) -> None:
        self.spinner = SpinningSelector(spin)
        super().__init__(self.spinner)

    def _process_events(self, event_list: list) -> None:
        self.events_in_pass = len(event_list)
        super()._process_events(event_list)
        if len(event_list) > 1 and self.pass_end is not None:
            self.call_soon(self.pass_end)  # (queued after this pass's callbacks, run with them)


class StatementPool(concurrent.futures.ThreadPoolExecutor):
    """The worker threads statements run on, with room for statements that wait on others.

    A statement waiting for another session (an advisory lock: session/advisory.py) lends
    its worker for the wait (`lend`): the pool may start one more thread meanwhile, so
    the statement that ends the wait never queues behind its waiters (with every worker
    waiting, it would: the server would stop for every client)."""

    @contextlib.contextmanager
    def lend(self) -> Iterator[None]:
        # (ThreadPoolExecutor's own bound, lock and spawner, as submit uses them; a Python
        # whose executor lacks them lends nothing)
        grow = getattr(self, "_adjust_thread_count", None)
        if grow is None or not isinstance(getattr(self, "_max_workers", None), int):
            yield
            return
        with self._shutdown_lock:
            self._max_workers += 1
            grow()  # (a thread now, if none is idle)
        try:
            yield
        finally:
            with self._shutdown_lock:
                self._max_workers -= 1


class _PgConnection(asyncio.BufferedProtocol):
    """One client socket: feeds the protocol, runs it on the pool, writes what it says.

    Reads land in the server's one receive buffer (`get_buffer`) and only what arrived is
    copied out: a plain Protocol gets a fresh 256 kB bytes object per read, which glibc
    maps and unmaps each time (~11 us of a ~100 us point lookup on this VM)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.conn: ServerConnection | None = None
        self.busy = False  # the protocol is running on a worker thread
        self.upgrading = False  # TLS handshake in progress
        self.lost = False
        self.hanging_up = False  # closing: our side is shut, the client's input is dropped
        self.dropping = False  # shutting down: output of a cancelled statement is dropped
        self.inbox: list[bytes] = []
        self.inbox_size = 0
        self.reading_paused = False
        self.out: list[bytes] = []  # written by the worker, flushed by the loop
        self.out_size = 0
        self.can_write = threading.Event()
        self.can_write.set()
        self.finished = self.loop.create_future()
        self.auth_timer: asyncio.TimerHandle | None = None
        self.watching = False  # the session's notify_waker is ours (_watch_notifications)
        self.deferred = False  # its request runs at the end of the loop pass (Server._defer)

    # --- asyncio callbacks -------------------------------------------------------------------

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server.read_buffer  # the loop fills it and calls buffer_updated at once

    def buffer_updated(self, nbytes: int) -> None:
        data = bytes(self.server.read_buffer[:nbytes])
        if self.busy or self.hanging_up or self.upgrading or not self.can_write.is_set():
            self.data_received(data)
            return
        self.conn.receive(data)  # the common case: a request for an idle connection
        if getattr(self.loop, "pass_end", None) is not None and self.loop.events_in_pass > 1:
            self.server._defer(self)  # run with the others of the pass (Server._run_together)
        else:
            self._run()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        srv = self.server
        pid = next(srv._pids)
        self.conn = ServerConnection(srv.config, srv.open_session, srv.lookup_password,
                                     process_id=pid, secret_key=secrets.randbits(31))
        if srv._stopping:
            transport.close()
            return
        if len(srv._clients) >= srv.max_connections:
            transport.write(TOO_MANY)
            transport.close()
            return
        srv._clients[pid] = self
        self.auth_timer = self.loop.call_later(srv.authentication_timeout, self._auth_timeout)

    def _auth_timeout(self) -> None:
        """Like authentication_timeout: a client must finish start-up in time."""
        if self.conn.phase != "ready" and not self.lost and not self.busy:
            self.transport.write(AUTH_TIMEOUT)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.hanging_up:
            return
        if self.busy or self.upgrading or not self.can_write.is_set():
            self.inbox.append(data)
            self.inbox_size += len(data)
            if self.inbox_size > INBOX_LIMIT and not self.reading_paused:
                self.transport.pause_reading()
                self.reading_paused = True
            return
        self.conn.receive(data)
        self._run()

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.auth_timer is not None:
            self.auth_timer.cancel()
        self.can_write.set()
        self.server._clients.pop(self.conn.process_id, None)
        if self.busy:
            self.conn.abandon()  # _done closes the session when the worker returns
        else:
            self._close_session()

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()
        if not self.busy and not self.upgrading:
            self._drain_inbox()  # requests held back while the client was not reading

    # --- running the protocol ---------------------------------------------------------------

    def _run(self) -> None:
        conn = self.conn
        if conn.phase == "ready" and not self.server._stopping:
            if self.auth_timer is not None:  # start-up is over: a pending timer costs every
                self.auth_timer.cancel()  # loop pass two clock reads and a heap peek
                self.auth_timer = None
            try:
                action = conn.process(self._write_inline, inline=True)
            except Exception:  # noqa: BLE001 - one connection's failure never stops the server
                log.exception("connection %s failed", conn.process_id)
                action = CloseConnection()
            if not isinstance(action, RunOnWorker):
                self._finish(action)
                return
        self.busy = True
        self.server.on_workers += 1
        fut = self.loop.run_in_executor(self.server.pool, conn.process, self._write)
        fut.add_done_callback(self._done)

    def _write_inline(self, data: bytes) -> None:
        """Protocol output while it runs on the loop: written at once, so that the client
        goes on while the loop serves the others of its pass (holding a pass's answers to
        its end cost 8 psycopg clients 14-20% of their ANN queries a second, 6% of their
        point lookups)."""
        if not self.lost and not self.dropping:
            self.transport.write(data)

    def _write(self, data: bytes) -> None:
        """Called on the worker thread with protocol output."""
        if self.lost or self.dropping:
            self.conn.abandon()
            return
        self.out.append(data)
        self.out_size += len(data)
        if self.out_size >= WRITE_THROUGH:
            chunk = b"".join(self.out)
            self.out.clear()
            self.out_size = 0
            self.loop.call_soon_threadsafe(self._send, chunk)
            while not self.can_write.wait(1.0):
                if self.lost or self.dropping:
                    break

    def _send(self, data: bytes) -> None:
        if not self.lost and self.transport is not None:
            self.transport.write(data)

    def _flush_out(self) -> None:
        if self.out:
            data = b"".join(self.out)
            self.out.clear()
            self.out_size = 0
            self._send(data)

    def _done(self, fut: asyncio.Future) -> None:
        self.busy = False
        self.server.on_workers -= 1
        try:
            action = fut.result()
        except Exception:  # noqa: BLE001 - one connection's failure never stops the server
            log.exception("connection %s failed", self.conn.process_id)
            action = CloseConnection()
        self._flush_out()
        self._finish(action)

    def _finish(self, action: Any) -> None:
        """After a `process` run: act on what the protocol asked, then go on reading."""
        if action is None and not self.inbox and self.watching and not self.lost \
                and not self.server._stopping:
            if getattr(self.conn.session, "notifications", None):  # the common case ends here
                self._push_notifications()
            return
        self._watch_notifications()
        if self.lost:
            self._close_session()
            return
        if isinstance(action, StartTLS):
            self.upgrading = True
            self.loop.create_task(self._start_tls())
            return
        if isinstance(action, DeliverCancel):
            self.server._deliver_cancel(action)
            action = CloseConnection()
        if isinstance(action, CloseConnection):
            self._close_session()
            self._hang_up()
            return
        if self.server._stopping:
            self.shutdown()
            return
        self._drain_inbox()

    def _hang_up(self) -> None:
        """Close once the client has our last words: shut our side and drop what it still
        sends (closing with unread input resets the connection, and the client may lose
        the FATAL ErrorResponse before reading it)."""
        transport = self.transport
        if self.lost or not transport.can_write_eof():
            transport.close()
            return
        self.hanging_up = True
        if self.reading_paused:
            self.reading_paused = False
            transport.resume_reading()
        transport.write_eof()
        self.loop.call_later(2.0, transport.close)

    def _watch_notifications(self) -> None:
        """LISTEN delivery to an idle client: the session wakes us (session/notify.py)."""
        session = getattr(self.conn, "session", None)
        if session is None or self.lost:
            return
        if getattr(session, "notify_waker", None) is None:
            session.backend_pid = self.conn.process_id
            session.lend_worker = self.server.pool.lend
            session.notify_waker = lambda: self.loop.call_soon_threadsafe(self._push_notifications)
            self.watching = True
        self._push_notifications()

    def _push_notifications(self) -> None:
        if self.busy or self.lost or self.conn.phase != "ready":
            return  # a running statement sends them before its ReadyForQuery
        data = self.conn.notifications()
        if data:
            self._send(data)

    def _drain_inbox(self) -> None:
        """Process what arrived meanwhile; not while the client leaves our output unread
        (its pipelined requests then wait, so per-connection memory stays bounded)."""
        if not self.can_write.is_set():
            return
        if self.inbox and not self.lost:
            data = b"".join(self.inbox)
            self.inbox.clear()
            self.inbox_size = 0
            if self.reading_paused:
                self.reading_paused = False
                self.transport.resume_reading()
            self.conn.receive(data)
            self._run()

    async def _start_tls(self) -> None:
        try:
            self.transport = await self.loop.start_tls(
                self.transport, self, self.server.ssl_context, server_side=True)
        except (OSError, ssl.SSLError, ConnectionError) as e:
            log.info("TLS handshake failed: %s", e)
            self.lost = True
            self._close_session()
            return
        finally:
            self.upgrading = False
        self._drain_inbox()

    def _close_session(self) -> None:
        conn = self.conn
        if conn.session is None:
            conn.close()
            self._set_finished()
            return
        fut = self.loop.run_in_executor(self.server.pool, conn.close)
        fut.add_done_callback(lambda _f: self._set_finished())

    def _set_finished(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)

    def shutdown(self, message: bytes = BYE) -> None:
        """Server shutdown: cancel a running statement, or say goodbye and hang up."""
        if self.busy:
            self.conn.cancel()
            if not self.can_write.is_set():
                self.conn.abandon()  # stuck writing to a client that does not read
                self.dropping = True
                self.can_write.set()
                self.transport.abort()
            return
        if self.transport is not None and not self.lost:
            if self.conn.phase == "ready":
                self.transport.write(message)
            self.transport.close()
            self.loop.call_later(1.0, self.transport.abort)  # a client that never reads


class Server:
    """Serves one Database over TCP (optionally TLS) until `shutdown()`."""

    def __init__(
        self,
        open_session: Callable[[str, str, dict[str, str]], Any],
        lookup_password: Callable[[str], str | None],
        *,
        config: ServerConfig,
        host: str = "127.0.0.1",
        port: int = 5433,
        ssl_context: ssl.SSLContext | None = None,
        workers: int | None = None,
        on_close: Callable[[], None] | None = None,
        grace_seconds: float = 5.0,
        max_connections: int = 1000,
        authentication_timeout: float = 60.0,
    ) -> None:
        self.open_session = open_session
        self.lookup_password = lookup_password
        self.config = config
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self.pool = StatementPool(max_workers=workers or min(32, 4 * (os.cpu_count() or 1)),
                                  thread_name_prefix="sqlvec-query")
        self.on_close = on_close
        self.grace_seconds = grace_seconds
        self.max_connections = max_connections
        self.authentication_timeout = authentication_timeout
        self._clients: dict[int, _PgConnection] = {}
        self.read_buffer = memoryview(bytearray(READ_SIZE))  # shared: one loop thread reads
        self._deferred: list[_PgConnection] = []  # connections to run at the end of the pass
        self.on_workers = 0  # connections whose statement runs on a worker thread
        self._pids = itertools.count(secrets.randbelow(1 << 20) + 1000)
        self._server: asyncio.AbstractServer | None = None
        self._stopping = False
        self._stopped = asyncio.Event()

    async def start(self) -> tuple[str, int]:
        """Bind and listen; returns the actual (host, port)."""
        loop = asyncio.get_running_loop()
        if isinstance(loop, ServerLoop):
            loop.pass_end = self._run_together
            loop.spinner.may_spin = lambda: not self.on_workers  # (workers need the GIL)
        self._server = await loop.create_server(
            lambda: _PgConnection(self), self.host, self.port, backlog=1024)
        sock = self._server.sockets[0].getsockname()
        return sock[0], sock[1]

    async def wait_closed(self) -> None:
        await self._stopped.wait()

    def _defer(self, client: _PgConnection) -> None:
        if not client.deferred:
            client.deferred = True
            self._deferred.append(client)

    def _run_together(self) -> None:
        """End of a loop pass in which several connections sent requests: their next ANN
        searches are made at once (ann_fast.search_together: one batched graph search on
        several threads, where one connection's search uses one core), then each connection
        runs as it would have alone, taking its search's result."""
        clients, self._deferred = self._deferred, []
        if not clients:
            return
        ahead = []
        for c in clients:
            if not c.lost:
                try:
                    found = c.conn.search_ahead()
                except Exception:  # noqa: BLE001 - the run reports it (or fails the connection)
                    found = None
                if found is not None:
                    ahead.append(found)
        done = ann_fast.search_together(ahead) if len(ahead) > 1 else ()
        try:
            for c in clients:
                c.deferred = False
                if not c.lost and not c.busy:
                    try:
                        c._run()
                    except Exception:  # noqa: BLE001 - one connection's failure is its own
                        log.exception("connection %s failed", c.conn.process_id)
                        c.transport.abort()
        finally:
            ann_fast.forget(done)

    def _deliver_cancel(self, action: DeliverCancel) -> None:
        target = self._clients.get(action.process_id)
        if target is not None and target.conn.secret_key == action.secret_key:
            target.conn.cancel()

    async def shutdown(self) -> None:
        """Stop accepting, finish or cancel running statements, close sessions and the DB."""
        if self._stopping:
            return
        self._stopping = True
        if self._server is not None:
            self._server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace_seconds
        while any(c.busy for c in self._clients.values()) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        pending = []
        for client in list(self._clients.values()):
            client.shutdown()  # busy ones are cancelled and hang up when their statement ends
            pending.append(client.finished)
        if pending:
            await asyncio.wait(pending, timeout=self.grace_seconds + 5)
        await loop.run_in_executor(None, lambda: self.pool.shutdown(wait=True,
                                                                    cancel_futures=True))
        if self.on_close is not None:
            await loop.run_in_executor(None, self.on_close)
        self._stopped.set()
