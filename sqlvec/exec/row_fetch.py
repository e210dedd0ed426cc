"""A few rows of a segment by position: the k result rows of an index search.

Per segment and column we keep the column's chunks, where each starts, and a zero-copy
numpy view of each null-free fixed-width chunk (integers, floats, fixed-size lists of
them: a vector column is a rows x dim matrix), so fetching k rows of such a column is one
numpy gather; other columns (text, NULLs, nested, dates) take their rows with Arrow's
take on the chunks they fall in. Kept for sealed segments served from their file
(immutable memory-mapped views: nothing is copied), checked against the segment's current
table, like vector_index_path._batches; other segments are looked at afresh.

    >>> t = pa.table({"a": pa.array([5, 6, 7], pa.int32())})
    >>> rows(_Seg(t), "a", np.array([2, 0]), pa.int32()).to_pylist()
    [7, 5]
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

_NP = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
       pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32,
       pa.uint64(): np.uint64, pa.float16(): np.float16, pa.float32(): np.float32,
       pa.float64(): np.float64}

_NP_ID = {t.id: dt for t, dt in _NP.items()}  # (by type id: hashing a DataType formats it)
_MINR, _MAXR = np.minimum.reduce, np.maximum.reduce


@dataclass(eq=False)
class Column:
    """One column of one segment, ready for gathers by row position."""

    table: pa.Table  # the segment's table it was made from (a reopened segment makes anew)
    chunks: list
    starts: np.ndarray  # where each chunk starts, then the end
    views: list  # zero-copy numpy view of each chunk, None where Arrow's take serves it
    fast: tuple | None = None  # (type asked for, whether every chunk has a view of that type)
    flat: tuple | None = None  # (type asked for, flat_values' array or None)


# segment -> {column name: Column}
_COLS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _view(a: pa.Array) -> np.ndarray | None:
    """A zero-copy numpy view of a null-free fixed-width chunk (rows x width for fixed-size
    lists), or None."""
    if a.null_count:
        return None
    t = a.type
    if pa.types.is_fixed_size_list(t):
        child = a.values  # (the whole child: the list offset is applied below)
        dt = _NP.get(child.type)
        if dt is None or child.null_count or child.buffers()[1] is None:
            return None
        size = t.list_size
        flat = np.frombuffer(child.buffers()[1], dt, count=child.offset + len(child))[child.offset:]
        return flat[a.offset * size:(a.offset + len(a)) * size].reshape(len(a), size)
    dt = _NP.get(t)
    if dt is None or a.buffers()[1] is None:
        return None
    return np.frombuffer(a.buffers()[1], dt, count=a.offset + len(a))[a.offset:]


def column(seg: Any, name: str, cache: dict | None = None) -> Column:
    """The segment's column `name`, chunked and viewed (kept for sealed file segments, in
    `cache` when the caller holds the segments: keyed by id(segment))."""
    table = seg.data
    key = (id(seg), name)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None and hit.table is table:
            return hit
    keep = not seg.growing and getattr(seg, "path", None) is not None
    per = _COLS.get(seg) if keep else None
    hit = per.get(name) if per is not None else None
    if hit is not None and hit.table is table:
        if cache is not None:
            cache[key] = hit
        return hit
    chunks = table.column(name).chunks
    starts = np.zeros(len(chunks) + 1, np.int64)
    starts[1:] = np.cumsum([len(c) for c in chunks])
    out = Column(table, chunks, starts, [_view(c) for c in chunks])
    if keep:
        with _LOCK:
            per = _COLS.setdefault(seg, {})
            if len(per) > 64:
                per.clear()
            per[name] = out
    if cache is not None:  # (checked against the segment's table when looked up again)
        cache[key] = out
    return out


# a column's numpy values joined into one array beyond this many bytes are not kept
FLAT_MAX_BYTES = 64 << 20


def flat_values(seg: Any, name: str, t: pa.DataType, cache: dict | None = None) -> np.ndarray | None:
    """The whole column as one contiguous numpy array of a fixed-width null-free scalar type
    t (its chunks' views joined once, kept with the column: a gather of k rows is then one
    fancy index, not a search of the chunks per query), or None (nulls, other types, a
    vector column, too big)."""
    col = column(seg, name, cache)
    hit = col.flat
    if hit is not None and hit[0] is t:
        return hit[1]
    flat = None
    views = col.views
    if views and all(v is not None and v.ndim == 1 for v in views) \
            and all(c.type == t for c in col.chunks) and _NP_ID.get(t.id) is not None:
        if len(views) == 1:
            flat = views[0]
        elif sum(v.nbytes for v in views) <= FLAT_MAX_BYTES:
            flat = np.concatenate(views)
    col.flat = (t, flat)
    return flat


def to_arrow(m: np.ndarray, t: pa.DataType) -> pa.Array:
    """Gathered numpy rows as an array of type t (the numpy buffer is not copied)."""
    if type(t) is pa.FixedSizeListType:  # (pa.types.is_fixed_size_list: slower)
        return pa.FixedSizeListArray.from_arrays(_primitive(m.reshape(-1), t.value_type), type=t)
    return _primitive(m, t)


class Columns:
    """k result rows still as numpy columns, one per field of `schema`, without NULLs: what
    the compiled ANN top-k gives the wire, which writes fixed-width columns straight into
    DataRows (wire/fixed_rows.py) and makes the Arrow batch only for the other ones."""

    __slots__ = ("arrays", "schema", "num_rows")

    def __init__(self, arrays: list[np.ndarray], schema: pa.Schema, n: int) -> None:
        self.arrays, self.schema, self.num_rows = arrays, schema, n

    def to_batch(self) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays(
            [_primitive(a, f.type) for a, f in zip(self.arrays, self.schema)], schema=self.schema)


def _primitive(m: np.ndarray, t: pa.DataType) -> pa.Array:
    """A 1-D numpy array as an Arrow array of type t: wrapped in place when it is a
    contiguous array of t's own numpy type (pa.array goes through pandas-compatibility
    checks first, ~2 us of a k-row fetch), else converted by pa.array."""
    if m.ndim == 1 and m.flags.c_contiguous and _NP_ID.get(t.id) is m.dtype.type and len(m):
        return pa.Array.from_buffers(t, len(m), [None, pa.py_buffer(m)])
    return pa.array(m, t)


def values(seg: Any, name: str, pos: np.ndarray, t: pa.DataType, cache: dict | None = None
           ) -> np.ndarray | None:
    """The rows at `pos` (segment positions, any order) as numpy values (a vector column's
    rows x dim matrix), or None when the column has no numpy view of type t."""
    col = column(seg, name, cache)
    if col.fast is None or col.fast[0] is not t:  # (numpy views of chunks of type t)
        col.fast = (t, all(v is not None for v in col.views) and all(c.type == t for c in col.chunks))
    if not col.fast[1]:
        return None
    views = col.views
    if len(views) == 1:  # (take: a 2-D fancy index of a few rows costs ~5x as much)
        v = views[0]
        return v.take(pos, axis=0) if v.ndim == 2 else v[pos]
    starts = col.starts
    which = starts.searchsorted(pos, "right") - 1
    lo, hi = int(_MINR(which)), int(_MAXR(which))  # (the ufuncs: no ndarray.min/max wrappers)
    if lo == hi:
        return views[lo].take(pos - starts[lo], axis=0)
    m = np.empty((len(pos), *views[0].shape[1:]), views[0].dtype)
    for c in range(lo, hi + 1):
        sel = which == c
        m[sel] = views[c][pos[sel] - starts[c]]
    return m


def rows(seg: Any, name: str, pos: np.ndarray, t: pa.DataType, cache: dict | None = None
         ) -> pa.Array:
    """The rows at `pos` (segment positions, any order) as an array of type t."""
    m = values(seg, name, pos, t, cache)
    if m is not None:
        return to_arrow(m, t)
    col = column(seg, name, cache)
    chunks = col.chunks
    if len(chunks) == 1:
        out = chunks[0].take(pa.array(pos))
    elif not chunks:
        out = pa.array([], t)
    else:
        which = col.starts.searchsorted(pos, "right") - 1
        parts, where = [], []
        for c in np.unique(which).tolist():
            sel = np.flatnonzero(which == c)
            part = chunks[c].take(pa.array(pos[sel] - col.starts[c]))
            parts.append(part if part.type == t else part.cast(t))
            where.append(sel)
        out = pa.concat_arrays(parts) if len(parts) > 1 else parts[0]
        if len(parts) > 1:
            at = np.concatenate(where)
            inverse = np.empty(len(at), np.int64)
            inverse[at] = np.arange(len(at))
            out = out.take(pa.array(inverse))
    return out if out.type == t else out.cast(t)


def gather_values(groups: list, name: str, t: pa.DataType, n: int, cache: dict | None = None
                  ) -> np.ndarray | None:
    """values() over several segments: `groups` of (segment, output positions, segment
    positions) fill the n output rows; None when a segment's column has no numpy view."""
    got = [values(seg, name, pos, t, cache) for seg, _o, pos in groups]
    if not got or any(m is None for m in got):
        return None
    m = np.empty((n, *got[0].shape[1:]), got[0].dtype)
    for (_s, out, _p), part in zip(groups, got):
        m[out] = part
    return m


def gather(groups: list, name: str, t: pa.DataType, n: int, cache: dict | None = None
           ) -> pa.Array:
    """rows() over several segments (see gather_values)."""
    m = gather_values(groups, name, t, n, cache)
    if m is not None:
        return to_arrow(m, t)
    if not groups:
        return pa.array([], t)
    arr = pa.concat_arrays([rows(seg, name, pos, t, cache) for seg, _o, pos in groups])
    at = np.concatenate([out for _s, out, _p in groups])
    inverse = np.empty(n, np.int64)
    inverse[at] = np.arange(len(at))
    return arr.take(pa.array(inverse))


@dataclass
class _Seg:  # (doctest stand-in for a storage segment)
    data: pa.Table
    growing: bool = True
