"""Vectorised byte assembly: build one variable-length record per row from column pieces.

A `Seg` is a column of byte strings laid out like an Arrow binary array without nulls:
per-row lengths plus one contiguous buffer. `concat_rows` glues pieces (constants,
big-endian int32/int16 columns, Segs) row by row with numpy scatter operations, never a
Python loop per row. DataRow messages, binary arrays and jsonb are built this way.

    >>> s = concat_rows(2, [b"<", I32(np.array([1, 2])), b">"])
    >>> s.to_list()
    [b'<\\x00\\x00\\x00\\x01>', b'<\\x00\\x00\\x00\\x02>']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

U8 = np.uint8


@dataclass
class Seg:
    """Per-row byte strings: lengths (int64, n) and their concatenation (uint8)."""

    lengths: np.ndarray
    data: np.ndarray

    @property
    def n(self) -> int:
        return len(self.lengths)

    def to_list(self) -> list[bytes]:
        """The row strings as Python bytes (for tests and tiny results)."""
        ends = np.cumsum(self.lengths)
        raw = self.data.tobytes()
        return [raw[e - ln:e] for e, ln in zip(ends.tolist(), self.lengths.tolist())]


@dataclass
class I32:
    """A big-endian int32 per row."""

    values: np.ndarray


@dataclass
class I16:
    """A big-endian int16 per row."""

    values: np.ndarray


Piece = bytes | I32 | I16 | Seg


def fixed_seg(matrix: np.ndarray) -> Seg:
    """A Seg of equal-width rows from an (n, w) uint8 matrix."""
    n, w = matrix.shape
    return Seg(np.full(n, w, dtype=np.int64), np.ascontiguousarray(matrix).reshape(-1))


def be_bytes(values: np.ndarray, dtype: str) -> np.ndarray:
    """Values as an (n, itemsize) uint8 matrix in big-endian byte order, e.g. dtype '>i4'."""
    arr = np.ascontiguousarray(values.astype(dtype, copy=False))
    return arr.view(U8).reshape(len(arr), arr.dtype.itemsize)


def binary_seg(arr: pa.Array) -> Seg:
    """A Seg over a null-free Arrow string/binary array, sharing its buffer (no copy)."""
    t = arr.type
    if pa.types.is_large_string(t) or pa.types.is_large_binary(t):
        off_dtype = np.int64
    elif pa.types.is_string(t) or pa.types.is_binary(t):
        off_dtype = np.int32
    else:
        arr = arr.cast(pa.binary())
        off_dtype = np.int32
    n = len(arr)
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=off_dtype, count=arr.offset + n + 1)[arr.offset:]
    lengths = np.diff(offsets).astype(np.int64)
    if bufs[2] is None or n == 0:
        return Seg(lengths, np.zeros(0, dtype=U8))
    start, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(bufs[2], dtype=U8, count=end)[start:end]
    return Seg(lengths, data)


def _fixed_width(piece: Piece) -> int | None:
    """The width of a piece that is equally wide in every row, else None."""
    if isinstance(piece, bytes):
        return len(piece)
    if isinstance(piece, I32):
        return 4
    if isinstance(piece, I16):
        return 2
    lengths = piece.lengths
    if len(lengths) and len(piece.data) == int(lengths[0]) * len(lengths) \
            and (lengths == lengths[0]).all():
        return int(lengths[0])
    return None


def _fill_run(run: list[tuple[Piece, int]], n: int) -> np.ndarray:
    """One (n, total width) matrix holding a run of fixed-width pieces side by side."""
    width = sum(w for _, w in run)
    mat = np.empty((n, width), dtype=U8)
    off = 0
    for piece, w in run:
        if w == 0:
            continue
        if isinstance(piece, bytes):
            mat[:, off:off + w] = np.frombuffer(piece, dtype=U8)
        elif isinstance(piece, I32):
            mat[:, off:off + w] = be_bytes(piece.values, ">i4")
        elif isinstance(piece, I16):
            mat[:, off:off + w] = be_bytes(piece.values, ">i2")
        else:
            mat[:, off:off + w] = piece.data.reshape(n, w)
        off += w
    return mat


def _large_binary(lengths: np.ndarray, data: np.ndarray) -> pa.Array:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def concat_rows(n: int, pieces: list[Piece]) -> Seg:
    """Row i of the result is the concatenation of row i of every piece.

    Runs of fixed-width pieces become one matrix each (block copies); the runs and the
    variable-width Segs are then joined row by row by Arrow's binary_join_element_wise,
    in C++, never a Python loop per row.
    """
    parts: list[np.ndarray | Seg] = []
    run: list[tuple[Piece, int]] = []
    for piece in pieces:
        w = _fixed_width(piece)
        if w is not None:
            run.append((piece, w))
            continue
        if run:
            parts.append(_fill_run(run, n))
            run = []
        parts.append(piece)  # type: ignore[arg-type]
    if run:
        parts.append(_fill_run(run, n))
    if len(parts) == 1 and isinstance(parts[0], np.ndarray):
        mat = parts[0]
        return Seg(np.full(n, mat.shape[1], dtype=np.int64), mat.reshape(-1))
    total = np.zeros(n, dtype=np.int64)
    arrays = []
    for part in parts:
        if isinstance(part, np.ndarray):
            w = part.shape[1]
            total += w
            arrays.append(_large_binary(np.full(n, w, dtype=np.int64), part.reshape(-1)))
        else:
            total += part.lengths
            arrays.append(_large_binary(part.lengths, np.ascontiguousarray(part.data)))
    if len(arrays) == 1:
        joined = arrays[0]
    else:
        joined = pc.binary_join_element_wise(*arrays, pa.scalar(b"", pa.large_binary()))
    bufs = joined.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int64, count=joined.offset + n + 1)[joined.offset:]
    start, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(bufs[2], dtype=U8, count=end)[start:end] if end else np.zeros(0, U8)
    return Seg(total, data)


def expand(seg: Seg, valid: np.ndarray) -> Seg:
    """Spread a Seg over the valid rows of a longer column (null rows get length 0)."""
    lengths = np.zeros(len(valid), dtype=np.int64)
    lengths[valid] = seg.lengths
    return Seg(lengths, seg.data)


def group_rows(seg: Seg, counts: np.ndarray) -> Seg:
    """Concatenate consecutive runs of `counts[i]` rows into one row each."""
    ends = np.cumsum(counts)
    cs = np.concatenate([[0], np.cumsum(seg.lengths)])
    lengths = cs[ends] - cs[ends - counts]
    return Seg(lengths.astype(np.int64), seg.data)
