"""Name scopes for the binder: which columns a FROM clause makes visible, and where."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlvec.core.errors import AmbiguousColumn, UndefinedColumn, UndefinedTable
from sqlvec.core.types import SqlType


@dataclass
class ScopeColumn:
    name: str
    type: SqlType
    index: int  # position in the FROM clause's output row
    table_oid: int = 0
    attnum: int = 0
    hidden: bool = False  # USING duplicate: only reachable qualified
    alias: str = ""  # the FROM item's name (PostgreSQL's errors qualify columns with it)


@dataclass
class ScopeItem:
    alias: str
    columns: list[ScopeColumn]
    scalar: bool = False  # a FROM function of a base type: its alias alone is the value
    base: bool = False  # a table scanned directly (its primary key groups its other columns)


@dataclass
class Scope:
    """The FROM items of one query level; `outer` is the enclosing query's scope."""

    items: list[ScopeItem] = field(default_factory=list)
    outer: Scope | None = None
    width: int = 0

    def add(self, alias: str, cols: list[tuple[str, SqlType, int, int]]) -> ScopeItem:
        item = ScopeItem(alias, [])
        for name, t, oid, att in cols:
            item.columns.append(ScopeColumn(name, t, self.width, oid, att, alias=alias))
            self.width += 1
        self.items.append(item)
        return item

    def merge(self, other: Scope) -> None:
        """Append another scope's items (a join's right side), shifting their indexes."""
        for it in other.items:
            new = ScopeItem(it.alias, [], it.scalar, it.base)
            for c in it.columns:
                new.columns.append(
                    ScopeColumn(c.name, c.type, c.index + self.width, c.table_oid, c.attnum, c.hidden,
                                c.alias)
                )
            self.items.append(new)
        self.width += other.width

    def find(self, name: str, table: str | None) -> ScopeColumn | None:
        """The column `name` (qualified by `table` if given); None if absent. Raises if ambiguous."""
        matches: list[ScopeColumn] = []
        found_table = False
        for it in self.items:
            if table is not None and it.alias != table:
                continue
            found_table = True
            for c in it.columns:
                if c.name == name and (table is not None or not c.hidden):
                    matches.append(c)
        if table is not None and not found_table:
            return None
        if len(matches) > 1:
            raise AmbiguousColumn(f'column reference "{name}" is ambiguous')
        return matches[0] if matches else None

    def has_table(self, table: str) -> bool:
        return any(it.alias == table for it in self.items)

    def item(self, table: str) -> ScopeItem:
        for it in self.items:
            if it.alias == table:
                return it
        raise UndefinedTable(f'missing FROM-clause entry for table "{table}"')


def undefined_column(name: str, table: str | None) -> UndefinedColumn:
    if table:
        return UndefinedColumn(f"column {table}.{name} does not exist")
    return UndefinedColumn(f'column "{name}" does not exist')
