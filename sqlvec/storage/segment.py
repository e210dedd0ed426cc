"""Segments: immutable runs of a table's rows (an Arrow table whose first column is _rowid).

A segment never changes once built; deletes live beside it in a `SegView` (a boolean mask
shared by the snapshots that agree on it). Row ids inside one segment are sorted ascending,
so locating a row id is a binary search. A segment may be backed by a memory-mapped file
and is then opened on first use.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

ROWID = "_rowid"
ROWID_FIELD = pa.field(ROWID, pa.int64(), nullable=False)

# Arrow types whose values a sorted numpy array can index (ints, floats, dates, times).
_NUMPY_KEY = (
    pa.types.is_integer,
    pa.types.is_floating,
    pa.types.is_boolean,
    pa.types.is_date,
    pa.types.is_timestamp,
    pa.types.is_time,
    pa.types.is_duration,
)


def with_rowid(schema: pa.Schema) -> pa.Schema:
    """The stored schema: the hidden `_rowid` column first, then the table's columns."""
    if schema.get_field_index(ROWID) >= 0:
        schema = schema.remove(schema.get_field_index(ROWID))
    return pa.schema([ROWID_FIELD, *schema], metadata=schema.metadata)


def without_rowid(schema: pa.Schema) -> pa.Schema:
    """The table's user-visible schema."""
    i = schema.get_field_index(ROWID)
    return schema.remove(i) if i >= 0 else schema


