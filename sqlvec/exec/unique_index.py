"""Unique indexes on expressions, partial unique indexes and NULLS NOT DISTINCT
(TableDef.unique_indexes), enforced per statement with one vectorised pass.

The keys of the new rows are evaluated over the whole batch; the existing rows the index
covers are read once (only segments and rows whose leading key can match, when that key is
a plain column; otherwise a scan of the columns the index reads), their keys evaluated the
same way, and both sides matched by one hash grouping. A row outside a partial index's
predicate (NULL counts as false) is not in the index; a key with a NULL never conflicts
unless the index is NULLS NOT DISTINCT.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.catalog.objects import TableDef, UniqueIndexDef
from sqlvec.core.errors import UniqueViolation
from sqlvec.exec.evaluate import group_ids

ROWID = "_rowid"


_BOUND: dict[int, tuple[Any, dict]] = {}  # id(registries) -> (weak ref to them, memo)


def _bound(ex: Any, table: TableDef, ui: UniqueIndexDef) -> tuple[list, Any, set[str]]:
    """(key expressions, predicate or None, column names read), bound over the table's row;
    memoised per registries, index and column types (binding costs ~1 ms a statement)."""
    regs = ex.ctx.regs
    ref, cache = _BOUND.get(id(regs), (None, None))
    if ref is None or ref() is not regs:
        cache = {}
        _BOUND[id(regs)] = (weakref.ref(regs), cache)
    key = (table.oid, ui, tuple((c.name, c.type_oid, c.typmod) for c in table.columns))
    if len(cache) > 256:
        cache.clear()
    if key not in cache:
        from sqlglot import exp

        from sqlvec.sql.bind_dml import table_scope
        from sqlvec.sql.binder import BindContext, Binder
        from sqlvec.sql.parse import parse_one_sql

        b = Binder(BindContext(None, ex.ctx.regs, []))
        scope = table_scope(b, table)
        keys, cols = [], set()
        for k in ui.keys:
            node = parse_one_sql("select " + k).expressions[0]
            cols |= {c.name for c in node.find_all(exp.Column)}
            keys.append(b.bind_expr(node, scope))
        pred = None
        if ui.where:
            node = parse_one_sql("select " + ui.where).expressions[0]
            cols |= {c.name for c in node.find_all(exp.Column)}
            pred = b.as_bool(b.bind_expr(node, scope))
        cache[key] = (keys, pred, cols)
    return cache[key]


def _keys(ex: Any, table: TableDef, ui: UniqueIndexDef, rows: pa.Table) -> tuple[pa.Table, np.ndarray]:
    """The index keys of rows (table columns by name; missing ones read as NULL) and the mask
    of rows the index holds (predicate true; no NULL key unless NULLS NOT DISTINCT)."""
    keys, pred, _ = _bound(ex, table, ui)
    n = rows.num_rows
    arrays = []
    for c in table.columns:
        if c.name in rows.column_names:
            a = rows.column(c.name)
            arrays.append(a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a)
        else:
            arrays.append(pa.nulls(n, c.sql_type(ex.ctx.regs.types).arrow))
    batch = pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
    out = []
    for e in keys:
        v = ex.ev.eval(e, batch)
        if isinstance(v, pa.Scalar):
            v = pa.repeat(v, n)
        out.append(v.combine_chunks() if isinstance(v, pa.ChunkedArray) else v)
    kt = pa.Table.from_arrays(out, names=[f"k{i}" for i in range(len(out))])
    mask = np.ones(n, bool)
    if pred is not None:
        p = ex.ev.eval(pred, batch)
        if isinstance(p, pa.Scalar):
            mask &= bool(p.as_py())
        else:
            mask &= np.asarray(pc.fill_null(p, False).to_numpy(zero_copy_only=False), bool)
    if not ui.nulls_not_distinct:
        for c in kt.columns:
            if c.null_count:
                mask &= np.asarray(pc.is_valid(c).to_numpy(zero_copy_only=False), bool)
    return kt, mask


_FEW = 64  # up to this many probe keys: binary search in each segment's sorted keys


def _sorted_keys(kt: pa.Table, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The index's leading keys of a segment (rows it holds) sorted, with their positions;
    None when they do not sort as numpy values."""
    pos = np.flatnonzero(mask)
    col = kt.column(0).take(pa.array(pos))
    if col.null_count or pa.types.is_nested(col.type) or isinstance(col.type, pa.ExtensionType):
        return None
    try:
        vals = np.asarray(col.to_numpy(zero_copy_only=False))
        order = np.argsort(vals, kind="stable")
    except (TypeError, ValueError, pa.ArrowInvalid):
        return None
    return vals[order], pos[order]


