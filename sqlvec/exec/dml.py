"""INSERT / UPDATE / DELETE execution with NOT NULL, CHECK and PRIMARY KEY/UNIQUE checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.catalog.objects import TableDef
from sqlvec.core.errors import NotNullViolation, UniqueViolation
from sqlvec.exec import unique_index
from sqlvec.exec.evaluate import group_ids
from sqlvec.exec.foreign_keys import after_parent_change, check_references
from sqlvec.exec.operators import Executor, to_table
from sqlvec.exec.rowfetch import candidate_rows, fetch_rows, key_pruner
from sqlvec.plan import logical as L


def table_schema(table: TableDef, regs: Any) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.sql_type(regs.types).arrow) for c in table.columns])


def _list_depth(t: pa.DataType) -> int:
    nested = pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)
    return 1 + _list_depth(t.value_type) if nested else 0


def _as_table_rows(table: TableDef, t: pa.Table, regs: Any) -> pa.Table:
    schema = table_schema(table, regs)
    for i, f in enumerate(schema):  # a backstop of bind_dml.check_dims (issue 3): never flattened, never XX000
        if t.column(i).type != f.type and _list_depth(t.column(i).type) > max(_list_depth(f.type), 1):
            from sqlvec.core.textio_arrays import multidim_error

            raise multidim_error(f"in column {f.name}", table.columns[i].sql_type(regs.types))
    from sqlvec.core.textio_numeric import fit_to  # numeric rounded to the column's scale, 22003

    cols = [fit_to(t.column(i), f.type) if t.column(i).type != f.type else t.column(i) for i, f in enumerate(schema)]
    return pa.Table.from_arrays(cols, schema=schema)


def failing_row(rows: pa.Table, i: int, table: TableDef, regs: Any) -> str:
    """PostgreSQL's 'Failing row contains (2, null, -1).' detail for row i."""
    from sqlvec.core.textio import format_text

    vals = []
    for j, c in enumerate(table.columns):
        v = format_text(rows.column(j).slice(i, 1).combine_chunks(), c.sql_type(regs.types))[0].as_py()
        vals.append("null" if v is None else v)
    return f"Failing row contains ({', '.join(vals)})."


def check_rows(table: TableDef, rows: pa.Table, ex: Executor) -> None:
    """NOT NULL and CHECK constraints over new rows (vectorised)."""
    pk = set(table.primary_key)
    for i, c in enumerate(table.columns):
        if (c.not_null or c.name in pk) and rows.column(i).null_count:
            bad = int(np.flatnonzero(np.asarray(rows.column(i).is_null()))[0])
            raise NotNullViolation(
                f'null value in column "{c.name}" of relation "{table.name}" violates not-null constraint',
                detail=failing_row(rows, bad, table, ex.ctx.regs),
                schema=table.schema, table=table.name, column=c.name,
            )
    if table.checks:
        from sqlvec.core.errors import CheckViolation
        from sqlvec.sql.bind_dml import table_scope
        from sqlvec.sql.binder import BindContext, Binder
        from sqlvec.sql.parse import parse_one_sql

        b = Binder(BindContext(None, ex.ctx.regs, []))
        batch = rows.combine_chunks().to_batches()
        if not batch:
            return
        for chk in table.checks:
            node = parse_one_sql("select " + chk.expr).expressions[0]
            e = b.bind_expr(node, table_scope(b, table))
            ok = ex.ev.eval(e, batch[0])
            if isinstance(ok, pa.Scalar):
                ok = pa.repeat(ok, batch[0].num_rows)
            if chk.view:  # WITH CHECK OPTION: the row must be visible through the view
                bad = np.flatnonzero(~np.asarray(pc.fill_null(ok, False).to_numpy(zero_copy_only=False), bool))
                if len(bad):
                    from sqlvec.core.errors import WithCheckOptionViolation

                    raise WithCheckOptionViolation(
                        f'new row violates check option for view "{chk.name}"',
                        detail=failing_row(rows, int(bad[0]), table, ex.ctx.regs))
                continue
            if pc.any(pc.equal(ok, False)).as_py():
                bad = int(np.flatnonzero(np.asarray(pc.fill_null(pc.equal(ok, False), False)))[0])
                raise CheckViolation(
                    f'new row for relation "{table.name}" violates check constraint "{chk.name}"',
                    detail=failing_row(rows, bad, table, ex.ctx.regs),
                    schema=table.schema, table=table.name, constraint=chk.name,
                )


