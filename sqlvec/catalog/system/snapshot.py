"""One consistent view of sqlvec's live catalog with the OIDs PostgreSQL clients expect.

Built once per statement from the executing transaction (so pg_catalog is always current)
and shared by every system relation and system function the statement touches. Objects
PostgreSQL has but sqlvec stores implicitly (constraints, column defaults, access methods,
operator classes) get stable OIDs derived from their owner's OID.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlvec.catalog.catalog import BUILTIN_SCHEMAS, Catalog
from sqlvec.catalog.objects import IndexDef, RoleDef, SchemaDef, SequenceDef, TableDef, ViewDef
from sqlvec.core.types import SqlType

PG_CATALOG_OID = 11
PUBLIC_OID = 2200
SUPERUSER_OID = 10
DATABASE_OID = 16384
TEMPLATE_DBS = (("template1", 1), ("template0", 4))
DATABASE_OWNER = (6171, "pg_database_owner")  # PostgreSQL 15: owns schema public

# access methods: PostgreSQL's fixed OIDs; extension methods (pgvector's) above user OIDs
BUILTIN_AMS = {"heap": (2, "t"), "btree": (403, "i"), "hash": (405, "i"), "gist": (783, "i"),
               "gin": (2742, "i"), "spgist": (4000, "i"), "brin": (3580, "i")}
EXTENSION_BASE = 0x7F000000
CONSTRAINT_BASE = 0x40000000
ATTRDEF_BASE = 0x60000000
EXTENSION_AMS = ("hnsw", "ivfflat")
VECTOR_TYPES = ("vector", "halfvec", "sparsevec", "bf16vec", "int8vec")


def synthetic_oid(base: int, owner: int, k: int) -> int:
    """A stable OID for the k-th implicit object of catalog object `owner` (k < 64)."""
    return base + ((owner - 16384) % 0x400000) * 64 + k


@dataclass(frozen=True)
class Constraint:
    """A pg_constraint row: p(rimary), u(nique), c(heck), f(oreign key) of one table."""

    oid: int
    name: str
    kind: str
    table: TableDef
    columns: tuple[str, ...] = ()
    index_oid: int = 0
    expr: str = ""
    ref: TableDef | None = None  # a foreign key's referenced table
    fk: Any = None  # its ForeignKeyDef
    ref_visible: bool = True  # the referenced table is found by the search path unqualified

    def definition(self) -> str:
        """pg_get_constraintdef: 'PRIMARY KEY (id)', 'UNIQUE (a, b)', 'CHECK ((x > 0))',
        'FOREIGN KEY (p) REFERENCES p(id) ON DELETE CASCADE'."""
        if self.kind == "f":
            fk = self.fk
            names = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
            ref = self.ref.name if self.ref is not None else fk.ref_table
            if self.ref is not None and not self.ref_visible:
                ref = f"{quote_ident(self.ref.schema)}.{quote_ident(ref)}"
            else:
                ref = quote_ident(ref)
            out = (f"FOREIGN KEY ({', '.join(quote_ident(c) for c in fk.columns)}) REFERENCES "
                   f"{ref}({', '.join(quote_ident(c) for c in fk.ref_columns)})")
            if fk.match == "f":
                out += " MATCH FULL"
            if fk.on_update in names:
                out += f" ON UPDATE {names[fk.on_update]}"
            if fk.on_delete in names:
                out += f" ON DELETE {names[fk.on_delete]}"
            if fk.deferrable:
                out += " DEFERRABLE INITIALLY DEFERRED" if fk.deferred else " DEFERRABLE"
            return out
        if self.kind == "c":
            e = self.expr.strip()
            return f"CHECK ({e})" if e.startswith("(") else f"CHECK (({e}))"
        cols = ", ".join(quote_ident(c) for c in self.columns)
        return f"{'PRIMARY KEY' if self.kind == 'p' else 'UNIQUE'} ({cols})"


@dataclass(frozen=True)
class AttrDef:
    oid: int
    table_oid: int
    attnum: int
    expr: str


def _expr_node(sql: str, bare: bool) -> tuple[str, bool]:
    """An index expression as pg_get_indexdef prints it (function names in lower case;
    `bare`: without the parentheses it was written in), and whether it is a function call."""
    from sqlglot import exp

    from sqlvec.sql.parse import parse_one_sql

    try:
        node = parse_one_sql("SELECT " + sql)
    except Exception:  # noqa: BLE001 - an opclass entry ('emb vector_l2_ops') stays as written
        return sql, False
    if node is None or len(node.expressions) != 1:
        return sql, False
    e = node.expressions[0]
    while bare and isinstance(e, exp.Paren):
        e = e.this
    call = isinstance(e, exp.Func) and not isinstance(e, exp.Cast)
    return e.transform(_cast_text).sql(dialect="postgres", normalize_functions="lower"), call


def generation_text(sql: str) -> str:
    """A generation expression as information_schema shows it (pg_get_expr, not pretty):
    an operator's in parentheses ('(a * 2)'), a call or a cast as it is."""
    from sqlglot import exp

    from sqlvec.sql.parse import parse_one_sql

    text = _expr_node(sql, True)[0]
    node = parse_one_sql("SELECT " + sql)
    top = node.expressions[0] if node is not None and len(node.expressions) == 1 else None
    while isinstance(top, exp.Paren):
        top = top.this
    return f"({text})" if isinstance(top, exp.Binary | exp.Unary) else text