def _existing(ex: Any, table: TableDef, ui: UniqueIndexDef, new_keys: pa.Table,
              exclude: np.ndarray | None) -> tuple[pa.Table, np.ndarray]:
    """(keys, row ids) of the visible rows the index holds whose leading key is one of
    new_keys': per segment, a binary search in its cached sorted keys for a few probes,
    else one hash probe over all segments' cached keys."""
    from sqlvec.storage.unique_expr import live_views, segment_derived

    cache_key = ("unique_index", table.oid, ui, tuple((c.name, c.type_oid, c.typmod) for c in table.columns))
    probe = new_keys.column(0)
    probe = (probe.combine_chunks() if isinstance(probe, pa.ChunkedArray) else probe).unique()
    few = None
    if len(probe) <= _FEW and not probe.null_count and not pa.types.is_nested(probe.type):
        try:
            few = np.asarray(probe.to_numpy(zero_copy_only=False))
        except (pa.ArrowInvalid, TypeError):
            few = None
    tables, masks, ids = [], [], []
    need_probe = False  # some segment was not searched by its sorted keys
    for v in live_views(ex.ctx.txn, table.oid):
        kt, mask = segment_derived(v.seg, cache_key, lambda data: _keys(ex, table, ui, data.drop([ROWID])))
        srt = segment_derived(v.seg, cache_key + ("sorted",), lambda _d, kt=kt, mask=mask: _sorted_keys(kt, mask)) \
            if few is not None and not ui.nulls_not_distinct else None
        if srt is not None:
            sv, sp = srt
            try:
                lo, hi = np.searchsorted(sv, few, "left"), np.searchsorted(sv, few, "right")
            except TypeError:  # keys that do not compare with the probes: hash probe below
                srt = None
            else:
                if not (hi > lo).any():
                    continue
                pos = np.concatenate([sp[a:b] for a, b in zip(lo, hi) if b > a])
                m = np.zeros(len(mask), bool)
                m[pos] = True
                mask = m
        need_probe |= srt is None
        if v.deleted is not None:
            mask = mask & ~v.deleted
        tables.append(kt)
        masks.append(mask)
        ids.append(v.seg.rowids)
    if not tables:
        return new_keys.slice(0, 0), np.zeros(0, np.int64)
    kt = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    mask = np.concatenate(masks) if len(masks) > 1 else masks[0]
    rowids = np.concatenate(ids) if len(ids) > 1 else ids[0]
    if need_probe:
        first = kt.column(0)
        try:
            hit = pc.is_in(first, value_set=probe.cast(first.type) if probe.type != first.type else probe)
            mask = mask & np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), bool)
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # no hash for this type: all candidates
            pass
    if exclude is not None and len(exclude) and mask.any():
        mask &= ~np.isin(rowids, exclude)
    if not mask.any():
        return new_keys.slice(0, 0), np.zeros(0, np.int64)
    sel = np.flatnonzero(mask)
    return kt.take(pa.array(sel)), rowids[sel].astype(np.int64)


def conflicts(ex: Any, table: TableDef, ui: UniqueIndexDef, rows: pa.Table,
              exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, pa.Table]:
    """For each new row: the row id of an existing row with its key (-1), whether an earlier
    new row has its key, and the new rows' keys."""
    kt, mask = _keys(ex, table, ui, rows)
    n = rows.num_rows
    hit = np.full(n, -1, np.int64)
    dup = np.zeros(n, bool)
    if not mask.any():
        return hit, dup, kt
    mine = kt.filter(pa.array(mask))
    old, old_ids = _existing(ex, table, ui, mine, exclude)
    if old.num_rows:
        old = pa.Table.from_arrays([c.cast(f.type) if c.type != f.type else c
                                    for c, f in zip(old.columns, mine.schema)], schema=mine.schema)
    both = pa.concat_tables([mine, old]) if old.num_rows else mine
    gid, _ = group_ids(both)
    m = mine.num_rows
    owner = np.full(int(gid.max(initial=-1)) + 1, -1, np.int64)
    if old.num_rows:
        owner[gid[m:]] = old_ids
    idx = np.flatnonzero(mask)
    hit[idx] = owner[gid[:m]]
    order = np.argsort(gid[:m], kind="stable")
    sg = gid[:m][order]
    same = np.zeros(m, bool)
    same[1:] = sg[1:] == sg[:-1]
    d = np.zeros(m, bool)
    d[order] = same
    dup[idx] = d
    return hit, dup, kt


def key_text(ui: UniqueIndexDef, keys: pa.Table, i: int) -> str:
    vals = []
    for c in keys.columns:
        v = c[i].as_py()
        vals.append("null" if v is None else str(v))
    return f"Key ({', '.join(ui.keys)})=({', '.join(vals)})"


def check(ex: Any, table: TableDef, rows: pa.Table, exclude: np.ndarray | None = None) -> None:
    """23505 when a new row's key is already in one of the table's unique_indexes (or twice
    among the new rows)."""
    for ui in table.unique_indexes:
        hit, dup, kt = conflicts(ex, table, ui, rows, exclude)
        bad = np.flatnonzero((hit >= 0) | dup)
        if len(bad):
            raise UniqueViolation(
                f'duplicate key value violates unique constraint "{ui.name}"',
                detail=key_text(ui, kt, int(bad[0])) + " already exists.",
                schema=table.schema, table=table.name, constraint=ui.name)


def check_existing(ex: Any, table: TableDef, ui: UniqueIndexDef) -> None:
    """CREATE UNIQUE INDEX: the rows already there must not repeat a key (23505)."""
    _, _, cols = _bound(ex, table, ui)
    names = [c.name for c in table.columns if c.name in cols]
    bs = list(ex.ctx.txn.scan(table.oid, names))
    if not bs:
        return
    rows = pa.Table.from_batches(bs).drop([ROWID])
    kt, mask = _keys(ex, table, ui, rows)
    if not mask.any():
        return
    mine = kt.filter(pa.array(mask))
    gid, _ = group_ids(mine)
    order = np.argsort(gid, kind="stable")
    sg = gid[order]
    same = np.flatnonzero(sg[1:] == sg[:-1])
    if len(same):
        i = int(order[same[0] + 1])
        raise UniqueViolation(f'could not create unique index "{ui.name}"',
                              detail=key_text(ui, mine, i) + " is duplicated.",
                              schema=table.schema, table=table.name, constraint=ui.name)
