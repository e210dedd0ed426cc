"""The catalog as seen inside one storage transaction: lookup and DDL on catalog objects.

Everything is persisted in the transaction's catalog key/value space, so DDL is
transactional; OIDs come from the Store's durable counter.

Keys: schema/<name>, rel/<schema>/<name> (tables and views), index/<schema>/<name>,
seq/<schema>/<name>, role/<name>, db/<name>.
"""

from __future__ import annotations

from typing import Any

from sqlvec.catalog.objects import IndexDef, RoleDef, SchemaDef, SequenceDef, TableDef, ViewDef
from sqlvec.core.errors import (
    DuplicateObject,
    DuplicateSchema,
    DuplicateTable,
    InvalidSchemaName,
    UndefinedObject,
    UndefinedTable,
)

FIRST_USER_OID = 16384
# OIDs from 16384 up to here are sqlvec's own fixed objects in the user range: the default
# database (16384) and the vector types with their array types (16385-16394, pgvector
# adapters look them up by name, but an object sharing one would confuse OID caches)
RESERVED_USER_OIDS = 16400
BUILTIN_SCHEMAS = {"pg_catalog": 11, "public": 2200, "information_schema": 13000}
DEFAULT_DATABASE = "sqlvec"


class Catalog:
    """Catalog operations bound to one storage transaction."""

    def __init__(self, txn: Any, store: Any) -> None:
        self.txn = txn
        self.store = store

    # -- oids / bootstrap ---------------------------------------------------------
    def new_oid(self) -> int:
        return RESERVED_USER_OIDS + self.store.counter_next("oid")  # never a reserved OID

    def bootstrap(self, superuser: str = "sqlvec") -> None:
        """Create the built-in schemas, the default database and the bootstrap role once."""
        if self.txn.catalog_get("schema/public") is not None:
            return
        for name, oid in BUILTIN_SCHEMAS.items():
            self.txn.catalog_put(f"schema/{name}", SchemaDef(oid, name).to_dict())
        self.txn.catalog_put(f"db/{DEFAULT_DATABASE}", {"name": DEFAULT_DATABASE, "oid": 16384})
        # every PostgreSQL cluster has "postgres"; clients and tools connect to it by default
        self.txn.catalog_put("db/postgres", {"name": "postgres", "oid": 5})
        self.txn.catalog_put(f"role/{superuser}", RoleDef(10, superuser, superuser=True).to_dict())

    # -- schemas ------------------------------------------------------------------
    def schema(self, name: str) -> SchemaDef | None:
        d = self.txn.catalog_get(f"schema/{name}")
        return SchemaDef(**d) if d else None

    def schemas(self) -> list[SchemaDef]:
        return [SchemaDef(**v) for _, v in self.txn.catalog_items("schema/")]

    def create_schema(self, name: str, if_not_exists: bool = False) -> bool:
        if self.schema(name):
            if if_not_exists:
                return False
            raise DuplicateSchema(f'schema "{name}" already exists')
        self.txn.catalog_put(f"schema/{name}", SchemaDef(self.new_oid(), name).to_dict())
        return True

    def drop_schema(self, name: str, if_exists: bool = False, cascade: bool = False) -> None:
        if not self.schema(name):
            if if_exists:
                return
            raise InvalidSchemaName(f'schema "{name}" does not exist')
        for rel in self.relations(name):
            if not cascade:
                from sqlvec.core.errors import DependentObjectsStillExist

                raise DependentObjectsStillExist(
                    f"cannot drop schema {name} because other objects depend on it",
                    hint="Use DROP ... CASCADE to drop the dependent objects too.",
                )
            if self.relation(rel.schema, rel.name) is not None:
                self.drop_relation(rel)
        for s in self.sequences():
            if s.schema == name:
                self.drop_sequence(s)
        self.txn.catalog_delete(f"schema/{name}")

    def require_schema(self, name: str) -> None:
        if not self.schema(name):
            raise InvalidSchemaName(f'schema "{name}" does not exist')

    # -- relations ----------------------------------------------------------------
    def relation(self, schema: str, name: str) -> TableDef | ViewDef | None:
        d = self.txn.catalog_get(f"rel/{schema}/{name}")
        if d is None:
            return None
        return ViewDef.from_dict(d) if d.get("kind") == "view" else TableDef.from_dict(d)

    def find_relation(self, name: str, search_path: list[str]) -> TableDef | ViewDef | None:
        for s in search_path:
            r = self.relation(s, name)
            if r is not None:
                return r
        return None

    def virtual_relation(self, schema: str | None, name: str) -> TableDef | None:
        """A pg_catalog / information_schema relation (binder hook; see catalog/system)."""
        from sqlvec.catalog.system import system_relation

        return system_relation(schema, name)

    def relations(self, schema: str | None = None) -> list[TableDef | ViewDef]:
        prefix = f"rel/{schema}/" if schema else "rel/"
        out: list[TableDef | ViewDef] = []
        for _, d in self.txn.catalog_items(prefix):
            out.append(ViewDef.from_dict(d) if d.get("kind") == "view" else TableDef.from_dict(d))
        return out

    def tables_by_oid(self, oids: set[int] | tuple[int, ...]) -> list[TableDef]:
        """The tables with these OIDs, found by their oid/<oid> keys (written by put_table; a
        table last written before those keys existed is found by a scan of the catalog)."""
        out, missing = [], set()
        for oid in set(oids):
            ref = self.txn.catalog_get(f"oid/{oid}")
            rel = self.relation(*ref["rel"].split("/", 1)) if ref else None
            if isinstance(rel, TableDef) and rel.oid == oid:
                out.append(rel)
            else:
                missing.add(oid)
        if missing:
            out += [TableDef.from_dict(d) for _, d in self.txn.catalog_items("rel/")
                    if d.get("oid") in missing and d.get("kind") != "view"]
        return out

    def relation_by_oid(self, oid: int) -> TableDef | ViewDef | None:
        for r in self.relations():
            if r.oid == oid:
                return r
        return None

    def _check_free(self, schema: str, name: str) -> None:
        self.require_schema(schema)
        if self.relation(schema, name) is not None or self.index(schema, name) is not None:
            raise DuplicateTable(f'relation "{name}" already exists')

    def put_table(self, t: TableDef) -> None:
        self.txn.catalog_put(f"rel/{t.schema}/{t.name}", t.to_dict())
        if t.foreign_keys or t.referenced_by:  # found by OID from the tables it is linked with
            key = f"oid/{t.oid}"
            if (self.txn.catalog_get(key) or {}).get("rel") != f"{t.schema}/{t.name}":
                self.txn.catalog_put(key, {"rel": f"{t.schema}/{t.name}"})

    def create_table(self, t: TableDef, arrow_schema: Any) -> None:
        self._check_free(t.schema, t.name)
        self.put_table(t)
        self.txn.create_table(t.oid, arrow_schema)

    def create_view(self, v: ViewDef, replace: bool = False) -> None:
        old = self.relation(v.schema, v.name)
        if old is not None and not (replace and isinstance(old, ViewDef)):
            raise DuplicateTable(f'relation "{v.name}" already exists')
        self.require_schema(v.schema)
        self.txn.catalog_put(f"rel/{v.schema}/{v.name}", v.to_dict())

    def drop_relation(self, r: TableDef | ViewDef) -> None:
        self.txn.catalog_delete(f"rel/{r.schema}/{r.name}")
        if isinstance(r, TableDef):
            if self.txn.catalog_get(f"oid/{r.oid}") is not None:
                self.txn.catalog_delete(f"oid/{r.oid}")
            self._forget_foreign_keys(r)
            for idx in self.indexes_of(r.oid):
                self.txn.catalog_delete(f"index/{idx.schema}/{idx.name}")
            for s in self.sequences():
                if s.owned_by and s.owned_by.split(".")[0] == f"{r.schema}:{r.name}":
                    self.txn.catalog_delete(f"seq/{s.schema}/{s.name}")
            self.txn.drop_table(r.oid)

    def _forget_foreign_keys(self, t: TableDef) -> None:
        """t is dropped: the tables it references forget it, the tables referencing it lose
        those foreign keys (DROP TABLE ... CASCADE, DROP SCHEMA ... CASCADE)."""
        from dataclasses import replace

        if not t.foreign_keys and not t.referenced_by:
            return
        parents = {f.ref_oid for f in t.foreign_keys} - {t.oid}
        children = set(t.referenced_by) - {t.oid}
        for r in self.relations():
            if not isinstance(r, TableDef):
                continue
            if r.oid in parents or r.oid in children:
                self.put_table(replace(r, referenced_by=tuple(o for o in r.referenced_by if o != t.oid),
                                       foreign_keys=tuple(f for f in r.foreign_keys if f.ref_oid != t.oid)))

    def rename_relation(self, r: TableDef | ViewDef, new_name: str) -> None:
        from dataclasses import replace

        self._check_free(r.schema, new_name)
        self.txn.catalog_delete(f"rel/{r.schema}/{r.name}")
        nr = replace(r, name=new_name)
        if isinstance(nr, TableDef):
            self.put_table(nr)
        else:
            self.txn.catalog_put(f"rel/{r.schema}/{new_name}", nr.to_dict())

    # -- indexes ------------------------------------------------------------------
    def index(self, schema: str, name: str) -> IndexDef | None:
        d = self.txn.catalog_get(f"index/{schema}/{name}")
        return IndexDef.from_dict(d) if d else None

    def indexes(self) -> list[IndexDef]:
        return [IndexDef.from_dict(v) for _, v in self.txn.catalog_items("index/")]

    def indexes_of(self, table_oid: int) -> list[IndexDef]:
        return [i for i in self.indexes() if i.table_oid == table_oid]

    def create_index(self, idx: IndexDef) -> None:
        self._check_free(idx.schema, idx.name)
        self.txn.catalog_put(f"index/{idx.schema}/{idx.name}", idx.to_dict())

    def drop_index(self, idx: IndexDef) -> None:
        self.txn.catalog_delete(f"index/{idx.schema}/{idx.name}")

    # -- sequences ----------------------------------------------------------------
    def sequence(self, schema: str, name: str) -> SequenceDef | None:
        d = self.txn.catalog_get(f"seq/{schema}/{name}")
        return SequenceDef.from_dict(d) if d else None

    def sequences(self) -> list[SequenceDef]:
        return [SequenceDef.from_dict(v) for _, v in self.txn.catalog_items("seq/")]

    def create_sequence(self, s: SequenceDef, if_not_exists: bool = False) -> None:
        if self.sequence(s.schema, s.name) is not None:
            if if_not_exists:
                return
            raise DuplicateTable(f'relation "{s.name}" already exists')
        self.txn.catalog_put(f"seq/{s.schema}/{s.name}", s.to_dict())

    def drop_sequence(self, s: SequenceDef) -> None:
        self.txn.catalog_delete(f"seq/{s.schema}/{s.name}")

    def nextval(self, s: SequenceDef) -> int:
        """Sequences are non-transactional, as in PostgreSQL: the Store's durable counter."""
        n = self.store.counter_next(f"seq:{s.oid}")
        cur = self.sequence(s.schema, s.name) or s
        k, inc = n - cur.base - 1, cur.increment
        v = cur.start + k * inc
        if cur.min_value <= v <= cur.max_value:
            return v
        if not cur.cycle:
            from sqlvec.core.errors import SequenceGeneratorLimitExceeded

            which, lim = ("maximum", cur.max_value) if inc > 0 else ("minimum", cur.min_value)
            raise SequenceGeneratorLimitExceeded(
                f'nextval: reached {which} value of sequence "{cur.name}" ({lim})')
        # CYCLE: the first run from start, then runs from min_value (max_value descending)
        if inc > 0:
            first = (cur.max_value - cur.start) // inc + 1
            run = (cur.max_value - cur.min_value) // inc + 1
            return cur.min_value + ((k - first) % run) * inc
        first = (cur.start - cur.min_value) // -inc + 1
        run = (cur.max_value - cur.min_value) // -inc + 1
        return cur.max_value + ((k - first) % run) * inc

    def restart_sequence(self, s: SequenceDef, value: int | None = None) -> None:
        """Make the next nextval() return `value` (default: the start value)."""
        from dataclasses import replace

        c = self.store.counter_next(f"seq:{s.oid}")
        target = s.start if value is None else value
        base = c - (target - s.start) // s.increment
        self.txn.catalog_put(f"seq/{s.schema}/{s.name}", replace(s, base=base).to_dict())

    # -- roles / databases --------------------------------------------------------
    def role(self, name: str) -> RoleDef | None:
        d = self.txn.catalog_get(f"role/{name}")
        return RoleDef.from_dict(d) if d else None

    def roles(self) -> list[RoleDef]:
        return [RoleDef.from_dict(v) for _, v in self.txn.catalog_items("role/")]

    def put_role(self, r: RoleDef, create: bool = False) -> None:
        if create and self.role(r.name) is not None:
            raise DuplicateObject(f'role "{r.name}" already exists')
        self.txn.catalog_put(f"role/{r.name}", r.to_dict())

    def drop_role(self, name: str, if_exists: bool = False) -> None:
        if self.role(name) is None:
            if if_exists:
                return
            raise UndefinedObject(f'role "{name}" does not exist')
        self.txn.catalog_delete(f"role/{name}")

    def has_database(self, name: str) -> bool:
        return self.txn.catalog_get(f"db/{name}") is not None

    def databases(self) -> list[str]:
        return [v["name"] for _, v in self.txn.catalog_items("db/")]


def undefined_table(name: str, position: int | None = None) -> UndefinedTable:
    return UndefinedTable(f'relation "{name}" does not exist', position=position)
