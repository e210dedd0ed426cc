"""DataRow messages for a whole Arrow record batch at once (the hot path of every query).

Each column is encoded in bulk (`codecs.encode_column`), then all rows' messages are
assembled with one numpy scatter per piece: 'D', length, column count, then per column
its length (-1 for NULL) and bytes.

    >>> from sqlvec.core.results import Column
    >>> b = pa.record_batch([pa.array([7], pa.int32())], names=["x"])
    >>> data_rows(b, [types.INT4], [0])
    b'D\\x00\\x00\\x00\\x0b\\x00\\x01\\x00\\x00\\x00\\x017'
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from sqlvec.core import types
from sqlvec.core.types import SqlType
from sqlvec.wire.codecs import encode_column
from sqlvec.wire.segments import I32, Piece, concat_rows


def data_rows(batch: pa.RecordBatch, col_types: Sequence[SqlType], formats: Sequence[int]) -> bytes:
    """All DataRow messages of a batch, concatenated."""
    n = batch.num_rows
    if n == 0:
        return b""
    ncols = batch.num_columns
    body = np.full(n, 4 + 2 + 4 * ncols, dtype=np.int64)  # length word, count, col lengths
    col_pieces: list[Piece] = []
    for i in range(ncols):
        seg, valid = encode_column(batch.column(i), col_types[i], formats[i])
        body += seg.lengths
        lengths = seg.lengths if valid is None else np.where(valid, seg.lengths, -1)
        col_pieces.append(I32(lengths))
        col_pieces.append(seg)
    pieces: list[Piece] = [b"D", I32(body), struct.pack("!h", ncols), *col_pieces]
    return concat_rows(n, pieces).data.tobytes()


__all__ = ["data_rows", "types"]
