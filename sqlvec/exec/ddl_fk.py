"""FOREIGN KEY definitions: CREATE TABLE / ALTER TABLE ADD CONSTRAINT, and the bookkeeping
that DROP, TRUNCATE and RENAME do on the tables a foreign key links.

A foreign key lives on the referencing (child) table (TableDef.foreign_keys); the
referenced table lists the child's OID in TableDef.referenced_by so that its DELETE and
UPDATE find the constraints to enforce without scanning the catalog.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlglot import exp

from sqlvec.catalog.objects import ForeignKeyDef, TableDef
from sqlvec.core.errors import (
    DatatypeMismatch,
    DependentObjectsStillExist,
    FeatureNotSupported,
    InvalidForeignKey,
    SyntaxError_,
    UndefinedColumn,
    UndefinedTable,
    WrongObjectType,
)

_ACTIONS = {"NO ACTION": "a", "RESTRICT": "r", "CASCADE": "c", "SET NULL": "n", "SET DEFAULT": "d"}
ACTION_SQL = {v: k for k, v in _ACTIONS.items()}


def _name(e: exp.Expr) -> str:
    return (e.this if isinstance(e, exp.Ordered) else e).name


def reference_options(ref: exp.Reference) -> dict[str, str]:
    """ON DELETE / ON UPDATE actions, MATCH and [NOT] DEFERRABLE / INITIALLY DEFERRED |
    IMMEDIATE of a REFERENCES clause (pg_constraint letters)."""
    out: dict = {"on_delete": "a", "on_update": "a", "match": "s", "deferrable": False, "deferred": False}
    not_deferrable = False
    opts = [str(o).upper().split() for o in ref.args.get("options") or []]
    for words in opts:
        if words[:1] == ["ON"] and len(words) >= 3 and words[1] in ("DELETE", "UPDATE"):
            act = " ".join(words[2:])
            if act not in _ACTIONS:
                raise FeatureNotSupported(f"foreign key action {act} is not supported")
            out["on_" + words[1].lower()] = _ACTIONS[act]
        elif words[:1] == ["MATCH"]:
            if words[1:] == ["PARTIAL"]:
                raise FeatureNotSupported("MATCH PARTIAL not yet implemented")
            out["match"] = "f" if words[1:] == ["FULL"] else "s"
        elif words == ["DEFERRABLE"]:
            out["deferrable"] = True
        elif words == ["NOT", "DEFERRABLE"]:
            not_deferrable = True
        elif words == ["INITIALLY", "DEFERRED"]:
            out["deferred"] = True
        elif words[:1] == ["INITIALLY"] and words != ["INITIALLY", "IMMEDIATE"]:
            raise SyntaxError_(f"syntax error at or near \"{words[-1]}\"")
    if out["deferred"]:
        if not_deferrable:
            raise SyntaxError_("constraint declared INITIALLY DEFERRED must be DEFERRABLE")
        out["deferrable"] = True  # INITIALLY DEFERRED implies DEFERRABLE
    return out


def build_fk(runner: Any, child: TableDef, cols: list[str], ref: exp.Reference, cname: str | None,
             taken: set[str]) -> ForeignKeyDef:
    """The ForeignKeyDef of `FOREIGN KEY (cols) REFERENCES ...` on `child` (which may be the
    table being created, and may reference itself), with PostgreSQL's checks and errors."""
    target = ref.this
    ref_cols: list[str] = []
    if isinstance(target, exp.Schema):
        ref_cols = [_name(e) for e in target.expressions]
        target = target.this
    parent: Any = runner._find(target)
    if target.name == child.name and (target.db or child.schema) == child.schema and \
            (parent is None or parent.oid == child.oid):
        parent = child  # references itself (maybe while being created)
    if parent is None:
        raise UndefinedTable(f'relation "{target.name}" does not exist')
    if not isinstance(parent, TableDef) or parent.kind != "table":
        raise WrongObjectType(f'referenced relation "{target.name}" is not a table')
    for c in cols:
        if child.column_index(c) is None:
            raise UndefinedColumn(f'column "{c}" referenced in foreign key constraint does not exist')
    if not ref_cols:
        if not parent.primary_key:
            raise InvalidForeignKey(f'there is no primary key for referenced table "{parent.name}"')
        ref_cols = list(parent.primary_key)
    for c in ref_cols:
        if parent.column_index(c) is None:
            raise UndefinedColumn(f'column "{c}" referenced in foreign key constraint does not exist')
    if len(cols) != len(ref_cols):
        raise InvalidForeignKey("number of referencing and referenced columns for foreign key disagree")
    keys = ([set(parent.primary_key)] if parent.primary_key else []) + [set(u) for _, u in parent.uniques]
    if len(set(ref_cols)) != len(ref_cols) or set(ref_cols) not in keys:
        raise InvalidForeignKey(
            f'there is no unique constraint matching given keys for referenced table "{parent.name}"')
    name = cname or _choose_name(f"{child.name}_{'_'.join(cols)}_fkey", taken)
    types = runner.regs.types
    for c, r in zip(cols, ref_cols):
        ct = child.columns[child.column_index(c)].sql_type(types)
        rt = parent.columns[parent.column_index(r)].sql_type(types)
        if ct.oid != rt.oid and ct.category != rt.category:
            raise DatatypeMismatch(
                f'foreign key constraint "{name}" cannot be implemented',
                detail=f'Key columns "{c}" and "{r}" are of incompatible types: '
                       f"{ct.display()} and {rt.display()}.")
    return ForeignKeyDef(name, tuple(cols), parent.oid, parent.schema, parent.name, tuple(ref_cols),
                         **reference_options(ref))


