"""Catalog objects (tables, columns, views, indexes, sequences, roles) as frozen dataclasses.

Each serialises to a JSON-able dict for the storage catalog key/value space and back.
Column types are stored as (type OID, typmod) and resolved through the TypeRegistry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlvec.core.types import SqlType, TypeRegistry


@dataclass(frozen=True)
class ColumnDef:
    """One table column."""

    name: str
    type_oid: int
    typmod: int = -1
    not_null: bool = False
    default: str | None = None  # SQL text of the DEFAULT expression
    identity: str | None = None  # 'always' | 'by default' | 'serial' (sequence-backed)
    sequence: str | None = None  # name of the backing sequence for serial/identity
    generated: str | None = None  # SQL text of GENERATED ALWAYS AS (expr) STORED
    # unconstrained numeric held as PostgreSQL's text of each value (NUMERIC_TEXT); columns
    # of data directories written before it (no such key) are decimal128(38, 16)
    numeric_text: bool = True
    # ALTER ... SET STORAGE's pg_attribute.attstorage letter (p e x m); None: the type's own
    storage: str | None = None
    # the values of a vector index's key expression (CREATE INDEX ... USING hnsw ((expr)
    # ops)): a stored generated column no statement names, lists or sees (TableDef.visible)
    hidden: bool = False

    def sql_type(self, types: TypeRegistry) -> SqlType:
        t = types.by_oid(self.type_oid)
        if t is None:
            raise KeyError(self.type_oid)
        if self.typmod < 0 and self.numeric_text and t.short == "numeric":
            from sqlvec.core.types import NUMERIC_TEXT

            return NUMERIC_TEXT
        return t.with_typmod(self.typmod) if self.typmod >= 0 else t


@dataclass(frozen=True)
class CheckDef:
    name: str
    expr: str  # SQL text
    view: bool = False  # a view's WITH CHECK OPTION (44000; the row must satisfy it, NULL fails)


@dataclass(frozen=True)
class ForeignKeyDef:
    """FOREIGN KEY (columns) REFERENCES ref_schema.ref_table (ref_columns) on the referencing
    table; on_delete / on_update / match are pg_constraint's letters (a = NO ACTION, s = simple)."""

    name: str
    columns: tuple[str, ...]
    ref_oid: int
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str = "a"
    on_update: str = "a"
    match: str = "s"
    deferrable: bool = False  # DEFERRABLE: SET CONSTRAINTS may defer its check to COMMIT
    deferred: bool = False  # INITIALLY DEFERRED

    @staticmethod
    def from_dict(d: dict) -> ForeignKeyDef:
        d = dict(d)
        d["columns"], d["ref_columns"] = tuple(d["columns"]), tuple(d["ref_columns"])
        return ForeignKeyDef(**d)


@dataclass(frozen=True)
class UniqueIndexDef:
    """A unique index the plain column keys (TableDef.uniques) cannot express: on expressions
    (`lower(email)`), partial (`WHERE deleted_at IS NULL`) or NULLS NOT DISTINCT. Keys and
    predicate are SQL text, function names in lower case."""

    name: str
    keys: tuple[str, ...]
    where: str | None = None
    nulls_not_distinct: bool = False

    @staticmethod
    def from_dict(d: dict) -> UniqueIndexDef:
        return UniqueIndexDef(d["name"], tuple(d["keys"]), d.get("where"), bool(d.get("nulls_not_distinct")))


