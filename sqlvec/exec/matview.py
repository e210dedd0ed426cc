"""Materialized views: CREATE MATERIALIZED VIEW (rows stored like a table's), REFRESH
MATERIALIZED VIEW [CONCURRENTLY] [WITH [NO] DATA], and the errors PostgreSQL gives.

A materialized view is a TableDef of kind "matview" holding its query text; its rows live
in storage like a table's (so they survive a restart and can be indexed). WITH NO DATA
leaves it unpopulated: reading it is 55000 until a REFRESH. The query itself is bound and
run by the caller (`rows(select) -> (fields, pa.Table)`), which knows the session.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pyarrow as pa
from sqlglot import exp

from sqlvec.catalog.objects import ColumnDef, TableDef
from sqlvec.core import types as T
from sqlvec.core.errors import (
    DuplicateTable,
    FeatureNotSupported,
    ObjectNotInPrerequisiteState,
    SyntaxError_,
    UndefinedTable,
    WrongObjectType,
)

Rows = Callable[[exp.Expr], tuple[Any, pa.Table]]


def is_matview(node: exp.Create) -> bool:
    props = node.args.get("properties")
    return (node.args.get("kind") or "").upper() == "VIEW" and props is not None and \
        any(isinstance(p, exp.MaterializedProperty) for p in props.expressions)


def create(runner: Any, node: exp.Create, rows: Rows) -> str:
    """CREATE MATERIALIZED VIEW [IF NOT EXISTS] name [(cols)] AS query [WITH [NO] DATA]."""
    from sqlvec.exec.ddl import _ident_name, arrow_schema
    from sqlvec.sql.bind_dml import check_dims

    target = node.this
    names: list[str] = []
    if isinstance(target, exp.Schema):
        names = [_ident_name(e) for e in target.expressions]
        target = target.this
    schema = runner.schema_for(target)
    if runner.cat.relation(schema, target.name) is not None or runner.cat.index(schema, target.name) is not None:
        if node.args.get("exists"):
            if runner.notice is not None:
                runner.notice(f'relation "{target.name}" already exists, skipping')
            return "CREATE MATERIALIZED VIEW"
        raise DuplicateTable(f'relation "{target.name}" already exists')
    fields, data = rows(node.expression)
    if len(names) > len(fields):
        raise SyntaxError_("too many column names were specified")
    for f in fields:  # a column of the new relation is one-dimensional (issue 3)
        check_dims(f.type, f.type.base_element)
    cols = tuple(ColumnDef(names[i] if i < len(names) else f.name,
                           (f.type if f.type.short != "unknown" else T.TEXT).oid, f.type.typmod)
                 for i, f in enumerate(fields))
    populated = node.args.get("with_data") is not False
    deps = _depends(runner, node.expression)
    t = TableDef(runner.cat.new_oid(), schema, target.name, cols, kind="matview",
                 query=node.expression.sql(dialect="postgres"), populated=populated, depends=deps)
    runner.cat.create_table(t, arrow_schema(t, runner.regs))
    if populated:
        _store(runner, t, data)
    return f"SELECT {data.num_rows}" if populated else "CREATE MATERIALIZED VIEW"


def _depends(runner: Any, query: exp.Expr) -> tuple[int, ...]:
    ctes = {c.alias_or_name for c in query.find_all(exp.CTE)}
    deps: list[int] = []
    for t in query.find_all(exp.Table):
        if not t.name or (not t.db and t.name in ctes):
            continue
        rel = runner._find(t)
        if rel is not None and rel.oid not in deps:
            deps.append(rel.oid)
    return tuple(deps)


def _store(runner: Any, t: TableDef, data: pa.Table) -> None:
    from sqlvec.core.textio_numeric import fit_to
    from sqlvec.exec.ddl import arrow_schema

    if not data.num_rows:
        return
    schema = arrow_schema(t, runner.regs)
    data = pa.Table.from_arrays([fit_to(c, f.type) for c, f in zip(data.columns, schema)], schema=schema)
    if t.uniques:  # a unique index on the view: its rows must keep it (23505)
        from sqlvec.exec.dml import check_unique_within

        check_unique_within(t, data)
    runner.cat.txn.insert(t.oid, data)


_REFRESH = re.compile(r"^\s*materialized\s+view\s+(concurrently\s+)?(.+?)(\s+with\s+(no\s+)?data)?\s*;?\s*$",
                      re.I | re.S)


def refresh(runner: Any, text: str, rows: Rows) -> str:
    """REFRESH MATERIALIZED VIEW [CONCURRENTLY] name [WITH [NO] DATA] (text after REFRESH)."""
    from sqlvec.sql.parse import parse_one_sql

    m = _REFRESH.match(text)
    if m is None:
        raise SyntaxError_(f'syntax error at or near "{text.split()[0] if text.split() else "REFRESH"}"')
    concurrently, name, no_data = bool(m.group(1)), m.group(2).strip(), bool(m.group(4))
    tbl = parse_one_sql(f"SELECT * FROM {name}").args["from_"].this
    rel = runner._find(tbl)
    if rel is None:
        raise UndefinedTable(f'relation "{tbl.name}" does not exist')
    if not isinstance(rel, TableDef) or rel.kind != "matview":  # 0A000 here, as PostgreSQL
        raise FeatureNotSupported(f'"{tbl.name}" is not a materialized view')
    if concurrently and m.group(3) and no_data:
        raise FeatureNotSupported("REFRESH options CONCURRENTLY and WITH NO DATA cannot be used together")
    if concurrently and not rel.populated:
        raise FeatureNotSupported("CONCURRENTLY cannot be used when the materialized view is not populated")
    if concurrently and not _has_plain_unique_index(runner, rel):
        raise ObjectNotInPrerequisiteState(
            f'cannot refresh materialized view "{rel.schema}.{rel.name}" concurrently',
            hint="Create a unique index with no WHERE clause on one or more columns of the materialized view.")
    runner.cat.txn.truncate(rel.oid)
    new = replace(rel, populated=not no_data)
    if new.populated != rel.populated:
        runner.cat.put_table(new)
    if not no_data:
        query = parse_one_sql(rel.query)
        _, data = rows(query)
        _store(runner, new, data)
    return "REFRESH MATERIALIZED VIEW"


def _has_plain_unique_index(runner: Any, rel: TableDef) -> bool:
    return any(i.unique and not i.options.get("where") and all(rel.column_index(c) is not None for c in i.columns)
               for i in runner.cat.indexes_of(rel.oid))


def check_drop_kind(rel: Any, kind: str, materialized: bool, name: str) -> None:
    """DROP TABLE / VIEW / MATERIALIZED VIEW of a relation of another kind: 42809."""
    is_mv = isinstance(rel, TableDef) and rel.kind == "matview"
    if materialized and not is_mv:
        raise WrongObjectType(f'"{name}" is not a materialized view')
    if not materialized and is_mv:
        raise WrongObjectType(f'"{name}" is not a {kind.lower()}',
                              hint="Use DROP MATERIALIZED VIEW to remove a materialized view.")


def unpopulated_error(rel: TableDef) -> ObjectNotInPrerequisiteState:
    return ObjectNotInPrerequisiteState(f'materialized view "{rel.name}" has not been populated',
                                        hint="Use the REFRESH MATERIALIZED VIEW command.")


__all__ = ["check_drop_kind", "create", "is_matview", "refresh", "unpopulated_error"]
