"""Equality keys of nested values (arrays, vectors, sparse vectors): one binary string per
row, equal exactly when PostgreSQL's btree equality says the values are equal, so the
unique-key lookups (segment.key_lookup) can sort, bisect and hash-probe them as bytes.

A value's key is its elements' bytes in order, each prefixed as needed to keep the encoding
unambiguous: a list's length, a string's length, a one-byte marker before every element
(0 for NULL: NULL elements are equal to each other in an array's btree comparison). Floats
are normalised first (-0 is 0, every NaN one NaN), as float8 equality has them, and intervals
are their total span (a month is 30 days), as interval equality. Top-level
NULLs stay NULL (they never conflict). Built with numpy over whole columns: each level is
a list of pieces (bytes per row, the bytes in row order) interleaved row by row.

    >>> import pyarrow as pa
    >>> k = nested_key(pa.array([[1, None], [1, None], [0.0], [-0.0], None]))
    >>> k[0] == k[1], k[2] == k[3], k[0] == k[2], k[4].is_valid
    (True, True, False, False)
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_I64 = np.int64


def is_nested(t: pa.DataType) -> bool:
    return pa.types.is_nested(t)


def nested_key(a: pa.Array) -> pa.Array:
    """The binary equality keys of a nested array (NULL rows NULL)."""
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    valid = a.is_valid().to_numpy(zero_copy_only=False)
    lens, data = _content(a.filter(pa.array(valid)) if not valid.all() else a)
    full = np.zeros(len(a), _I64)
    full[valid] = lens
    offsets = np.zeros(len(a) + 1, np.int32)
    np.cumsum(full, out=offsets[1:])
    mask = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.BinaryArray.from_buffers(pa.binary(), len(a), [mask, pa.py_buffer(offsets),
                                                              pa.py_buffer(data)])


def _content(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(bytes per row, the bytes in row order) of an array without NULL rows."""
    t = a.type
    n = len(a)
    if pa.types.is_struct(t):
        return _interleave([_elements(a.field(i)) for i in range(t.num_fields)], n)
    if pa.types.is_fixed_size_list(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
        values = a.flatten()  # (the elements of the rows, in order)
        if pa.types.is_fixed_size_list(t):
            counts = np.full(n, t.list_size, _I64)
        else:
            off = a.offsets.to_numpy(zero_copy_only=False).astype(_I64)
            counts = off[1:] - off[:-1]
        elens, edata = _elements(values)
        ends = np.zeros(len(elens) + 1, _I64)
        np.cumsum(elens, out=ends[1:])
        row_end = np.cumsum(counts)
        per_row = ends[row_end] - ends[row_end - counts]
        head = (counts.astype("<u4").view(np.uint8), np.full(n, 4, _I64))
        return _interleave([(head[1], head[0]), (per_row, edata)], n)
    if pa.types.is_string(t) or pa.types.is_binary(t) or pa.types.is_large_string(t) \
            or pa.types.is_large_binary(t):
        wide = pa.types.is_large_string(t) or pa.types.is_large_binary(t)
        off = np.frombuffer(a.buffers()[1], np.int64 if wide else np.int32, count=n + 1,
                            offset=a.offset * (8 if wide else 4)).astype(_I64)
        lens = off[1:] - off[:-1]
        raw = np.frombuffer(a.buffers()[2] or b"", np.uint8)[off[0]:off[-1]]
        return _interleave([(np.full(n, 4, _I64), lens.astype("<u4").view(np.uint8)),
                            (lens, raw)], n)
    if isinstance(t, pa.ExtensionType):  # numeric: its value's key (1.5 and 1.50 are one)
        from sqlvec.core.textio_numeric import numeric_key

        return _content(numeric_key(a))
    if t == pa.month_day_nano_interval():  # by total span: '1 day' = '24 hours' = 1/30 mon
        from sqlvec.functions.compare import interval_span

        t, a = pa.int64(), interval_span(a, n)
    if pa.types.is_boolean(t):
        t, a = pa.uint8(), a.cast(pa.uint8())
    elif pa.types.is_temporal(t) or pa.types.is_decimal(t) or pa.types.is_fixed_size_binary(t):
        width = t.bit_width // 8
        raw = np.frombuffer(a.buffers()[1], np.uint8)[a.offset * width:(a.offset + n) * width]
        return np.full(n, width, _I64), raw
    vals = a.to_numpy(zero_copy_only=False)
    if vals.dtype.kind == "f":
        vals = np.where(np.isnan(vals), np.nan, vals + vals.dtype.type(0))  # (-0 + 0 is 0)
    if vals.dtype.kind not in "iufb":
        raise TypeError(f"no equality key for {t}")
    vals = np.ascontiguousarray(vals)
    return np.full(n, vals.dtype.itemsize, _I64), vals.view(np.uint8).reshape(-1)


def _elements(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(bytes per element, bytes) of elements that may be NULL: a marker byte, then the
    element's content when it is not NULL."""
    valid = a.is_valid().to_numpy(zero_copy_only=False)
    lens, data = _content(a.filter(pa.array(valid)) if not valid.all() else a)
    full = np.zeros(len(a), _I64)
    full[valid] = lens
    return _interleave([(np.ones(len(a), _I64), valid.astype(np.uint8)), (full, data)], len(a))


def _interleave(pieces: list[tuple[np.ndarray, np.ndarray]], n: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Pieces (bytes per row, bytes in row order) joined row by row: row i is piece 0's
    bytes of row i, then piece 1's, ..."""
    if len(pieces) == 1:
        return pieces[0]
    lens = np.zeros(n, _I64)
    for pl, _d in pieces:
        lens += pl
    starts = np.zeros(n + 1, _I64)
    np.cumsum(lens, out=starts[1:])
    out = np.empty(int(starts[-1]), np.uint8)
    before = starts[:-1].copy()
    for pl, pd in pieces:
        src = np.zeros(n, _I64)
        np.cumsum(pl[:-1], out=src[1:])
        dest = np.repeat(before - src, pl) + np.arange(len(pd), dtype=_I64)
        out[dest] = pd
        before += pl
    return lens, out


__all__ = ["is_nested", "nested_key"]