def _choose_name(base: str, taken: set[str]) -> str:
    """PostgreSQL's ChooseConstraintName: base, base1, base2, ... (63 bytes at most)."""
    name, i = base[:63], 0
    while name in taken:
        i += 1
        name = f"{base[:63 - len(str(i))]}{i}"
    return name


def constraint_names(t: TableDef) -> set[str]:
    return {c.name for c in t.checks} | {u[0] for u in t.uniques} | {f.name for f in t.foreign_keys} | \
        ({t.pk_name or f"{t.name}_pkey"} if t.primary_key else set())


def link_parents(cat: Any, child: TableDef) -> None:
    """Record child's OID in referenced_by of each table its foreign keys reference."""
    for fk in child.foreign_keys:
        if fk.ref_oid == child.oid:
            continue
        parent = cat.relation(fk.ref_schema, fk.ref_table)
        if isinstance(parent, TableDef) and child.oid not in parent.referenced_by:
            cat.put_table(replace(parent, referenced_by=parent.referenced_by + (child.oid,)))


def unlink_parent(cat: Any, child: TableDef, fk: ForeignKeyDef) -> None:
    """After dropping fk from child: forget child in the parent unless another key still links them."""
    if fk.ref_oid == child.oid or any(f.ref_oid == fk.ref_oid and f.name != fk.name for f in child.foreign_keys):
        return
    parent = cat.relation(fk.ref_schema, fk.ref_table)
    if isinstance(parent, TableDef) and parent.oid == fk.ref_oid:
        cat.put_table(replace(parent, referenced_by=tuple(o for o in parent.referenced_by if o != child.oid)))


def self_linked(t: TableDef) -> TableDef:
    """t with its own OID in referenced_by when one of its foreign keys references itself."""
    if any(f.ref_oid == t.oid for f in t.foreign_keys) and t.oid not in t.referenced_by:
        return replace(t, referenced_by=t.referenced_by + (t.oid,))
    return t


def referencing(cat: Any, t: TableDef) -> list[tuple[TableDef, ForeignKeyDef]]:
    """(child, foreign key) pairs of other tables referencing t."""
    if not t.referenced_by:
        return []
    out = []
    for r in cat.tables_by_oid(set(t.referenced_by) - {t.oid}):
        out.extend((r, f) for f in r.foreign_keys if f.ref_oid == t.oid)
    return out


