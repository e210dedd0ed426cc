"""DDL execution: CREATE/DROP TABLE, VIEW, INDEX, SCHEMA, SEQUENCE; TRUNCATE; ALTER TABLE."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from sqlglot import exp

from sqlvec.catalog.catalog import Catalog
from sqlvec.catalog.objects import CheckDef, ColumnDef, IndexDef, SequenceDef, TableDef, ViewDef
from sqlvec.core import types as T
from sqlvec.core.errors import (
    DependentObjectsStillExist,
    DuplicateColumn,
    FeatureNotSupported,
    InvalidParameterValue,
    InvalidTableDefinition,
    UndefinedColumn,
    UndefinedObject,
    UndefinedTable,
    WrongObjectType,
)
from sqlvec.exec import ddl_fk
from sqlvec.sql.bind_expr import type_from_ast

_HIDDEN = "sqlvec_expr_"  # + the index's OID: the name of an expression index's hidden column
_SERIAL = {exp.DType.SERIAL: T.INT4, exp.DType.BIGSERIAL: T.INT8, exp.DType.SMALLSERIAL: T.INT2}


class DdlRunner:
    """Runs DDL statements against a Catalog; returns the command tag."""

    def __init__(self, catalog: Catalog, regs: Any, search_path: list[str]) -> None:
        self.cat = catalog
        self.regs = regs
        self.search_path = search_path
        self.notice: Any = None  # fn(message): NOTICEs of long builds (set by the session)

    def schema_for(self, tbl: exp.Table) -> str:
        if tbl.db:
            return tbl.db
        for s in self.search_path:
            if s not in ("pg_catalog", "information_schema", "$user") and self.cat.schema(s):
                return s
        return "public"

    def _find(self, tbl: exp.Table) -> Any:
        if tbl.db:
            return self.cat.relation(tbl.db, tbl.name)
        return self.cat.find_relation(tbl.name, self.search_path)

    # -- CREATE ---------------------------------------------------------------------
    def create(self, node: exp.Create) -> str:
        kind = (node.args.get("kind") or "").upper()
        if kind == "TABLE":
            return self.create_table(node)
        if kind == "VIEW":
            return self.create_view(node)
        if kind == "INDEX":
            return self.create_index(node)
        if kind == "SCHEMA":
            name = node.this.db or node.this.name
            self.cat.create_schema(name, bool(node.args.get("exists")))
            return "CREATE SCHEMA"
        if kind == "SEQUENCE":
            tbl = node.this
            props: dict[str, Any] = {}
            for prop in (node.args.get("properties").expressions if node.args.get("properties") else []):
                for key, field in (("start", "start"), ("increment", "increment"),
                                   ("minvalue", "min_value"), ("maxvalue", "max_value")):
                    v = prop.args.get(key)
                    if isinstance(v, exp.Neg):
                        props[field] = -int(v.this.name)
                    elif isinstance(v, exp.Expr) and v.is_int:
                        props[field] = int(v.name)
                for opt in prop.args.get("options") or []:
                    if opt.name.upper() in ("CYCLE", "NO CYCLE"):
                        props["cycle"] = opt.name.upper() == "CYCLE"
            if props.get("increment", 1) < 0:  # descending: defaults -2^63 .. -1, start at max
                props.setdefault("min_value", -(2**63))
                props.setdefault("max_value", -1)
                props.setdefault("start", props["max_value"])
            props.setdefault("start", props.get("min_value", 1))
            lo, hi = props.get("min_value", 1), props.get("max_value", 2**63 - 1)
            if lo >= hi:
                raise InvalidParameterValue(f"MINVALUE ({lo}) must be less than MAXVALUE ({hi})")
            if not lo <= props["start"] <= hi:
                which = "less" if props["start"] < lo else "greater"
                bound = "MINVALUE" if which == "less" else "MAXVALUE"
                raise InvalidParameterValue(
                    f"START value ({props['start']}) cannot be {which} than {bound} ({lo if which == 'less' else hi})")
            self.cat.create_sequence(SequenceDef(self.cat.new_oid(), self.schema_for(tbl), tbl.name, **props),
                                     bool(node.args.get("exists")))
            return "CREATE SEQUENCE"
        if kind == "EXTENSION":
            return "CREATE EXTENSION"
        raise FeatureNotSupported(f"CREATE {kind} is not supported")

    def create_table(self, node: exp.Create) -> str:
        schema_node = node.this
        if not isinstance(schema_node, exp.Schema):
            if node.expression is not None:
                return self._create_table_as(node)
            raise FeatureNotSupported("CREATE TABLE without columns is not supported")
        tbl = schema_node.this
        schema = self.schema_for(tbl)
        if node.args.get("exists") and (self.cat.relation(schema, tbl.name) is not None):
            return "CREATE TABLE"
        if node.expression is not None:
            return self._create_table_as(node)
        oid = self.cat.new_oid()
        cols: list[ColumnDef] = []
        pk: list[str] = []
        uniques: list[tuple[str, tuple[str, ...]]] = []
        checks: list[CheckDef] = []
        seqs: list[SequenceDef] = []
        fks: list[tuple[list[str], exp.Reference, str | None]] = []  # resolved once the table is known
        nnd: set[str] = set()  # UNIQUE NULLS NOT DISTINCT constraints

        def add_column(col: ColumnDef) -> None:
            if any(c.name == col.name for c in cols):
                raise DuplicateColumn(f'column "{col.name}" specified more than once')
            cols.append(col)

        def only_key(names: list[str]) -> list[str]:
            if pk:
                raise InvalidTableDefinition(f'multiple primary keys for table "{tbl.name}" are not allowed')
            return names

        for item in schema_node.expressions:
            if isinstance(item, exp.ColumnDef):
                col, cpk, cuniq, cchecks, seq = self._column(item, tbl.name, schema)
                add_column(col)
                for c in item.args.get("constraints") or []:
                    if isinstance(c.args.get("kind"), exp.Reference):
                        fks.append(([col.name], c.args["kind"], c.name or None))
                if cpk:
                    pk = only_key([col.name])
                if cuniq:
                    uniques.append((cuniq if isinstance(cuniq, str) else f"{tbl.name}_{col.name}_key", (col.name,)))
                    if any(isinstance(c.args.get("kind"), exp.UniqueColumnConstraint) and c.args["kind"].args.get("nulls")
                           for c in item.args.get("constraints") or []):
                        nnd.add(uniques[-1][0])
                checks.extend(cchecks)
                if seq:
                    seqs.append(seq)
            elif isinstance(item, exp.LikeProperty):  # LIKE source [INCLUDING ... | EXCLUDING ...]
                lcols, lpk, luniq, lchecks, lseqs = self._like(item, tbl.name, schema)
                for col in lcols:
                    add_column(col)
                if lpk:
                    pk = only_key(lpk)
                uniques.extend(luniq)
                checks.extend(lchecks)
                seqs.extend(lseqs)
            elif isinstance(item, exp.PrimaryKey):
                pk = only_key([_ident_name(e) for e in item.expressions])
            elif isinstance(item, exp.UniqueColumnConstraint):
                names = [_ident_name(e) for e in (item.this.expressions if item.this is not None else [])]
                uniques.append((f"{tbl.name}_{'_'.join(names)}_key", tuple(names)))
                if item.args.get("nulls"):
                    nnd.add(uniques[-1][0])
            elif isinstance(item, exp.Constraint):
                cname = item.name
                for sub in item.expressions:
                    if isinstance(sub, exp.CheckColumnConstraint):
                        checks.append(CheckDef(cname, sub.this.sql(dialect="postgres")))
                    elif isinstance(sub, exp.PrimaryKey):
                        pk = only_key([_ident_name(e) for e in sub.expressions])
                    elif isinstance(sub, exp.UniqueColumnConstraint):
                        names = [_ident_name(e) for e in (sub.this.expressions if sub.this is not None else [])]
                        uniques.append((cname, tuple(names)))
                        if sub.args.get("nulls"):
                            nnd.add(cname)
                    elif isinstance(sub, exp.ForeignKey):
                        fks.append(([_ident_name(e) for e in sub.expressions], sub.args["reference"], cname))
            elif isinstance(item, exp.CheckColumnConstraint):
                checks.append(CheckDef(f"{tbl.name}_check", item.this.sql(dialect="postgres")))
            elif isinstance(item, exp.ForeignKey):
                fks.append(([_ident_name(e) for e in item.expressions], item.args["reference"], None))
            else:
                raise FeatureNotSupported(f"unsupported table element: {item.sql()[:40]}")
        names = {c.name for c in cols}
        for k in pk:
            if k not in names:
                raise UndefinedColumn(f'column "{k}" named in key does not exist')
        cols = [ColumnDef(c.name, c.type_oid, c.typmod, c.not_null or c.name in pk, c.default, c.identity, c.sequence,
                          c.generated)
                for c in cols]
        for s in seqs:
            self.cat.create_sequence(s)
        t = TableDef(oid, schema, tbl.name, tuple(cols), tuple(pk), f"{tbl.name}_pkey" if pk else None,
                     tuple(uniques), tuple(checks))
        if nnd:
            from dataclasses import replace

            from sqlvec.catalog.objects import UniqueIndexDef

            t = replace(t, unique_indexes=tuple(UniqueIndexDef(n, c, None, True) for n, c in uniques if n in nnd))
        if fks:
            t = self._with_foreign_keys(t, fks)
        self.cat.create_table(t, arrow_schema(t, self.regs))
        if fks:
            ddl_fk.link_parents(self.cat, t)
        if pk:
            self.cat.create_index(IndexDef(self.cat.new_oid(), schema, f"{tbl.name}_pkey", oid, tuple(pk),
                                           unique=True, primary=True))
        for uname, ucols in uniques:
            if self.cat.index(schema, uname) is None:
                self.cat.create_index(IndexDef(self.cat.new_oid(), schema, uname, oid, ucols, unique=True,
                                               nulls_not_distinct=uname in nnd))
        return "CREATE TABLE"

    def _with_foreign_keys(self, t: TableDef, fks: list) -> TableDef:
        """t with its FOREIGN KEY clauses resolved (a self-reference links t to itself)."""
        from dataclasses import replace

        out = list(t.foreign_keys)
        for cols, ref, cname in fks:
            taken = ddl_fk.constraint_names(replace(t, foreign_keys=tuple(out)))
            out.append(ddl_fk.build_fk(self, t, cols, ref, cname, taken))
        return ddl_fk.self_linked(replace(t, foreign_keys=tuple(out)))

    def _column(self, item: exp.ColumnDef, table: str, schema: str):
        name = item.name
        kind = item.args.get("kind")
        seq = None
        default = None
        identity = None
        if kind is not None and kind.this in _SERIAL:
            t = _SERIAL[kind.this]
            seqname = f"{table}_{name}_seq"
            seq = SequenceDef(self.cat.new_oid(), schema, seqname, owned_by=f"{schema}:{table}.{name}")
            default = f"nextval('{seqname}')"
            identity = "serial"
        elif kind is None:
            raise FeatureNotSupported("column without a type")
        else:
            t = type_from_ast(kind, self.regs.types)
        not_null = identity is not None
        pk = uniq = False
        generated = None
        checks: list[CheckDef] = []
        for c in item.args.get("constraints") or []:
            k = c.args.get("kind")
            if isinstance(k, exp.NotNullColumnConstraint):
                not_null = not k.args.get("allow_null")
            elif isinstance(k, exp.PrimaryKeyColumnConstraint):
                pk = True
                not_null = True
            elif isinstance(k, exp.UniqueColumnConstraint):
                uniq = c.name or True  # its constraint name, when given
            elif isinstance(k, exp.DefaultColumnConstraint):
                default = k.this.sql(dialect="postgres")
            elif isinstance(k, exp.CheckColumnConstraint):  # CONSTRAINT name CHECK (...)
                checks.append(CheckDef(c.name or f"{table}_{name}_check", k.this.sql(dialect="postgres")))
            elif isinstance(k, exp.ComputedColumnConstraint):  # GENERATED ALWAYS AS (e) STORED
                generated = k.this.sql(dialect="postgres")
            elif isinstance(k, exp.GeneratedAsIdentityColumnConstraint):
                seqname = f"{table}_{name}_seq"
                seq = SequenceDef(self.cat.new_oid(), schema, seqname, owned_by=f"{schema}:{table}.{name}")
                default = f"nextval('{seqname}')"
                identity = "always" if k.this else "by default"
                not_null = True
        if generated is not None and (default is not None or identity is not None):
            from sqlvec.core.errors import SyntaxError_

            raise SyntaxError_(f'both default and generation expression specified for column "{name}" '
                               f'of table "{table}"')
        return (ColumnDef(name, t.oid, t.typmod, not_null, default, identity, seq.name if seq else None,
                          generated), pk, uniq, checks, seq)

    def _like(self, item: exp.LikeProperty, table: str, schema: str) -> tuple:
        """The columns (NOT NULL kept), and with INCLUDING DEFAULTS / CONSTRAINTS / INDEXES /
        IDENTITY / GENERATED / ALL the defaults, checks, keys, identities, generation
        expressions of a LIKE source table."""
        from dataclasses import replace

        src = self._find(item.this)
        if src is None:
            raise UndefinedTable(f'relation "{item.this.name}" does not exist')
        if not isinstance(src, TableDef):
            raise FeatureNotSupported("LIKE of a view is not supported")
        inc: set[str] = set()
        for prop in item.expressions:
            what = prop.args["value"].name.upper()
            names = {"DEFAULTS", "CONSTRAINTS", "INDEXES", "IDENTITY", "GENERATED"} if what == "ALL" else {what}
            if str(prop.args.get("this") or "").upper() == "INCLUDING":
                inc |= names
            else:
                inc -= names
        cols, seqs = [], []
        for c in src.visible:
            col = replace(c, default=None, identity=None, sequence=None, generated=None)
            if "DEFAULTS" in inc and c.identity in (None, "serial"):
                col = replace(col, default=c.default)
            if "IDENTITY" in inc and c.identity in ("always", "by default"):
                seq = SequenceDef(self.cat.new_oid(), schema, f"{table}_{c.name}_seq",
                                  owned_by=f"{schema}:{table}.{c.name}")
                seqs.append(seq)
                col = replace(col, identity=c.identity, sequence=seq.name, default=f"nextval('{seq.name}')")
            if "GENERATED" in inc:
                col = replace(col, generated=c.generated)
            cols.append(col)
        checks = list(src.checks) if "CONSTRAINTS" in inc else []
        pk = list(src.primary_key) if "INDEXES" in inc else []
        uniq = [(f"{table}_{'_'.join(u)}_key", u) for _, u in src.uniques] if "INDEXES" in inc else []
        return cols, pk, uniq, checks, seqs

    def _create_table_as(self, node: exp.Create) -> str:
        raise FeatureNotSupported("CREATE TABLE AS is handled by the session")

    def create_view(self, node: exp.Create) -> str:
        target = node.this
        cols: tuple[str, ...] = ()
        if isinstance(target, exp.Schema):
            cols = tuple(_ident_name(e) for e in target.expressions)
            target = target.this
        sql = node.expression.sql(dialect="postgres")
        ctes = {c.alias_or_name for c in node.expression.find_all(exp.CTE)}
        deps = []
        for t in node.expression.find_all(exp.Table):
            if not t.name or (not t.db and t.name in ctes):
                continue
            rel = self._find(t)
            if rel is not None and rel.oid not in deps:
                deps.append(rel.oid)
        option = node.args.get("check_option")
        if option is not None:
            from sqlvec.sql.binder import BindContext, Binder
            from sqlvec.sql.view_dml import check_view_definition

            check_view_definition(Binder(BindContext(self.cat, self.regs, self.search_path)),
                                  node.expression, option)
        self.cat.create_view(ViewDef(self.cat.new_oid(), self.schema_for(target), target.name, sql, cols,
                                     "view", tuple(deps), option), replace=bool(node.args.get("replace")))
        return "CREATE VIEW"

    def create_index(self, node: exp.Create) -> str:
        idx = node.this
        params = idx.args.get("params")
        tbl = idx.args.get("table")
        rel = self._find(tbl)
        if rel is None:
            raise UndefinedTable(f'relation "{tbl.name}" does not exist')
        if not isinstance(rel, TableDef):
            raise WrongObjectType(f'"{tbl.name}" is not a table')
        cols = []
        for o in params.args.get("columns") or []:
            e = o.this if isinstance(o, exp.Ordered) else o
            if isinstance(e, exp.Column):
                if rel.column_index(e.name) is None:
                    raise UndefinedColumn(f'column "{e.name}" does not exist')
                cols.append(e.name)
            else:
                cols.append(e.sql(dialect="postgres"))
        using = params.args.get("using")
        method = using.name.lower() if using is not None else "btree"
        from sqlvec.catalog.system.snapshot import BUILTIN_AMS, EXTENSION_AMS

        if method not in EXTENSION_AMS and BUILTIN_AMS.get(method, (0, ""))[1] != "i":
            if method in BUILTIN_AMS:  # heap
                raise WrongObjectType(f'access method "{method}" is not of type INDEX')
            raise UndefinedObject(f'access method "{method}" does not exist')
        heads = [_name_part(o.this if isinstance(o, exp.Ordered) else o) for o in params.args.get("columns") or []]
        name = idx.name or f"{rel.name}_{'_'.join(h for h in heads if h.isidentifier())}_idx"
        if not idx.name:  # PostgreSQL's choice for an unnamed index: t_col_idx, t_col_idx1, ...
            base, i = name, 0
            while self.cat.index(rel.schema, name) is not None or self.cat.relation(rel.schema, name) is not None:
                i += 1
                name = f"{base}{i}"
        if node.args.get("exists") and self.cat.index(rel.schema, name) is not None:
            return "CREATE INDEX"
        opts = {}
        for w in params.args.get("with_storage") or []:
            if isinstance(w, exp.Property) or isinstance(w, exp.EQ):
                val = w.args.get("value") or w.expression  # Property keeps it in 'value'
                opts[w.this.name if hasattr(w.this, "name") else str(w.this)] = val.name if hasattr(val, "name") else str(val)
        oid = self.cat.new_oid()
        expr = None
        if method in ("hnsw", "ivfflat") and len(cols) == 1:  # vector indexes: opclass + WITH checks
            from sqlvec.index import check_index_definition

            head, opc = _vector_key(cols[0])
            if rel.column_index(head.strip('"')) is None:  # ((emb::halfvec(3)) halfvec_l2_ops)
                expr, col = self._expression_column(rel, method, head, oid)
                head = col.name
            else:
                col = rel.columns[rel.column_index(head.strip('"'))]
            cols[0] = f"{head} {opc}" if opc else head
            vtype = self.regs.types.by_oid(col.type_oid)
            check_index_definition(method, cols[0], vtype.short if vtype else "", opts)
            if expr is not None:
                rel = self._add_hidden(rel, col)
        unique = bool(node.args.get("unique"))
        where = params.args.get("where")
        where_sql = where.this.sql(dialect="postgres") if where is not None else None
        nnd = bool(params.args.get("nulls_not_distinct"))
        d = IndexDef(oid, rel.schema, name, rel.oid, tuple(cols), method, unique, opts,
                     where=where_sql, nulls_not_distinct=nnd, expr=expr)
        self.cat.create_index(d)
        if method in ("hnsw", "ivfflat") and len(cols) == 1:  # built now, as pgvector does
            self.build_vector_index(rel, d, "CREATE INDEX")
        if unique and (where is not None or nnd or not all(rel.column_index(c) is not None for c in cols)):
            self._add_unique_index(rel, name, params, where)
        elif unique:
            from dataclasses import replace

            new = replace(rel, uniques=rel.uniques + ((name, tuple(cols)),))
            self._check_existing(new)
            self.cat.txn.alter_table(rel.oid, arrow_schema(new, self.regs), lambda t: t)
            self.cat.put_table(new)
        return "CREATE INDEX"

    def _generated_dependents(self, rel: TableDef, name: str, cascade: bool) -> set[str]:
        """The generated columns that go with column `name` (an expression index's hidden
        ones always, with their index; the others only under CASCADE, else 2BP01)."""
        from sqlvec.core.errors import DependentObjectsStillExist

        out = set()
        for c in rel.columns:
            if c.generated is None or name not in _check_columns(c.generated):
                continue
            if not c.hidden and not cascade:
                raise DependentObjectsStillExist(
                    f"cannot drop column {name} of table {rel.name} because other objects "
                    "depend on it",
                    detail=f"column {c.name} of table {rel.name} depends on column {name} of "
                           f"table {rel.name}",
                    hint="Use DROP ... CASCADE to drop the dependent objects too.")
            if not c.hidden and self.notice is not None:
                self.notice(f"drop cascades to column {c.name} of table {rel.name}")
            out.add(c.name)
        return out

    def _generated_again(self, rel: TableDef, name: str) -> list[tuple[int, Any]]:
        """ALTER COLUMN name TYPE: the expression indexes' hidden columns computed again from
        the new values, (position, rows -> values) each; a user's generated column on it is
        0A000, as in PostgreSQL."""
        out = []
        for j, c in enumerate(rel.columns):
            if c.generated is None or name not in _check_columns(c.generated):
                continue
            if not c.hidden:
                raise FeatureNotSupported("cannot alter type of a column used by a generated column",
                                          detail=f'Column "{name}" is used by generated column "{c.name}".')
            out.append((j, self._generated_converter(rel, c)))
        return out

    def _drop_hidden(self, idx: IndexDef) -> None:
        """DROP INDEX of a vector index on an expression: its hidden column goes too."""
        from dataclasses import replace

        rel = self.cat.relation_by_oid(idx.table_oid)
        name = idx.columns[0].split()[0]
        if idx.expr is None or not isinstance(rel, TableDef) or rel.column_index(name) is None:
            return
        new = replace(rel, columns=tuple(c for c in rel.columns if c.name != name))
        self.cat.txn.alter_table(rel.oid, arrow_schema(new, self.regs), lambda t: t.drop([name]))
        self.cat.put_table(new)

    def _expression_column(self, rel: TableDef, method: str, key: str, oid: int) -> tuple[str, ColumnDef]:
        """A vector index on an expression (pgvector's `((emb::halfvec(3)) halfvec_l2_ops)`,
        `((binary_quantize(emb)::bit(3)) bit_hamming_ops)`): (its SQL text, the hidden
        stored generated column that will hold its values). Their segments' graphs are then
        built as for a column's, every INSERT / UPDATE / COPY computes the values, and a
        query ordering by the same expression reads the column (plan/index_expressions.py)."""
        from sqlvec.core.errors import InvalidObjectDefinition
        from sqlvec.plan import expr as E
        from sqlvec.sql.bind_dml import table_scope
        from sqlvec.sql.binder import BindContext, Binder
        from sqlvec.sql.parse import parse_one_sql

        if rel.kind != "table":
            raise FeatureNotSupported(f"{method} indexes on expressions of a materialized view "
                                      "are not supported")
        node = parse_one_sql(f"SELECT {key}").expressions[0]
        for c in node.find_all(exp.Column):
            i = rel.column_index(c.name)
            if i is None or rel.columns[i].hidden:
                raise UndefinedColumn(f'column "{c.name}" does not exist')
            if rel.columns[i].generated is not None:
                raise FeatureNotSupported(f"{method} indexes on expressions of generated columns "
                                          "are not supported")
        b = Binder(BindContext(self.cat, self.regs, self.search_path))
        e = b.bind_expr(node, table_scope(b, rel))
        if any(getattr(getattr(x, "fn", None), "volatile", False) for x in E.walk(e)):
            raise InvalidObjectDefinition("functions in index expression must be marked IMMUTABLE")
        text = node.sql(dialect="postgres")
        return text, ColumnDef(f"{_HIDDEN}{oid}", e.type.oid, e.type.typmod, generated=text,
                               hidden=True)

    def _add_hidden(self, rel: TableDef, col: ColumnDef) -> TableDef:
        """rel with the hidden column of an expression index, its values computed for the rows
        there now (a rewrite, as ADD COLUMN ... GENERATED ALWAYS AS (...) STORED)."""
        from dataclasses import replace

        generate = self._generated_converter(rel, col)
        new = replace(rel, columns=rel.columns + (col,))
        self.cat.txn.alter_table(rel.oid, arrow_schema(new, self.regs),
                                 lambda t: t.append_column(col.name, generate(t)))
        self.cat.put_table(new)
        return new

    def _add_unique_index(self, rel: TableDef, name: str, params: exp.Expr, where: exp.Expr | None) -> None:
        """A unique index on expressions, partial or NULLS NOT DISTINCT: recorded on the table
        (TableDef.unique_indexes) and checked against the rows already there."""
        from dataclasses import replace

        from sqlvec.catalog.objects import UniqueIndexDef
        from sqlvec.exec import unique_index
        from sqlvec.exec.operators import ExecContext

        keys = []
        for o in params.args.get("columns") or []:
            e = o.this if isinstance(o, exp.Ordered) else o
            keys.append(_key_sql(e))
        ui = UniqueIndexDef(name, tuple(keys), _key_sql(where.this) if where is not None else None,
                            bool(params.args.get("nulls_not_distinct")))
        new = replace(rel, unique_indexes=rel.unique_indexes + (ui,))
        unique_index.check_existing(ExecContext(self.cat.txn, self.regs).executor, new, ui)
        self.cat.put_table(new)

    def build_vector_index(self, rel: TableDef, d: IndexDef, command: str) -> None:
        """Build a vector index from the visible rows (CREATE INDEX, REINDEX); the session
        is listed in pg_stat_progress_create_index while it runs."""
        from sqlvec.exec import segment_index
        from sqlvec.exec.vector_search import build_on_create
        from sqlvec.index.hnsw import THREADS, build_threads

        # files of a rolled-back build go at the next commit (not only at the next start)
        segment_index.creating(self.cat.store, self.cat.txn, f"index/{d.schema}/{d.name}", d.oid)
        session = getattr(self.notice, "__self__", None)  # notice = session.notice
        progress = {"relid": rel.oid, "index_relid": d.oid, "command": command,
                    "phase": "initializing", "tuples_total": 0, "tuples_done": 0}
        if session is not None:
            session.index_progress = progress
        # the leader and its workers, as PostgreSQL counts them (no session: every core)
        settings = getattr(session, "settings", None)
        threads = int(settings.values["max_parallel_maintenance_workers"]) + 1 \
            if settings is not None else THREADS
        try:
            with build_threads(threads):
                build_on_create(self.cat.txn, self.cat.store, self.regs.types, rel, d,
                                self.notice, progress)
        finally:
            if session is not None:
                session.index_progress = None

    # -- DROP -----------------------------------------------------------------------
    def drop(self, node: exp.Drop) -> str:
        kind = (node.args.get("kind") or "").upper()
        if_exists = bool(node.args.get("exists"))
        targets = node.args.get("tables") or ([node.this] if node.this is not None else [])
        if kind in ("TABLE", "VIEW"):
            dropping = {r.oid for r in (self._find(t) for t in targets) if r is not None}
            for tbl in targets:
                rel = self._find(tbl)
                materialized = bool(node.args.get("materialized"))
                if rel is not None:
                    from sqlvec.exec.matview import check_drop_kind

                    check_drop_kind(rel, kind, materialized, tbl.name)
                if rel is None or (kind == "TABLE" or materialized) != isinstance(rel, TableDef):
                    if rel is not None:
                        raise WrongObjectType(f'"{tbl.name}" is not a {kind.lower()}')
                    if if_exists:
                        if self.notice is not None:
                            what = "materialized view" if materialized else kind.lower()
                            self.notice(f'{what} "{tbl.name}" does not exist, skipping')
                        continue
                    word = "materialized view" if materialized else "table" if kind == "TABLE" else "view"
                    raise UndefinedTable(f'{word} "{tbl.name}" does not exist')
                self._drop_dependents(rel, bool(node.args.get("cascade")))
                if isinstance(rel, TableDef):
                    rel = self.cat.relation(rel.schema, rel.name) or rel  # an earlier target may have changed it
                    ddl_fk.check_drop_table(self.cat, rel, dropping, bool(node.args.get("cascade")), self.notice)
                    rel = self.cat.relation(rel.schema, rel.name) or rel
                self.cat.drop_relation(rel)
            return f"DROP MATERIALIZED {kind}" if node.args.get("materialized") else f"DROP {kind}"
        if kind == "INDEX":
            for tbl in targets:
                idx = None
                for s in ([tbl.db] if tbl.db else self.search_path):
                    idx = self.cat.index(s, tbl.name)
                    if idx:
                        break
                if idx is None:
                    if if_exists:
                        continue
                    raise UndefinedObject(f'index "{tbl.name}" does not exist')
                self.cat.drop_index(idx)
                self._drop_hidden(idx)
                rel = self.cat.relation_by_oid(idx.table_oid) if idx.unique else None
                if isinstance(rel, TableDef) and any(u.name == idx.name for u in rel.unique_indexes):
                    from dataclasses import replace

                    self.cat.put_table(replace(rel, unique_indexes=tuple(
                        u for u in rel.unique_indexes if u.name != idx.name)))
            return "DROP INDEX"
        if kind == "SCHEMA":
            for tbl in targets:
                self.cat.drop_schema(tbl.db or tbl.name, if_exists, bool(node.args.get("cascade")))
            return "DROP SCHEMA"
        if kind == "SEQUENCE":
            for tbl in targets:
                s = self.cat.sequence(self.schema_for(tbl), tbl.name)
                if s is None:
                    if if_exists:
                        continue
                    raise UndefinedTable(f'sequence "{tbl.name}" does not exist')
                self.cat.drop_sequence(s)
            return "DROP SEQUENCE"
        if kind == "EXTENSION":
            return "DROP EXTENSION"
        raise FeatureNotSupported(f"DROP {kind} is not supported")

    def _drop_dependents(self, rel: Any, cascade: bool) -> None:
        """Views reading rel: an error (2BP01) unless CASCADE, which drops them too."""
        for v in self.cat.relations():
            if rel.oid in getattr(v, "depends", ()) and v.oid != rel.oid:
                if not cascade:
                    kind = _kind_word(rel)
                    raise DependentObjectsStillExist(
                        f"cannot drop {kind} {rel.name} because other objects depend on it",
                        detail=f"{_kind_word(v)} {v.name} depends on {kind} {rel.name}",
                        hint="Use DROP ... CASCADE to drop the dependent objects too.",
                    )
                self._drop_dependents(v, cascade)
                self.cat.drop_relation(v)

    def truncate(self, node: exp.TruncateTable) -> str:
        restart = str(node.args.get("identity") or "").upper() == "RESTART"
        rels = []
        for tbl in node.expressions:
            rel = self._find(tbl)
            if not isinstance(rel, TableDef):
                raise UndefinedTable(f'relation "{tbl.name}" does not exist')
            if rel.kind == "matview":
                raise WrongObjectType(f'"{tbl.name}" is not a table')
            rels.append(rel)
        cascade = str(node.args.get("option") or "").upper() == "CASCADE"
        for rel in ddl_fk.truncate_set(self.cat, rels, cascade, self.notice):
            self.cat.txn.truncate(rel.oid)
            if restart:
                for c in rel.columns:
                    if c.sequence:
                        seq = self.cat.sequence(rel.schema, c.sequence)
                        if seq is not None:
                            self.cat.restart_sequence(seq)
        return "TRUNCATE TABLE"

    # -- ALTER TABLE ------------------------------------------------------------------
    def alter(self, node: exp.Alter) -> str:
        kind = (node.args.get("kind") or "").upper()
        if kind != "TABLE":
            raise FeatureNotSupported(f"ALTER {kind} is not supported")
        tbl = node.this
        rel = self._find(tbl)
        if rel is None:
            if node.args.get("exists"):
                return "ALTER TABLE"
            raise UndefinedTable(f'relation "{tbl.name}" does not exist')
        if not isinstance(rel, TableDef):
            if all(isinstance(a, exp.AlterRename) for a in node.args.get("actions") or []):
                self.cat.rename_relation(rel, node.args["actions"][0].this.name)
                return "ALTER TABLE"
            raise WrongObjectType(f'"{tbl.name}" is not a table')
        for action in node.args.get("actions") or []:
            rel = self._alter_one(rel, action)
        return "ALTER TABLE"

    def alter_storage(self, stmt: Any) -> str:
        """ALTER TABLE ... ALTER COLUMN c SET STORAGE mode (sql/alter_storage_stmt.py): the
        mode goes to the catalog (pg_attribute.attstorage), checked as PostgreSQL checks
        it; columnar segments have no TOAST, so nothing else changes."""
        from dataclasses import replace

        schema, name = stmt.table
        rel = self.cat.relation(schema, name) if schema else \
            self.cat.find_relation(name, self.search_path)
        if rel is None:
            if not stmt.if_exists:
                raise UndefinedTable(f'relation "{name}" does not exist')
            if self.notice is not None:
                self.notice(f'relation "{name}" does not exist, skipping')
            return "ALTER TABLE"
        if not isinstance(rel, TableDef):
            raise WrongObjectType(f"ALTER action ALTER COLUMN ... SET STORAGE cannot be performed "
                                  f'on relation "{name}"',
                                  detail="This operation is not supported for views.")
        cols = list(rel.columns)
        for column, word in stmt.columns:
            i = rel.column_index(column)
            if i is None:
                raise UndefinedColumn(f'column "{column}" of relation "{rel.name}" does not exist')
            letter = _STORAGE.get(word.lower())  # (a quoted "PLAIN" too, as PostgreSQL)
            if letter is None:
                raise InvalidParameterValue(f'invalid storage type "{word}"')
            t = cols[i].sql_type(self.regs.types)
            if t.typlen > 0 and letter != "p":
                raise FeatureNotSupported(f"column data type {t.display()} can only have "
                                          "storage PLAIN")
            cols[i] = replace(cols[i], storage=letter)
        self.cat.put_table(replace(rel, columns=tuple(cols)))
        return "ALTER TABLE"

    def _alter_one(self, rel: TableDef, a: exp.Expr) -> TableDef:
        from dataclasses import replace

        if isinstance(a, exp.ColumnDef):
            if rel.column_index(a.name) is not None:
                if a.args.get("exists"):
                    return rel
                raise DuplicateColumn(f'column "{a.name}" of relation "{rel.name}" already exists')
            col, pk, uniq, checks, seq = self._column(a, rel.name, rel.schema)
            if seq:
                self.cat.create_sequence(seq)
            new = replace(rel, columns=rel.columns + (col,), checks=rel.checks + tuple(checks),
                          uniques=rel.uniques + (((uniq if isinstance(uniq, str) else f"{rel.name}_{col.name}_key",
                                                      (col.name,)),) if uniq else ()))
            if col.generated is not None:  # the existing rows' values computed now (a rewrite)
                generate = self._generated_converter(rel, col)

                def fill(t: pa.Table) -> pa.Table:
                    values = generate(t)
                    if col.not_null and values.null_count:
                        from sqlvec.core.errors import NotNullViolation

                        raise NotNullViolation(f'column "{col.name}" of relation "{rel.name}" '
                                               "contains null values")
                    return t.append_column(col.name, values)
            else:
                fill_value = self._default_array(col)

                def fill(t: pa.Table) -> pa.Table:
                    return t.append_column(col.name, fill_value(t.num_rows))

            if col.not_null and col.default is None and col.generated is None and \
                    self.cat.txn.row_count(rel.oid):
                from sqlvec.core.errors import NotNullViolation

                raise NotNullViolation(f'column "{col.name}" of relation "{rel.name}" contains null values')
            self.cat.txn.alter_table(rel.oid, arrow_schema(new, self.regs), fill)
            refs = [(([col.name]), c.args["kind"], c.name or None) for c in a.args.get("constraints") or []
                    if isinstance(c.args.get("kind"), exp.Reference)]
            if refs:  # ADD COLUMN ... REFERENCES t: the default values must reference existing keys
                before = new.foreign_keys
                new = self._with_foreign_keys(new, refs)
                self.cat.txn.alter_table(rel.oid, arrow_schema(new, self.regs), lambda t: t)  # keys in metadata
                self.cat.put_table(new)
                ddl_fk.link_parents(self.cat, new)
                self._validate_foreign_keys(new, new.foreign_keys[len(before):])
                return new
            self.cat.put_table(new)
            return new
        if isinstance(a, exp.Drop) and (a.args.get("kind") or "").upper() == "COLUMN":
            for target in a.args.get("tables") or [a.this]:
                i = rel.column_index(target.name)
                if i is None or rel.columns[i].hidden:
                    if a.args.get("exists"):
                        continue
                    raise UndefinedColumn(f'column "{target.name}" of relation "{rel.name}" does not exist')
                name = target.name
                gone = {name} | self._generated_dependents(rel, name, bool(a.args.get("cascade")))
                for key in ([rel.primary_key] if rel.primary_key else []) + [u for _, u in rel.uniques]:
                    if name in key:
                        self._drop_key_dependents(rel, key, f"column {name} of table {rel.name}",
                                                  bool(a.args.get("cascade")))
                        rel = self.cat.relation(rel.schema, rel.name) or rel
                for fk in [f for f in rel.foreign_keys if name in f.columns]:  # goes with the column
                    rel = replace(rel, foreign_keys=tuple(f for f in rel.foreign_keys if f.name != fk.name))
                    ddl_fk.unlink_parent(self.cat, rel, fk)
                new = replace(rel, columns=tuple(c for c in rel.columns if c.name not in gone),
                              unique_indexes=tuple(u for u in rel.unique_indexes if name not in _index_columns(u)),
                              primary_key=() if name in rel.primary_key else rel.primary_key,
                              uniques=tuple(u for u in rel.uniques if name not in u[1]),
                              checks=tuple(c for c in rel.checks if name not in _check_columns(c.expr)))
                self.cat.txn.alter_table(rel.oid, arrow_schema(new, self.regs),
                                         lambda t, g=sorted(gone): t.drop(g))
                self.cat.put_table(new)
                for idx in self.cat.indexes_of(rel.oid):
                    if any(_names_column(x, n) or "(" in x and n in _check_columns(x)
                           for x in idx.columns for n in gone) \
                            or idx.where and name in _check_columns(idx.where):
                        self.cat.drop_index(idx)
                rel = new
            return rel
        if isinstance(a, exp.Drop) and (a.args.get("kind") or "").upper() == "CONSTRAINT":
            return self._drop_constraint(rel, a)
        if isinstance(a, exp.RenameColumn) and a.args.get("constraint"):
            return self._rename_constraint(rel, a.this.name, a.args["to"].name)
        if isinstance(a, exp.RenameColumn):
            old, to = a.this.name, a.args["to"].name
            i = rel.column_index(old)
            if i is None or rel.columns[i].hidden:
                raise UndefinedColumn(f'column "{old}" does not exist')
            if rel.column_index(to) is not None:
                raise DuplicateColumn(f'column "{to}" of relation "{rel.name}" already exists')
            cols = [replace(c, generated=_check_renamed(c.generated, old, to)) if c.generated else c
                    for c in rel.columns]  # (generation expressions read it by its new name)
            cols[i] = replace(cols[i], name=to)
            ren = lambda names: tuple(to if x == old else x for x in names)  # noqa: E731
            new = replace(rel, columns=tuple(cols), primary_key=ren(rel.primary_key),
                          uniques=tuple((n, ren(c)) for n, c in rel.uniques),
                          checks=tuple(replace(c, expr=_check_renamed(c.expr, old, to)) for c in rel.checks))
            new = ddl_fk.renamed_column(self.cat, new, old, to)
            new = replace(new, unique_indexes=tuple(
                replace(u, keys=tuple(_check_renamed(k, old, to) for k in u.keys),
                        where=_check_renamed(u.where, old, to) if u.where else None)
                for u in new.unique_indexes))
            self.cat.txn.alter_table(rel.oid, arrow_schema(new, self.regs),
                                     lambda t: t.rename_columns([to if x == old else x for x in t.column_names]))
            self.cat.put_table(new)
            for idx in self.cat.indexes_of(rel.oid):
                cols2 = tuple(_check_renamed(x, old, to) if "(" in x else _renamed_entry(x, old, to)
                              for x in idx.columns)
                where2 = _check_renamed(idx.where, old, to) if idx.where else None
                expr2 = _check_renamed(idx.expr, old, to) if idx.expr else None
                if cols2 != idx.columns or where2 != idx.where or expr2 != idx.expr:
                    self.cat.drop_index(idx)
                    self.cat.create_index(replace(idx, columns=cols2, where=where2, expr=expr2))
            return new
        if isinstance(a, exp.AlterRename):
            self.cat.rename_relation(rel, a.this.name)
            new = replace(rel, name=a.this.name)
            ddl_fk.renamed_table(self.cat, new, a.this.name)
            if any(f.ref_oid == rel.oid for f in rel.foreign_keys):  # references itself
                new = replace(new, foreign_keys=tuple(replace(f, ref_table=new.name) if f.ref_oid == rel.oid else f
                                                      for f in new.foreign_keys))
                self.cat.put_table(new)
            return new
        if isinstance(a, exp.AlterColumn):
            name = a.this.name
            i = rel.column_index(name)
            if i is None:
                raise UndefinedColumn(f'column "{name}" of relation "{rel.name}" does not exist')
            col = rel.columns[i]
            cols = list(rel.columns)
            if a.args.get("dtype") is not None:
                t = type_from_ast(a.args["dtype"], self.regs.types)
                for idx in self.cat.indexes_of(rel.oid):  # a vector index stays: its
                    # opclass must take the new type (PostgreSQL rebuilds it, or refuses)
                    if idx.method in ("hnsw", "ivfflat") and len(idx.columns) == 1 \
                            and _names_column(idx.columns[0], name):
                        from sqlvec.index import check_index_definition

                        check_index_definition(idx.method, idx.columns[0], t.short, idx.options)
                src_t = col.sql_type(self.regs.types)
                using = a.args.get("using")
                using = using if isinstance(using, exp.Expr) else None
                convert = self._using_converter(rel, name, using, t) if using is not None else None
                if convert is None and src_t.oid != t.oid and not self.regs.casts.can_assign(src_t, t):
                    from sqlvec.core.errors import DatatypeMismatch

                    raise DatatypeMismatch(
                        f'column "{name}" cannot be cast automatically to type {t.display()}',
                        hint=f'You might need to specify "USING {name}::{t.display()}".')
                cols[i] = replace(col, type_oid=t.oid, typmod=t.typmod)
                new = replace(rel, columns=tuple(cols))
                casts = self.regs.casts
                again = self._generated_again(new, name)

                def fill(tb: pa.Table, i=i, src_t=src_t, t=t, convert=convert) -> pa.Table:
                    if convert is not None:
                        tb = tb.set_column(i, name, convert(tb))
                    else:
                        arr = tb.column(i).combine_chunks()
                        tb = tb.set_column(i, name, casts.cast(arr, src_t, t, explicit=False))
                    for j, generate in again:  # (an expression index's values, of the new type)
                        tb = tb.set_column(j, tb.column_names[j], generate(tb))
                    return tb

                self.cat.txn.alter_table(rel.oid, arrow_schema(new, self.regs), fill)
                self.cat.put_table(new)
                return new
            if a.args.get("allow_null") is not None:
                not_null = not a.args["allow_null"]
                if not_null:
                    for b in self.cat.txn.scan(rel.oid, [name]):
                        if b.column(1).null_count:
                            from sqlvec.core.errors import NotNullViolation

                            raise NotNullViolation(f'column "{name}" of relation "{rel.name}" contains null values')
                cols[i] = replace(col, not_null=not_null)
            elif a.args.get("drop"):
                cols[i] = replace(col, default=None)
            elif a.args.get("default") is not None:
                cols[i] = replace(col, default=a.args["default"].sql(dialect="postgres"))
            else:
                raise FeatureNotSupported("unsupported ALTER COLUMN action")
            new = replace(rel, columns=tuple(cols))
            self.cat.put_table(new)
            return new
        if isinstance(a, exp.AddConstraint):
            added_fks: list = []
            for c in a.expressions:
                cname = c.name if isinstance(c, exp.Constraint) else None
                subs = c.expressions if isinstance(c, exp.Constraint) else [c]
                for sub in subs:
                    if isinstance(sub, exp.PrimaryKey):
                        if rel.primary_key:
                            raise InvalidTableDefinition(
                                f'multiple primary keys for table "{rel.name}" are not allowed')
                        keys = tuple(_ident_name(e) for e in sub.expressions)
                        rel = replace(rel, primary_key=keys, pk_name=cname or f"{rel.name}_pkey",
                                      columns=tuple(replace(c2, not_null=True) if c2.name in keys else c2
                                                    for c2 in rel.columns))
                    elif isinstance(sub, exp.UniqueColumnConstraint):
                        keys = tuple(_ident_name(e) for e in (sub.this.expressions if sub.this is not None else []))
                        uname = cname or f"{rel.name}_{'_'.join(keys)}_key"
                        rel = replace(rel, uniques=rel.uniques + ((uname, keys),))
                        if sub.args.get("nulls"):  # UNIQUE NULLS NOT DISTINCT
                            from sqlvec.catalog.objects import UniqueIndexDef
                            from sqlvec.exec import unique_index
                            from sqlvec.exec.operators import ExecContext

                            ui = UniqueIndexDef(uname, keys, None, True)
                            rel = replace(rel, unique_indexes=rel.unique_indexes + (ui,))
                            unique_index.check_existing(ExecContext(self.cat.txn, self.regs).executor, rel, ui)
                    elif isinstance(sub, exp.CheckColumnConstraint):
                        rel = replace(rel, checks=rel.checks + (CheckDef(cname or f"{rel.name}_check",
                                                                         sub.this.sql(dialect="postgres")),))
                    elif isinstance(sub, exp.ForeignKey):
                        cols = [_ident_name(e) for e in sub.expressions]
                        fk = ddl_fk.build_fk(self, rel, cols, sub.args["reference"], cname,
                                             ddl_fk.constraint_names(rel))
                        if cname and cname in ddl_fk.constraint_names(rel):
                            from sqlvec.core.errors import DuplicateObject

                            raise DuplicateObject(f'constraint "{cname}" for relation "{rel.name}" already exists')
                        rel = ddl_fk.self_linked(replace(rel, foreign_keys=rel.foreign_keys + (fk,)))
                        added_fks.append(fk)
                    else:
                        raise FeatureNotSupported("unsupported constraint")
            self._check_existing(rel)
            self.cat.txn.alter_table(rel.oid, arrow_schema(rel, self.regs), lambda t: t)
            self.cat.put_table(rel)
            if added_fks:
                ddl_fk.link_parents(self.cat, rel)
                self._validate_foreign_keys(rel, tuple(added_fks))
            return rel
        raise FeatureNotSupported(f"unsupported ALTER TABLE action: {a.sql(dialect='postgres')[:40]}")

    def _rename_constraint(self, rel: TableDef, old: str, to: str) -> TableDef:
        """ALTER TABLE ... RENAME CONSTRAINT old TO to (a check, unique key or primary key)."""
        from dataclasses import replace

        names = [c.name for c in rel.checks] + [u[0] for u in rel.uniques] + \
            ([rel.pk_name or f"{rel.name}_pkey"] if rel.primary_key else []) + [f.name for f in rel.foreign_keys]
        if old not in names:
            raise UndefinedObject(f'constraint "{old}" for table "{rel.name}" does not exist')
        if to in names:
            from sqlvec.core.errors import DuplicateObject, DuplicateTable

            if old not in {c.name for c in rel.checks} | {f.name for f in rel.foreign_keys}:  # a key's index takes the name
                raise DuplicateTable(f'relation "{to}" already exists')
            raise DuplicateObject(f'constraint "{to}" for relation "{rel.name}" already exists')
        rel = replace(rel, checks=tuple(replace(c, name=to) if c.name == old else c for c in rel.checks),
                      foreign_keys=tuple(replace(f, name=to) if f.name == old else f for f in rel.foreign_keys),
                      uniques=tuple((to if n == old else n, c) for n, c in rel.uniques),
                      pk_name=to if rel.primary_key and (rel.pk_name or f"{rel.name}_pkey") == old
                      else rel.pk_name)
        self.cat.txn.alter_table(rel.oid, arrow_schema(rel, self.regs), lambda t: t)
        self.cat.put_table(rel)
        return rel

    def _drop_constraint(self, rel: TableDef, a: exp.Drop) -> TableDef:
        """ALTER TABLE ... DROP CONSTRAINT [IF EXISTS] name: a check, unique key or primary
        key (its columns stay NOT NULL, as in PostgreSQL 15)."""
        from dataclasses import replace

        for target in a.args.get("tables") or [a.this]:
            name = target.name
            if any(c.name == name for c in rel.checks):
                rel = replace(rel, checks=tuple(c for c in rel.checks if c.name != name))
            elif any(u[0] == name for u in rel.uniques):
                key = next(u[1] for u in rel.uniques if u[0] == name)
                self._drop_key_dependents(rel, key, f"constraint {name} on table {rel.name}",
                                          bool(a.args.get("cascade")))
                rel = self.cat.relation(rel.schema, rel.name) or rel
                rel = replace(rel, uniques=tuple(u for u in rel.uniques if u[0] != name))
            elif any(f.name == name for f in rel.foreign_keys):
                fk = next(f for f in rel.foreign_keys if f.name == name)
                rel = replace(rel, foreign_keys=tuple(f for f in rel.foreign_keys if f.name != name))
                if fk.ref_oid == rel.oid and not any(f.ref_oid == rel.oid for f in rel.foreign_keys):
                    rel = replace(rel, referenced_by=tuple(o for o in rel.referenced_by if o != rel.oid))
                ddl_fk.unlink_parent(self.cat, rel, fk)
            elif rel.primary_key and (rel.pk_name or f"{rel.name}_pkey") == name:
                self._drop_key_dependents(rel, rel.primary_key, f"constraint {name} on table {rel.name}",
                                          bool(a.args.get("cascade")))
                rel = self.cat.relation(rel.schema, rel.name) or rel
                rel = replace(rel, primary_key=(), pk_name=None)
            elif a.args.get("exists"):
                if self.notice is not None:
                    self.notice(f'constraint "{name}" of relation "{rel.name}" does not exist, skipping')
                continue
            else:
                raise UndefinedObject(f'constraint "{name}" of relation "{rel.name}" does not exist')
            self.cat.txn.alter_table(rel.oid, arrow_schema(rel, self.regs), lambda t: t)
            self.cat.put_table(rel)
        return rel

    def _drop_key_dependents(self, rel: TableDef, key: tuple[str, ...], what: str, cascade: bool) -> None:
        """A unique key about to go: 2BP01 while foreign keys reference it; CASCADE drops them."""
        from dataclasses import replace

        for child, fk in ddl_fk.check_key_in_use(self.cat, rel, key, what, cascade):
            if self.notice is not None:
                self.notice(f"drop cascades to constraint {fk.name} on table {child.name}")
            cur = self.cat.relation(child.schema, child.name)
            kept = replace(cur, foreign_keys=tuple(f for f in cur.foreign_keys if f.name != fk.name))
            self.cat.txn.alter_table(cur.oid, arrow_schema(kept, self.regs), lambda t: t)  # storage forgets it
            self.cat.put_table(kept)
            ddl_fk.unlink_parent(self.cat, kept, fk)

    def _check_existing(self, rel: TableDef) -> None:
        """Existing rows must satisfy a newly added unique key or check."""
        from sqlvec.exec.dml import check_rows, check_unique_within
        from sqlvec.exec.operators import ExecContext

        cols = [c.name for c in rel.columns]
        bs = list(self.cat.txn.scan(rel.oid, cols))
        if not bs:
            return
        data = pa.Table.from_batches(bs).drop([bs[0].schema.names[0]])
        ctx = ExecContext(self.cat.txn, self.regs)
        check_rows(rel, data, ctx.executor)
        check_unique_within(rel, data)

    def _validate_foreign_keys(self, rel: TableDef, fks: tuple) -> None:
        """ALTER TABLE ADD FOREIGN KEY: the existing rows must reference existing keys (23503)."""
        from sqlvec.exec.foreign_keys import check_references
        from sqlvec.exec.operators import ExecContext

        cols = sorted({c for f in fks for c in f.columns}, key=lambda c: rel.column_index(c))
        bs = list(self.cat.txn.scan(rel.oid, cols))
        if not bs:
            return
        data = pa.Table.from_batches(bs).drop(["_rowid"])
        check_references(ExecContext(self.cat.txn, self.regs).executor, rel, data, fks=fks, defer=False)

    def _generated_converter(self, rel: TableDef, col: ColumnDef):
        """ADD COLUMN ... GENERATED ALWAYS AS (expr) STORED: a function rows -> the column's
        values for the existing rows, checked as PostgreSQL checks a generation expression."""
        from sqlvec.core.errors import InvalidObjectDefinition
        from sqlvec.sql.parse import parse_one_sql

        node = parse_one_sql(f"SELECT {col.generated}").expressions[0]
        for c in node.find_all(exp.Column):
            i = rel.column_index(c.name)
            if i is not None and rel.columns[i].generated is not None:
                raise InvalidObjectDefinition(
                    f'cannot use generated column "{c.name}" in column generation expression',
                    detail="A generated column cannot reference another generated column.")
        return self._using_converter(rel, col.name, node, col.sql_type(self.regs.types),
                                     generation=True)

    def _using_converter(self, rel: TableDef, name: str, using: exp.Expr, t: Any,
                         generation: bool = False):
        """ALTER COLUMN name TYPE t USING expr (or, `generation`, a generated column's
        expression): a function rows -> new column values.

        The expression is bound against the table's row (like an UPDATE SET value),
        assignment-cast to t, and evaluated over whole batches."""
        from sqlvec.core.errors import DatatypeMismatch, GroupingError, WindowingError
        from sqlvec.exec.operators import ExecContext
        from sqlvec.sql.bind_dml import table_scope, to_column
        from sqlvec.sql.binder import BindContext, Binder

        what = "column generation" if generation else "transform"
        if using.find(exp.Select, exp.Subquery, exp.Exists) is not None:
            raise FeatureNotSupported(f"cannot use subquery in {what} expression")
        if using.find(exp.Window) is not None:
            raise WindowingError(f"window functions are not allowed in {what} expressions")
        if using.find(exp.AggFunc) is not None:
            raise GroupingError(f"aggregate functions are not allowed in {what} expressions")
        b = Binder(BindContext(self.cat, self.regs, self.search_path))
        e = b.bind_expr(using, table_scope(b, rel))
        src = e.type
        if src.short != "unknown" and src.oid != t.oid and not self.regs.casts.can_assign(src, t):
            if generation:
                raise DatatypeMismatch(
                    f'column "{name}" is of type {t.display()} but default expression is of type '
                    f"{src.display()}", hint="You will need to rewrite or cast the expression.")
            raise DatatypeMismatch(
                f'result of USING clause for column "{name}" cannot be cast automatically to type {t.display()}',
                hint="You might need to add an explicit cast.")
        e = to_column(b, e, t)
        ctx = ExecContext(self.cat.txn, self.regs)

        def convert(tb: pa.Table) -> pa.Array:
            if tb.num_rows == 0:
                return pa.array([], type=t.arrow)
            parts = []
            for batch in tb.combine_chunks().to_batches():
                out = ctx.evaluator.eval(e, batch)
                if isinstance(out, pa.Scalar):
                    out = pa.repeat(out, batch.num_rows)
                parts.append(out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out)
            return pa.chunked_array(parts, type=parts[0].type).combine_chunks()

        return convert

    def _default_array(self, col: ColumnDef):
        """A function n -> array of the column's default for existing rows."""
        t = col.sql_type(self.regs.types)
        if col.default is None:
            return lambda n: pa.nulls(n, t.arrow)
        from sqlvec.exec.operators import ExecContext
        from sqlvec.sql.binder import BindContext, Binder
        from sqlvec.sql.parse import parse_one_sql
        from sqlvec.sql.scope import Scope

        b = Binder(BindContext(self.cat, self.regs, self.search_path))
        e = b.coerce(b.bind_expr(parse_one_sql("select " + col.default).expressions[0], Scope()), t)
        ctx = ExecContext(self.cat.txn, self.regs)

        def make(n: int) -> pa.Array:
            from sqlvec.core.textio_numeric import fit_to  # numeric rounded to the column's scale

            dummy = pa.RecordBatch.from_arrays([pa.nulls(n, pa.int8())], names=["_"])
            return fit_to(ctx.evaluator.eval(e, dummy), t.arrow)

        return make


