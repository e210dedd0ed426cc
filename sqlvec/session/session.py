"""One client's session: statements, transactions, prepared statements, portals, settings."""

from __future__ import annotations

import contextlib
import functools
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp

from sqlvec.catalog.system.regcast import reg_output  # reg* columns print names
from sqlvec.core import types as T
from sqlvec.core.errors import (
    ActiveSqlTransaction,
    DuplicatePreparedStatement,
    FeatureNotSupported,
    InFailedSqlTransaction,
    InvalidCursorName,
    InvalidSqlStatementName,
    QueryCanceled,
    SqlError,
    SyntaxError_,
)
from sqlvec.core.results import Column, Empty, Notice, Result, Rows
from sqlvec.core.types import SqlType
from sqlvec.exec.ann_fast import RULE as _ANN_RULE
from sqlvec.exec.ann_fast import compiled as _ann_compiled
from sqlvec.exec.budget import collect_result
from sqlvec.exec.operators import ExecContext
from sqlvec.exec.stream import ResultStream, close_batches
from sqlvec.session import memory_setting as MS
from sqlvec.session import txn_modes as TM
from sqlvec.session import utility_exec as U
from sqlvec.session.database import Database
from sqlvec.session.settings import Settings
from sqlvec.sql import utility as UT
from sqlvec.sql.cursor_stmt import CloseStmt, DeclareStmt, FetchStmt
from sqlvec.sql.maintenance_stmt import MaintenanceStmt
from sqlvec.sql.parse import parse_statement, split_statements


@dataclass
class PreparedStatement:
    """A parsed statement with its parameter types and result columns (plan cached)."""

    name: str
    sql: str
    ast: Any
    param_types: list[SqlType]
    columns: list[Column] | None
    plan_cache: dict = field(default_factory=dict)


@dataclass
class Portal:
    name: str
    stmt: PreparedStatement
    params: list[Any]
    result_formats: list[int]
    rows: Rows | None = None
    pending: list[pa.RecordBatch] = field(default_factory=list)  # read ahead, not yet sent
    source: Iterator[pa.RecordBatch] | None = None  # the rest, computed as it is fetched
    started: bool = False
    done: bool = False
    sent: int = 0
    columns: list[Column] | None = None