def unique_keys(table: TableDef) -> list[tuple[str, tuple[str, ...]]]:
    out = []
    if table.primary_key:
        out.append((table.pk_name or f"{table.name}_pkey", table.primary_key))
    out.extend(table.uniques)
    return out


def _dups_within(rows: pa.Table, cols: tuple[str, ...]) -> np.ndarray:
    """Mask of rows whose non-NULL key repeats an earlier row's key."""
    nn = rows.num_rows
    if nn <= 1:  # one row (an executemany INSERT): nothing to repeat
        return np.zeros(nn, bool)
    keys = rows.select(list(cols))
    valid = np.ones(nn, bool)
    for c in keys.columns:
        if c.null_count:
            valid &= np.asarray(pc.is_valid(c).to_numpy(zero_copy_only=False))
    gid, _ = group_ids(keys)
    dup = np.zeros(nn, bool)
    if nn:
        order = np.argsort(gid, kind="stable")
        sg = gid[order]
        same = np.zeros(nn, bool)
        same[1:] = sg[1:] == sg[:-1]
        dup[order] = same
    return dup & valid


def check_unique_within(table: TableDef, rows: pa.Table) -> None:
    for name, cols in unique_keys(table):
        bad = np.nonzero(_dups_within(rows, cols))[0]
        if len(bad):
            raise UniqueViolation(
                f'could not create unique index "{name}"',
                detail=_key_text(rows, cols, int(bad[0])).replace(" already exists.", " is duplicated."),
            )