def _kind_word(rel: Any) -> str:
    if isinstance(rel, ViewDef):
        return "view"
    return "materialized view" if rel.kind == "matview" else "table"


def _key_sql(e: exp.Expr) -> str:
    """An index key or predicate as SQL text with lower-case function names ('lower(email)'):
    what error details print and what ON CONFLICT inference compares."""
    return e.sql(dialect="postgres", normalize_functions="lower")


def _ident_name(e: exp.Expr) -> str:
    if isinstance(e, exp.Ordered):
        e = e.this
    return e.name


def arrow_schema(t: TableDef, regs: Any) -> pa.Schema:
    """The storage schema; unique keys ride in metadata for storage's commit-time check."""
    import json

    keys: dict[str, list[str]] = {}
    if t.primary_key:
        keys[t.pk_name or f"{t.name}_pkey"] = list(t.primary_key)
    for name, cols in t.uniques:
        keys[name] = list(cols)
    meta = {b"sqlvec.unique": json.dumps(keys).encode()} if keys else None
    if t.foreign_keys:  # storage's commit-time check (storage/unique_fk.py)
        meta = dict(meta or {})
        meta[b"sqlvec.fk"] = json.dumps([{"name": f.name, "cols": list(f.columns), "ref": f.ref_oid,
                                          "ref_cols": list(f.ref_columns), "table": t.name,
                                          "ref_table": f.ref_table} for f in t.foreign_keys]).encode()
    return pa.schema([pa.field(c.name, c.sql_type(regs.types).arrow) for c in t.columns], metadata=meta)


