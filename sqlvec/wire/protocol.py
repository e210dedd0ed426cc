"""The server side of the PostgreSQL v3 protocol as a sans-IO state machine.

`ServerConnection.receive(bytes)` buffers client data; `process(write)` handles every
complete message, calling the session synchronously and `write(bytes)` with what to
send, and returns an Action when the transport must act (start TLS, deliver a cancel,
close). Phases: start-up (SSL/GSS/cancel requests, StartupMessage), authentication
(trust, cleartext, md5, SCRAM-SHA-256), then simple and extended query with portals,
row limits and skip-until-Sync after an error. `process(write, inline=True)` is the
event loop's variant: it handles requests known to be cheap and stops at the first other
one (RUN_ON_WORKER), which a worker thread's `process(write)` then starts with.
"""

from __future__ import annotations

import logging
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlvec.core.errors import (
    DuplicateCursor,
    DuplicatePreparedStatement,
    FeatureNotSupported,
    InternalError,
    InvalidAuthorizationSpecification,
    InvalidCursorName,
    InvalidPassword,
    InvalidSqlStatementName,
    ProtocolViolation,
    QueryCanceled,
    SqlError,
)
from sqlvec.core.passwords import parse_scram_verifier, verify_md5_response, verify_password
from sqlvec.core.results import Command, Empty, Rows, command_tag
from sqlvec.wire import backend as be
from sqlvec.wire import copy as cp
from sqlvec.wire import messages as m
from sqlvec.wire.auth import MECHANISM, ScramExchange
from sqlvec.wire.codecs import decode_param, param_decoder, result_formats
from sqlvec.wire.inline import INLINE_BUDGET_NS, MAX_INLINE_BIND, CostBook
from sqlvec.wire.rows import data_rows
from sqlvec.wire.startup import default_parameters, normalize_startup_params, server_version

log = logging.getLogger("sqlvec.wire")

FLUSH_AT = 256 * 1024


@dataclass(frozen=True)
class ServerConfig:
    """What a connection needs to know about the server it belongs to."""

    auth: str = "trust"  # trust | password | md5 | scram-sha-256
    tls: bool = False
    max_message_size: int = m.DEFAULT_MAX_MESSAGE_SIZE


@dataclass(frozen=True)
class StartTLS:
    """The transport must wrap the socket in TLS now ('S' was already written)."""


@dataclass(frozen=True)
class DeliverCancel:
    """Cancel the statement of the connection with these keys, then close this one."""

    process_id: int
    secret_key: int


@dataclass(frozen=True)
class CloseConnection:
    """Flush what was written and close the socket."""


@dataclass(frozen=True)
class RunOnWorker:
    """An inline `process` stopped at a request that is not known to be cheap: call
    `process` again on a worker thread (it starts with that request)."""


RUN_ON_WORKER = RunOnWorker()

Action = StartTLS | DeliverCancel | CloseConnection | RunOnWorker

_ALWAYS_CHEAP = frozenset({m.Sync, m.Describe, m.Close, m.Flush, m.Invalid})

# open_session(user, database, startup params) -> a Session (raises SqlError, e.g. 3D000)
OpenSession = Callable[[str, str, dict[str, str]], Any]
# lookup_password(user) -> the stored verifier, or None when the role has none / is unknown
LookupPassword = Callable[[str], "str | None"]


class _Portal:
    """A Bind's portal: the session's handle and what Execute/Describe need of it."""

    __slots__ = ("handle", "columns", "formats", "sql", "plan")

    def __init__(self, handle: Any, columns: list | None, formats: list[int], sql: str = "",
                 plan: _BindPlan | None = None) -> None:
        self.handle, self.columns, self.formats, self.sql = handle, columns, formats, sql
        self.plan = plan


class _BindPlan:
    """What Binds of one prepared statement with the same format codes share: a decoder per
    parameter, the result formats, and the column types of its last result's columns."""

    __slots__ = ("stmt", "decoders", "formats", "cols", "col_types")

    def __init__(self, stmt: Any, decoders: list, formats: list[int]) -> None:
        self.stmt, self.decoders, self.formats = stmt, decoders, formats
        self.cols: list | None = None
        self.col_types: list = []


_COMPLETE: dict[str, bytes] = {}  # CommandComplete by tag ('SELECT 1'), bounded


class _Fatal(Exception):
    def __init__(self, err: SqlError) -> None:
        self.err = err


def _complete(tag: str, count: int) -> bytes:
    """CommandComplete of a query's rows ('SELECT 10'), kept by tag."""
    tag = command_tag(tag, count)
    done = _COMPLETE.get(tag)
    if done is None:
        done = be.command_complete(tag)
        if len(_COMPLETE) < 1024:
            _COMPLETE[tag] = done
    return done