@dataclass(frozen=True)
class TableDef:
    """A base table; its OID is also its storage table id."""

    oid: int
    schema: str
    name: str
    columns: tuple[ColumnDef, ...]
    primary_key: tuple[str, ...] = ()
    pk_name: str | None = None
    uniques: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (constraint name, columns)
    checks: tuple[CheckDef, ...] = ()
    kind: str = "table"  # or "matview": a materialized view (rows stored, `query` refreshes them)
    foreign_keys: tuple[ForeignKeyDef, ...] = ()
    referenced_by: tuple[int, ...] = ()  # OIDs of tables whose foreign keys reference this one
    query: str | None = None  # a materialized view's SELECT text
    populated: bool = True  # False: a materialized view WITH NO DATA, not refreshed since
    depends: tuple[int, ...] = ()  # a materialized view's: OIDs of the relations its query reads
    unique_indexes: tuple[UniqueIndexDef, ...] = ()

    def column_index(self, name: str) -> int | None:
        for i, c in enumerate(self.columns):
            if c.name == name:
                return i
        return None

    @property
    def visible(self) -> tuple[ColumnDef, ...]:
        """The columns users see (all but an expression index's hidden ones), in order."""
        cols = self.columns
        return cols if not any(c.hidden for c in cols) else tuple(c for c in cols if not c.hidden)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> TableDef:
        return TableDef(
            oid=d["oid"], schema=d["schema"], name=d["name"],
            columns=tuple(ColumnDef(**{"numeric_text": False, **c}) for c in d["columns"]),
            primary_key=tuple(d.get("primary_key") or ()), pk_name=d.get("pk_name"),
            uniques=tuple((u[0], tuple(u[1])) for u in d.get("uniques") or ()),
            checks=tuple(CheckDef(**c) for c in d.get("checks") or ()),
            kind=d.get("kind", "table"),
            foreign_keys=tuple(ForeignKeyDef.from_dict(f) for f in d.get("foreign_keys") or ()),
            referenced_by=tuple(d.get("referenced_by") or ()),
            query=d.get("query"), populated=d.get("populated", True),
            depends=tuple(d.get("depends") or ()),
            unique_indexes=tuple(UniqueIndexDef.from_dict(u) for u in d.get("unique_indexes") or ()),
        )


@dataclass(frozen=True)
class ViewDef:
    oid: int
    schema: str
    name: str
    sql: str  # the SELECT text
    column_names: tuple[str, ...] = ()
    kind: str = "view"
    depends: tuple[int, ...] = ()  # OIDs of the relations it reads
    check_option: str | None = None  # WITH [LOCAL | CASCADED] CHECK OPTION: 'local' | 'cascaded'

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> ViewDef:
        return ViewDef(d["oid"], d["schema"], d["name"], d["sql"], tuple(d.get("column_names") or ()),
                       "view", tuple(d.get("depends") or ()), d.get("check_option"))


@dataclass(frozen=True)
class IndexDef:
    oid: int
    schema: str
    name: str
    table_oid: int
    columns: tuple[str, ...]  # column names or expression SQL text
    method: str = "btree"
    unique: bool = False
    options: dict = field(default_factory=dict)
    primary: bool = False
    where: str | None = None  # a partial index's predicate (SQL text)
    nulls_not_distinct: bool = False
    # a vector index on an expression: its SQL text; columns[0] names the hidden column
    # holding its values (ColumnDef.hidden)
    expr: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> IndexDef:
        d = dict(d)
        d["columns"] = tuple(d["columns"])
        return IndexDef(**d)


@dataclass(frozen=True)
class SequenceDef:
    oid: int
    schema: str
    name: str
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 2**63 - 1
    owned_by: str | None = None  # "schema:table.column"
    base: int = 0  # counter value at the last restart (RESTART IDENTITY, setval)
    cycle: bool = False  # CYCLE: past max_value (min_value when descending) start over

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> SequenceDef:
        return SequenceDef(**d)


@dataclass(frozen=True)
class RoleDef:
    oid: int
    name: str
    superuser: bool = False
    login: bool = True
    createdb: bool = False
    createrole: bool = False
    password: str | None = None  # verifier as PostgreSQL stores it (SCRAM-SHA-256$...)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> RoleDef:
        return RoleDef(**d)


@dataclass(frozen=True)
class SchemaDef:
    oid: int
    name: str
    owner: str = "sqlvec"

    def to_dict(self) -> dict:
        return asdict(self)


Relation = TableDef | ViewDef