def find_conflicts(ex: Executor, table: TableDef, rows: pa.Table, cols: tuple[str, ...],
                   exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """For unique key cols: (existing rowid per new row or -1, dup-within-batch mask, existing table)."""
    lookup = getattr(ex.ctx.txn, "lookup", None)
    if lookup is not None and len(cols) == 1:
        found, rowids = lookup(table.oid, cols[0], rows.column(cols[0]))
        hit = np.where(np.asarray(found, bool), np.asarray(rowids, np.int64), -1)
        if exclude is not None and len(exclude):
            hit = np.where(np.isin(hit, exclude), -1, hit)
        return hit, _dups_within(rows, cols), None
    existing = candidate_rows(ex.ctx.txn, table.oid, list(cols), rows.column(cols[0]))
    if exclude is not None and len(exclude) and existing.num_rows:
        keep = ~np.isin(np.asarray(existing.column(0).to_numpy()), exclude)
        existing = existing.filter(pa.array(keep))
    new_keys = rows.select(list(cols))
    old_keys = existing.select(list(cols)).cast(new_keys.schema) if existing.num_rows else new_keys.slice(0, 0)
    both = pa.concat_tables([new_keys, old_keys])
    valid = np.ones(both.num_rows, bool)
    for c in both.columns:
        if c.null_count:
            valid &= np.asarray(pc.is_valid(c).to_numpy(zero_copy_only=False))
    gid, _ = group_ids(both)
    nn = rows.num_rows
    ng, og = gid[:nn], gid[nn:]
    nvalid, ovalid = valid[:nn], valid[nn:]
    owner = np.full(int(gid.max(initial=-1)) + 1, -1, dtype=np.int64)
    old_ids = np.asarray(existing.column(0).to_numpy()) if existing.num_rows else np.zeros(0, np.int64)
    owner[og[ovalid]] = old_ids[ovalid]
    hit = np.where(nvalid, owner[ng], -1)
    # duplicates inside the new rows themselves
    dup = np.zeros(nn, bool)
    if nn:
        order = np.argsort(ng, kind="stable")
        sg = ng[order]
        same = np.zeros(nn, bool)
        same[1:] = sg[1:] == sg[:-1]
        dup[order] = same
        dup &= nvalid
    return hit, dup, existing


def to_table_scan(ex: Executor, table: TableDef, cols: list[str]) -> pa.Table:
    bs = list(ex.ctx.txn.scan(table.oid, cols))
    if not bs:
        return pa.table({"_rowid": pa.array([], pa.int64())})
    return pa.Table.from_batches(bs)


def _key_text(rows: pa.Table, cols: tuple[str, ...], i: int) -> str:
    vals = [rows.column(c)[i].as_py() for c in cols]
    return f"Key ({', '.join(cols)})=({', '.join(str(v) for v in vals)}) already exists."


def check_unique(ex: Executor, table: TableDef, rows: pa.Table, exclude: np.ndarray | None = None) -> None:
    for name, cols in unique_keys(table):
        hit, dup, _ = find_conflicts(ex, table, rows, cols, exclude)
        bad = np.nonzero((hit >= 0) | dup)[0]
        if len(bad):
            raise UniqueViolation(
                f'duplicate key value violates unique constraint "{name}"',
                detail=_key_text(rows, cols, int(bad[0])), schema=table.schema, table=table.name,
                constraint=name,
            )
    if table.unique_indexes and rows.num_rows:  # on expressions, partial, NULLS NOT DISTINCT
        unique_index.check(ex, table, rows, exclude)


def _arbiter_conflicts(ex: Executor, table: TableDef, oc: L.OnConflict,
                       rows: pa.Table) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """ON CONFLICT: (existing row id per new row or -1, duplicate-within-batch mask, the key
    columns used to prune the fetch) over the arbiter index(es)."""
    if oc.index is not None:
        ui = next(u for u in table.unique_indexes if u.name == oc.index)
        hit, dup, _ = unique_index.conflicts(ex, table, ui, rows)
        return hit, dup, ()
    if oc.target or oc.action != "nothing":
        keys = oc.target or (unique_keys(table)[0][1] if unique_keys(table) else ())
        if not keys:
            return np.full(rows.num_rows, -1, np.int64), np.zeros(rows.num_rows, bool), ()
        nnd = next((u for u in table.unique_indexes  # the key is UNIQUE NULLS NOT DISTINCT
                    if u.where is None and u.nulls_not_distinct and set(u.keys) == set(keys)), None)
        if nnd is not None:
            hit, dup, _ = unique_index.conflicts(ex, table, nnd, rows)
            return hit, dup, ()
        hit, dup, _ = find_conflicts(ex, table, rows, tuple(keys))
        return hit, dup, tuple(keys)
    # DO NOTHING without a target: every unique index is an arbiter
    hit = np.full(rows.num_rows, -1, np.int64)
    dup = np.zeros(rows.num_rows, bool)
    for _, cols in unique_keys(table):
        h, d, _ = find_conflicts(ex, table, rows, cols)
        hit = np.where(hit >= 0, hit, h)
        dup |= d
    for ui in table.unique_indexes:
        h, d, _ = unique_index.conflicts(ex, table, ui, rows)
        hit = np.where(hit >= 0, hit, h)
        dup |= d
    return hit, dup, ()


def run_insert(ex: Executor, p: L.Insert) -> tuple[int, pa.Table | None]:
    table = p.table
    rows = _as_table_rows(table, to_table(p.source, ex.run(p.source)), ex.ctx.regs)
    check_rows(table, rows, ex)
    if p.on_conflict is not None:
        rows, updated = _on_conflict(ex, p, rows)
    else:
        updated = None
        check_unique(ex, table, rows)
    if rows.num_rows:
        ex.ctx.txn.insert(table.oid, rows)
        check_references(ex, table, rows)
    count = rows.num_rows
    out_rows = rows
    if updated is not None and updated.num_rows:
        count += updated.num_rows
        out_rows = pa.concat_tables([rows, updated])
    return count, _returning(ex, p.returning, p.fields, out_rows)


def _on_conflict(ex: Executor, p: L.Insert, rows: pa.Table) -> tuple[pa.Table, pa.Table | None]:
    table = p.table
    oc = p.on_conflict
    if oc.index is None and not oc.target and not unique_keys(table) and not table.unique_indexes:
        return rows, None
    hit, dup, keys = _arbiter_conflicts(ex, table, oc, rows)
    if oc.action == "nothing":
        keep = (hit < 0) & ~dup
        rows = rows.filter(pa.array(keep))
        check_unique(ex, table, rows)
        return rows, None
    if dup.any():
        from sqlvec.core.errors import CardinalityViolation

        raise CardinalityViolation("ON CONFLICT DO UPDATE command cannot affect row a second time",
                                   hint="Ensure that no rows proposed for insertion within the same command have duplicate constrained values.")
    conflict = np.nonzero(hit >= 0)[0]
    fresh = rows.filter(pa.array(hit < 0))
    if not len(conflict):
        check_unique(ex, table, fresh)
        return fresh, None
    rowids = hit[conflict]
    cols = [c.name for c in table.columns]
    prune = key_pruner(keys[0], rows.column(keys[0]).take(pa.array(conflict))) if keys else None
    old = fetch_rows(ex.ctx.txn, table.oid, cols, rowids, prune).drop(["_rowid"])
    excluded = rows.take(pa.array(conflict))
    combo = pa.Table.from_arrays(list(old.columns) + list(excluded.columns),
                                 names=[f"c{i}" for i in range(2 * len(cols))]).combine_chunks()
    batch = combo.to_batches()[0]
    if oc.where is not None:
        m = pc.fill_null(ex.ev.eval(oc.where, batch), False)
        batch = batch.filter(m)
        rowids = rowids[np.asarray(m.to_numpy(zero_copy_only=False), bool)]
        old = old.filter(m)
    new_cols = list(old.columns)
    for i, e in oc.assignments:
        new_cols[i] = ex.ev.eval(e, batch)
    new = _as_table_rows(table, pa.Table.from_arrays(new_cols, names=cols), ex.ctx.regs)
    check_rows(table, new, ex)
    ex.ctx.txn.delete(table.oid, np.asarray(rowids, np.int64))
    check_unique(ex, table, pa.concat_tables([fresh, new]))
    if new.num_rows:
        ex.ctx.txn.insert(table.oid, new)
        check_references(ex, table, new, only=tuple(cols[i] for i, _ in oc.assignments))
        after_parent_change(ex, table, old.rename_columns(cols), new)
    return fresh, new


def _returning(ex: Executor, exprs: tuple | None, fields: tuple, rows: pa.Table) -> pa.Table | None:
    if exprs is None:
        return None
    t = rows.combine_chunks()
    bs = t.to_batches()
    if not bs:
        return pa.table([pa.array([], type=f.type.arrow) for f in fields], names=[f"c{i}" for i in range(len(fields))])
    b = pa.RecordBatch.from_arrays(bs[0].columns, names=[f"c{i}" for i in range(t.num_columns)])
    arrays = [ex.ev.eval(e, b) for e in exprs]
    return pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))])