class Segment:
    """An immutable run of rows with sorted row ids; data may be loaded lazily from a file."""

    __slots__ = (
        "seg_id",
        "num_rows",
        "min_rowid",
        "max_rowid",
        "growing",
        "path",
        "stats",
        "file_info",
        "_data",
        "_rowids",
        "_loader",
        "_cache",
        "_lock",
        "__weakref__",
    )

    def __init__(
        self,
        seg_id: int,
        data: pa.Table | None,
        *,
        num_rows: int | None = None,
        min_rowid: int = 0,
        max_rowid: int = -1,
        growing: bool = False,
        path: str | None = None,
        loader: Callable[[], pa.Table] | None = None,
        stats: dict | None = None,
    ) -> None:
        self.seg_id = seg_id
        self.growing = growing
        self.path = path
        self.stats = stats
        self.file_info: tuple[int, int] | None = None  # (size, crc) once written to `path`
        self._data = data
        self._loader = loader
        self._cache: dict[str, object] = {}
        self._lock = threading.Lock()
        self._rowids: np.ndarray | None = None
        if data is not None:
            self.num_rows = data.num_rows
            rowids = self.rowids
            self.min_rowid = int(rowids[0]) if len(rowids) else 0
            self.max_rowid = int(rowids[-1]) if len(rowids) else -1
        else:
            assert num_rows is not None and loader is not None
            self.num_rows = num_rows
            self.min_rowid = min_rowid
            self.max_rowid = max_rowid

    @property
    def loaded(self) -> bool:
        return self._data is not None

    @property
    def data(self) -> pa.Table:
        """The rows (first column `_rowid`); opens the backing file on first use."""
        data = self._data
        if data is None:
            with self._lock:
                if self._data is None:
                    assert self._loader is not None
                    self._data = self._loader()
                data = self._data
        return data

    @property
    def rowids(self) -> np.ndarray:
        """The sorted row ids as an int64 numpy array (zero-copy for one chunk)."""
        r = self._rowids
        if r is None:
            col = self.data.column(0)
            r = col.chunk(0).to_numpy() if col.num_chunks == 1 else col.to_numpy()
            self._rowids = r
        return r

    def attach_file(
        self,
        path: str,
        size: int,
        crc: int,
        loader: Callable[[], pa.Table],
        data: pa.Table | None = None,
    ) -> None:
        """Now that the rows are in `path`: serve them from there (memory-mapped)."""
        with self._lock:
            self.path = path
            self.file_info = (size, crc)
            self._loader = loader
            self._data = data
            self._rowids = None

    def sorted_values(self, column: str) -> tuple[pa.Array, np.ndarray]:
        """A cached sorted copy of a column's non-null values and their row positions."""
        key = "asorted:" + column
        hit = self._cache.get(key)
        if hit is None:
            col = self.data.column(column)
            arr = _key_form(col.combine_chunks() if col.num_chunks != 1 else col.chunk(0))
            order = pc.sort_indices(arr)  # nulls sort last
            order = order.slice(0, len(arr) - arr.null_count)
            hit = (arr.take(order), order.to_numpy(zero_copy_only=False))
            self._cache[key] = hit
        return hit  # type: ignore[return-value]

    def unload(self) -> None:
        """Drop the in-memory view of a file-backed segment (it reopens on next use)."""
        if self._loader is not None:
            with self._lock:
                self._data = None
                self._rowids = None
                self._cache.clear()

    def locate(self, rowids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the given sorted row ids present in this segment: (which, positions)."""
        if self.num_rows == 0 or len(rowids) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        lo = np.searchsorted(rowids, self.min_rowid, "left")
        hi = np.searchsorted(rowids, self.max_rowid, "right")
        if lo >= hi:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        want = rowids[lo:hi]
        mine = self.rowids
        pos = np.searchsorted(mine, want)
        pos_c = np.minimum(pos, len(mine) - 1)
        hit = mine[pos_c] == want
        return np.nonzero(hit)[0] + lo, pos_c[hit]

    def key_index(self, column: str) -> tuple[np.ndarray, np.ndarray] | None:
        """A cached sorted index over a fixed-width column: (sorted keys, row positions)."""
        key = "sorted:" + column
        hit = self._cache.get(key)
        if hit is None:
            col = self.data.column(column)
            if not any(t(col.type) for t in _NUMPY_KEY):
                return None
            arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
            if pa.types.is_boolean(arr.type):
                arr = arr.cast(pa.int8())
            elif not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
                arr = arr.view(pa.int64() if arr.type.bit_width == 64 else pa.int32())
            valid = arr.is_valid().to_numpy(zero_copy_only=False)
            vals = arr.fill_null(0).to_numpy(zero_copy_only=False)
            pos = np.nonzero(valid)[0] if arr.null_count else np.arange(len(vals))
            vals = vals[pos]
            order = np.argsort(vals, kind="stable")
            hit = (vals[order], pos[order])
            self._cache[key] = hit
        return hit  # type: ignore[return-value]


# A segment with at most this many deleted rows is read as slices around them (no copy).
_FEW_DELETED = 32


@dataclass(frozen=True, slots=True)
class SegView:
    """A segment as one snapshot sees it: the segment plus its delete mask (None: no deletes)."""

    seg: Segment
    deleted: np.ndarray | None = None
    n_deleted: int = 0

    @property
    def live(self) -> int:
        return self.seg.num_rows - self.n_deleted

    def with_deleted(self, positions: np.ndarray) -> SegView:
        """A new view with more rows deleted (positions must not be deleted yet)."""
        mask = (
            np.zeros(self.seg.num_rows, dtype=bool) if self.deleted is None else self.deleted.copy()
        )
        mask[positions] = True
        mask.flags.writeable = False
        return SegView(self.seg, mask, self.n_deleted + len(positions))

    def table(self, columns: list[str] | None = None) -> pa.Table:
        """The live rows: zero-copy when nothing or little is deleted, else filtered."""
        data = self.seg.data
        if columns is not None:
            data = data.select([ROWID, *columns])
        if not self.n_deleted:
            return data
        assert self.deleted is not None
        if self.n_deleted <= _FEW_DELETED and self.live:
            # a few holes: the runs of live rows between them, as zero-copy slices
            gone = np.flatnonzero(self.deleted)
            starts = np.concatenate(([0], gone + 1))
            ends = np.concatenate((gone, [len(self.deleted)]))
            parts = [data.slice(a, b - a) for a, b in zip(starts, ends) if b > a]
            return pa.concat_tables(parts)
        return data.filter(pa.array(~self.deleted))


def _key_form(a: pa.Array) -> pa.Array:
    """Key values as compared: numeric held as its text by its value's order key (1.5 and
    1.50 are one key), nested values (arrays, vectors) as their equality bytes, anything
    else as it is."""
    if isinstance(a.type, pa.ExtensionType):
        from sqlvec.core.textio_numeric import numeric_key

        return numeric_key(a)
    if pa.types.is_nested(a.type):  # arrays, vectors: their elements' bytes (nested_keys)
        from sqlvec.storage.nested_keys import nested_key

        return nested_key(a)
    return a


# Up to this many values, variable-width keys are found by binary search in a sorted
# copy of the segment's column; more are hash-probed against the whole column.
_FEW_VALUES = 64


def key_lookup(
    views: list[SegView], column: str, values: pa.Array, found: np.ndarray, out: np.ndarray
) -> None:
    """Mark each value found in a live row of `views` (setting its row id in `out`)."""
    if len(values) == 0:
        return
    values = _key_form(values)
    few: list[object] | None = None  # the values as Python objects, made when a bisect needs them
    keys: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}
    one = len(values) == 1
    for view in views:
        if one and found[0]:
            break  # a point lookup answered: later views cannot change a found value
        if view.live == 0:
            continue
        seg = view.seg
        idx = seg.key_index(column)
        if idx is not None:
            if idx[0].dtype not in keys:
                keys[idx[0].dtype] = _as_keys(values, idx[0])
            _sorted_probe(view, idx, keys[idx[0].dtype], found, out)
        elif len(values) <= _FEW_VALUES:
            if few is None:
                few = values.to_pylist()
            _bisect_probe(view, seg.sorted_values(column), few, found, out)
        else:
            _hash_probe(view, column, values, found, out)


class _AsPy:
    """A sorted Arrow array as a Python sequence, for `bisect` (one value read per step)."""

    __slots__ = ("arr",)

    def __init__(self, arr: pa.Array) -> None:
        self.arr = arr

    def __len__(self) -> int:
        return len(self.arr)

    def __getitem__(self, i: int) -> object:
        return self.arr[i].as_py()


def _bisect_probe(
    view: SegView,
    idx: tuple[pa.Array, np.ndarray],
    few: list[object],
    found: np.ndarray,
    out: np.ndarray,
) -> None:
    svals, spos = idx
    seq = _AsPy(svals)
    n = len(seq)
    rowids = view.seg.rowids
    for i, v in enumerate(few):
        if v is None or found[i]:
            continue
        j = bisect.bisect_left(seq, v)
        while j < n and seq[j] == v:
            p = spos[j]
            if view.deleted is None or not view.deleted[p]:
                found[i] = True
                out[i] = rowids[p]
                break
            j += 1


def _as_keys(values: pa.Array, like: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values as numpy keys comparable with an index built by Segment.key_index."""
    arr = values
    if pa.types.is_boolean(arr.type):
        arr = arr.cast(pa.int8())
    elif not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
        arr = arr.view(pa.int64() if arr.type.bit_width == 64 else pa.int32())
    if arr.null_count == 0:  # the usual case (point lookups): no validity pass, no fill
        valid = np.empty(len(arr), dtype=bool)
        valid.fill(True)  # (np.ones is a Python-level wrapper: slower for a point lookup)
        keys = arr.to_numpy(zero_copy_only=False)
    else:
        valid = arr.is_valid().to_numpy(zero_copy_only=False)
        keys = arr.fill_null(0).to_numpy(zero_copy_only=False)
    if keys.dtype != like.dtype:
        keys = keys.astype(np.result_type(keys.dtype, like.dtype))
    return keys, valid


