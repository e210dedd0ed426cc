"""The virtual pg_catalog and information_schema relations clients query, always current.

Hooks the engine calls:

    system_relation(schema, name)   # binder (via Catalog.virtual_relation): a SystemTable
    scan_system(table, exec_ctx)     # executor: its rows as one pa.Table for this statement
    snapshot_for(exec_ctx)           # system functions: the catalog seen by this statement
"""

from __future__ import annotations

import os
import time
from typing import Any

import pyarrow as pa

from sqlvec.catalog.catalog import Catalog
from sqlvec.catalog.system.registry import SystemTable, system_relation, system_relation_by_oid
from sqlvec.catalog.system.snapshot import Snapshot


def snapshot_for(ctx: Any) -> Snapshot:
    """The Snapshot of the executing statement (built once per ExecContext)."""
    snap = getattr(ctx, "_system_snapshot", None)
    if snap is not None:
        return snap
    session = getattr(ctx, "session", None)
    db = getattr(session, "db", None)
    catalog = Catalog(ctx.txn, getattr(db, "store", None))
    kw: dict[str, Any] = {}
    if session is not None:
        settings = session.settings
        kw = {"user": session.user, "database": session.database,
              "settings": dict(settings.all()), "settings_rows": settings.catalog_rows(),
              "search_path": settings.search_path(session.user),
              "backend_pid": int(getattr(session, "backend_pid", 0) or os.getpid()),
              "query_text": getattr(session, "current_query", "") or "",
              "describe_view": getattr(session, "describe_view", None),
              "sessions": _sessions(session), "current": session}
    snap = Snapshot(catalog, ctx.regs, **kw)
    try:
        ctx._system_snapshot = snap
    except AttributeError:
        pass
    return snap


def _sessions(session: Any) -> list[Any]:
    """Every live session of the database (session/activity.py), this one at least."""
    act = getattr(getattr(session, "db", None), "_activity", None)
    found = act.snapshot() if act is not None else []
    return found if session in found else [session, *found]


def scan_system(table: SystemTable, ctx: Any) -> pa.Table:
    """All rows of a system relation as seen by the executing statement."""
    cache: dict[tuple[str, str], pa.Table] = getattr(ctx, "_system_tables", None) or {}
    key = (table.schema, table.name)
    if key not in cache:
        cache[key] = table.generate(snapshot_for(ctx))
        try:
            ctx._system_tables = cache
        except AttributeError:
            pass
    return cache[key]


__all__ = ["Snapshot", "SystemTable", "scan_system", "snapshot_for", "statement_env", "system_relation",
           "system_relation_by_oid"]


def statement_env(ctx: Any) -> Any:
    """The EvalEnv of one statement: settings, time zone, session and a lazy catalog Snapshot."""
    return _statement_env_class()(ctx)


_ENV_CLASS: list[type] = []


class _first_use:  # noqa: N801 - used as a decorator, like functools.cached_property
    """A value computed on first read and then kept in the instance (a plain attribute from
    then on; functools.cached_property takes a lock on every first read)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.name = fn.__name__

    def __get__(self, obj: Any, cls: Any = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


def _statement_env_class() -> type:
    """StatementEnv, made on first use (functions.sysfns is imported lazily here)."""
    if not _ENV_CLASS:
        from sqlvec.functions.sysfns import SessionEnv

        class StatementEnv(SessionEnv):
            """A SessionEnv whose fields are read from the statement when first used, then
            fixed: most calls never look at the clock, the settings or the catalog."""

            def __init__(self, ctx: Any) -> None:  # (the dataclass fields are _first_use values)
                self.__dict__["_ctx"] = ctx

            @_first_use
            def session(self) -> Any:
                return getattr(self._ctx, "session", None)

            @_first_use
            def txn(self) -> Any:
                return getattr(self._ctx, "txn", None)

            @_first_use
            def settings(self) -> dict[str, str]:
                session = self.session
                return dict(session.settings.values) if session is not None else {}

            @_first_use
            def timezone(self) -> str:
                return self.settings.get("timezone", "UTC")

            @_first_use
            def statement_time_us(self) -> int:
                ctx, session = self._ctx, self.session
                if session is not None and session.txn is not None and getattr(ctx, "txn", None) is session.txn:
                    started = getattr(session, "txn_started_us", 0)  # now() is the block's start time
                    if started:
                        return started
                return time.time_ns() // 1000  # an autocommit statement is its own transaction

            @_first_use
            def system(self) -> Any:
                ctx = self._ctx
                return lambda: snapshot_for(ctx)

        _ENV_CLASS.append(StatementEnv)
    return _ENV_CLASS[0]
