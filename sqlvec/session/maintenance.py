"""VACUUM / ANALYZE / CLUSTER / CHECKPOINT for a Session: names resolved, then storage does the work.

VACUUM [FULL] merges small segments and drops deleted rows (storage's `vacuum`); CLUSTER
rewrites a table ordered by a btree index's key columns so scans can skip segments by
their min/max (storage's `cluster`); CHECKPOINT seals recent writes into segment files.
VACUUM and CLUSTER rewrite committed segments outside any transaction, so, as in
PostgreSQL, they refuse to run inside a transaction block (25001). ANALYZE has nothing to
collect (segment statistics are kept by storage), so it only checks its table names.
The index a table was last clustered on is remembered under the catalog key
`cluster/<table oid>`, for `CLUSTER table` and bare `CLUSTER`, as PostgreSQL does.
"""

from __future__ import annotations

from typing import Any

from sqlvec.catalog.objects import IndexDef, TableDef
from sqlvec.core.errors import (
    ActiveSqlTransaction,
    FeatureNotSupported,
    InsufficientPrivilege,
    UndefinedObject,
    UndefinedTable,
    WrongObjectType,
)
from sqlvec.core.results import Command
from sqlvec.sql.maintenance_stmt import MaintenanceStmt

_CLUSTER_KEY = "cluster/{oid}"
_CLUSTER_METHODS = ("btree",)  # access methods whose key order means something


def run_maintenance(s: Any, stmt: MaintenanceStmt) -> Command:
    """Run one maintenance statement for session `s`; the CommandComplete tag."""
    if stmt.kind in ("vacuum", "cluster") and s.txn is not None:
        raise ActiveSqlTransaction(f"{stmt.kind.upper()} cannot run inside a transaction block")
    if stmt.kind == "checkpoint":
        role = s.db.authenticate(s.user)
        # a session without a role (trust authentication) is reported is_superuser=on by
        # the server, so only a role that exists and is not superuser is refused
        if role is not None and not role.superuser:
            raise InsufficientPrivilege("must be superuser to do CHECKPOINT")
        checkpoint = getattr(s.db.store, "checkpoint", None)
        if checkpoint is not None:
            checkpoint()
        return Command("CHECKPOINT")
    if stmt.kind == "cluster":
        for oid, key in _cluster_targets(s, stmt):
            cluster = getattr(s.db.store, "cluster", None)
            if cluster is not None:
                cluster(oid, key)
        return Command("CLUSTER")
    oids = _tables(s, stmt)
    if stmt.kind == "vacuum":
        vacuum = getattr(s.db.store, "vacuum", None)
        for oid in oids if vacuum is not None else ():
            vacuum(oid, full=stmt.full)
    return Command(stmt.tag)


def _resolve(s: Any, cat: Any, schema: str | None, name: str) -> TableDef | None:
    """The named relation (None for a pg_catalog / information_schema one: nothing to do)."""
    path = [schema] if schema else s.settings.search_path(s.user)
    rel = cat.find_relation(name, path)
    if rel is None:
        if cat.virtual_relation(schema, name) is not None:
            return None
        shown = f"{schema}.{name}" if schema else name
        raise UndefinedTable(f'relation "{shown}" does not exist')
    if not isinstance(rel, TableDef) or rel.kind != "table":
        return None  # PostgreSQL warns and skips views here
    return rel


def _tables(s: Any, stmt: MaintenanceStmt) -> list[int]:
    """Storage ids of the tables a VACUUM / ANALYZE names (every table when none)."""
    txn = s.db.store.begin()
    try:
        cat = s.db.catalog(txn)
        if stmt.tables:
            rels = [_resolve(s, cat, sch, name) for sch, name in stmt.tables]
        else:
            rels = [r for r in cat.relations() if isinstance(r, TableDef) and r.kind == "table"]
        return [r.oid for r in rels if r is not None and txn.has_table(r.oid)]
    finally:
        txn.rollback()


def _cluster_targets(s: Any, stmt: MaintenanceStmt) -> list[tuple[int, list[str]]]:
    """(table id, key columns) per table to cluster; records the index used (committed first)."""
    txn = s.db.store.begin()
    try:
        cat = s.db.catalog(txn)
        out: list[tuple[int, list[str]]] = []
        if not stmt.tables:  # every table clustered before, on its recorded index
            for _, d in txn.catalog_items("cluster/"):
                rel = cat.relation_by_oid(int(d["table"]))
                idx = _recorded_index(cat, rel) if isinstance(rel, TableDef) else None
                if idx is not None and rel is not None:
                    out.append((rel.oid, _key_columns(rel, idx)))
            txn.rollback()
            return out
        (schema, name), = stmt.tables
        path = [schema] if schema else s.settings.search_path(s.user)
        rel = cat.find_relation(name, path)
        if rel is None:
            raise UndefinedTable(f'relation "{name}" does not exist')
        if not isinstance(rel, TableDef) or rel.kind != "table":
            raise WrongObjectType(f'"{name}" is not a table')
        if stmt.index is None:
            idx = _recorded_index(cat, rel)
            if idx is None:
                raise UndefinedObject(f'there is no previously clustered index for table "{name}"')
        else:
            idx = cat.index(rel.schema, stmt.index)
            if idx is None:
                raise UndefinedObject(f'index "{stmt.index}" for table "{name}" does not exist')
            if idx.table_oid != rel.oid:
                raise WrongObjectType(f'"{stmt.index}" is not an index for table "{name}"')
        out.append((rel.oid, _key_columns(rel, idx)))
        key = _CLUSTER_KEY.format(oid=rel.oid)
        if (txn.catalog_get(key) or {}).get("index") != idx.name:
            txn.catalog_put(key, {"table": rel.oid, "index": idx.name})
        txn.commit()
        return out
    except BaseException:
        txn.rollback()
        raise


def _recorded_index(cat: Any, rel: TableDef) -> IndexDef | None:
    """The index `rel` was last clustered on, if it still exists."""
    d = cat.txn.catalog_get(_CLUSTER_KEY.format(oid=rel.oid))
    if not d:
        return None
    idx = cat.index(rel.schema, d["index"])
    return idx if idx is not None and idx.table_oid == rel.oid else None


def _key_columns(rel: TableDef, idx: IndexDef) -> list[str]:
    """The index's leading plain columns: the sort key for storage's cluster."""
    if idx.method not in _CLUSTER_METHODS:
        raise FeatureNotSupported(
            f'cannot cluster on index "{idx.name}" because access method does not support clustering')
    key: list[str] = []
    for c in idx.columns:
        if rel.column_index(c) is None:  # an expression: order by the columns before it
            break
        key.append(c)
    if not key:
        raise FeatureNotSupported(f'cannot cluster on expression index "{idx.name}"')
    return key