def run_update(ex: Executor, p: L.Update) -> tuple[int, pa.Table | None]:
    table = p.table
    src = to_table(p.source, ex.run(p.source)).combine_chunks()
    n = src.num_rows
    if n == 0:
        return 0, _returning(ex, p.returning, p.fields, _as_table_rows(table, _empty(table, ex), ex.ctx.regs))
    batch = src.to_batches()[0]
    ncol = len(table.columns)
    cols = [batch.column(i + 1) for i in range(ncol)]
    for i, e in p.assignments:
        cols[i] = ex.ev.eval(e, batch)
    new = _as_table_rows(table, pa.Table.from_arrays(cols, names=[c.name for c in table.columns]), ex.ctx.regs)
    rowids = np.asarray(batch.column(0).to_numpy(zero_copy_only=False), np.int64)
    check_rows(table, new, ex)
    touched = {i for i, _ in p.assignments}
    if any(table.column_index(c) in touched for _, key in unique_keys(table) for c in key):
        check_unique(ex, table, new, exclude=rowids)
    elif table.unique_indexes:
        unique_index.check(ex, table, new, exclude=rowids)
    ex.ctx.txn.delete(table.oid, rowids)
    ex.ctx.txn.insert(table.oid, new)
    if table.foreign_keys:
        check_references(ex, table, new, only=tuple(table.columns[i].name for i in touched))
    if table.referenced_by:
        names = [c.name for c in table.columns]
        after_parent_change(ex, table, pa.Table.from_arrays([batch.column(i + 1) for i in range(ncol)],
                                                            names=names), new)
    return n, _returning(ex, p.returning, p.fields, new)


