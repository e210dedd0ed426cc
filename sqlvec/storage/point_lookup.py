"""A point lookup by one integer key: where the visible row is, and its values, without Arrow
arrays for the key or a row-id search to fetch it.

`find_row(views, column, key)` answers the first live row whose integer `column` equals the
Python int `key` as (segment, position in it): each segment's cached sorted key index
(Segment.key_index) with its key range as Python ints, so a segment whose range misses the
key costs two comparisons. `row_arrays(segment, position, columns)` slices that row's
columns (each a cached single Arrow array of the segment); `row_batch` gives it as a slice
of a cached batch of the segment's columns, `row_values` as Python values. Transaction.find_row / fetch_at / fetch_batch
wrap these (txn.py); exec/key_lookup.py uses them for `WHERE key = $n`.

    >>> # find_row([view], "id", 7) -> (segment, 6); row_arrays(segment, 6, ["v"]) -> [<1 row>]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from sqlvec.storage.segment import Segment, SegView

NO_INDEX = object()  # find_row: a segment's column has no integer key index (ask key_lookup)


def _bounds(seg: Segment, column: str) -> tuple | None:
    """(lowest key, highest key, sorted keys, positions, the keys' numpy scalar type) of a
    segment's integer column,
    None when it holds no non-NULL key, NO_INDEX when the column is not of integers."""
    key = "bounds:" + column
    cache = seg._cache
    hit = cache.get(key, cache)
    if hit is cache:
        idx = seg.key_index(column)
        if idx is None or idx[0].dtype.kind not in "iu" \
                or not pa.types.is_integer(seg.data.schema.field(column).type):
            hit = NO_INDEX
        elif len(idx[0]) == 0:
            hit = None
        else:
            skeys, spos = idx
            hit = (int(skeys[0]), int(skeys[-1]), skeys, spos, skeys.dtype.type)
        cache[key] = hit
    return hit


def find_row(views: Iterable[SegView], column: str, key: int) -> tuple[Segment, int] | None | object:
    """The first live row of `views` whose integer `column` equals `key`: (segment, position),
    None when there is none, NO_INDEX when a segment's column is not of integers."""
    name = "bounds:" + column
    for view in views:
        seg = view.seg
        if view.n_deleted == seg.num_rows:
            continue
        b = seg._cache.get(name, _bounds)
        if b is _bounds:
            b = _bounds(seg, column)
        if b is None:
            continue
        if b is NO_INDEX:
            return NO_INDEX
        lo, hi, skeys, spos, scalar = b  # type: ignore[misc]
        if key < lo or key > hi:
            continue
        # (a Python int would make numpy search a copy of the keys converted to int64)
        j, n = int(skeys.searchsorted(scalar(key))), len(skeys)
        deleted = view.deleted
        while j < n and skeys[j] == key:
            p = int(spos[j])
            if deleted is None or not deleted[p]:
                return seg, p
            j += 1
    return None


def _column(seg: Segment, name: str) -> pa.Array | pa.ChunkedArray:
    """A segment's column, as its one chunk when it has one (cached: the segment never changes)."""
    key = "col:" + name
    hit = seg._cache.get(key)
    if hit is None or hit[0] is not seg._data:  # (a segment moved to its file reads from there)
        data = seg.data
        col = data.column(name)
        hit = (data, col.chunk(0) if col.num_chunks == 1 else col)
        seg._cache[key] = hit
    return hit[1]  # type: ignore[index]


def row_arrays(seg: Segment, pos: int, columns: list[str]) -> list[pa.Array]:
    """The row at `pos` of a segment: one 1-row array per column (zero-copy slices)."""
    out = []
    for name in columns:
        a = _column(seg, name).slice(pos, 1)
        out.append(a.combine_chunks() if type(a) is pa.ChunkedArray else a)
    return out


def row_batch(seg: Segment, pos: int, columns: tuple[str, ...], schema: pa.Schema) -> pa.RecordBatch | None:
    """The row at `pos` of a segment as a 1-row batch of `schema` (its columns are `columns`,
    in order): one slice of a zero-copy batch of the whole segment, cached per column list.
    None when a column is in several chunks or stored as another type than the schema's
    (then `row_arrays` and a cast)."""
    key = ("batch", columns)
    hit = seg._cache.get(key)  # type: ignore[call-overload]
    if hit is None or hit[0] is not schema or hit[1] is not seg._data:
        arrays = [_column(seg, name) for name in columns]
        ok = all(type(a) is not pa.ChunkedArray and a.type == f.type for a, f in zip(arrays, schema))
        hit = (schema, seg._data, pa.RecordBatch.from_arrays(arrays, schema=schema) if ok else None)
        seg._cache[key] = hit  # type: ignore[index]
    batch = hit[2]
    return None if batch is None else batch.slice(pos, 1)


def _reader(seg: Segment, name: str) -> object:
    """How `row_values` reads a column of a segment: its numpy array (integers and float8
    without NULLs: `.item(pos)`), its Arrow array (text, or a column with NULLs: `[pos].as_py()`),
    or None (another type: the caller reads the Arrow batch)."""
    key = "reader:" + name
    hit = seg._cache.get(key)
    if hit is None or hit[0] is not seg._data:
        a = _column(seg, name)
        t = a.type
        reader: object = None
        if type(a) is not pa.ChunkedArray:
            if (pa.types.is_integer(t) or t == pa.float64()) and a.null_count == 0:
                reader = a.to_numpy()
            elif pa.types.is_integer(t) or t in (pa.float64(), pa.string(), pa.large_string()):
                reader = a
        hit = (seg._data, reader)
        seg._cache[key] = hit
    return hit[1]


def row_values(seg: Segment, pos: int, columns: tuple[str, ...]) -> list | None:
    """The row at `pos` as Python values (int, float, str, None), what Arrow's `as_py` gives,
    when every column is of such a type; else None."""
    key = ("readers", columns)
    hit = seg._cache.get(key)  # type: ignore[call-overload]
    if hit is None or hit[0] is not seg._data:
        readers = [_reader(seg, name) for name in columns]
        hit = (seg._data, None if any(r is None for r in readers) else readers)
        seg._cache[key] = hit  # type: ignore[index]
    readers = hit[1]
    if readers is None:
        return None
    return [r.item(pos) if type(r) is np.ndarray else r[pos].as_py() for r in readers]