def _cast_text(n: Any) -> Any:
    """A cast as PostgreSQL deparses it ('(emb)::halfvec(3)', "'x'::text"), else n."""
    from sqlglot import exp

    if not isinstance(n, exp.Cast):
        return n
    arg = n.this.transform(_cast_text)
    text = arg.sql(dialect="postgres", normalize_functions="lower")
    text = text if isinstance(arg, exp.Literal) else f"({text})"
    return exp.Var(this=f"{text}::{n.to.sql(dialect='postgres').lower()}")


def _def_key(sql: str) -> str:
    """An expression key in pg_get_indexdef's whole definition: _key_text, and an expression
    other than a function call in a second pair ('btree (((a + 1)))', as PostgreSQL)."""
    text, call = _expr_node(sql, True)
    return text if call else f"(({text}))"


def _key_text(sql: str) -> str:
    """An expression key as pg_get_indexdef(index, column) prints it: a function call as it
    is ('lower(name)'), any other expression in one pair of parentheses ('(a + 1)'), however
    many it was written in."""
    text, call = _expr_node(sql, True)
    return text if call else f"({text})"


def quote_ident(name: str) -> str:
    """Quote an identifier the way PostgreSQL's quote_ident does."""
    from sqlvec.catalog.system.keywords import RESERVED

    if name and (name[0].isalpha() and name[0].islower() or name[0] == "_") and \
            all(c.islower() or c.isdigit() or c == "_" for c in name) and name not in RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


_STRING_LITERAL = re.compile(r"^'(?:[^']|'')*'$")
_NEXTVAL = re.compile(r"^nextval\('((?:[^']|'')*)'\)$", re.I)


def default_text(c: Any, t: SqlType | None = None) -> str | None:
    """A column's DEFAULT as pg_get_expr deparses it: 'x'::text, nextval('s'::regclass)."""
    d = c.default
    if d is None:
        return f"nextval('{c.sequence}'::regclass)" if c.identity == "serial" and c.sequence else None
    d = d.strip()
    if d.upper() in ("TRUE", "FALSE", "NULL"):
        return d.lower()
    m = _NEXTVAL.match(d)
    if m:
        return f"nextval('{m.group(1)}'::regclass)"
    if _STRING_LITERAL.match(d) and t is not None and t.category != "X":
        name = t.element.name + "[]" if t.element is not None else t.name
        return f"{d}::{name}"
    return d


