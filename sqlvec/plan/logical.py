"""Logical plan nodes (frozen dataclasses). Every node knows its output fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlvec.core.types import SqlType
from sqlvec.plan.expr import AggCall, Expr, WindowCall


@dataclass(frozen=True)
class Field:
    """One output column of a plan node."""

    name: str
    type: SqlType
    table_oid: int = 0
    attnum: int = 0


class Plan:
    fields: tuple[Field, ...]

    def inputs(self) -> tuple[Plan, ...]:
        return ()


@dataclass(frozen=True)
class Scan(Plan):
    table: Any  # TableDef
    fields: tuple[Field, ...]
    filter: Expr | None = None  # pushed-down predicate over the scan's own columns
    with_rowid: bool = False  # first output column is the hidden _rowid (DML sources)
    # the table's expression indexes: (hidden column's field, its expression over `fields`);
    # plan/index_expressions.py reads the column where a query computes the expression
    derived: tuple[tuple[Field, Expr], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Values(Plan):
    rows: tuple[tuple[Expr, ...], ...]
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Filter(Plan):
    input: Plan
    predicate: Expr

    @property
    def fields(self) -> tuple[Field, ...]:  # type: ignore[override]
        return self.input.fields

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)


@dataclass(frozen=True)
class Project(Plan):
    input: Plan
    exprs: tuple[Expr, ...]
    fields: tuple[Field, ...]

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)


@dataclass(frozen=True)
class Join(Plan):
    """kind: inner | left | right | full | cross | semi | anti."""

    left: Plan
    right: Plan
    kind: str
    condition: Expr | None
    fields: tuple[Field, ...]
    lateral: bool = False
    lateral_cols: tuple[int, ...] = ()  # left columns the right side reads (LATERAL)

    def inputs(self) -> tuple[Plan, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class Aggregate(Plan):
    """Output: the group expressions, then the aggregates. grouping_sets: lists of group indexes."""

    input: Plan
    groups: tuple[Expr, ...]
    aggs: tuple[AggCall, ...]
    fields: tuple[Field, ...]
    grouping_sets: tuple[tuple[int, ...], ...] | None = None

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)


@dataclass(frozen=True)
class Window(Plan):
    """Output: the input columns, then one column per window call."""

    input: Plan
    calls: tuple[WindowCall, ...]
    fields: tuple[Field, ...]

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)


@dataclass(frozen=True)
class ProjectSet(Plan):
    """Output: the input columns, then one column per set-returning call (rows multiplied)."""

    input: Plan
    srfs: tuple[Any, ...]  # SrfCall
    fields: tuple[Field, ...]

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)


@dataclass(frozen=True)
class SortKey:
    expr: Expr
    desc: bool = False
    nulls_first: bool | None = None  # None: PostgreSQL default (nulls last for ASC)

    def effective_nulls_first(self) -> bool:
        return self.desc if self.nulls_first is None else self.nulls_first


@dataclass(frozen=True)
class Sort(Plan):
    input: Plan
    keys: tuple[SortKey, ...]

    @property
    def fields(self) -> tuple[Field, ...]:  # type: ignore[override]
        return self.input.fields

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)


@dataclass(frozen=True)
class Limit(Plan):
    input: Plan
    limit: Expr | None
    offset: Expr | None
    with_ties: tuple[SortKey, ...] | None = None

    @property
    def fields(self) -> tuple[Field, ...]:  # type: ignore[override]
        return self.input.fields

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)


@dataclass(frozen=True)
class DistinctNode(Plan):
    """DISTINCT (on=None) or DISTINCT ON (first row per key, input sorted)."""

    input: Plan
    on: tuple[Expr, ...] | None = None

    @property
    def fields(self) -> tuple[Field, ...]:  # type: ignore[override]
        return self.input.fields

    def inputs(self) -> tuple[Plan, ...]:
        return (self.input,)


@dataclass(frozen=True)
class SetOp(Plan):
    kind: str  # union | intersect | except
    all: bool
    left: Plan
    right: Plan
    fields: tuple[Field, ...]

    def inputs(self) -> tuple[Plan, ...]:
        return (self.left, self.right)


@dataclass(frozen=True)
class CteRef(Plan):
    """A reference to a WITH query materialised once per execution (`name` is its id)."""

    name: str
    cte_id: int
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class WithCtes(Plan):
    """Materialise ctes (id, plan, recursive_plan | None) then run body."""

    ctes: tuple[tuple[int, Plan, Plan | None, bool], ...]
    body: Plan

    @property
    def fields(self) -> tuple[Field, ...]:  # type: ignore[override]
        return self.body.fields

    def inputs(self) -> tuple[Plan, ...]:
        return (*(c[1] for c in self.ctes), self.body)


@dataclass(frozen=True)
class FunctionScan(Plan):
    """A set-returning function in FROM (generate_series, unnest)."""

    name: str
    args: tuple[Expr, ...]
    fields: tuple[Field, ...]
    fn: Any = field(default=None, compare=False, hash=False)
    ordinality: bool = False


@dataclass(frozen=True)
class Insert(Plan):
    table: Any
    source: Plan  # produces the table's full column list
    returning: tuple[Expr, ...] | None
    fields: tuple[Field, ...]
    on_conflict: Any = None  # OnConflict


@dataclass(frozen=True)
class OnConflict:
    target: tuple[str, ...]
    action: str  # nothing | update
    assignments: tuple[tuple[int, Expr], ...] = ()  # over (existing row cols + excluded cols)
    where: Expr | None = None
    index: str | None = None  # the arbiter when it is one of TableDef.unique_indexes


@dataclass(frozen=True)
class Update(Plan):
    """source yields _rowid then the table columns (old), then extra FROM columns."""

    table: Any
    source: Plan
    assignments: tuple[tuple[int, Expr], ...]  # column index -> expr over source (offset 1)
    returning: tuple[Expr, ...] | None
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Delete(Plan):
    table: Any
    source: Plan  # yields _rowid then the table columns
    returning: tuple[Expr, ...] | None
    fields: tuple[Field, ...]


def output_types(p: Plan) -> list[SqlType]:
    return [f.type for f in p.fields]


@dataclass(frozen=True)
class MergeClause:
    """One WHEN clause: action update | delete | insert | nothing, over the joined row."""

    matched: bool
    condition: Expr | None
    action: str
    assignments: tuple[tuple[int, Expr], ...] = ()  # update: column index -> expr
    values: tuple[Expr, ...] = ()  # insert: one expr per table column


@dataclass(frozen=True)
class Merge(Plan):
    """source yields target _rowid + target columns (NULL when unmatched), then source columns."""

    table: Any
    source: Plan
    clauses: tuple[MergeClause, ...]
    fields: tuple[Field, ...] = ()
    returning: tuple[Expr, ...] | None = None