def _empty(table: TableDef, ex: Executor) -> pa.Table:
    return table_schema(table, ex.ctx.regs).empty_table()


def run_delete(ex: Executor, p: L.Delete) -> tuple[int, pa.Table | None]:
    src = to_table(p.source, ex.run(p.source)).combine_chunks()
    n = src.num_rows
    if n:
        ex.ctx.txn.delete(p.table.oid, np.asarray(src.column(0).to_numpy(zero_copy_only=False), np.int64))
    old = src.drop([src.column_names[0]]) if n else _empty(p.table, ex)
    if n and p.table.referenced_by:
        ncol = len(p.table.columns)
        after_parent_change(ex, p.table, pa.Table.from_arrays(
            old.columns[:ncol], names=[c.name for c in p.table.columns]), None)
    return n, _returning(ex, p.returning, p.fields, old)


def run_merge(ex: Executor, p: L.Merge) -> tuple[int, pa.Table | None]:
    """MERGE: each joined row takes the first WHEN clause whose condition holds."""
    from sqlvec.core.errors import CardinalityViolation

    table = p.table
    src = to_table(p.source, ex.run(p.source)).combine_chunks()
    n = src.num_rows
    if n == 0:
        return 0, None
    batch = src.to_batches()[0]
    rowid = batch.column(0)
    matched = np.asarray(pc.is_valid(rowid).to_numpy(zero_copy_only=False), bool)
    rid = np.asarray(pc.fill_null(rowid, -1).to_numpy(zero_copy_only=False), np.int64)
    m_ids = rid[matched]
    if len(m_ids) != len(np.unique(m_ids)):
        raise CardinalityViolation("MERGE command cannot affect row a second time",
                                   hint="Ensure that not more than one source row matches any one target row.")
    taken = np.zeros(n, bool)
    deletes: list[np.ndarray] = []
    new_rows: list[pa.Table] = []
    removed: list[pa.Table] = []  # old rows of WHEN ... THEN DELETE
    changed: list[tuple[pa.Table, pa.Table]] = []  # (old, new) of WHEN ... THEN UPDATE
    count = 0
    ncol = len(table.columns)
    names = [c.name for c in table.columns]
    for cl in p.clauses:
        sel = (~taken) & (matched if cl.matched else ~matched)
        if cl.condition is not None and sel.any():
            ok = np.asarray(pc.fill_null(ex.ev.eval(cl.condition, batch), False).to_numpy(zero_copy_only=False), bool)
            sel &= ok
        if not sel.any():
            continue
        taken |= sel
        if cl.action == "nothing":
            continue
        count += int(sel.sum())
        sub = batch.filter(pa.array(sel))
        before = pa.Table.from_arrays([sub.column(i + 1) for i in range(ncol)], names=names)
        if cl.action == "delete":
            deletes.append(rid[sel])
            removed.append(before)
        elif cl.action == "update":
            cols = [sub.column(i + 1) for i in range(ncol)]
            for i, e in cl.assignments:
                cols[i] = ex.ev.eval(e, sub)
            deletes.append(rid[sel])
            new_rows.append(_as_table_rows(table, pa.Table.from_arrays(cols, names=names), ex.ctx.regs))
            changed.append((before, new_rows[-1]))
        else:
            cols = [ex.ev.eval(e, sub) for e in cl.values]
            new_rows.append(_as_table_rows(table, pa.Table.from_arrays(cols, names=names), ex.ctx.regs))
    gone = np.concatenate(deletes) if deletes else np.zeros(0, np.int64)
    if new_rows:
        rows = pa.concat_tables(new_rows)
        check_rows(table, rows, ex)
        check_unique(ex, table, rows, exclude=gone)
    if len(gone):
        ex.ctx.txn.delete(table.oid, gone)
    if new_rows:
        ex.ctx.txn.insert(table.oid, rows)
        check_references(ex, table, rows)
    for before in removed:
        after_parent_change(ex, table, before, None)
    for before, after in changed:
        after_parent_change(ex, table, before, after)
    return count, None