def _values(plan: _BindPlan, msg: m.Bind) -> list:
    """A Bind's parameter values, decoded by its plan."""
    decoders = plan.decoders
    if len(decoders) == 1:  # (a comprehension is a function call of its own)
        return [decoders[0](msg.params[0])]
    return [decode(raw) for decode, raw in zip(decoders, msg.params)]


class ServerConnection:
    """One client connection's protocol state; knows the session, never the socket."""

    def __init__(
        self,
        config: ServerConfig,
        open_session: OpenSession,
        lookup_password: LookupPassword | None = None,
        process_id: int | None = None,
        secret_key: int | None = None,
    ) -> None:
        self.config = config
        self.open_session = open_session
        self.lookup_password = lookup_password or (lambda user: None)
        self.process_id = process_id if process_id is not None else os.getpid()
        self.secret_key = secret_key if secret_key is not None else \
            struct.unpack("!i", os.urandom(4))[0]
        self.decoder = m.Decoder(config.max_message_size)
        self.session: Any = None
        self.user = ""
        self.database = ""
        self.startup_params: dict[str, str] = {}
        self.phase = "startup"  # startup | auth | ready | closed
        self._auth_step: Callable[[m.FrontendMessage], None] | None = None
        self._statements: dict[str, Any] = {}
        self._portals: dict[str, _Portal] = {}
        self._skip_until_sync = False
        self._copy: cp.CopyIn | None = None
        self._reported: dict[str, str] = {}
        self._out: list[bytes] = []
        self._out_size = 0
        self._write: Callable[[bytes], None] = lambda b: None
        self.tls_active = False
        self._abandoned = False
        self._held: m.FrontendMessage | None = None  # next request, left for a worker
        self._ahead: tuple | None = None  # (a Bind, its decoded values): search_ahead's
        self._inline = False  # running on the event loop (process(inline=True))
        self._clock = time.thread_time_ns  # what a run's cost is measured by (see process)
        self._costs = CostBook()  # Execute and simple Query runs, by statement text
        self._parse_costs = CostBook()  # Parse (parse and describe only)
        self._descriptions: dict[tuple, tuple[list, bytes]] = {}  # see _row_description
        self._bind_plans: dict[tuple, _BindPlan] = {}  # (statement, formats) -> plan: _bind

    # --- transport interface -------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        self.decoder.feed(data)

    def process(self, write: Callable[[bytes], None], inline: bool = False) -> Action | None:
        """Handle every complete buffered message; return an Action for the transport.

        `inline=True` (the caller is the event loop): handle only requests known to be
        cheap (wire/inline.py), for about INLINE_BUDGET_NS; at the first other one return
        RUN_ON_WORKER, and the next `process` call starts there."""
        self._write = write
        deadline = time.perf_counter_ns() + INLINE_BUDGET_NS if inline else 0
        # A worker measures a run's CPU (thread_time: waiting for the GIL does not count);
        # the loop its wall time, which bounds the CPU and costs no system call, and is
        # what a run there holds the loop for. Output of an inline pass goes out in one
        # write at its end (ReadyForQuery does not flush on its own): a pipeline of
        # several Syncs that arrived together is answered together.
        self._inline = inline
        self._clock = time.perf_counter_ns if inline else time.thread_time_ns
        try:
            while self.phase != "closed" and not self._abandoned:
                msg = self._held
                if msg is not None:
                    self._held = None
                else:
                    try:
                        msg = self.decoder.next()
                    except (ProtocolViolation, SqlError) as e:
                        raise _Fatal(e) from None
                    if msg is m.NEED_DATA:
                        break
                if inline and (not self._cheap(msg) or time.perf_counter_ns() > deadline):
                    self._held = msg
                    self._flush()
                    return RUN_ON_WORKER
                if inline and type(msg) is m.Bind and self._answer(msg):
                    continue
                action = self._ready(msg) if self.phase == "ready" else self._dispatch(msg)
                if action is None and inline and type(msg) is m.Bind \
                        and self._cheap(m.EXECUTE_UNNAMED_ALL):
                    # the rest of a driver's usual cycle, if it is next in the buffer byte
                    # for byte: handled as decoded (Describe and Sync are always cheap, the
                    # Execute is, just checked), without decoding it or checking each
                    tail = self.decoder.take_tail()
                    if tail is not None:
                        for msg in tail:
                            action = self._ready(msg)
                if action is not None:
                    self._flush()
                    return action
        except _Fatal as f:
            self._send(be.error_response(f.err, "FATAL"))
            self.close()
            self._flush()
            return CloseConnection()
        self._flush()
        return CloseConnection() if self.phase == "closed" else None

    def search_ahead(self) -> tuple | None:
        """The ANN search the next request runs on the loop (a Bind of a prepared statement
        whose plan exec/ann_fast compiled), as AnnFast.ahead gives it, so that the
        transport can search the queries of several connections at once
        (ann_fast.search_together); else None. The Bind is decoded and held for the next
        `process` (its parameter values too, for _answer); nothing else is consumed or
        changed."""
        if self.phase != "ready" or self._held is not None or self._copy is not None \
                or self._skip_until_sync:
            return None
        msg = self.decoder.next_bind()
        if msg is None:
            return None
        self._held = msg
        if type(msg) is not m.Bind or msg.portal or not self._cheap(msg):
            return None
        plan = self._known_bind(msg)
        fast = self.session.ann_plan(plan.stmt) if plan is not None else None
        if fast is None:
            return None
        try:
            values = _values(plan, msg)
        except SqlError:
            return None  # (the Bind reports it)
        self._ahead = (msg, values)  # (_answer takes them: decoded once)
        try:
            return fast.ahead(self.session, values)
        except SqlError:
            return None  # (the Execute reports it)

    def _answer(self, msg: m.Bind) -> bool:
        """A Bind of the unnamed portal followed byte for byte by a driver's usual rest of
        the cycle (Decoder.take_tail), whose statement's compiled ANN top-k answers it
        (Session.answer): the whole cycle's output written at once, without the portal and
        the result objects the message-by-message path makes; the bytes are the same.
        Whether it handled the Bind (and its tail, one by one where not answered here)."""
        if msg.portal or self._skip_until_sync:
            return False
        plan = self._known_bind(msg)
        session = self.session
        ann_plan = getattr(session, "ann_plan", None)  # (a session that compiles none: no)
        fast = ann_plan(plan.stmt) if plan is not None and ann_plan is not None else None
        if fast is None:
            return False
        tail = self.decoder.take_tail()
        if tail is None:
            return False
        start = time.perf_counter_ns()
        ahead, self._ahead = self._ahead, None
        try:
            values = ahead[1] if ahead is not None and ahead[0] is msg else _values(plan, msg)
            got = session.answer(fast, plan.stmt, values)
        except Exception:  # noqa: BLE001 - the Bind or the Execute reports it, below (XX000
            got = None  # for a bug, as _ready does)
        if got is None:
            for each in (msg, *tail):
                self._ready(each)
            return True
        cols, batch = got
        formats = plan.formats
        self._portals.pop("", None)  # (the Sync ends the unnamed portal the Bind made)
        self._send(be.BIND_COMPLETE)
        if len(tail) == 3:  # (libpq's: Describe portal, Execute, Sync)
            described = plan.stmt.columns
            self._send(self._row_description(described, formats) if described else be.NO_DATA)
        if plan.cols is not cols:
            plan.cols, plan.col_types = cols, [c.type for c in cols]
        self._drain_notices()
        n = batch.num_rows
        if n:
            self._send(data_rows(batch, plan.col_types, formats, session.timezone))
        self._drain_notices()
        self._send(_complete("SELECT", n))
        took = time.perf_counter_ns() - start
        self._costs.record(plan.stmt.sql, took, took, True)
        self._sync()
        return True

    def close(self) -> None:
        """Release the session (rolling back an open transaction). Idempotent."""
        self.phase = "closed"
        session, self.session = self.session, None
        if session is not None:
            try:
                session.close()
            except Exception:  # noqa: BLE001 - closing must not raise into the transport
                log.exception("error closing session")

    def abandon(self) -> None:
        """The client is gone (or the server stops): cancel, and handle no further messages."""
        self._abandoned = True
        self.cancel()

    def cancel(self) -> None:
        """Interrupt the running statement (thread-safe; called from the server loop)."""
        session = self.session
        if session is not None:
            session.cancel()

    def notifications(self) -> bytes:
        """NotificationResponse messages for the session's pending LISTEN deliveries."""
        if not getattr(self.session, "notifications", None):
            return b""  # the common case, checked before importing anything
        from sqlvec.session.notify import take_notifications

        return b"".join(be.notification_response(pid, ch, payload)
                        for pid, ch, payload in take_notifications(self.session))

    # --- output --------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        self._out.append(data)
        self._out_size += len(data)
        if self._out_size >= FLUSH_AT:
            self._flush()

    def _send_ready(self) -> None:
        """ReadyForQuery, after the NotificationResponses of pending LISTEN deliveries."""
        session = self.session
        if getattr(session, "notifications", None):
            self._out.append(self.notifications())
        self._send(be.READY[session.txn_status])

    def _flush(self) -> None:
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            self._out_size = 0
            self._write(data)

    def _cheap(self, msg: m.FrontendMessage) -> bool:
        """Whether handling `msg` now is known to be quick and unable to block (inline.py)."""
        if self.phase != "ready" or self._copy is not None:
            return False
        if self._skip_until_sync:
            return not isinstance(msg, m.Terminate)
        cls = type(msg)
        if cls is m.Bind:
            stmt = self._statements.get(msg.statement)  # type: ignore[union-attr]
            return stmt is None or (self._costs.is_fast(stmt.sql) and sum(
                map(len, filter(None, msg.params))) <= MAX_INLINE_BIND)  # type: ignore[union-attr]
        if cls is m.Execute:
            portal = self._portals.get(msg.portal)  # type: ignore[union-attr]
            return portal is None or self._costs.is_fast(portal.sql)
        if cls in _ALWAYS_CHEAP:
            return True
        if cls is m.Query:
            return self._costs.is_fast(msg.sql)  # type: ignore[union-attr]
        if cls is m.Parse:
            return self._parse_costs.is_fast(msg.sql)  # type: ignore[union-attr]
        return False

    # --- dispatch ------------------------------------------------------------------------

    def _dispatch(self, msg: m.FrontendMessage) -> Action | None:
        if self.phase == "ready":
            return self._ready(msg)
        if self.phase == "startup":
            return self._startup(msg)
        if self.phase == "auth":
            assert self._auth_step is not None
            if isinstance(msg, m.Terminate):
                self.close()
                return None
            if not isinstance(msg, (m.PasswordMessage, m.SASLInitialResponse, m.SASLResponse)):
                raise _Fatal(ProtocolViolation(
                    f"expected password response, got message type {type(msg).__name__}"))
            self._auth_step(msg)
            return None
        return self._ready(msg)

    def _startup(self, msg: m.FrontendMessage) -> Action | None:
        if isinstance(msg, m.SSLRequest):
            if self.config.tls and not self.tls_active:
                self._send(b"S")
                self.tls_active = True
                return StartTLS()
            self._send(b"N")
            return None
        if isinstance(msg, m.GSSENCRequest):
            self._send(b"N")
            return None
        if isinstance(msg, m.CancelRequest):
            self.phase = "closed"
            return DeliverCancel(msg.process_id, msg.secret_key)
        if not isinstance(msg, m.StartupMessage):
            raise _Fatal(ProtocolViolation("expected startup message"))
        if msg.major != 3:
            raise _Fatal(FeatureNotSupported(
                f"unsupported frontend protocol {msg.major}.{msg.minor}: "
                "server supports 3.0 to 3.0"))
        params = dict(msg.params)
        unsupported = [k for k in params if k.startswith("_pq_.")]
        if msg.minor > 0 or unsupported:
            self._send(be.negotiate_protocol_version(0, unsupported))
        try:
            self.startup_params = normalize_startup_params(
                {k: v for k, v in params.items() if not k.startswith("_pq_.")})
        except SqlError as e:
            raise _Fatal(e) from None
        self.user = params.get("user", "")
        if not self.user:
            raise _Fatal(InvalidAuthorizationSpecification(
                "no PostgreSQL user name specified in startup packet"))
        self.database = params.get("database") or self.user
        self._begin_auth()
        return None

    # --- authentication ------------------------------------------------------------------

    def _begin_auth(self) -> None:
        mode = self.config.auth
        if mode == "trust":
            self._finish_auth()
            return
        self.phase = "auth"
        stored = self.lookup_password(self.user)
        if mode == "password":
            self.decoder.auth_mode = "password"
            self._auth_step = lambda msg: self._check_cleartext(msg, stored)
            self._send(be.auth_cleartext_password())
        elif mode == "md5" and (stored is None or parse_scram_verifier(stored) is None):
            salt = os.urandom(4)
            self.decoder.auth_mode = "password"
            self._auth_step = lambda msg: self._check_md5(msg, stored, salt)
            self._send(be.auth_md5_password(salt))
        else:  # scram-sha-256 (md5 with a SCRAM verifier upgrades, as PostgreSQL does)
            exchange = ScramExchange(parse_scram_verifier(stored or ""), self.user)
            self.decoder.auth_mode = "sasl_initial"
            self._auth_step = lambda msg: self._scram_first(msg, exchange)
            self._send(be.auth_sasl([MECHANISM]))

    def _auth_failed(self) -> None:
        raise _Fatal(InvalidPassword(f'password authentication failed for user "{self.user}"'))

    def _check_cleartext(self, msg: m.FrontendMessage, stored: str | None) -> None:
        assert isinstance(msg, m.PasswordMessage)
        if not verify_password(stored, msg.password, self.user):
            self._auth_failed()
        self._finish_auth()

    def _check_md5(self, msg: m.FrontendMessage, stored: str | None, salt: bytes) -> None:
        assert isinstance(msg, m.PasswordMessage)
        if not verify_md5_response(stored, msg.password, self.user, salt):
            self._auth_failed()
        self._finish_auth()

    def _scram_first(self, msg: m.FrontendMessage, exchange: ScramExchange) -> None:
        if not isinstance(msg, m.SASLInitialResponse) or msg.mechanism != MECHANISM:
            raise _Fatal(ProtocolViolation(
                "client selected an invalid SASL authentication mechanism"))
        self._send(be.auth_sasl_continue(exchange.first(msg.data or b"")))
        self.decoder.auth_mode = "sasl"
        self._auth_step = lambda msg2: self._scram_final(msg2, exchange)

    def _scram_final(self, msg: m.FrontendMessage, exchange: ScramExchange) -> None:
        if not isinstance(msg, m.SASLResponse):
            raise _Fatal(ProtocolViolation("expected SASL response"))
        final = exchange.final(msg.data)
        if final is None:
            self._auth_failed()
        self._send(be.auth_sasl_final(final))
        self._finish_auth()

    def _finish_auth(self) -> None:
        self.decoder.auth_mode = "password"
        self._auth_step = None
        self._send(be.auth_ok())
        try:
            self.session = self.open_session(self.user, self.database, self.startup_params)
        except SqlError as e:
            raise _Fatal(e) from None
        self.phase = "ready"
        reported = default_parameters(self.user, self.startup_params)
        reported.update(self._session_parameters())
        for name, value in reported.items():
            self._send(be.parameter_status(name, value))
        self._reported = reported
        self._send(be.backend_key_data(self.process_id, self.secret_key))
        self._send_ready()

    def _session_parameters(self) -> dict[str, str]:
        getter = getattr(self.session, "parameter_status", None)
        params = dict(getter()) if getter is not None else {}
        if "server_version" in params:  # '15.0' -> '15.0 (sqlvec 0.1.0)', as distributions do
            params["server_version"] = server_version(params["server_version"])
        return params

    def _report_changed_parameters(self) -> None:
        current = self._session_parameters()
        for name, value in current.items():
            if self._reported.get(name) != value:
                self._reported[name] = value
                self._send(be.parameter_status(name, value))

    # --- ready phase ---------------------------------------------------------------------

    def _ready(self, msg: m.FrontendMessage) -> Action | None:
        if self._copy is not None:
            return self._copy_in_message(msg)
        cls = type(msg)
        if cls is m.Sync:
            self._skip_until_sync = False
            self._sync()
            return None
        if cls is m.Terminate:
            self.close()
            return None
        if self._skip_until_sync:
            return None
        handler = _EXTENDED.get(cls)
        if handler is not None:
            try:
                handler(self, msg)
            except SqlError as e:
                self._send_error(e)
                self._skip_until_sync = True
                self._fail_block()
            except Exception as e:  # noqa: BLE001 - a bug must surface as XX000, not kill us
                log.exception("internal error")
                self._send_error(InternalError(str(e) or type(e).__name__))
                self._skip_until_sync = True
                self._fail_block()
            return None
        if cls is m.Query:
            clock = self._clock
            cpu, wall = clock(), time.perf_counter_ns()
            self._simple_query(msg.sql)
            self._costs.record(msg.sql, clock() - cpu, time.perf_counter_ns() - wall,
                               self._inline)
            return None
        if isinstance(msg, m.Invalid):
            self._send_error(msg.error)
            if msg.kind == "Q":
                self._send_ready()
            else:
                self._skip_until_sync = True
            return None
        if isinstance(msg, m.Flush):
            self._flush()
            return None
        if isinstance(msg, (m.CopyData, m.CopyDone, m.CopyFail)):
            return None  # PostgreSQL ignores stray COPY messages outside COPY mode
        if isinstance(msg, (m.PasswordMessage, m.SASLInitialResponse, m.SASLResponse,
                            m.StartupMessage, m.SSLRequest, m.CancelRequest,
                            m.GSSENCRequest)):
            raise _Fatal(ProtocolViolation("unexpected message during a session"))
        if cls is m.FunctionCall:
            self._send_error(FeatureNotSupported("fastpath function calls are not supported"))
        else:
            self._send_error(ProtocolViolation(f"unexpected message {cls.__name__}"))
        self._skip_until_sync = True
        return None

    def _send_error(self, err: SqlError) -> None:
        self._drain_notices()
        self._send(be.error_response(err))

    def _drain_notices(self) -> None:
        getter = getattr(self.session, "notices", None)
        if getter is None:
            return
        for notice in getter():
            self._send(be.notice_response(notice))

    def _fail_block(self) -> None:
        """An error in an extended-protocol message aborts the open transaction block (or
        the implicit one), whichever layer raised it, as in PostgreSQL."""
        fail = getattr(self.session, "fail_block", None)
        if fail is not None:
            fail()

    def _sync(self) -> None:
        sync = getattr(self.session, "sync", None)
        if sync is not None:
            try:
                sync()
            except SqlError as e:
                self._send_error(e)
            portals = self._portals
            if portals:  # portals end with their transaction (session.sync), the unnamed one
                # with the Sync outside a block, as in PostgreSQL
                alive = getattr(self.session, "portals", None)
                if alive is not None:
                    self._portals = {k: v for k, v in portals.items() if k in alive}
        self._send_ready()
        if not self._inline:
            self._flush()

    def _simple_query(self, sql: str) -> None:
        # a simple Query destroys the unnamed statement and portal
        self._statements.pop("", None)
        self._portals.pop("", None)
        if "copy" in sql[:200].lower():
            try:
                cmd = cp.parse_copy(sql)
                if cmd is not None:
                    self._copy_start(cmd)
                    return
            except SqlError as e:
                self._send_error(e)
                self._send_ready()
                return
        results = self.session.execute(sql)
        try:
            for result in results:
                self._send_result(result, None)
                if self._abandoned:  # the client is gone: the statements left do not run
                    close = getattr(results, "close", None)
                    if close is not None:
                        close()  # (a generator: an implicit block rolls back)
                    return
        except SqlError as e:
            self._send_error(e)
        except Exception as e:  # noqa: BLE001
            log.exception("internal error")
            self._send_error(InternalError(str(e) or type(e).__name__))
        self._send_ready()

    def _send_result(self, result: Any, formats: list[int] | None,
                     suspended: bool = False, describe: bool = True,
                     plan: _BindPlan | None = None) -> None:
        """RowDescription (simple query), DataRows and the completion message."""
        self._drain_notices()
        if isinstance(result, Rows):
            cols = result.columns
            fmts = formats if formats is not None else [0] * len(cols)
            if describe:
                self._send(be.row_description(cols, fmts))
            if plan is not None and plan.cols is cols:
                col_types = plan.col_types
            else:
                col_types = [c.type for c in cols]
                if plan is not None:
                    plan.cols, plan.col_types = cols, col_types
            count = 0
            tz = self.session.timezone
            for batch in result.batches:
                count += batch.num_rows
                if batch.num_rows:
                    self._send(data_rows(batch, col_types, fmts, tz))
            self._drain_notices()
            if suspended:
                self._send(be.PORTAL_SUSPENDED)
            else:
                self._send(_complete(result.tag, count))
        elif isinstance(result, Command):
            self._send(be.command_complete(result.tag))
            self._report_changed_parameters()
            if result.tag.startswith(("DEALLOCATE", "DISCARD")):
                self._forget_deallocated()
        elif isinstance(result, Empty):
            self._send(be.EMPTY_QUERY_RESPONSE)
        else:
            raise InternalError(f"unexpected result {type(result).__name__}")

    def _execute(self, msg: m.Execute) -> None:
        portal = self._portals.get(msg.portal)
        if portal is None:
            raise InvalidCursorName(f'portal "{msg.portal}" does not exist')
        if self._inline:  # the loop measures wall time (see process): one clock read each side
            start = time.perf_counter_ns()
            result, suspended = self.session.execute_portal(portal.handle, msg.max_rows)
            self._send_result(result, portal.formats, suspended, False, portal.plan)
            took = time.perf_counter_ns() - start
            self._costs.record(portal.sql, took, took, True)
            return
        clock = self._clock
        cpu, wall = clock(), time.perf_counter_ns()
        result, suspended = self.session.execute_portal(portal.handle, msg.max_rows)
        self._send_result(result, portal.formats, suspended, False, portal.plan)
        self._costs.record(portal.sql, clock() - cpu, time.perf_counter_ns() - wall, False)

    def _parse(self, msg: m.Parse) -> None:
        if msg.name and msg.name in self._statements:
            raise DuplicatePreparedStatement(
                f'prepared statement "{msg.name}" already exists')
        clock = self._clock
        cpu, wall = clock(), time.perf_counter_ns()
        stmt = self.session.prepare(msg.sql, list(msg.param_oids), msg.name)
        self._statements[msg.name] = stmt
        self._send(be.PARSE_COMPLETE)
        self._parse_costs.record(msg.sql, clock() - cpu, time.perf_counter_ns() - wall,
                                 self._inline)

    def _adopt(self, name: str) -> Any:
        """A statement the session has by SQL PREPARE: Bind/Describe use it, as PostgreSQL
        (SQL and protocol prepared statements share one namespace)."""
        stmt = getattr(self.session, "prepared", {}).get(name) if name else None
        if stmt is not None:
            self._statements[name] = stmt
        return stmt

    def _forget_deallocated(self) -> None:
        """After SQL DEALLOCATE / DISCARD ALL: drop the statements the session no longer has
        (a Bind to them is 26000, a Parse may reuse their names)."""
        prepared = getattr(self.session, "prepared", None)
        if prepared is not None:
            self._statements = {k: v for k, v in self._statements.items() if prepared.get(k) is v}

    def _close(self, msg: m.Close) -> None:
        s = self.session
        if msg.kind == "S":
            self._statements.pop(msg.name, None)
            s.close_statement(msg.name)  # (SQL PREPAREd ones too: one namespace)
        elif self._portals.pop(msg.name, None) is not None:
            s.close_portal(msg.name)
        self._send(be.CLOSE_COMPLETE)

    def _known_bind(self, msg: m.Bind) -> _BindPlan | None:
        """The plan _bind_slow made for a Bind like this one (same statement, formats and
        parameter count: its checks pass), or None."""
        stmt = self._statements.get(msg.statement)
        plan = self._bind_plans.get((msg.statement, msg.param_formats, msg.result_formats))
        if plan is None or plan.stmt is not stmt or stmt is None or len(msg.params) != len(plan.decoders):
            return None
        return plan

    def _bind(self, msg: m.Bind) -> None:
        plan = self._known_bind(msg)
        if plan is None or (msg.portal and msg.portal in self._portals):
            plan = self._bind_slow(msg, self._statements.get(msg.statement))
        stmt = plan.stmt  # (one prepared by SQL PREPARE: adopted there)
        handle = self.session.bind(stmt, _values(plan, msg), plan.formats, msg.portal)
        self._portals[msg.portal] = _Portal(handle, stmt.columns, plan.formats, stmt.sql, plan)
        self._send(be.BIND_COMPLETE)

    def _bind_slow(self, msg: m.Bind, stmt: Any) -> _BindPlan:
        """Check a Bind as PostgreSQL does and make the plan its statement's next Binds with
        the same format codes reuse (the checks that depend only on those are then known)."""
        if stmt is None:
            stmt = self._adopt(msg.statement)
        if stmt is None:
            label = f'"{msg.statement}"' if msg.statement else "unnamed prepared statement"
            raise InvalidSqlStatementName(
                f"prepared statement {label} does not exist" if msg.statement
                else f"{label} does not exist")
        if msg.portal and msg.portal in self._portals:
            raise DuplicateCursor(f'cursor "{msg.portal}" already exists')
        ptypes = list(stmt.param_types)
        if len(msg.params) != len(ptypes):
            raise ProtocolViolation(
                f"bind message supplies {len(msg.params)} parameters, but prepared "
                f'statement "{msg.statement}" requires {len(ptypes)}')
        nf = len(msg.param_formats)
        if nf not in (0, 1, len(msg.params)):
            raise ProtocolViolation(
                f"bind message has {nf} parameter formats but {len(msg.params)} parameters")
        decoders = []
        for i, (raw, t) in enumerate(zip(msg.params, ptypes)):
            fmt = 0 if nf == 0 else msg.param_formats[0 if nf == 1 else i]
            decode_param(raw, t, fmt, i)  # errors in PostgreSQL's order: values first
            decoders.append(param_decoder(t, fmt, i))
        columns = stmt.columns
        plan = _BindPlan(stmt, decoders,
                         result_formats(msg.result_formats, len(columns) if columns else 0))
        plans = self._bind_plans
        if len(plans) >= 256:
            plans.clear()
        plans[(msg.statement, msg.param_formats, msg.result_formats)] = plan
        return plan

    def _describe(self, msg: m.Describe) -> None:
        if msg.kind == "S":
            stmt = self._statements.get(msg.name) or self._adopt(msg.name)
            if stmt is None:
                raise InvalidSqlStatementName(f'prepared statement "{msg.name}" does not exist')
            self._send(be.parameter_description([t.oid for t in stmt.param_types]))
            cols = stmt.columns
            self._send(self._row_description(cols, None) if cols else be.NO_DATA)
            return
        portal = self._portals.get(msg.name)
        if portal is None and msg.name in getattr(self.session, "portals", {}):
            cols = self.session.describe_portal(msg.name)  # a SQL cursor (DECLARE, session/cursors.py)
            self._send(be.row_description(cols, [0] * len(cols)) if cols else be.NO_DATA)
            return
        if portal is None:
            raise InvalidCursorName(f'portal "{msg.name}" does not exist')
        describe = getattr(self.session, "describe_portal", None)
        cols = describe(portal.handle) if describe is not None else portal.columns
        if cols and len(portal.formats) != len(cols):
            portal.formats = result_formats(tuple(portal.formats[:1]), len(cols))
        self._send(self._row_description(cols, portal.formats) if cols else be.NO_DATA)

    def _row_description(self, cols: list, formats: list[int] | None) -> bytes:
        """RowDescription, built once per (column list, formats): a prepared statement's
        Describe on every execution (libpq does that) costs a dict lookup."""
        key = (id(cols), tuple(formats) if formats is not None else None)
        hit = self._descriptions.get(key)
        if hit is not None and hit[0] is cols:
            return hit[1]
        data = be.row_description(cols, formats if formats is not None else [0] * len(cols))
        if len(self._descriptions) >= 256:
            self._descriptions.clear()
        self._descriptions[key] = (cols, data)
        return data

    # --- COPY ----------------------------------------------------------------------------

    def _copy_start(self, cmd: cp.CopyCommand) -> None:
        """COPY TO STDOUT streams now; COPY FROM STDIN enters copy-in mode."""
        s = self.session
        binary = cmd.format == "binary"
        if cmd.direction == "out":
            results = s.execute(cp.out_query(cmd))
            try:
                rows = next(results)
                if not isinstance(rows, Rows):
                    raise FeatureNotSupported("COPY query must return rows")
                self._send(be.copy_response(b"H", binary, len(rows.columns)))
                counter = [0]
                for messages in cp.copy_out_messages(rows, cmd, counter, s.timezone):
                    self._send(messages)
                for _ in results:
                    pass
                self._send(be.COPY_DONE)
                self._send(be.command_complete(f"COPY {counter[0]}"))
            except SqlError as e:
                self._send_error(e)
            self._send_ready()
            return
        cols = ", ".join(cmd.columns) if cmd.columns else "*"
        stmt = s.prepare(f"SELECT {cols} FROM {cmd.target}", [], "")
        s.close_statement("")
        columns = cp.check_columns(stmt.columns)
        if cmd.direction == "file":  # COPY t FROM 'server file': no data from the client
            from sqlvec.wire.copy_file import copy_from_file

            try:
                tag = f"COPY {copy_from_file(s, cmd, columns)}"
                self._drain_notices()
                self._send(be.command_complete(tag))
            except SqlError as e:
                self._send_error(e)
            self._send_ready()
            return
        self._copy = cp.CopyIn(s, cmd, columns)
        self._send(be.copy_response(b"G", binary, len(columns)))

    def _copy_in_message(self, msg: m.FrontendMessage) -> Action | None:
        copy = self._copy
        assert copy is not None
        if isinstance(msg, m.CopyData):
            copy.feed(msg.data)
            return None
        if isinstance(msg, (m.Flush, m.Sync)):
            return None
        self._copy = None
        if isinstance(msg, m.Terminate):
            self.close()
            return None
        if isinstance(msg, m.CopyFail):
            copy.abort()
            self._send_error(QueryCanceled(f"COPY from stdin failed: {msg.message}"))
        elif isinstance(msg, m.CopyDone):
            try:
                self._send(be.command_complete(f"COPY {copy.finish()}"))
            except SqlError as e:
                self._send_error(e)
        else:
            copy.abort()
            raise _Fatal(ProtocolViolation(
                f"unexpected message type {type(msg).__name__} during COPY from stdin"))
        self._send_ready()
        return None


_EXTENDED: dict[type, Callable[[ServerConnection, Any], None]] = {
    m.Bind: ServerConnection._bind, m.Execute: ServerConnection._execute,
    m.Parse: ServerConnection._parse, m.Describe: ServerConnection._describe,
    m.Close: ServerConnection._close,
}