def _sorted_probe(
    view: SegView,
    idx: tuple[np.ndarray, np.ndarray],
    probe: tuple[np.ndarray, np.ndarray],
    found: np.ndarray,
    out: np.ndarray,
) -> None:
    skeys, spos = idx
    if len(skeys) == 0:
        return
    keys, valid = probe
    if len(keys) == 1:  # a point lookup: one scalar binary search, no temporaries
        if not valid[0] or found[0]:
            return
        k = keys[0]
        if k < skeys[0] or k > skeys[-1]:  # outside the segment's key range: no search
            return
        j, n = int(skeys.searchsorted(k, "left")), len(skeys)
        while j < n and skeys[j] == k:
            p = spos[j]
            if view.deleted is None or not view.deleted[p]:
                found[0], out[0] = True, view.seg.rowids[p]
                return
            j += 1
        return
    want = valid & ~found & (keys >= skeys[0]) & (keys <= skeys[-1])
    if not want.any():  # cheap skip of segments whose key range misses every value
        return
    left = np.searchsorted(skeys, keys, "left")
    right = np.searchsorted(skeys, keys, "right")
    counts = np.where(want, right - left, 0)
    total = int(counts.sum())
    if total == 0:
        return
    which = np.repeat(np.arange(len(keys)), counts)
    starts = np.repeat(left - (np.cumsum(counts) - counts), counts)
    cand = spos[starts + np.arange(total)]
    if view.deleted is not None:
        alive = ~view.deleted[cand]
        which, cand = which[alive], cand[alive]
    found[which] = True
    out[which] = view.seg.rowids[cand]


def _hash_probe(
    view: SegView, column: str, values: pa.Array, found: np.ndarray, out: np.ndarray
) -> None:
    col = view.seg.data.column(column)
    if isinstance(col.type, pa.ExtensionType) or pa.types.is_nested(col.type):
        col = _key_form(col.combine_chunks())
    if col.type != values.type:
        values = values.cast(col.type)
    hit = pc.index_in(col, value_set=values)
    hit = hit.combine_chunks() if isinstance(hit, pa.ChunkedArray) else hit
    valid = hit.is_valid().to_numpy(zero_copy_only=False)
    if view.deleted is not None:
        valid &= ~view.deleted
    pos = np.nonzero(valid)[0]
    if len(pos) == 0:
        return
    # index_in answers the first of equal values; map every value to its first occurrence
    first = pc.index_in(values, value_set=values).fill_null(-1).to_numpy(zero_copy_only=False)
    which = hit.fill_null(0).to_numpy(zero_copy_only=False)[pos].astype(np.int64)
    row_of_first = np.full(len(values), -1, dtype=np.int64)
    row_of_first[which] = view.seg.rowids[pos]
    first = first.astype(np.int64)
    sel = (first >= 0) & ~found
    sel[sel] = row_of_first[first[sel]] >= 0
    out[sel] = row_of_first[first[sel]]
    found[sel] = True


_TEMPORAL = (pa.types.is_date, pa.types.is_timestamp, pa.types.is_time)


def column_stats(table: pa.Table) -> dict[str, tuple[object, object]]:
    """Min/max per orderable column (numbers, strings, dates and times), nulls ignored."""
    out: dict[str, tuple[object, object]] = {}
    for f in table.schema:
        if f.name == "_rowid":
            continue
        t = f.type
        if not (
            pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_string(t)
            or pa.types.is_large_string(t) or any(p(t) for p in _TEMPORAL)
        ):
            continue
        col = table.column(f.name)
        if col.null_count == len(col):
            continue
        mm = pc.min_max(col)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        if lo is None or (isinstance(lo, float) and lo != lo):
            continue
        out[f.name] = (lo, hi)
    return out
