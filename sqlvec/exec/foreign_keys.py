"""FOREIGN KEY enforcement, one vectorised probe per constraint and statement.

Child side (INSERT, UPDATE of key columns, COPY, ON CONFLICT, MERGE): every new key with
no NULL (MATCH SIMPLE; MATCH FULL also rejects a mix of NULL and non-NULL) must be present
in the referenced table, probed once for all rows (a key lookup or a hash join).

Parent side (DELETE, UPDATE of referenced columns): the removed keys are probed against
the referencing table in one pass, then the constraint's action runs on the matching
rows as one bulk change: NO ACTION / RESTRICT raise 23503, CASCADE deletes or rewrites
them, SET NULL / SET DEFAULT rewrite their key columns; a rewritten child is checked in
turn (its own constraints and the tables that reference it).

Checks run after the statement's writes, as PostgreSQL's end-of-statement triggers do,
so rows inserted by the same statement (a self-referencing tree) count; a DEFERRABLE
constraint's deferred checks wait for COMMIT (exec/fk_deferred.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.catalog.catalog import Catalog
from sqlvec.catalog.objects import ForeignKeyDef, TableDef
from sqlvec.core.errors import ForeignKeyViolation
from sqlvec.exec.evaluate import group_ids
from sqlvec.exec.fk_deferred import defer_child, defer_parent, is_deferred
from sqlvec.exec.rowfetch import candidate_rows

ROWID = "_rowid"


def _key_text(rows: pa.Table, cols: tuple[str, ...], i: int, table: TableDef, regs: Any) -> str:
    """'(a, b)=(1, x)' of row i, values in PostgreSQL's text form."""
    from sqlvec.core.textio import format_text

    vals = []
    for name, c in zip(cols, rows.columns):
        col = table.columns[table.column_index(name)]
        v = format_text(c.slice(i, 1).combine_chunks() if isinstance(c, pa.ChunkedArray) else c.slice(i, 1),
                        col.sql_type(regs.types))[0].as_py()
        vals.append("null" if v is None else v)
    return f"({', '.join(cols)})=({', '.join(vals)})"


def missing_parent(child: TableDef, fk: Any, keys: pa.Table, i: int, parent_name: str,
                   regs: Any) -> ForeignKeyViolation:
    """23503 for a child row whose key (row i of `keys`) has no parent row."""
    return ForeignKeyViolation(
        f'insert or update on table "{child.name}" violates foreign key constraint "{fk.name}"',
        detail=f"Key {_key_text(keys, fk.columns, i, child, regs)} is not present "
               f'in table "{parent_name}".',
        schema=child.schema, table=child.name, constraint=fk.name)


def still_referenced(parent: TableDef, child: TableDef, fk: Any, keys: pa.Table, i: int,
                     regs: Any) -> ForeignKeyViolation:
    """23503 for a parent key (row i of `keys`) that child rows still reference."""
    return ForeignKeyViolation(
        f'update or delete on table "{parent.name}" violates foreign key constraint '
        f'"{fk.name}" on table "{child.name}"',
        detail=f"Key {_key_text(keys, fk.ref_columns, i, parent, regs)} is still "
               f'referenced from table "{child.name}".',
        schema=child.schema, table=child.name, constraint=fk.name)


def _not_null(keys: pa.Table) -> np.ndarray:
    valid = np.ones(keys.num_rows, bool)
    for c in keys.columns:
        if c.null_count:
            valid &= np.asarray(pc.is_valid(c).to_numpy(zero_copy_only=False), bool)
    return valid


