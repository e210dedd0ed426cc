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


def _piece_lengths(piece: Piece, n: int) -> np.ndarray | int:
    if isinstance(piece, bytes):
        return len(piece)
    if isinstance(piece, I32):
        return 4
    if isinstance(piece, I16):
        return 2
    return piece.lengths


def _scatter_fixed(out: np.ndarray, pos: np.ndarray, mat: np.ndarray) -> None:
    w = mat.shape[1]
    if w == 0:
        return
    out[pos[:, None] + np.arange(w)] = mat


def _scatter_seg(out: np.ndarray, pos: np.ndarray, seg: Seg) -> None:
    lengths = seg.lengths
    n = len(lengths)
    if n == 0 or len(seg.data) == 0:
        return
    first = int(lengths[0])
    if first > 0 and len(seg.data) == first * n and (lengths == first).all():
        _scatter_fixed(out, pos, seg.data.reshape(n, first))
        return
    src_start = np.cumsum(lengths) - lengths
    idx = np.repeat(pos - src_start, lengths) + np.arange(len(seg.data))
    out[idx] = seg.data


def concat_rows(n: int, pieces: list[Piece]) -> Seg:
    """Row i of the result is the concatenation of row i of every piece."""
    sizes = [_piece_lengths(p, n) for p in pieces]
    total = np.zeros(n, dtype=np.int64)
    for s in sizes:
        total += s
    out = np.empty(int(total.sum()), dtype=U8)
    pos = np.cumsum(total) - total
    for piece, size in zip(pieces, sizes):
        if isinstance(piece, bytes):
            if piece:
                const = np.frombuffer(piece, dtype=U8)
                out[pos[:, None] + np.arange(len(piece))] = const
        elif isinstance(piece, I32):
            _scatter_fixed(out, pos, be_bytes(piece.values, ">i4"))
        elif isinstance(piece, I16):
            _scatter_fixed(out, pos, be_bytes(piece.values, ">i2"))
        else:
            _scatter_seg(out, pos, piece)
        pos = pos + size
    return Seg(total, out)


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
