"""SQL cursors (DECLARE / FETCH / MOVE / CLOSE, WITH HOLD) on top of the session's portals.

A cursor is a named portal handed out by FETCH from a position, so psql's FETCH_COUNT,
psycopg2 named cursors and psycopg 3 server-side cursors page through results. SCROLL and
WITH HOLD cursors, and queries that cannot stream, are computed at DECLARE (one Arrow
table); other cursors over a streamed query compute rows as FETCH asks for them and keep
only those not yet passed (flat memory), and can then only move forward. Describe of the portal
by name gives the columns (psycopg 3 does that after DECLARE). Cursors without HOLD
end with their transaction; WITH HOLD ones survive it, as in PostgreSQL.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from sqlvec.core.errors import (
    DuplicateCursor,
    InvalidCursorName,
    NoActiveSqlTransaction,
    ObjectNotInPrerequisiteState,
)
from sqlvec.core.results import Command, Result, Rows
from sqlvec.exec.stream import ResultStream, close_batches
from sqlvec.sql.cursor_stmt import CloseStmt, DeclareStmt, FetchStmt


@dataclass
class CursorState:
    """Rows of a declared cursor and the position (0 = before the first row)."""

    table: pa.Table
    pos: int = 0
    hold: bool = False
    scroll: bool | None = None
    columns: list = field(default_factory=list)
    source: Iterator[pa.RecordBatch] | None = None  # streamed: rows not yet computed
    base: int = 0  # streamed: rows passed and dropped before table's first row


def run_cursor_stmt(s: Any, stmt: DeclareStmt | FetchStmt | CloseStmt) -> Result:
    """Run one cursor statement in session `s`."""
    if isinstance(stmt, DeclareStmt):
        return _declare(s, stmt)
    if isinstance(stmt, CloseStmt):
        if stmt.name is None:
            for name in [k for k, p in s.portals.items() if getattr(p, "cursor", None) is not None]:
                close_batches(s.portals.pop(name).cursor.source)
            return Command("CLOSE CURSOR ALL")
        close_batches(_cursor(s, stmt.name).source)
        del s.portals[stmt.name]
        return Command("CLOSE CURSOR")
    return _fetch(s, stmt)


def _cursor(s: Any, name: str) -> CursorState:
    p = s.portals.get(name)
    cur = getattr(p, "cursor", None)
    if cur is None:
        raise InvalidCursorName(f'cursor "{name}" does not exist')
    return cur


def _declare(s: Any, stmt: DeclareStmt) -> Result:
    from sqlvec.session import utility_exec as U
    from sqlvec.session.session import Portal, PreparedStatement
    from sqlvec.sql.parse import parse_statement

    if s.txn is None and not stmt.hold:
        raise NoActiveSqlTransaction("DECLARE CURSOR can only be used in transaction blocks")
    if stmt.name in s.portals:
        raise DuplicateCursor(f'cursor "{stmt.name}" already exists')
    node = parse_statement(stmt.query, 0)
    lazy = s.txn is not None and not stmt.hold and not stmt.scroll  # FETCH computes the rows

    def run(txn: Any) -> tuple[Result, list[pa.RecordBatch]]:
        r = U.run_in_txn(s, txn, node, [], None)
        if lazy and isinstance(r, Rows) and isinstance(r.batches, ResultStream):
            return r, []
        return r, list(r.batches) if isinstance(r, Rows) else []  # read inside the transaction

    res, batches = s._in_txn(run)
    if not isinstance(res, Rows):
        raise ObjectNotInPrerequisiteState("cursor query must return rows")
    source = res.batches if isinstance(res.batches, ResultStream) and not batches else None
    if source is not None:  # the block's savepoint logic: an error while fetching aborts it
        source.on_end = functools.partial(s._end_block_stream, s.txn)
    schema = batches[0].schema if batches else None
    table = pa.Table.from_batches(batches, schema=schema) if batches else pa.table({})
    ps = PreparedStatement(stmt.name, stmt.query, node, [], list(res.columns))
    portal = Portal(stmt.name, ps, [], [1] if stmt.binary else [])
    portal.columns = list(res.columns)
    portal.started = True
    portal.done = True
    portal.cursor = CursorState(table, 0, stmt.hold, stmt.scroll, list(res.columns),  # type: ignore[attr-defined]
                                source)
    s.portals[stmt.name] = portal
    return Command("DECLARE CURSOR")


def _fetch(s: Any, stmt: FetchStmt) -> Result:
    cur = _cursor(s, stmt.name)
    if cur.source is not None or cur.base:
        rows = _fetch_streamed(cur, stmt)
        if stmt.move:
            return Command(f"MOVE {rows.num_rows}")
        return Rows(list(cur.columns), iter(rows.to_batches()), "FETCH")
    n = cur.table.num_rows
    if stmt.direction == "absolute":
        target = stmt.count if stmt.count is not None else n
        target = n + 1 + target if target < 0 else target
        if target < cur.pos and cur.scroll is False:
            raise ObjectNotInPrerequisiteState("cursor can only scan forward",
                                               hint="Declare it with SCROLL option to enable backward scan.")
        cur.pos = max(0, min(target, n + 1))
        rows = cur.table.slice(cur.pos - 1, 1) if 1 <= cur.pos <= n else cur.table.slice(0, 0)
    else:
        count = n + 1 if stmt.count is None else stmt.count
        if count < 0:
            if cur.scroll is False:
                raise ObjectNotInPrerequisiteState("cursor can only scan forward",
                                                   hint="Declare it with SCROLL option to enable backward scan.")
            start = max(cur.pos + count, 1)
            end = min(cur.pos - 1, n)
            rows = cur.table.slice(start - 1, max(end - start + 1, 0)) if end >= start else cur.table.slice(0, 0)
            rows = rows.take(pa.array(range(rows.num_rows - 1, -1, -1), pa.int64())) if rows.num_rows else rows
            cur.pos = max(cur.pos + count, 0)
        else:
            start = cur.pos
            got = max(min(count, n - start), 0)
            rows = cur.table.slice(start, got)
            cur.pos = min(start + count, n + 1)
    if stmt.move:
        return Command(f"MOVE {rows.num_rows}")
    return Rows(list(cur.columns), iter(rows.to_batches()), "FETCH")


def _fetch_streamed(cur: CursorState, stmt: FetchStmt) -> pa.Table:
    """FETCH / MOVE forward on a streamed cursor: compute rows up to the target, drop passed ones."""
    count = stmt.count
    if (count is not None and count < 0) or (stmt.direction == "absolute" and (count is None or count < cur.pos)):
        raise ObjectNotInPrerequisiteState("cursor can only scan forward",
                                           hint="Declare it with SCROLL option to enable backward scan.")
    if stmt.direction == "absolute":
        _fill(cur, count)
        avail = cur.base + cur.table.num_rows
        cur.pos = min(count, avail + 1)
        rows = cur.table.slice(count - 1 - cur.base, 1) if 1 <= count <= avail else cur.table.slice(0, 0)
    else:
        want = None if count is None else cur.pos + count
        _fill(cur, want)
        avail = cur.base + cur.table.num_rows
        start = min(cur.pos, avail)
        end = avail if want is None else min(want, avail)
        rows = cur.table.slice(start - cur.base, max(end - start, 0))
        cur.pos = want if want is not None and want <= avail else avail + 1
    keep = max(cur.pos - 1, cur.base)  # the current row stays (FETCH RELATIVE 0)
    if keep > cur.base:
        cur.table = cur.table.slice(min(keep - cur.base, cur.table.num_rows))
        cur.base = keep
    return rows


def _fill(cur: CursorState, upto: int | None) -> None:
    """Pull the cursor's stream until it has rows up to number `upto` (None: all of them)."""
    parts = []
    have = cur.base + cur.table.num_rows
    while cur.source is not None and (upto is None or have < upto):
        b = next(cur.source, None)
        if b is None:
            cur.source = None
            break
        parts.append(b)
        have += b.num_rows
    if parts:
        old = [cur.table] if cur.table.num_columns else []
        cur.table = pa.concat_tables([*old, pa.Table.from_batches(parts)])


def held_after_commit(portals: dict) -> dict:
    """The portals that outlive their transaction: WITH HOLD cursors."""
    return {k: p for k, p in portals.items() if getattr(getattr(p, "cursor", None), "hold", False)}
