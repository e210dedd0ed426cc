"""COPY FROM STDIN into a table: Arrow columns through the engine's INSERT, no SQL values.

The statement `INSERT INTO t (cols) SELECT u.c1, u.c2::type, ... FROM (VALUES ($1::type,
$2::text, ...)) AS u(c1, ...)` is bound once per chunk (so defaults, identity, NOT NULL,
CHECK and unique keys are the INSERT's own), and its one-row VALUES source is replaced by
the chunk's columns (a materialised relation, like a WITH query's). Columns decoded to
their own type go in as they are; text columns are cast by the type's input function,
vectorised.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pyarrow as pa

from sqlvec.core.results import Column
from sqlvec.exec.operators import ExecContext
from sqlvec.plan import logical as L
from sqlvec.session.utility_exec import bind_statement, execute_plan
from sqlvec.sql.parse import parse_statement

COPY_SOURCE_ID = -7_000_001  # the chunk's id among the statement's materialised relations


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# length-limited strings read as COPY reads them (the type's input with its length: too
# long is 22001 / 22026, not cut as an explicit cast cuts): text cast to the unlimited type,
# the INSERT's assignment to the column then checks (and pads) as the input function does
_UNLIMITED = {"varchar": "character varying", "bpchar": "bpchar", "bit": "bit varying",
              "varbit": "bit varying"}


def insert_sql(target: str, names: list[str], columns: list[Column], native: list[bool]) -> str:
    """The INSERT whose VALUES row stands for the chunk (native: decoded to the column type)."""
    exprs, params = [], []
    for k, (col, nat) in enumerate(zip(columns, native), start=1):
        t = col.type.display()
        params.append(f"${k}::{t}" if nat else f"${k}::text")
        read = _UNLIMITED.get(col.type.short, t) if col.type.typmod >= 0 else t
        exprs.append(f"u.c{k}" if nat else f"u.c{k}::{read}")
    alias = ", ".join(f"c{k}" for k in range(1, len(columns) + 1))
    return (f"INSERT INTO {target} ({', '.join(names)}) SELECT {', '.join(exprs)} "
            f"FROM (VALUES ({', '.join(params)})) AS u({alias})")


def _swap_values(plan: Any) -> tuple[Any, tuple[L.Field, ...] | None]:
    """The plan with its VALUES source read from the chunk; (plan, that source's fields)."""
    if isinstance(plan, L.Values):
        return L.CteRef("copy", COPY_SOURCE_ID, plan.fields), plan.fields
    if not dataclasses.is_dataclass(plan) or not isinstance(plan, L.Plan):
        return plan, None
    for f in dataclasses.fields(plan):
        v = getattr(plan, f.name)
        if isinstance(v, L.Plan):
            new, fields = _swap_values(v)
            if fields is not None:
                return dataclasses.replace(plan, **{f.name: new}), fields
    return plan, None


def load_columns(session: Any, sql: str, arrays: list[pa.Array | pa.ChunkedArray],
                 bulk: bool = False) -> int:
    """Insert one chunk (arrays in the statement's VALUES order) in the session's transaction;
    `bulk`: its rows go straight to fsynced segment files (the WAL logs their names) rather
    than into the WAL and, at the next checkpoint, a segment file again."""
    node = parse_statement(sql, 0)
    n = len(arrays)

    def run(txn: Any) -> Any:
        if not bulk:
            return _run(txn)
        saved = txn.bulk_rows
        txn.bulk_rows = 1
        try:
            return _run(txn)
        finally:
            txn.bulk_rows = saved

    def _run(txn: Any) -> Any:
        plan, _ = bind_statement(session, txn, node, [None] * n)
        plan, fields = _swap_values(plan)
        assert fields is not None, "COPY statement lost its VALUES source"
        cols = [a if a.type == f.type.arrow else a.cast(f.type.arrow)
                for a, f in zip(arrays, fields)]
        ctx = ExecContext(txn, session.db.regs, [None] * n, session.cancel_event, session)
        ctx.cte_results[COPY_SOURCE_ID] = pa.Table.from_arrays(
            cols, names=[f"c{i}" for i in range(n)])
        return execute_plan(ctx, plan)

    result = session._in_txn(run)
    return int(str(getattr(result, "tag", "0")).rsplit(" ", 1)[-1] or 0)


__all__ = ["insert_sql", "load_columns", "quote_ident"]
