"""The asyncio transport around the sans-IO protocol: accept loop, one task per connection.

Statements run on a thread pool (the engine is synchronous); while one runs, the
connection keeps reading so that a client that vanishes gets its statement cancelled
and its session closed. CancelRequests find their target through BackendKeyData.
Shutdown stops accepting, lets running statements finish for a grace period, cancels
the rest, tells idle clients 57P01 and closes the Database so data is flushed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import os
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlvec.core.errors import AdminShutdown
from sqlvec.wire import backend as be
from sqlvec.wire.protocol import (
    CloseConnection,
    DeliverCancel,
    ServerConfig,
    ServerConnection,
    StartTLS,
)

log = logging.getLogger("sqlvec.server")

WRITE_THROUGH = 256 * 1024  # a worker hands output to the loop (and waits) past this size


@dataclass
class _Client:
    conn: ServerConnection
    writer: asyncio.StreamWriter
    busy: bool = False
    lost: bool = False


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
    ) -> None:
        self.open_session = open_session
        self.lookup_password = lookup_password
        self.config = config
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=workers or min(32, 4 * (os.cpu_count() or 1)),
            thread_name_prefix="sqlvec-query")
        self.on_close = on_close
        self.grace_seconds = grace_seconds
        self._clients: dict[int, _Client] = {}
        self._tasks: set[asyncio.Task] = set()
        self._pids = itertools.count(secrets.randbelow(1 << 20) + 1000)
        self._server: asyncio.AbstractServer | None = None
        self._stopping = False
        self._stopped = asyncio.Event()

    async def start(self) -> tuple[str, int]:
        """Bind and listen; returns the actual (host, port)."""
        self._server = await asyncio.start_server(
            self._on_connect, self.host, self.port, limit=1 << 20, backlog=1024)
        sock = self._server.sockets[0].getsockname()
        return sock[0], sock[1]

    async def wait_closed(self) -> None:
        await self._stopped.wait()

    # --- connections -----------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        pid = next(self._pids)
        conn = ServerConnection(self.config, self.open_session, self.lookup_password,
                                process_id=pid, secret_key=secrets.randbits(31))
        client = _Client(conn, writer)
        self._clients[pid] = client
        loop = asyncio.get_running_loop()
        pending: list[bytes] = []
        try:
            if self._stopping:
                return
            while True:
                data = b"".join(pending) if pending else await self._read(reader)
                pending.clear()
                if not data:
                    break
                conn.receive(data)
                action = await self._process(client, reader, pending, loop)
                if client.lost:
                    break
                if isinstance(action, StartTLS):
                    await writer.drain()
                    await writer.start_tls(self.ssl_context)
                elif isinstance(action, DeliverCancel):
                    self._deliver_cancel(action)
                    break
                elif isinstance(action, CloseConnection):
                    break
        except Exception:  # noqa: BLE001 - one connection's failure never stops the server
            log.exception("connection %s failed", pid)
        finally:
            self._clients.pop(pid, None)
            if conn.session is not None:
                await loop.run_in_executor(self.pool, conn.close)
            conn.close()
            try:
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 2)
            except Exception:  # noqa: BLE001
                pass
            if task is not None:
                self._tasks.discard(task)

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> bytes:
        try:
            return await reader.read(1 << 16)
        except (ConnectionError, OSError):
            return b""

    async def _process(self, client: _Client, reader: asyncio.StreamReader,
                       pending: list[bytes], loop: asyncio.AbstractEventLoop) -> Any:
        """Run the protocol on a worker thread, writing its output; watch for a lost client."""
        out: list[bytes] = []
        size = [0]
        writer = client.writer

        async def write_through(data: bytes) -> None:
            try:
                writer.write(data)
                await writer.drain()
            except (ConnectionError, OSError):
                client.lost = True

        def write(data: bytes) -> None:
            if client.lost:
                client.conn.cancel()
                return
            out.append(data)
            size[0] += len(data)
            if size[0] >= WRITE_THROUGH:
                chunk = b"".join(out)
                out.clear()
                size[0] = 0
                asyncio.run_coroutine_threadsafe(write_through(chunk), loop).result()
                if client.lost:
                    client.conn.cancel()

        client.busy = True
        try:
            work = loop.run_in_executor(self.pool, client.conn.process, write)
            if client.conn.phase == "ready":
                read = asyncio.ensure_future(self._read(reader))
                done, _ = await asyncio.wait({work, read}, return_when=asyncio.FIRST_COMPLETED)
                if read in done:
                    data = read.result()
                    if not data:  # the client went away mid-statement
                        client.lost = True
                        client.conn.cancel()
                    else:
                        pending.append(data)
                else:
                    read.cancel()
                    try:
                        data = await read
                        if data:
                            pending.append(data)
                    except asyncio.CancelledError:
                        pass
            action = await work
        finally:
            client.busy = False
        if out and not client.lost:
            await write_through(b"".join(out))
        return action

    def _deliver_cancel(self, action: DeliverCancel) -> None:
        target = self._clients.get(action.process_id)
        if target is not None and target.conn.secret_key == action.secret_key:
            target.conn.cancel()

    # --- shutdown ----------------------------------------------------------------------------

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
        bye = be.error_response(AdminShutdown(
            "terminating connection due to administrator command"), "FATAL")
        for client in list(self._clients.values()):
            if client.busy:
                client.conn.cancel()
            else:
                try:
                    if client.conn.phase == "ready":
                        client.writer.write(bye)
                    client.writer.close()
                except Exception:  # noqa: BLE001
                    pass
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.grace_seconds + 5)
        self.pool.shutdown(wait=True, cancel_futures=True)
        if self.on_close is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.on_close)
        self._stopped.set()