class Session:
    """Runs statements for one client as docs/CONTRACTS.md describes."""

    def __init__(self, db: Database, user: str = "sqlvec", database: str = "sqlvec",
                 params: dict[str, str] | None = None) -> None:
        self.db = db
        self.user = user
        self.database = database
        self.settings = Settings(params)
        self.settings.values["session_authorization"] = user
        self.settings.defaults["session_authorization"] = user  # (RESET ALL keeps it)
        self.settings.dynamic[MS.NAME] = functools.partial(MS.show, db)  # database-wide
        self.txn: Any = None  # the open storage transaction of an explicit block
        self.txn_started_us = 0  # when self.txn began (now() within the block), UTC microseconds
        self.failed = False
        self.txn_queried = False  # a query ran in this block (its isolation level is fixed now)
        self.implicit_block = False  # self.txn is a multi-statement Query's implicit block
        TM.reset(self)  # the transaction modes from default_transaction_* (startup options)
        self.savepoints: list[tuple[str, Any]] = []
        self.prepared: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}
        self._notices: list[Notice] = []
        self.cancel_event = threading.Event()
        self.cancel_reason: str | None = None
        self.xact_advisory = False  # holds a transaction-level advisory lock (session/advisory.py)
        self.closed = False
        self.seq_values: dict[int, int] = {}  # currval(): last nextval per sequence OID
        self.current_query = ""  # pg_stat_activity.query
        from sqlvec.session.activity import register

        register(self)
        self.did_ddl = False  # this transaction changed the catalog
        self._stream_timer: threading.Timer | None = None  # statement_timeout of a streamed result

    # -- status -------------------------------------------------------------------
    def parameter_status(self) -> dict[str, str]:
        return self.settings.reported()

    @property
    def timezone(self) -> str:
        """The TimeZone setting: timestamptz values print in it."""
        return self.settings.values["timezone"]

    @property
    def txn_status(self) -> str:
        if self.txn is None:
            return "I"
        return "E" if self.failed else "T"

    def notices(self) -> list[Notice]:
        out, self._notices = self._notices, []
        return out

    def notice(self, message: str, severity: str = "NOTICE", code: str = "00000") -> None:
        """Queue a NoticeResponse unless client_min_messages is above its level (INFO always goes)."""
        levels = _MESSAGE_LEVELS
        if severity == "INFO" or levels.get(severity.lower(), 6) >= levels.get(
                self.settings.values["client_min_messages"], 6):
            self._notices.append(Notice(message, severity, code))

    def cancel(self) -> None:
        """Ask the running statement to stop (thread-safe); it raises QueryCanceled (57014)."""
        self.cancel_reason = "user request"
        self.cancel_event.set()

    # -- simple query -------------------------------------------------------------
    def execute(self, sql: str) -> Iterator[Result]:
        """Run every statement in sql; one Result each; raise at the first failure.

        A cancel that arrives while the request runs stops it, whichever statement it finds
        running or starting (one between two statements cancels the rest, as in PostgreSQL);
        one from before the request, when the session was idle, is dropped here."""
        self.cancel_event.clear()
        self.current_query = sql
        try:
            stmts = split_statements(sql)
        except SqlError:
            self._fail_block()
            raise
        if not stmts:
            yield Empty()
            return
        # several statements in one Query run as one implicit transaction, as in PostgreSQL
        implicit = len(stmts) > 1 and self.txn is None
        if self.implicit_block:  # the extended protocol's, left open without a Sync: this Query ends it
            implicit = True
        elif implicit:
            self.txn = self.db.store.begin()
            self.txn_started_us = time.time_ns() // 1000
            self.settings.begin()  # SETs of a failed string are undone with it
            self.implicit_block = True
        finished = False
        try:
            for i, (text, offset) in enumerate(stmts):
                parsed = False
                try:
                    if i and self.cancel_event.is_set():  # came after the last statement's check
                        self.cancel_event.clear()
                        raise QueryCanceled("canceling statement due to user request")
                    try:
                        node = _parse_cached(text)
                    except SqlError as e:
                        if e.position is not None:
                            e.position += offset
                        raise
                    parsed = True
                    result = reg_output(self, self.run(node, [], text), [])
                    if implicit and not self.implicit_block:  # BEGIN took it over, COMMIT/ROLLBACK ended it
                        implicit = False
                    if implicit and _stream_of(result) is not None:  # read before the block commits
                        result.batches = iter(list(result.batches))
                except SqlError as e:
                    if parsed and e.position is not None and offset:
                        e.position += offset  # binder positions are relative to the statement
                    if implicit:
                        self._abort_implicit()
                        implicit = False
                    else:
                        self._fail_block()
                    raise
                yield result
            finished = True
        finally:
            if implicit:
                if finished and not self.failed:
                    txn, self.txn = self.txn, None
                    self.implicit_block = False
                    sync = self.settings.values.get("synchronous_commit", "on") != "off"
                    try:
                        txn.commit(sync=sync)
                    finally:
                        self._ddl_settled()
                        self.settings.end(True)
                        TM.reset(self)  # SET TRANSACTION in the string lasted for it only
                else:
                    self._abort_implicit()

    def _abort_implicit(self) -> None:
        txn, self.txn = self.txn, None
        self.implicit_block = False
        self.failed = False
        self.savepoints = []
        self.settings.end(False)
        TM.reset(self)
        if txn is not None:
            txn.rollback()
        self._ddl_settled()

    def fail_block(self) -> None:
        """An error outside the session's own statements (the wire's Bind checks, say) aborts
        the open block as any error does; outside a block nothing happens."""
        self._fail_block()

    def _fail_block(self) -> None:
        if self.txn is not None:
            self.failed = True

    def run(self, node: Any, params: list[Any], text: str = "", stmt: PreparedStatement | None = None) -> Result:
        """Run one parsed statement with parameter values."""
        if self._stream_timer is not None:
            self._stop_stream_timer()  # a streamed statement's timeout ends when the next one starts
        if self.failed and not (isinstance(node, UT.TransactionStmt) and node.kind in _BLOCK_EXITS):
            raise InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        if stmt is not None and "generic" in stmt.plan_cache:
            if self.txn is None:
                res = self._run_generic(stmt.plan_cache["generic"], params)
                if res is not None:
                    return res
            # a query whose plan is cached: none of the statements handled below
        elif isinstance(node, UT.TransactionStmt):
            from sqlvec.session.blocks import run_transaction

            res = run_transaction(self, node)
            if node.kind in ("commit", "rollback", "prepare"):  # NOTIFYs of the block: sent or dropped
                from sqlvec.session.notify import end_of_block

                end_of_block(self, res.tag == "COMMIT")
            return res
        elif isinstance(node, UT.NoopStmt) and node.tag in ("LISTEN", "UNLISTEN", "NOTIFY"):
            from sqlvec.session.notify import run_listen_stmt

            return run_listen_stmt(self, text) or U.run_session_utility(self, node)
        elif isinstance(node, MaintenanceStmt):  # VACUUM / CLUSTER / CHECKPOINT (session/maintenance.py)
            from sqlvec.session.maintenance import run_maintenance

            return run_maintenance(self, node)
        elif isinstance(node, (DeclareStmt, FetchStmt, CloseStmt)):
            from sqlvec.session.cursors import run_cursor_stmt

            return run_cursor_stmt(self, node)
        elif isinstance(node, (UT.SetStmt, UT.ResetStmt, UT.ShowStmt, UT.PrepareStmt, UT.ExecuteStmt,
                               UT.DeallocateStmt, UT.DiscardStmt, UT.NoopStmt, UT.SetTransactionStmt)):
            return U.run_session_utility(self, node)
        if self.settings.values["transaction_read_only"] == "on":
            TM.check_writable(self, node)  # 25006 for a statement that writes
        if self.txn is not None:
            self.txn_queried = True
        timeout_ms = _int_setting(self.settings.values.get("statement_timeout", "0"))
        timer = None
        self.cancel_reason = None
        if timeout_ms > 0:
            def expire() -> None:
                self.cancel_reason = "statement timeout"
                self.cancel_event.set()

            timer = threading.Timer(timeout_ms / 1000.0, expire)
            timer.daemon = True
            timer.start()
        try:
            result = self._in_txn(lambda txn: U.run_in_txn(self, txn, node, params, stmt))
            stream = _stream_of(result)
            if timer is not None and stream is not None:  # the timeout covers computing the rows
                self._stream_timer, timer = timer, None
                stream.on_end = _then(stream.on_end, functools.partial(self._stop_stream_timer, self._stream_timer))
            return result
        finally:
            if timer is not None:
                timer.cancel()
                timer.join()  # (one that fired as the statement ended has set its reason)
                if self.cancel_reason == "statement timeout":
                    self.cancel_event.clear()  # too late for this statement, not for the next
            self.cancel_reason = None

    def _generic_current(self, hit: tuple, disabled: str) -> bool:
        """Whether _run_generic may run this cached plan (rows at once, no statement_timeout,
        planned for this catalog, search_path, user and disabled rules)."""
        key, _plan, shape = hit
        values = self.settings.values
        return shape is not None and not shape[1] and values.get("statement_timeout", "0") == "0" \
            and key == (self.db.ddl_gen, values.get("search_path"), self.user, disabled)

    def ann_plan(self, stmt: PreparedStatement) -> Any:
        """The compiled ANN top-k (exec/ann_fast.AnnFast) an Execute of `stmt` would run
        now, outside a transaction block, or None. Its `ahead(session, params)` says what
        it searches (for ann_fast.search_together)."""
        hit = stmt.plan_cache.get("generic")
        if hit is None or self.txn is not None or self.failed or stmt.ast is None:
            return None
        disabled = self.settings.values.get("sqlvec.disabled_rules", "")
        if _ANN_RULE in disabled or not self._generic_current(hit, disabled):
            return None
        return _ann_compiled(hit[1])

    def answer(self, fast: Any, stmt: PreparedStatement, params: list[Any]) -> tuple | None:
        """A whole Bind (unnamed portal), Execute (every row) and Sync of `stmt` outside a
        transaction block, answered by its compiled ANN top-k `fast` (ann_plan's): (result
        columns, the batch or its numpy columns: row_fetch.Columns), the session left as
        those three messages leave it; None, and nothing changed, where they must run one
        by one (a reg* column, a memory budget, a stream or a block, a parameter the
        compiled search does not take)."""
        hit = stmt.plan_cache.get("generic")
        if hit is None or hit[2][2] or self._stream_timer is not None or self.implicit_block \
                or len(params) != len(stmt.param_types) or self.cancel_event.is_set():
            return None
        budget = getattr(self.db.store, "memory", None)
        if budget is not None and budget.limit:
            return None
        self.cancel_reason = None
        b = fast.run(self, params, columns=True)
        if b is None:
            return None
        _close_portal(self.portals.pop("", None))  # (the Bind replaces it, the Sync ends it)
        self.current_query = stmt.sql
        if self.did_ddl:
            self._ddl_settled()
        return hit[2][0], b

    def _run_generic(self, hit: tuple, params: list[Any]) -> Result | None:
        """An autocommit execution of a cached query plan whose rows are computed at once
        (a prepared point lookup, `SELECT $1 + 1`): only what depends on the parameters is
        done, in a read-only transaction of its own (no WAL, no lock unless it wrote).
        None when the general path must run it (stale plan, statement_timeout, streamed)."""
        key, plan, shape = hit
        values = self.settings.values
        disabled = values.get("sqlvec.disabled_rules", "")
        if not self._generic_current(hit, disabled):
            return None
        db = self.db
        self.cancel_reason = None
        fast = _ann_compiled(plan) if _ANN_RULE not in disabled else None
        if fast is not None and not self.cancel_event.is_set():  # ORDER BY emb <-> $1 LIMIT k
            b = fast.run(self, params)  # (exec/ann_fast.py: no transaction, no operators)
            if b is not None:
                if self.did_ddl:
                    self._ddl_settled()
                budget = getattr(db.store, "memory", None)
                if budget is not None and budget.limit:  # 53200 over sqlvec.memory_limit
                    from sqlvec.exec.budget import _Held

                    budget.reserve(b.nbytes, "query result")
                    return Rows(list(shape[0]), _Held([b], budget, b.nbytes), "SELECT")
                return Rows(list(shape[0]), iter((b,)), "SELECT")
        txn = db.store.begin()
        try:
            ctx = ExecContext(txn, db.regs, params, self.cancel_event, self)
            if disabled:
                ctx.decorrelate = "decorrelate_subqueries" not in disabled
            budget = getattr(db.store, "memory", None)
            if budget is not None and budget.limit:
                _, batches = collect_result(ctx, ctx.executor.run(plan))  # 53200 over sqlvec.memory_limit
            else:  # (collect_result without a budget to charge)
                batches = iter([b for b in ctx.executor.run(plan) if b.num_rows])
            ctx.evaluator = ctx.executor = None  # (both point back at ctx: no cycle left to the GC)
            txn.commit(sync=values.get("synchronous_commit", "on") != "off")
        except BaseException:
            txn.rollback()
            self._ddl_settled()
            raise
        finally:
            self.cancel_reason = None
            self._end_xact_locks()
        if self.did_ddl:
            self._ddl_settled()
        return Rows(list(shape[0]), batches, "SELECT")

    def _stop_stream_timer(self, timer: threading.Timer | None = None, *_: Any) -> None:
        """Cancel the statement_timeout timer a streamed result kept running (that one: `timer`)."""
        if timer is None or timer is self._stream_timer:
            timer, self._stream_timer = self._stream_timer, None
        if timer is not None:
            timer.cancel()

    def _in_txn(self, fn: Any) -> Result:
        """Run fn(txn): autocommit in its own transaction, or under a savepoint in a block."""
        if self.txn is None:
            txn = self.db.store.begin()
            try:
                result = fn(txn)
            except BaseException:
                txn.rollback()
                self._ddl_settled()
                self._end_xact_locks()
                raise
            stream = _stream_of(result)
            if stream is not None:  # the snapshot lives until the client has read the rows
                stream.on_end = functools.partial(self._end_autocommit_stream, txn)
                return result
            sync = self.settings.values.get("synchronous_commit", "on") != "off"
            try:
                txn.commit(sync=sync)
            finally:
                self._ddl_settled()
                self._end_xact_locks()
            return result
        self._statement_snapshot()
        sp = self.txn.savepoint() if not self.implicit_block else None  # (an error ends that one)
        try:
            result = fn(self.txn)
        except BaseException:
            if sp is not None:
                self.txn.rollback_to(sp)
            self.failed = True
            raise
        stream = _stream_of(result)
        if stream is not None:  # a read-only query: an error while streaming fails the block
            stream.on_end = functools.partial(self._end_block_stream, self.txn)
        return result

    def _end_autocommit_stream(self, txn: Any, err: BaseException | None) -> None:
        """A streamed autocommit query was read to the end, closed, or failed midway."""
        try:
            if err is not None:
                txn.rollback()
            else:
                txn.commit(sync=self.settings.values.get("synchronous_commit", "on") != "off")
        finally:
            self._ddl_settled()
            self._end_xact_locks()

    def _end_block_stream(self, txn: Any, err: BaseException | None) -> None:
        """A streamed query of a transaction block failed midway: the block is aborted (25P02)."""
        if err is not None and self.txn is txn:
            self.failed = True

    def _ddl_settled(self) -> None:
        """DDL became visible (or was undone): plans cached meanwhile may be stale."""
        if self.did_ddl:
            self.did_ddl = False
            self.db.ddl_gen += 1

    def _end_block(self, committed: bool) -> None:
        self.txn = None
        self.failed = False
        self.savepoints = []
        self.settings.end(committed)  # SETs kept by COMMIT (not SET LOCAL), undone by ROLLBACK
        TM.reset(self)
        # portals do not survive the end of their transaction
        from sqlvec.session.cursors import held_after_commit  # WITH HOLD cursors stay

        kept = held_after_commit(self.portals)
        for name, p in self.portals.items():
            if name not in kept:
                _close_portal(p)
        self.portals = kept

    def describe_view(self, txn: Any, sql: str) -> list[Column]:
        """Output columns of a view's query (for pg_attribute / \\d view, catalog/system)."""
        return U.describe(self, txn, parse_statement(sql, 0), [])[1] or []

    # -- extended protocol ----------------------------------------------------------
    def prepare_key(self) -> tuple:
        """What a statement's parameter types, columns and plan depend on (as run_in_txn's plan key)."""
        values = self.settings.values
        return (self.db.ddl_gen, values.get("search_path"), self.user,
                values.get("sqlvec.disabled_rules", ""))

    def prepare(self, sql: str, param_oids: list[int] | None = None, name: str = "") -> PreparedStatement:
        if name and name in self.prepared:
            raise DuplicatePreparedStatement(f'prepared statement "{name}" already exists')
        if self.failed and not _ends_block(sql):  # Parse of ROLLBACK / COMMIT is allowed (PostgreSQL)
            raise InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        stmts = split_statements(sql)
        if len(stmts) > 1:
            raise SyntaxError_("cannot insert multiple commands into a prepared statement")
        types: list[SqlType | None] = []
        for oid in param_oids or []:
            t = self.db.regs.types.by_oid(oid) if oid else None
            types.append(t)
        if not stmts:
            ps = PreparedStatement(name, sql, None, [], None)
        else:
            text, off = stmts[0]
            node = parse_statement(text, off)
            param_types, columns = self._in_describe(lambda txn: U.describe(self, txn, node, types))
            ps = PreparedStatement(name, sql, node, param_types, columns)
        self.prepared[name] = ps
        return ps

    def _in_describe(self, fn: Any) -> Any:
        txn = self.txn if self.txn is not None else self.db.store.begin()
        sp = txn.savepoint() if self.txn is not None else None
        try:
            return fn(txn)
        except SqlError:
            if self.txn is not None:
                self.failed = True
            raise
        finally:
            if self.txn is None:
                txn.rollback()
            elif sp is not None:
                self.txn.rollback_to(sp)

    def bind(self, stmt: PreparedStatement | str, params: list[Any], result_formats: list[int] | None = None,
             name: str = "") -> Portal:
        if isinstance(stmt, str):
            if stmt not in self.prepared:
                raise InvalidSqlStatementName(f'prepared statement "{stmt}" does not exist')
            stmt = self.prepared[stmt]
        if self.failed and not _ends_block(stmt.sql):
            raise InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        if len(params) != len(stmt.param_types):
            from sqlvec.core.errors import ProtocolViolation

            raise ProtocolViolation(
                f"bind message supplies {len(params)} parameters, but prepared statement "
                f"\"{stmt.name}\" requires {len(stmt.param_types)}"
            )
        p = Portal(name, stmt, list(params), list(result_formats or []))
        p.columns = stmt.columns
        _close_portal(self.portals.get(name))  # a re-bound unnamed portal: its stream ends now
        self.portals[name] = p
        return p

    def execute_prepared(self, stmt: PreparedStatement, params: list[Any]) -> Result:
        """Bind and run a prepared statement in one step, every row at once: what Bind plus
        Execute(unnamed portal, no row limit) give, without keeping a Portal (embedded dbapi).
        The unnamed portal is closed, as a Bind would replace it; call sync() afterwards."""
        if self.failed and not _ends_block(stmt.sql):
            raise InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        if len(params) != len(stmt.param_types):
            from sqlvec.core.errors import ProtocolViolation

            raise ProtocolViolation(
                f"bind message supplies {len(params)} parameters, but prepared statement "
                f"\"{stmt.name}\" requires {len(stmt.param_types)}"
            )
        if self.portals:
            _close_portal(self.portals.pop("", None))
        self.current_query = stmt.sql
        if stmt.ast is None:
            return Empty()
        try:
            return self._run_stmt(stmt, params, [])
        except SqlError:
            self._fail_block()
            raise

    def _run_stmt(self, stmt: PreparedStatement, params: list[Any], formats: list[int]) -> Result:
        """Run a prepared statement (Execute of a fresh portal, the embedded dbapi); reg*
        columns in text format printed as names."""
        if self.cancel_event.is_set():
            self.cancel_event.clear()  # a request starts: a cancel from before it is dropped
        hit = stmt.plan_cache.get("generic")
        if hit is not None and self.txn is None:  # (outside a block: never failed)
            if self._stream_timer is not None:
                self._stop_stream_timer()
            res = self._run_generic(hit, params)
            if res is not None:
                return reg_output(self, res, formats) if hit[2][2] else res
        if self.txn is None and type(stmt.ast) in _WRITES:
            # a write opens the extended protocol's implicit block: what runs until Sync
            # commits together, or not at all (PostgreSQL; asyncpg/psycopg executemany, pipelines)
            from sqlvec.session.blocks import open_implicit

            open_implicit(self)
        return reg_output(self, self.run(stmt.ast, params, stmt.sql, stmt), formats)

    def describe_portal(self, portal: Portal | str) -> list[Column] | None:
        if isinstance(portal, str):
            portal = self._portal(portal)
        return portal.columns

    def _portal(self, name: str) -> Portal:
        if name not in self.portals:
            raise InvalidCursorName(f'portal "{name}" does not exist')
        return self.portals[name]

    def execute_portal(self, portal: Portal | str, max_rows: int = 0) -> tuple[Result, bool]:
        if isinstance(portal, str):
            portal = self._portal(portal)
        if not portal.started:
            portal.started = True
            self.current_query = portal.stmt.sql
            if portal.stmt.ast is None:
                portal.done = True
                return Empty(), False
            try:
                res = self._run_stmt(portal.stmt, portal.params, portal.result_formats)
            except SqlError:
                self._fail_block()
                raise
            if not isinstance(res, Rows):
                portal.done = True
                return res, False
            portal.rows = res
            portal.source = res.batches
        assert portal.rows is not None or portal.done
        if portal.done:
            return Rows(portal.columns or [], iter(()), portal.rows.tag if portal.rows else "SELECT"), False
        rows = portal.rows
        if max_rows <= 0:
            out, portal.pending = portal.pending, []
            source, portal.source = portal.source, None
            portal.done = True
            rest = itertools.chain(out, source) if source is not None else iter(out)
            return Rows(rows.columns, rest, rows.tag), False
        out: list[pa.RecordBatch] = []
        need = max_rows
        while need > 0 and self._read_ahead(portal):
            b = portal.pending[0]
            if b.num_rows <= need:
                out.append(b)
                need -= b.num_rows
                portal.pending.pop(0)
            else:
                out.append(b.slice(0, need))
                portal.pending[0] = b.slice(need)
                need = 0
        more = self._read_ahead(portal)  # PortalSuspended only when rows remain
        if not more:
            portal.done = True
        return Rows(rows.columns, iter(out), rows.tag), more

    @staticmethod
    def _read_ahead(portal: Portal) -> bool:
        """Make sure portal.pending holds a batch if any rows remain; whether it does."""
        while not portal.pending and portal.source is not None:
            try:
                b = next(portal.source)
            except StopIteration:
                portal.source = None
                break
            except BaseException:
                portal.source, portal.done = None, True
                raise
            if b.num_rows:
                portal.pending.append(b)
        return bool(portal.pending)

    def close_statement(self, name: str) -> None:
        self.prepared.pop(name, None)

    def close_portal(self, name: str) -> None:
        _close_portal(self.portals.pop(name, None))

    def sync(self) -> None:
        """End of an extended-protocol cycle: the implicit block commits (or rolls back after
        an error); the unnamed portal is dropped outside a block."""
        if self._stream_timer is not None:
            self._stop_stream_timer()  # as in PostgreSQL, statement_timeout stops at Sync
        if self.implicit_block:
            from sqlvec.session.blocks import end_implicit

            end_implicit(self)
        if self.txn is None and self.portals:
            _close_portal(self.portals.pop("", None))
            if self.portals:  # named portals end with the transaction too (WITH HOLD cursors stay)
                from sqlvec.session.cursors import held_after_commit

                kept = held_after_commit(self.portals)
                for name, p in self.portals.items():
                    if name not in kept:
                        _close_portal(p)
                self.portals = kept

    # -- waits: advisory locks, pg_sleep (functions/sysfns.py) ------------------------
    def advisory_lock(self, args: tuple, shared: bool, xact: bool, wait: bool) -> bool:
        """Take the advisory lock on key `args` (bigint, or int, int): whether it was taken
        (without `wait`, False when another session holds it). A wait ends by a cancel,
        statement_timeout (57014), lock_timeout (55P03) or a deadlock (40P01)."""
        from sqlvec.session.advisory import key_of

        took = self.db.advisory.acquire(
            self, key_of(args), shared, "xact" if xact else "session", wait, self._interrupted,
            _int_setting(self.settings.values.get("lock_timeout", "0")), self._lent)
        if took and xact:
            self.xact_advisory = True
        return took

    def advisory_unlock(self, args: tuple | None, shared: bool = False) -> bool:
        """Release one session-level hold of key `args` (None: all of them): whether there
        was one; a WARNING when not, as PostgreSQL gives it."""
        from sqlvec.session.advisory import key_of

        if args is None:
            self.db.advisory.release_all(self, "session")
            return True
        if self.db.advisory.release(self, key_of(args), shared):
            return True
        self.notice(f"you don't own a lock of type {'ShareLock' if shared else 'ExclusiveLock'}",
                    "WARNING", "01000")
        return False

    def _lent(self) -> contextlib.AbstractContextManager:
        """The context of a wait: the server's worker thread is lent meanwhile (server/app)."""
        return (getattr(self, "lend_worker", None) or contextlib.nullcontext)()

    def _statement_snapshot(self) -> None:
        """A statement of a READ COMMITTED block starts: it sees what other sessions
        committed before it, as PostgreSQL's READ COMMITTED takes a snapshot per statement
        (the block's own row writes move onto it: Transaction.refresh), unless the block
        holds a savepoint or cursor over the old one or wrote what cannot move (DDL, a
        table created or altered here): it then keeps it, as REPEATABLE READ would."""
        if self.settings.values.get("transaction_isolation") == "read committed" \
                and not self.savepoints and not any(self.portals):  # (named: cursors)
            self.txn.refresh()

    def sleep(self, seconds: float) -> None:
        """pg_sleep: wait this long (nothing for 0, a negative time or NaN), ended early only
        by a cancel or statement_timeout (57014); the worker thread is lent meanwhile."""
        end = time.monotonic() + seconds if seconds > 0 else 0.0
        with self._lent():
            while (left := end - time.monotonic()) > 0:
                if self.cancel_event.wait(min(left, 0.05)):
                    self._interrupted()

    def _interrupted(self) -> None:
        """Raise QueryCanceled when the statement was cancelled (a wait checks it)."""
        if self.cancel_event.is_set():
            self.cancel_event.clear()
            raise QueryCanceled(f"canceling statement due to {self.cancel_reason or 'user request'}")

    def _end_xact_locks(self) -> None:
        """The transaction ended: its advisory locks go."""
        if self.xact_advisory:
            self.xact_advisory = False
            self.db.advisory.release_all(self, "xact")

    def pg_notify(self, channel: str, payload: str) -> None:
        """pg_notify(channel, payload) (functions/sysfns.py), same as NOTIFY."""
        from sqlvec.session.notify import notify

        notify(self, channel, payload)

    def close(self) -> None:
        from sqlvec.session.activity import unregister
        from sqlvec.session.notify import close_session

        close_session(self)
        unregister(self)
        self.db.advisory.release_all(self, None)
        self.xact_advisory = False
        for p in list(self.portals.values()):
            _close_portal(p)
        self.portals = {}
        if self.txn is not None:
            try:
                self.txn.rollback()
            finally:
                self.txn = None
                self._ddl_settled()
        self.closed = True