def _names_column(entry: str, name: str) -> bool:
    """Whether an index entry is column `name`, alone or with an opclass ('emb vector_l2_ops')."""
    return entry == name or entry.replace('"', "").split()[:1] == [name]


def _renamed_entry(entry: str, old: str, to: str) -> str:
    """An index entry after RENAME COLUMN old TO to; an opclass stays ('emb vector_l2_ops')."""
    if not _names_column(entry, old):
        return entry
    rest = entry.replace('"', "").split()[1:]
    return " ".join([to, *rest])


def _name_part(e: exp.Expr) -> str:
    """What PostgreSQL's index naming takes from a key: the column, a function's name, or 'expr'."""
    if isinstance(e, exp.Opclass | exp.Paren):
        return _name_part(e.this)
    if isinstance(e, exp.Cast):  # (its argument's name, else the type's, as FigureColname)
        inner = _name_part(e.this)
        return inner if inner != "expr" else e.to.sql(dialect="postgres").lower().split("(")[0]
    if isinstance(e, exp.Column):
        return e.name
    if isinstance(e, exp.Func):
        name = e.sql_name() if not isinstance(e, exp.Anonymous) else e.name
        return name.lower() if name.isidentifier() else "expr"
    if isinstance(e, exp.Expr) and e.name and not e.args.get("expressions"):  # 'emb vector_l2_ops'
        return e.name if e.name.isidentifier() else "expr"
    return "expr"