def _cast_like(t: pa.Table, like: pa.Schema) -> pa.Table | None:
    """t's columns cast to `like`'s types (by position), None when a value does not fit."""
    cols = []
    for c, f in zip(t.columns, like):
        if c.type == f.type:
            cols.append(c)
            continue
        try:
            cols.append(c.cast(f.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return pa.Table.from_arrays(cols, schema=pa.schema([pa.field(f.name, c.type) for c, f in zip(cols, like)]))


def match_rows(a: pa.Table, b: pa.Table) -> np.ndarray:
    """For each row of a, the index of a row of b with the same key (same column count), or -1."""
    if b.num_rows == 0 or a.num_rows == 0:
        return np.full(a.num_rows, -1, np.int64)
    b2 = _cast_like(b.rename_columns(a.column_names), a.schema)
    if b2 is None:
        a2 = _cast_like(a, b.rename_columns(a.column_names).schema)
        if a2 is None:
            return np.full(a.num_rows, -1, np.int64)
        a, b2 = a2, b.rename_columns(a.column_names)
    both = pa.concat_tables([a.combine_chunks(), b2.combine_chunks()])
    gid, _ = group_ids(both)
    na = a.num_rows
    owner = np.full(int(gid.max(initial=-1)) + 1, -1, np.int64)
    owner[gid[na:][::-1]] = np.arange(b2.num_rows, dtype=np.int64)[::-1]  # the first b row wins
    return owner[gid[:na]]


def _present(txn: Any, oid: int, cols: tuple[str, ...], keys: pa.Table) -> np.ndarray:
    """Whether each key row (no NULLs) is a visible row's `cols` in table `oid`."""
    if len(cols) == 1 and getattr(txn, "lookup", None) is not None:
        try:
            found, _ = txn.lookup(oid, cols[0], keys.column(0))
            return np.asarray(found, bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # not castable: the generic probe
            pass
    cand = candidate_rows(txn, oid, list(cols), keys.column(0))
    if cand.num_rows == 0:
        return np.zeros(keys.num_rows, bool)
    return match_rows(keys, cand.select(list(cols))) >= 0


def _unique_keys(keys: pa.Table) -> pa.Table:
    """The distinct rows of keys (first appearance order)."""
    if keys.num_rows <= 1:
        return keys
    _, uniq = group_ids(keys)
    return uniq.cast(keys.schema) if uniq.schema != keys.schema else uniq


def _catalog(ex: Any) -> Catalog:
    return Catalog(ex.ctx.txn, getattr(ex.ctx.txn, "store", None))


def referenced_table(cat: Catalog, fk: ForeignKeyDef) -> TableDef:
    rel = cat.relation(fk.ref_schema, fk.ref_table)
    if not isinstance(rel, TableDef) or rel.oid != fk.ref_oid:
        rel = cat.relation_by_oid(fk.ref_oid)
    if not isinstance(rel, TableDef):
        raise KeyError(fk.ref_oid)
    return rel


def check_references(ex: Any, table: TableDef, rows: pa.Table, only: tuple[str, ...] | None = None,
                     fks: tuple[ForeignKeyDef, ...] | None = None, defer: bool = True) -> None:
    """Child side: each row's key of each foreign key (columns by name in rows) must exist in
    the referenced table; `only`: the columns an UPDATE set (other keys are unchanged);
    defer=False: check even a deferred constraint now (ALTER TABLE ADD validating rows)."""
    fks = table.foreign_keys if fks is None else fks
    if not fks or rows.num_rows == 0:
        return
    for fk in fks:
        if only is not None and not set(fk.columns) & set(only):
            continue
        keys = rows.select(list(fk.columns))
        valid = _not_null(keys)
        if fk.match == "f" and not valid.all():
            some = np.zeros(keys.num_rows, bool)
            for c in keys.columns:
                some |= np.asarray(pc.is_valid(c).to_numpy(zero_copy_only=False), bool)
            if (some & ~valid).any():
                raise ForeignKeyViolation(
                    f'insert or update on table "{table.name}" violates foreign key constraint "{fk.name}"',
                    detail="MATCH FULL does not allow mixing of null and nonnull key values.",
                    schema=table.schema, table=table.name, constraint=fk.name)
        if not valid.any():
            continue
        if not valid.all():
            keys = keys.filter(pa.array(valid))
        keys = _unique_keys(keys)
        if defer and fk.deferrable and is_deferred(ex.ctx.txn, fk):  # checked at COMMIT (exec/fk_deferred.py)
            defer_child(ex, table, fk, keys)
            continue
        probe = keys.rename_columns(list(fk.ref_columns))
        ok = _present(ex.ctx.txn, fk.ref_oid, fk.ref_columns, probe)
        if not ok.all():
            bad = int(np.flatnonzero(~ok)[0])
            parent = referenced_table(_catalog(ex), fk)
            raise missing_parent(table, fk, keys, bad, parent.name, ex.ctx.regs)


def _referencing(txn: Any, child: TableDef, cols: tuple[str, ...], keys: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """The child rows (`_rowid` + all columns) whose `cols` equal one of the key rows, and
    for each the index of that key row."""
    names = [c.name for c in child.columns]
    order = [cols[0], *[n for n in names if n != cols[0]]]
    cand = candidate_rows(txn, child.oid, order, keys.column(0))
    if cand.num_rows == 0:
        return cand, np.zeros(0, np.int64)
    which = match_rows(cand.select(list(cols)), keys)
    hit = which >= 0
    if not hit.any():
        return cand.slice(0, 0), np.zeros(0, np.int64)
    rows = cand.filter(pa.array(hit)).select([ROWID, *names])
    return rows, which[hit]


def _distinct(old: pa.Table, new: pa.Table, cols: tuple[str, ...]) -> np.ndarray:
    """Rows whose key differs between old and new (NULL-aware)."""
    out = np.zeros(old.num_rows, bool)
    for c in cols:
        a, b = old.column(c), new.column(c)
        if a.type != b.type:
            b = b.cast(a.type)
        eq = pc.equal(a, b)
        same = pc.or_kleene(pc.fill_null(eq, False), pc.and_(pc.is_null(a), pc.is_null(b)))
        out |= ~np.asarray(same.to_numpy(zero_copy_only=False), bool)
    return out


def after_parent_change(ex: Any, table: TableDef, old: pa.Table, new: pa.Table | None) -> None:
    """Parent side, after rows `old` of `table` were deleted (new None) or replaced row by
    row by `new` (UPDATE): run each referencing foreign key's action. Cascaded changes go
    on a work list (a deep self-referencing chain is a loop, not a recursion)."""
    work = [(table, old, new)]
    while work:
        t, o, n = work.pop(0)
        if t.referenced_by and o.num_rows:
            _one_change(ex, t, o, n, work)


def _one_change(ex: Any, table: TableDef, old: pa.Table, new: pa.Table | None, work: list) -> None:
    cat = _catalog(ex)
    txn = ex.ctx.txn
    for child in _tables(cat, table.referenced_by):
        for fk in child.foreign_keys:
            if fk.ref_oid != table.oid:
                continue
            okeys = old.select(list(fk.ref_columns))
            sel = _not_null(okeys)
            action = fk.on_delete if new is None else fk.on_update
            if new is not None:
                sel &= _distinct(old, new, fk.ref_columns)
            if not sel.any():
                continue
            ok = okeys.filter(pa.array(sel))
            nk = new.select(list(fk.ref_columns)).filter(pa.array(sel)) if new is not None else None
            if action == "a":  # NO ACTION: a key that is back (or still there) is fine
                gone = ~_present(txn, table.oid, fk.ref_columns, ok)
                if not gone.any():
                    continue
                ok = ok.filter(pa.array(gone))
                nk = nk.filter(pa.array(gone)) if nk is not None else None
                if fk.deferrable and is_deferred(txn, fk):  # NO ACTION only: checked at COMMIT
                    defer_parent(ex, table, child, fk, ok)
                    continue
            fresh = child if child.oid != table.oid else _reload(cat, child)
            refs, which = _referencing(txn, fresh, fk.columns, ok.rename_columns(list(fk.columns)))
            if refs.num_rows == 0:
                continue
            if action in ("a", "r"):
                raise still_referenced(table, child, fk, ok, int(which[0]), ex.ctx.regs)
            rowids = np.asarray(refs.column(0).to_numpy(zero_copy_only=False), np.int64)
            child_old = refs.drop([ROWID])
            if action == "c" and new is None:
                txn.delete(fresh.oid, rowids)
                work.append((fresh, child_old, None))
                continue
            cols = list(child_old.columns)
            for j, name in enumerate(fk.columns):
                i = fresh.column_index(name)
                typ = child_old.schema.field(name).type
                if action == "c":
                    vals = nk.column(j).take(pa.array(which))
                    cols[i] = vals.cast(typ) if vals.type != typ else vals
                elif action == "n":
                    cols[i] = pa.nulls(child_old.num_rows, typ)
                else:
                    cols[i] = _default_values(ex, fresh, name, child_old.num_rows)
            child_new = pa.Table.from_arrays(cols, schema=child_old.schema)
            _rewrite(ex, fresh, rowids, child_new, fk.columns)
            work.append((fresh, child_old, child_new))


def _rewrite(ex: Any, child: TableDef, rowids: np.ndarray, new: pa.Table, changed: tuple[str, ...]) -> None:
    """Replace child rows (an action's UPDATE): constraints, the change, its own foreign keys."""
    from sqlvec.exec.dml import check_rows, check_unique, unique_keys

    check_rows(child, new, ex)
    if any(c in key for _, key in unique_keys(child) for c in changed):
        check_unique(ex, child, new, exclude=rowids)
    ex.ctx.txn.delete(child.oid, rowids)
    ex.ctx.txn.insert(child.oid, new)
    check_references(ex, child, new, only=changed)


def _default_values(ex: Any, table: TableDef, name: str, n: int) -> pa.Array:
    """The column's DEFAULT for n rows (SET DEFAULT)."""
    col = table.columns[table.column_index(name)]
    t = col.sql_type(ex.ctx.regs.types)
    if col.default is None:
        return pa.nulls(n, t.arrow)
    from sqlvec.core.textio_numeric import fit_to
    from sqlvec.sql.binder import BindContext, Binder
    from sqlvec.sql.parse import parse_one_sql
    from sqlvec.sql.scope import Scope

    b = Binder(BindContext(_catalog(ex), ex.ctx.regs, [table.schema, "public"]))
    e = b.coerce(b.bind_expr(parse_one_sql("select " + col.default).expressions[0], Scope()), t)
    dummy = pa.RecordBatch.from_arrays([pa.nulls(n, pa.int8())], names=["_"])
    out = ex.ctx.evaluator.eval(e, dummy)
    if isinstance(out, pa.Scalar):
        out = pa.repeat(out, n)
    return fit_to(out, t.arrow)


def _reload(cat: Catalog, t: TableDef) -> TableDef:
    rel = cat.relation(t.schema, t.name)
    return rel if isinstance(rel, TableDef) else t


def _tables(cat: Catalog, oids: tuple[int, ...]) -> list[TableDef]:
    return cat.tables_by_oid(oids)
