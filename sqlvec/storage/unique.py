"""Commit-time unique checks: catch two transactions inserting the same key concurrently.

Each statement checks its keys against its own snapshot (the engine does that with
`txn.lookup`); what a snapshot cannot see is a key committed by another transaction
after it began. At commit, under the commit lock, the keys a transaction inserts are
looked up in the newest committed state (minus the rows it deletes itself); a hit is
UniqueViolation (23505), as PostgreSQL reports once the other inserter has committed.

A table declares its unique keys in its Arrow schema metadata:
`{b"sqlvec.unique": json.dumps({"t_pkey": ["id"], "t_a_b_key": ["a", "b"]})}`.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import UniqueViolation
from sqlvec.storage.segment import SegView, key_lookup
from sqlvec.storage.state import TableChange, TableVersion, delete_rows

UNIQUE_KEY = b"sqlvec.unique"


def unique_keys(schema: pa.Schema) -> dict[str, list[str]]:
    """The unique keys a table schema declares: constraint name -> columns."""
    meta = schema.metadata or {}
    raw = meta.get(UNIQUE_KEY)
    return json.loads(raw) if raw else {}


def check(latest: TableVersion | None, ch: TableChange, schema: pa.Schema) -> None:
    """Raise UniqueViolation if a key `ch` inserts is already live in `latest`."""
    keys = unique_keys(schema)
    if not keys or latest is None or ch.reset_schema is not None:
        return
    inserted = [*ch.inserts, *(s.data for s in ch.segments)]
    if not inserted:
        return
    views = list(latest.views)
    if ch.deletes is not None and len(ch.deletes):
        views = delete_rows(views, ch.deletes, False)
    for name, cols in keys.items():
        for t in inserted:
            _check_key(views, name, cols, t)


def _check_key(views: list[SegView], name: str, cols: list[str], rows: pa.Table) -> None:
    if len(cols) == 1:
        values = rows.column(cols[0]).combine_chunks()
        found = np.zeros(len(values), dtype=bool)
        out = np.full(len(values), -1, dtype=np.int64)
        key_lookup(views, cols[0], values, found, out)
        if found.any():
            _raise(name, cols, rows, int(np.argmax(found)))
        return
    keys = rows.select(cols)
    valid = np.ones(keys.num_rows, dtype=bool)
    for c in cols:
        valid &= keys.column(c).is_valid().to_numpy(zero_copy_only=False)
    keys = keys.filter(pa.array(valid))
    if keys.num_rows == 0:
        return
    first = keys.column(cols[0]).combine_chunks().unique()
    for v in views:
        if not v.live:
            continue
        seg = v.seg.data.select(cols)
        hit = pc.is_in(seg.column(cols[0]), value_set=first).to_numpy(zero_copy_only=False)
        if v.deleted is not None:
            hit &= ~v.deleted
        if not hit.any():
            continue
        cand = seg.filter(pa.array(hit))
        both = keys.join(cand, cols, join_type="inner")
        if both.num_rows:
            probe = both.slice(0, 1)
            _raise(name, cols, probe, 0)


def _raise(name: str, cols: list[str], rows: pa.Table, i: int) -> None:
    vals = ", ".join(str(rows.column(c)[i].as_py()) for c in cols)
    raise UniqueViolation(
        f'duplicate key value violates unique constraint "{name}"',
        detail=f"Key ({', '.join(cols)})=({vals}) already exists.",
        constraint=name,
    )
