"""DataRow messages for a whole Arrow record batch at once (the hot path of every query).

Each column is encoded in bulk (`codecs.encode_column`), then all rows' messages are
assembled with one numpy scatter per piece: 'D', length, column count, then per column
its length (-1 for NULL) and bytes (`segment_rows`). Batches whose columns are all
fixed-width on the wire and hold no NULL take one structured numpy fill instead
(wire/fixed_rows.py); a single row is converted value by value (`_one_row`).

    >>> from sqlvec.core.results import Column
    >>> b = pa.record_batch([pa.array([7], pa.int32())], names=["x"])
    >>> data_rows(b, [types.INT4], [0])
    b'D\\x00\\x00\\x00\\x0b\\x00\\x01\\x00\\x00\\x00\\x017'
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

from sqlvec.core import types
from sqlvec.core.types import SqlType
from sqlvec.exec.key_lookup import point_row_values
from sqlvec.exec.row_fetch import Columns
from sqlvec.wire.codecs import encode_column
from sqlvec.wire.fixed_rows import fixed_columns, fixed_rows
from sqlvec.wire.segments import I32, Piece, concat_rows

# Below this many rows numpy's per-call overhead beats its per-row gain: the segment path
# costs ~15-30 us per column whatever the row count (several numpy calls and an Arrow join
# per piece; float8 text ~70), the value-by-value one ~0.3 us per value. Measured (thread
# CPU; small/segment): (int4, text, float8) text 16 rows 18/108 us, 32 rows 33/112, 64 rows
# 60/114; binary 32 rows 22/50; one text column 32 rows 11/29. A LIMIT 10..31 result (an
# ANN query's with a payload column) now takes the small path. Fixed-width columns without
# NULLs take wire/fixed_rows.py at any size.
SMALL_BATCH = 32

_PACK_BIN = {"int2": struct.Struct("!h").pack, "int4": struct.Struct("!i").pack,
             "int8": struct.Struct("!q").pack, "float4": struct.Struct("!f").pack,
             "float8": struct.Struct("!d").pack, "oid": struct.Struct("!I").pack}
_TEXTY = frozenset({"text", "varchar", "bpchar", "name", "json", "unknown"})
_INT_LEN = struct.Struct("!i").pack


def _float8_text(v: float) -> bytes:
    """Shortest round-trip text of a float in [1e-4, 1e15) (repr is positional there)."""
    r = repr(v)
    return (r[:-2] if r.endswith(".0") else r).encode("ascii")


def _small_column(arr: pa.Array, t: SqlType, fmt: int, timezone: str) -> list[bytes | None]:
    """One column of a tiny batch as per-value bytes (None for NULL)."""
    short = t.short
    if short in _TEXTY or (fmt == 0 and short in ("int2", "int4", "int8", "oid")):
        return [None if v is None else str(v).encode("utf-8") for v in arr.to_pylist()]
    if fmt == 1 and short in _PACK_BIN:
        pack = _PACK_BIN[short]
        return [None if v is None else pack(v) for v in arr.to_pylist()]
    if short == "float8" and fmt == 0:
        values = arr.to_pylist()
        if all(v is None or v == 0 or 1e-4 <= abs(v) < 1e15 for v in values):
            return [None if v is None else _float8_text(v) for v in values]
    if short == "bool":
        on, off = (b"\x01", b"\x00") if fmt == 1 else (b"t", b"f")
        return [None if v is None else on if v else off for v in arr.to_pylist()]
    seg, valid = encode_column(arr, t, fmt, timezone)
    values = seg.to_list()
    if valid is None:
        return values
    return [v if ok else None for v, ok in zip(values, valid.tolist())]


_HEADS = [struct.pack("!h", n) for n in range(64)]  # DataRow column counts
_NULL = b"\xff\xff\xff\xff"


def _text(v: object) -> bytes:
    return str(v).encode("utf-8")


def _bool(on: bytes, off: bytes) -> Callable[[object], bytes]:
    return lambda v: on if v else off


# one value's wire bytes by (type, format), where no check of the value is needed
_VALUE: dict[tuple[str, int], Callable[[object], bytes]] = {
    **{(short, fmt): _text for short in _TEXTY for fmt in (0, 1)},
    **{(short, 0): _text for short in ("int2", "int4", "int8", "oid")},
    **{(short, 1): pack for short, pack in _PACK_BIN.items()},
    ("bool", 0): _bool(b"t", b"f"), ("bool", 1): _bool(b"\x01", b"\x00"),
}


def _one_row(batch: pa.RecordBatch, col_types: Sequence[SqlType], formats: Sequence[int],
             head: bytes, timezone: str) -> bytes:
    """The DataRow of a one-row batch (a point lookup's): each value converted on its own,
    from the values the point path read (exec/key_lookup.py) when it made the batch."""
    parts = [head]
    values = point_row_values(batch)
    if values is not None:
        i = 0
        for v, t, fmt in zip(values, col_types, formats):
            encode = _VALUE.get((t.short, fmt))
            if encode is None:
                b = _small_column(batch.column(i), t, fmt, timezone)[0]
            else:
                b = None if v is None else encode(v)
            parts.append(_NULL if b is None else _INT_LEN(len(b)) + b)
            i += 1
    else:
        for arr, t, fmt in zip(batch.columns, col_types, formats):
            encode = _VALUE.get((t.short, fmt))
            if encode is None:
                b = _small_column(arr, t, fmt, timezone)[0]
            else:
                v = arr.to_pylist()[0]
                b = None if v is None else encode(v)
            parts.append(_NULL if b is None else _INT_LEN(len(b)) + b)
    body = b"".join(parts)
    return b"D" + _INT_LEN(len(body) + 4) + body


def _small_rows(batch: pa.RecordBatch, col_types: Sequence[SqlType], formats: Sequence[int],
                timezone: str) -> bytes:
    ncols = batch.num_columns
    head = _HEADS[ncols] if ncols < 64 else struct.pack("!h", ncols)
    if batch.num_rows == 1:
        return _one_row(batch, col_types, formats, head, timezone)
    cols = [_small_column(a, t, f, timezone) for a, t, f in zip(batch.columns, col_types, formats)]
    out = []
    for row in zip(*cols):
        parts = [head]
        for v in row:
            parts.append(_NULL if v is None else _INT_LEN(len(v)) + v)
        body = b"".join(parts)
        out.append(b"D" + _INT_LEN(len(body) + 4) + body)
    return b"".join(out)


def data_rows(batch: pa.RecordBatch | Columns, col_types: Sequence[SqlType],
              formats: Sequence[int], timezone: str = "UTC") -> bytes:
    """All DataRow messages of a batch, concatenated; timestamptz text in `timezone` (the
    session's TimeZone). Numpy columns (Columns) of fixed-width types are written as they
    are, others made a batch first."""
    n = batch.num_rows
    if n == 0:
        return b""
    if type(batch) is Columns:
        fixed = fixed_columns(batch.arrays, n, col_types, formats)
        if fixed is not None:
            return fixed
        batch = batch.to_batch()
    if n > 1:  # (one row: _one_row, from the values the point path read)
        fixed = fixed_rows(batch, col_types, formats)
        if fixed is not None:
            return fixed
    if n < SMALL_BATCH:
        return _small_rows(batch, col_types, formats, timezone)
    return segment_rows(batch, col_types, formats, timezone)


def segment_rows(batch: pa.RecordBatch, col_types: Sequence[SqlType], formats: Sequence[int],
                 timezone: str = "UTC") -> bytes:
    """The general path for any batch: each column encoded whole (`encode_column`), the
    messages assembled by `concat_rows`."""
    n = batch.num_rows
    ncols = batch.num_columns
    body = np.full(n, 4 + 2 + 4 * ncols, dtype=np.int64)  # length word, count, col lengths
    col_pieces: list[Piece] = []
    for i in range(ncols):
        seg, valid = encode_column(batch.column(i), col_types[i], formats[i], timezone)
        body += seg.lengths
        lengths = seg.lengths if valid is None else np.where(valid, seg.lengths, -1)
        col_pieces.append(I32(lengths))
        col_pieces.append(seg)
    pieces: list[Piece] = [b"D", I32(body), struct.pack("!h", ncols), *col_pieces]
    return concat_rows(n, pieces).data.tobytes()


__all__ = ["data_rows", "segment_rows", "types"]
