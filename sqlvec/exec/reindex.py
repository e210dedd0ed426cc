"""REINDEX { INDEX | TABLE | SCHEMA | DATABASE | SYSTEM }: vector indexes are built again.

A vector index (hnsw, ivfflat) is rebuilt as PostgreSQL gives a reindexed index new
storage: its catalog entry is written again under a new oid (same name and definition)
and built from the visible rows, one graph per sealed segment plus the delta (ivfflat
trains its lists afresh, as pgvector advises after bulk changes). The old structures and
files go when the commit is durable, a ROLLBACK keeps them (exec/segment_index's commit
hook), and queries of snapshots older than the commit keep using them meanwhile.
Other indexes have no stored structure here (unique keys are checked on the rows), so
there is nothing to rebuild; the names are still resolved and checked as PostgreSQL does.
System catalogs are virtual: REINDEX SYSTEM has nothing to do.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlvec.catalog.objects import IndexDef, TableDef
from sqlvec.core.errors import (
    FeatureNotSupported,
    InvalidSchemaName,
    UndefinedTable,
    WrongObjectType,
)

VECTOR_METHODS = ("hnsw", "ivfflat")


def reindex(runner: Any, what: str, schema: str | None, name: str | None, database: str
            ) -> int:
    """Rebuild the vector indexes REINDEX names (runner: exec/ddl's DdlRunner of the
    session's transaction); returns how many were rebuilt."""
    cat = runner.cat
    if what == "index":
        idx = _index(runner, schema, name)
        rel = cat.relation_by_oid(idx.table_oid)
        return _rebuild(runner, rel, [idx])
    if what == "table":
        rel = cat.relation(schema, name) if schema else cat.find_relation(name, runner.search_path)
        if rel is None:
            if _index(runner, schema, name, missing=False) is not None:
                raise WrongObjectType(f'"{name}" is not a table or materialized view')
            raise UndefinedTable(f'relation "{_shown(schema, name)}" does not exist')
        if not isinstance(rel, TableDef) or rel.kind != "table":
            raise WrongObjectType(f'"{name}" is not a table or materialized view')
        return _rebuild(runner, rel, cat.indexes_of(rel.oid))
    if what == "system":
        return 0
    if what == "database" and name is not None and name != database:
        raise FeatureNotSupported("can only reindex the currently open database")
    if what == "schema" and cat.schema(name) is None:
        raise InvalidSchemaName(f'schema "{name}" does not exist')
    n = 0
    for rel in cat.relations(name if what == "schema" else None):
        if isinstance(rel, TableDef) and rel.kind == "table":
            n += _rebuild(runner, rel, cat.indexes_of(rel.oid))
    return n


def _shown(schema: str | None, name: str | None) -> str:
    return f"{schema}.{name}" if schema else str(name)


def _index(runner: Any, schema: str | None, name: str | None, missing: bool = True
           ) -> IndexDef | None:
    """The named index (search path when unqualified); 42P01 / 42809 as PostgreSQL."""
    cat = runner.cat
    for s in [schema] if schema else runner.search_path:
        idx = cat.index(s, name)
        if idx is not None:
            return idx
    if not missing:
        return None
    rel = cat.relation(schema, name) if schema else cat.find_relation(name, runner.search_path)
    if rel is not None:
        raise WrongObjectType(f'"{name}" is not an index')
    raise UndefinedTable(f'relation "{_shown(schema, name)}" does not exist')


def _rebuild(runner: Any, rel: Any, indexes: list[IndexDef]) -> int:
    n = 0
    for idx in indexes:
        if idx.method not in VECTOR_METHODS or len(idx.columns) != 1:
            continue
        runner.cat.drop_index(idx)
        fresh = replace(idx, oid=runner.cat.new_oid())
        runner.cat.create_index(fresh)
        runner.build_vector_index(rel, fresh, "REINDEX")
        n += 1
    return n