def _index_columns(u: Any) -> set[str]:
    """The columns a unique index's keys and predicate read."""
    out: set[str] = set()
    for k in (*u.keys, *([u.where] if u.where else [])):
        out |= _check_columns(k)
    return out


def _check_columns(expr: str) -> set[str]:
    """The column names a CHECK expression (stored SQL text) reads."""
    from sqlvec.sql.parse import parse_one_sql

    node = parse_one_sql(f"SELECT {expr}")
    return {c.name for c in node.find_all(exp.Column)} if node is not None else set()


def _check_renamed(expr: str, old: str, to: str) -> str:
    """A CHECK expression's SQL text after RENAME COLUMN old TO to."""
    from sqlvec.sql.parse import parse_one_sql

    node = parse_one_sql(f"SELECT {expr}")
    if node is None or old not in {c.name for c in node.find_all(exp.Column)}:
        return expr
    for c in node.find_all(exp.Column):
        if c.name == old:
            c.set("this", exp.to_identifier(to, quoted=not (to.isidentifier() and to == to.lower())))
    return node.expressions[0].sql(dialect="postgres")


_STORAGE = {"plain": "p", "external": "e", "extended": "x", "main": "m"}  # attstorage letters


def _vector_key(key: str) -> tuple[str, str]:
    """An hnsw / ivfflat key's (column or expression, opclass or ''): a column in
    parentheses is that column (as PostgreSQL reads `((emb) vector_l2_ops)`)."""
    head, _, opc = key.rpartition(" ") if key.rstrip().endswith("_ops") else (key, "", "")
    head = head.strip()
    while head.startswith("(") and _closes_at(head, 0) == len(head) - 1:
        head = head[1:-1].strip()
    return head, opc


def _closes_at(text: str, i: int) -> int:
    """Where the parenthesis opened at text[i] closes (-1: not in text)."""
    depth = 0
    for j in range(i, len(text)):
        depth += {"(": 1, ")": -1}.get(text[j], 0)
        if depth == 0:
            return j
    return -1
