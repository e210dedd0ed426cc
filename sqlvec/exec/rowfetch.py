"""Fetch a few visible rows by row id without materialising the table (ON CONFLICT DO UPDATE).

Each scanned batch keeps only the wanted row ids (a hash probe per batch), and segments
whose min/max of a key column cannot hold any of the wanted keys are skipped by storage.

    >>> # fetch_rows(txn, oid, ["id", "v"], np.array([7, 3]), key=("id", pa.array([70, 30])))
    >>> # -> pa.Table of _rowid, id, v for row ids 7 and 3, in that order
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def key_pruner(column: str, values: pa.Array) -> Callable[[dict], bool] | None:
    """prune(stats) skipping segments whose [min, max] of `column` holds none of `values`."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    valid = values.drop_null()
    if len(valid) == 0:
        return None
    try:
        arr = np.sort(np.asarray(valid.to_numpy(zero_copy_only=False)))
    except (pa.ArrowInvalid, TypeError):
        return None

    def prune(stats: dict) -> bool:
        mm = stats.get(column)
        if mm is None:
            return False
        try:
            lo = np.searchsorted(arr, mm[0], side="left")
            return bool(lo >= len(arr) or arr[lo] > mm[1])
        except (TypeError, ValueError):  # values that do not compare: keep the segment
            return False

    return prune


def fetch_rows(
    txn: Any,
    table_oid: int,
    cols: list[str],
    rowids: np.ndarray,
    prune: Callable[[dict], bool] | None = None,
) -> pa.Table:
    """`_rowid` + `cols` of the visible rows with these ids, in the order of `rowids`."""
    wanted = np.asarray(rowids, np.int64)
    want = pa.array(wanted)
    lo, hi = (int(wanted.min()), int(wanted.max())) if len(wanted) else (0, -1)
    parts = []
    batches = txn.scan(table_oid, cols, prune=prune) if prune is not None else txn.scan(table_oid, cols)
    for b in batches:
        ids = np.asarray(b.column(0))  # int64, never NULL: a zero-copy view
        if not len(ids) or ids.max() < lo or ids.min() > hi:
            continue
        mask = np.isin(ids, wanted)
        if mask.any():
            parts.append(b.filter(pa.array(mask)))
    if not parts:
        raise KeyError("rows to fetch are not visible")
    found = pa.Table.from_batches(parts)
    order = pc.index_in(want, value_set=found.column(0))
    if order.null_count:
        raise KeyError("rows to fetch are not visible")
    return found.take(order)


def candidate_rows(txn: Any, table_oid: int, cols: list[str], values: pa.Array) -> pa.Table:
    """`_rowid` + `cols` of visible rows whose `cols[0]` is one of `values` (non-NULL).

    The first step of a multi-column unique check: only rows sharing the leading key
    value can conflict, so each batch keeps those (a hash probe) and segments whose
    min/max of the leading column holds none of them are skipped.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    want = values.drop_null()
    parts = []
    if len(want):
        prune = key_pruner(cols[0], want)
        batches = txn.scan(table_oid, cols, prune=prune) if prune is not None else txn.scan(table_oid, cols)
        for b in batches:
            probe = b.column(1)
            try:
                mask = pc.is_in(probe, value_set=want.cast(probe.type) if want.type != probe.type else want)
            except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # no hash for this type
                parts.append(b)
                continue
            if pc.any(mask).as_py():
                parts.append(b.filter(mask))
    if not parts:
        return pa.table({"_rowid": pa.array([], pa.int64())})
    return pa.Table.from_batches(parts)
