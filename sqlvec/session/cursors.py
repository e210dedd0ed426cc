"""SQL cursors (DECLARE / FETCH / MOVE / CLOSE, WITH HOLD) on top of the session's portals.

A cursor is a named portal whose rows are computed at DECLARE (materialised as one Arrow
table) and handed out by FETCH from a position, so psql's FETCH_COUNT, psycopg2 named
cursors and psycopg 3 server-side cursors page through results. Describe of the portal
by name gives the columns (psycopg 3 does that after DECLARE). Cursors without HOLD
end with their transaction; WITH HOLD ones survive it, as in PostgreSQL.
"""

from __future__ import annotations

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
from sqlvec.sql.cursor_stmt import CloseStmt, DeclareStmt, FetchStmt


@dataclass
class CursorState:
    """Rows of a declared cursor and the position (0 = before the first row)."""

    table: pa.Table
    pos: int = 0
    hold: bool = False
    scroll: bool | None = None
    columns: list = field(default_factory=list)


def run_cursor_stmt(s: Any, stmt: DeclareStmt | FetchStmt | CloseStmt) -> Result:
    """Run one cursor statement in session `s`."""
    if isinstance(stmt, DeclareStmt):
        return _declare(s, stmt)
    if isinstance(stmt, CloseStmt):
        if stmt.name is None:
            for name in [k for k, p in s.portals.items() if getattr(p, "cursor", None) is not None]:
                del s.portals[name]
            return Command("CLOSE CURSOR ALL")
        _cursor(s, stmt.name)
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
    def run(txn: Any) -> tuple[Result, list[pa.RecordBatch]]:
        r = U.run_in_txn(s, txn, node, [], None)
        return r, list(r.batches) if isinstance(r, Rows) else []  # read inside the transaction
    res, batches = s._in_txn(run)
    if not isinstance(res, Rows):
        raise ObjectNotInPrerequisiteState("cursor query must return rows")
    schema = batches[0].schema if batches else None
    table = pa.Table.from_batches(batches, schema=schema) if batches else pa.table({})
    ps = PreparedStatement(stmt.name, stmt.query, node, [], list(res.columns))
    portal = Portal(stmt.name, ps, [], [1] if stmt.binary else [])
    portal.columns = list(res.columns)
    portal.started = True
    portal.done = True
    portal.cursor = CursorState(table, 0, stmt.hold, stmt.scroll, list(res.columns))  # type: ignore[attr-defined]
    s.portals[stmt.name] = portal
    return Command("DECLARE CURSOR")


def _fetch(s: Any, stmt: FetchStmt) -> Result:
    cur = _cursor(s, stmt.name)
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


def held_after_commit(portals: dict) -> dict:
    """The portals that outlive their transaction: WITH HOLD cursors."""
    return {k: p for k, p in portals.items() if getattr(getattr(p, "cursor", None), "hold", False)}