_WRITES = frozenset({exp.Insert, exp.Update, exp.Delete, exp.Merge})
# client_min_messages: a notice is sent when its level is at least the setting's
_MESSAGE_LEVELS = {"debug5": 0, "debug4": 1, "debug3": 2, "debug2": 3, "debug1": 4, "debug": 4,
                   "log": 5, "notice": 6, "warning": 7, "error": 8}
_BLOCK_EXITS = ("rollback", "commit", "rollback_to", "prepare")


def _ends_block(sql: str) -> bool:
    """Whether sql is COMMIT / ROLLBACK [TO SAVEPOINT]: what a failed block still accepts."""
    if UT.first_words(sql, 1) not in (["rollback"], ["abort"], ["commit"], ["end"]):
        return False
    try:
        node = _parse_cached(sql.strip().rstrip(";").strip())
    except SqlError:
        return False
    return isinstance(node, UT.TransactionStmt) and node.kind in _BLOCK_EXITS


def _stream_of(result: Any) -> ResultStream | None:
    """The lazy batch stream of a query result, or None when its rows are already computed."""
    batches = getattr(result, "batches", None)
    return batches if isinstance(batches, ResultStream) else None


def _then(first: Any, then: Any) -> Any:
    """A stream's on_end that runs `first` (if any) and then `then`, both with the error."""
    def both(err: BaseException | None) -> None:
        try:
            if first is not None:
                first(err)
        finally:
            then(err)
    return both


def _close_portal(portal: Portal | None) -> None:
    """Stop a portal's unread rows from being computed (its stream ends its transaction)."""
    if portal is None:
        return
    source, portal.source, portal.pending = portal.source, None, []
    close_batches(source)
    close_batches(getattr(getattr(portal, "cursor", None), "source", None))


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Any:
    """Parsed statements by text: the binder never mutates them, so they can be shared."""
    return parse_statement(text, 0)


def _int_setting(v: str) -> int:
    try:
        return int(v)
    except ValueError:
        return 0


__all__ = ["Session", "Database", "PreparedStatement", "Portal", "ActiveSqlTransaction",
           "FeatureNotSupported", "T", "exp"]