def check_drop_table(cat: Any, t: TableDef, dropping: set[int], cascade: bool, notice: Any) -> None:
    """DROP TABLE t: 2BP01 while another table's foreign key references it (unless that table
    goes too); with CASCADE those constraints are dropped (NOTICE as PostgreSQL)."""
    deps = [(c, f) for c, f in referencing(cat, t) if c.oid not in dropping]
    if not deps:
        return
    if not cascade:
        c, f = deps[0]
        raise DependentObjectsStillExist(
            f"cannot drop table {t.name} because other objects depend on it",
            detail="\n".join(f"constraint {f.name} on table {c.name} depends on table {t.name}" for c, f in deps),
            hint="Use DROP ... CASCADE to drop the dependent objects too.")
    for c, f in deps:
        if notice is not None:
            notice(f"drop cascades to constraint {f.name} on table {c.name}")
        cur = cat.relation(c.schema, c.name)
        cat.put_table(replace(cur, foreign_keys=tuple(x for x in cur.foreign_keys if x.name != f.name)))


def truncate_set(cat: Any, rels: list[TableDef], cascade: bool, notice: Any) -> list[TableDef]:
    """The tables TRUNCATE empties: 0A000 while a table outside the list references one of
    them; with CASCADE the referencing tables join (NOTICE as PostgreSQL)."""
    out = list(rels)
    seen = {r.oid for r in rels}
    i = 0
    while i < len(out):
        t = out[i]
        i += 1
        for c, _ in referencing(cat, t):
            if c.oid in seen:
                continue
            if not cascade:
                raise FeatureNotSupported(
                    "cannot truncate a table referenced in a foreign key constraint",
                    detail=f'Table "{c.name}" references "{t.name}".',
                    hint=f'Truncate table "{c.name}" at the same time, or use TRUNCATE ... CASCADE.')
            if notice is not None:
                notice(f'truncate cascades to table "{c.name}"')
            seen.add(c.oid)
            out.append(c)
    return out


def renamed_column(cat: Any, t: TableDef, old: str, to: str) -> TableDef:
    """RENAME COLUMN on t: its own foreign keys' columns, and referencing keys' ref_columns."""
    ren = lambda names: tuple(to if x == old else x for x in names)  # noqa: E731
    t = replace(t, foreign_keys=tuple(
        replace(f, columns=ren(f.columns), ref_columns=ren(f.ref_columns) if f.ref_oid == t.oid else f.ref_columns)
        for f in t.foreign_keys))
    for c, _ in referencing(cat, t):
        cur = cat.relation(c.schema, c.name)
        cat.put_table(replace(cur, foreign_keys=tuple(
            replace(f, ref_columns=ren(f.ref_columns)) if f.ref_oid == t.oid else f for f in cur.foreign_keys)))
    return t


def renamed_table(cat: Any, t: TableDef, to: str) -> None:
    """RENAME TO on t (already stored under its new name): referencing keys follow."""
    for c, _ in referencing(cat, t):
        cur = cat.relation(c.schema, c.name)
        cat.put_table(replace(cur, foreign_keys=tuple(
            replace(f, ref_table=to) if f.ref_oid == t.oid else f for f in cur.foreign_keys)))


def check_key_in_use(cat: Any, t: TableDef, key: tuple[str, ...], what: str, cascade: bool = False) -> list:
    """Dropping t's unique key `key` (DROP CONSTRAINT, DROP COLUMN): 2BP01 while a foreign key
    references those columns; returns the (child, fk) pairs CASCADE drops."""
    deps = [(c, f) for c, f in referencing(cat, t) if set(f.ref_columns) == set(key)]
    deps += [(t, f) for f in t.foreign_keys if f.ref_oid == t.oid and set(f.ref_columns) == set(key)]
    if deps and not cascade:
        c, f = deps[0]
        raise DependentObjectsStillExist(
            f"cannot drop {what} because other objects depend on it",
            detail=f"constraint {f.name} on table {c.name} depends on index {_index_name(t, key)}",
            hint="Use DROP ... CASCADE to drop the dependent objects too.")
    return deps


def _index_name(t: TableDef, key: tuple[str, ...]) -> str:
    if set(t.primary_key) == set(key):
        return t.pk_name or f"{t.name}_pkey"
    return next((n for n, u in t.uniques if set(u) == set(key)), "")