@dataclass
class Snapshot:
    """Catalog objects of one transaction, indexed by OID and name."""

    catalog: Catalog
    regs: Any
    user: str = "sqlvec"
    database: str = "sqlvec"
    settings: dict[str, str] = field(default_factory=dict)
    settings_rows: list[dict] | None = None  # pg_settings' rows (session/settings.py)
    search_path: list[str] = field(default_factory=lambda: ["pg_catalog", "public"])
    backend_pid: int = 0
    query_text: str = ""
    describe_view: Any = None  # (txn, sql) -> list[Column]: the session binds view queries
    sessions: list = field(default_factory=list)  # live sessions (pg_stat_activity)
    current: Any = None  # the session running this statement

    @cached_property
    def schemas(self) -> list[SchemaDef]:
        have = {s.name: s for s in self.catalog.schemas()}
        for name, oid in BUILTIN_SCHEMAS.items():
            have.setdefault(name, SchemaDef(oid, name))
        return sorted(have.values(), key=lambda s: s.oid)

    @cached_property
    def nsp_oid(self) -> dict[str, int]:
        return {s.name: s.oid for s in self.schemas}

    @cached_property
    def relations(self) -> list[TableDef | ViewDef]:
        return self.catalog.relations()

    @cached_property
    def tables(self) -> list[TableDef]:
        return [r for r in self.relations if isinstance(r, TableDef)]

    @cached_property
    def views(self) -> list[ViewDef]:
        return [r for r in self.relations if isinstance(r, ViewDef)]

    @cached_property
    def indexes(self) -> list[IndexDef]:
        return self.catalog.indexes()

    @cached_property
    def indexes_by_table(self) -> dict[int, list[IndexDef]]:
        out: dict[int, list[IndexDef]] = {}
        for i in self.indexes:
            out.setdefault(i.table_oid, []).append(i)
        return out

    def index_column(self, idx: IndexDef, col: int) -> str:
        """pg_get_indexdef(oid, col, ...): the col-th key ('' past the last), expressions as
        PostgreSQL prints them ('lower(email)')."""
        if col > len(idx.columns):
            return ""
        c = idx.columns[col - 1]
        if idx.expr is not None:  # (a vector index on an expression)
            return _key_text(idx.expr)
        return _key_text(c) if "(" in c else c

    def index_definition(self, idx: IndexDef, pretty: bool = False) -> str:
        """pg_get_indexdef: 'CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)'."""
        table = self.rel_by_oid.get(idx.table_oid)
        tname = f"{quote_ident(idx.schema)}.{quote_ident(table.name if table else '?')}"
        if idx.expr is not None:  # a vector index on an expression: it, and the opclass
            cols = " ".join((_key_text(idx.expr), *idx.columns[0].split()[1:]))
        else:
            cols = ", ".join(quote_ident(c) if c.isidentifier() else _def_key(c) if "(" in c else c
                             for c in idx.columns)
        head = "CREATE UNIQUE INDEX" if idx.unique else "CREATE INDEX"
        text = f"{head} {quote_ident(idx.name)} ON {tname} USING {idx.method} ({cols})"
        if idx.nulls_not_distinct:
            text += " NULLS NOT DISTINCT"
        if idx.options:
            text += " WITH (" + ", ".join(f"{k}='{v}'" for k, v in idx.options.items()) + ")"
        if idx.where:  # pretty (psql's \d) drops the outer parentheses, as PostgreSQL
            where = _expr_node(idx.where, True)[0]
            text += f" WHERE {where}" if pretty else f" WHERE ({where})"
        return text

    def view_columns(self, v: ViewDef) -> list[tuple[str, SqlType | None]]:
        """A view's output columns (names, types) by binding its query through the session."""
        cache = self.__dict__.setdefault("_view_cols", {})
        if v.oid not in cache:
            cols: list[tuple[str, SqlType | None]] = [(n, None) for n in v.column_names]
            if self.describe_view is not None:
                try:
                    bound = self.describe_view(self.catalog.txn, v.sql)
                    names = list(v.column_names) + [c.name for c in bound[len(v.column_names):]]
                    cols = [(n, c.type) for n, c in zip(names, bound)]
                except Exception:  # noqa: BLE001 - a broken view lists its recorded names only
                    pass
            cache[v.oid] = cols
        return cache[v.oid]

    @cached_property
    def database_oid(self) -> int:
        return dict(self.databases).get(self.database, DATABASE_OID)

    @cached_property
    def sequences(self) -> list[SequenceDef]:
        return self.catalog.sequences()

    def sequence_owner(self, q: SequenceDef) -> tuple[TableDef, int] | None:
        """(table, attnum) of the column a sequence is OWNED BY (serial / identity)."""
        if not q.owned_by or ":" not in q.owned_by:
            return None
        schema, _, rest = q.owned_by.partition(":")
        table, _, column = rest.rpartition(".")
        rel = self.rel_by_name.get((schema, table))
        if not isinstance(rel, TableDef) or rel.column_index(column) is None:
            return None
        return rel, rel.column_index(column) + 1

    def sequence_type(self, q: SequenceDef) -> SqlType:
        """bigint, or the owning column's integer type (serial: integer, as PostgreSQL)."""
        from sqlvec.core import types as T

        owner = self.sequence_owner(q)
        if owner is not None:
            t = self.column_type(owner[0].columns[owner[1] - 1])
            if t is not None and t.short in ("int2", "int4", "int8"):
                return t
        return T.INT8

    @cached_property
    def roles(self) -> list[RoleDef]:
        """sqlvec's roles plus PostgreSQL's predefined pg_database_owner (owner of public)."""
        have = {r.name: r for r in self.catalog.roles()}
        have.setdefault(DATABASE_OWNER[1], RoleDef(DATABASE_OWNER[0], DATABASE_OWNER[1], login=False))
        return sorted(have.values(), key=lambda r: r.oid)

    @cached_property
    def role_oid(self) -> dict[str, int]:
        return {r.name: r.oid for r in self.roles}

    @cached_property
    def role_name(self) -> dict[int, str]:
        return {r.oid: r.name for r in self.roles}

    @cached_property
    def owner_oid(self) -> int:
        return SUPERUSER_OID

    @cached_property
    def databases(self) -> list[tuple[str, int]]:
        out = []
        for _, d in self.catalog.txn.catalog_items("db/"):
            out.append((d["name"], int(d.get("oid") or DATABASE_OID)))
        return out

    @cached_property
    def extensions(self) -> list[dict]:
        """Installed extensions (plpgsql always, as in PostgreSQL)."""
        out = [{"name": "plpgsql", "oid": 13500, "version": "1.0", "schema": "pg_catalog",
                "comment": "PL/pgSQL procedural language"}]
        for _, d in self.catalog.txn.catalog_items("ext/"):
            out.append(dict(d))
        return out

    @cached_property
    def types(self) -> list[SqlType]:
        seen: dict[int, SqlType] = {}
        for t in self.regs.types.all():
            seen.setdefault(t.oid, t)
        return sorted(seen.values(), key=lambda t: t.oid)

    def type_namespace(self, t: SqlType) -> int:
        """pgvector's types live where CREATE EXTENSION vector put them; built-ins in pg_catalog."""
        base = t.element if t.element is not None else t
        if base.short in VECTOR_TYPES and self.vector_schema is not None:
            return self.nsp_oid.get(self.vector_schema, PUBLIC_OID)
        return PG_CATALOG_OID

    @cached_property
    def vector_schema(self) -> str | None:
        return next((e.get("schema", "public") for e in self.extensions if e["name"] == "vector"), None)

    @cached_property
    def ams(self) -> list[tuple[str, int, str]]:
        out = [(n, o, k) for n, (o, k) in BUILTIN_AMS.items()]
        out += [(n, EXTENSION_BASE + i, "i") for i, n in enumerate(EXTENSION_AMS)]
        return out

    @cached_property
    def am_oid(self) -> dict[str, int]:
        return {n: o for n, o, _ in self.ams}

    @cached_property
    def rel_by_oid(self) -> dict[int, Any]:
        out: dict[int, Any] = {r.oid: r for r in self.relations}
        out.update({i.oid: i for i in self.indexes})
        out.update({s.oid: s for s in self.sequences})
        return out

    @cached_property
    def rel_by_name(self) -> dict[tuple[str, str], Any]:
        return {(r.schema, r.name): r for r in self.rel_by_oid.values()}

    @cached_property
    def constraints(self) -> list[Constraint]:
        by_name = {(i.schema, i.name): i for i in self.indexes}
        out: list[Constraint] = []
        for t in self.tables:
            k = 0
            if t.primary_key:
                name = t.pk_name or f"{t.name}_pkey"
                idx = by_name.get((t.schema, name))
                out.append(Constraint(synthetic_oid(CONSTRAINT_BASE, t.oid, k), name, "p", t,
                                      t.primary_key, idx.oid if idx else 0))
                k += 1
            for uname, cols in t.uniques:
                idx = by_name.get((t.schema, uname))
                out.append(Constraint(synthetic_oid(CONSTRAINT_BASE, t.oid, k), uname, "u", t,
                                      cols, idx.oid if idx else 0))
                k += 1
            for chk in t.checks:
                out.append(Constraint(synthetic_oid(CONSTRAINT_BASE, t.oid, k), chk.name, "c", t,
                                      expr=chk.expr))
                k += 1
            for fk in t.foreign_keys:
                ref = self.table_by_oid.get(fk.ref_oid)
                idx = 0
                if ref is not None:
                    key = set(fk.ref_columns)
                    iname = (ref.pk_name or f"{ref.name}_pkey") if set(ref.primary_key) == key else \
                        next((n for n, u in ref.uniques if set(u) == key), "")
                    i = by_name.get((ref.schema, iname))
                    idx = i.oid if i else 0
                visible = ref is not None and self.relation_visible(ref.oid)
                out.append(Constraint(synthetic_oid(CONSTRAINT_BASE, t.oid, k), fk.name, "f", t,
                                      fk.columns, idx, ref=ref, fk=fk, ref_visible=visible))
                k += 1
        return out

    @cached_property
    def table_by_oid(self) -> dict[int, TableDef]:
        return {t.oid: t for t in self.tables}

    @cached_property
    def constraint_by_oid(self) -> dict[int, Constraint]:
        return {c.oid: c for c in self.constraints}

    @cached_property
    def attrdefs(self) -> list[AttrDef]:
        out = []
        for t in self.tables:
            for i, c in enumerate(t.columns):
                if c.hidden:
                    continue
                d = default_text(c, self.column_type(c)) if c.generated is None else \
                    _expr_node(c.generated, True)[0]  # (psql's \d: generated always as (...))
                if d is not None:
                    out.append(AttrDef(synthetic_oid(ATTRDEF_BASE, t.oid, i), t.oid, i + 1, d))
        return out

    @cached_property
    def comments(self) -> dict[tuple[int, int], str]:
        """(objoid, objsubid) -> description, from COMMENT ON when the engine records it."""
        out: dict[tuple[int, int], str] = {}
        for _, d in self.catalog.txn.catalog_items("comment/"):
            out[(int(d["objoid"]), int(d.get("objsubid", 0)))] = d["description"]
        for e in self.extensions:
            if e.get("comment"):
                out[(int(e["oid"]), 0)] = e["comment"]
        return out

    def column_type(self, c: Any) -> SqlType | None:
        try:
            return c.sql_type(self.regs.types)
        except KeyError:
            return None

    def visible_schemas(self) -> list[str]:
        path = list(self.search_path)
        if "pg_catalog" not in path:
            path.insert(0, "pg_catalog")
        return [s for s in path if s in self.nsp_oid]

    def relation_visible(self, oid: int) -> bool:
        """pg_table_is_visible: the first relation of its name on the search path is this one."""
        rel = self.rel_by_oid.get(oid)
        if rel is None:
            from sqlvec.catalog.system.registry import system_relation_by_oid

            sys_rel = system_relation_by_oid(oid)
            return sys_rel is not None and sys_rel.schema in self.visible_schemas()
        for s in self.visible_schemas():
            other = self.rel_by_name.get((s, rel.name))
            if other is not None:
                return other.oid == oid
        return False

    def lookup_relation(self, name: str) -> int | None:
        """Resolve a possibly qualified relation name to an OID (regclass input)."""
        from sqlvec.catalog.system.registry import system_relation

        schema, _, rel = split_qualified(name)
        for s in ([schema] if schema else self.visible_schemas()):
            r = self.rel_by_name.get((s, rel))
            if r is not None:
                return r.oid
            sys_rel = system_relation(s, rel)
            if sys_rel is not None:
                return sys_rel.oid
        return None

    def relation_name(self, oid: int) -> str | None:
        """regclass output: the name, schema-qualified when not visible."""
        from sqlvec.catalog.system.registry import system_relation_by_oid

        rel = self.rel_by_oid.get(oid) or system_relation_by_oid(oid)
        if rel is None:
            return None
        if rel.schema == "pg_catalog" or self.relation_visible(oid):
            return quote_ident(rel.name)
        return f"{quote_ident(rel.schema)}.{quote_ident(rel.name)}"

    def generate_rows(self, name: str, schema: str = "pg_catalog") -> dict[str, list]:
        """The rows of one system relation as {column: values} (for system functions)."""
        from sqlvec.catalog.system.generators import GENERATORS

        return GENERATORS[(schema, name)](self)

    def type_by_oid(self, oid: int) -> SqlType | None:
        return self.regs.types.by_oid(oid)


def split_qualified(name: str) -> tuple[str | None, str, str]:
    """'s.t' -> ('s', '.', 't'); '"A".b' -> ('A', '.', 'b'); 't' -> (None, '', 't')."""
    parts: list[str] = []
    cur = ""
    quoted = False
    i = 0
    s = name.strip()
    while i < len(s):
        ch = s[i]
        if ch == '"':
            if quoted and i + 1 < len(s) and s[i + 1] == '"':
                cur += '"'
                i += 2
                continue
            quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch if quoted else ch.lower()
        i += 1
    parts.append(cur)
    if len(parts) >= 2:
        return parts[-2], ".", parts[-1]
    return None, "", parts[0]
