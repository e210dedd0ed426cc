"""Commit-time foreign-key check: catch a child row committed after its parent went away.

Each statement checks its new child rows against its own snapshot (exec/foreign_keys.py);
what a snapshot cannot see is a parent row deleted by a transaction that committed after
it began. At commit, under the commit lock, the keys a transaction inserts into a table
with foreign keys are looked up in the referenced tables' newest state (this commit
applied); a missing key is ForeignKeyViolation (23503), as PostgreSQL reports to the
inserter once the deleter has committed. (The other order, the deleter committing second,
is not caught: PostgreSQL's row locks make it wait instead.)

A table declares its foreign keys in its Arrow schema metadata:
`{b"sqlvec.fk": json.dumps([{"name": "c_p_fkey", "cols": ["p"], "ref": 16401,
"ref_cols": ["id"]}])}`.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import ForeignKeyViolation
from sqlvec.storage.segment import SegView, key_lookup
from sqlvec.storage.state import TableChange, Version

FK_KEY = b"sqlvec.fk"


def foreign_keys(schema: pa.Schema) -> list[dict]:
    meta = schema.metadata or {}
    raw = meta.get(FK_KEY)
    return json.loads(raw) if raw else []


def check(new: Version, ch: TableChange) -> None:
    """Raise ForeignKeyViolation if a key `ch` inserts is not in its referenced table in `new`."""
    if ch.reset_schema is not None:
        return
    tv = new.tables.get(ch.table_id)
    if tv is None:
        return
    fks = foreign_keys(tv.schema)
    if not fks:
        return
    inserted = [*ch.inserts, *(s.data for s in ch.segments)]
    for fk in fks:
        parent = new.tables.get(fk["ref"])
        if parent is None:  # dropped (with the constraint): nothing to check
            continue
        if any(c not in parent.schema.names for c in fk["ref_cols"]):
            continue
        views = list(parent.views)
        for rows in inserted:
            if any(c not in rows.column_names for c in fk["cols"]):
                continue
            _check_rows(views, fk, rows)


def _check_rows(views: list[SegView], fk: dict, rows: pa.Table) -> None:
    keys = rows.select(fk["cols"])
    valid = np.ones(keys.num_rows, bool)
    for c in keys.columns:
        if c.null_count:
            valid &= np.asarray(pc.is_valid(c).to_numpy(zero_copy_only=False), bool)
    if not valid.any():
        return
    keys = keys.filter(pa.array(valid)) if not valid.all() else keys
    ref_cols = fk["ref_cols"]
    if len(ref_cols) == 1:
        values = keys.column(0).combine_chunks()
        ptype = views[0].seg.data.schema.field(ref_cols[0]).type if views else values.type
        try:
            values = values.cast(ptype) if values.type != ptype else values
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            _raise(fk, keys, 0)
        found = np.zeros(len(values), bool)
        out = np.full(len(values), -1, np.int64)
        key_lookup(views, ref_cols[0], values, found, out)
        if not found.all():
            _raise(fk, keys, int(np.argmin(found)))
        return
    first = keys.column(0).combine_chunks().unique()
    parts = []
    for v in views:
        if not v.live:
            continue
        seg = v.seg.data.select(ref_cols)
        hit = pc.is_in(seg.column(ref_cols[0]), value_set=first.cast(seg.schema.field(0).type)) \
            .to_numpy(zero_copy_only=False)
        if v.deleted is not None:
            hit &= ~v.deleted
        if hit.any():
            parts.append(seg.filter(pa.array(hit)))
    present = pa.concat_tables(parts) if parts else None
    probe = keys.rename_columns(ref_cols).append_column("_i", pa.array(np.arange(keys.num_rows)))
    matched = np.zeros(keys.num_rows, bool)
    if present is not None and present.num_rows:
        cast = pa.Table.from_arrays([probe.column(c).cast(present.schema.field(c).type) for c in ref_cols]
                                    + [probe.column("_i")], names=[*ref_cols, "_i"])
        j = cast.join(present.group_by(ref_cols).aggregate([]), ref_cols, join_type="inner")
        matched[np.asarray(j.column("_i").to_numpy(), np.int64)] = True
    if not matched.all():
        _raise(fk, keys, int(np.argmin(matched)))


def _raise(fk: dict, keys: pa.Table, i: int) -> None:
    vals = ", ".join(str(keys.column(j)[i].as_py()) for j in range(keys.num_columns))
    raise ForeignKeyViolation(
        f'insert or update on table "{fk.get("table", "?")}" violates foreign key constraint "{fk["name"]}"',
        detail=f'Key ({", ".join(fk["cols"])})=({vals}) is not present in table "{fk.get("ref_table", "?")}".',
        constraint=fk["name"],
    )
