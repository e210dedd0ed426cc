"""Binary COPY columns of bit/varbit and sparsevec, decoded for the whole column at once.

A well-formed column is cut from the COPY bytes with numpy: bit values already are their
storage (int32 bit length, packed bits; the pad bits cleared as PostgreSQL's bit_recv);
sparsevec values (int32 dim, int32 nnz, int32 unused, nnz int32 0-based indices, nnz
float4) become the struct<dim, indices, values> column with two gathers. When any value
breaks a rule of the type's receive function (or of the column's typmod), `Fallback` sends
the column to the per-value decoder, which reports the first failure with its words.

    >>> import struct
    >>> from sqlvec.core.results import Column
    >>> from sqlvec.functions.vectors import types as V
    >>> from sqlvec.wire.copy_binary import Fields
    >>> vals = [struct.pack("!iii2i2f", 5, 2, 0, 0, 3, 0.5, -2.0), None, struct.pack("!iii", 2, 0, 0)]
    >>> buf = b"".join(v or b"" for v in vals)
    >>> lens = np.array([-1 if v is None else len(v) for v in vals])
    >>> starts = np.concatenate([[0], np.cumsum(np.maximum(lens, 0))[:-1]])
    >>> sparse_column(np.frombuffer(buf, np.uint8), Fields(starts, lens), V.SPARSEVEC).to_pylist()[0]
    {'dim': 5, 'indices': [0, 3], 'values': [0.5, -2.0]}
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sqlvec.core.types import SqlType
from sqlvec.functions.vectors.types import SPARSE_MAX_DIM, SPARSE_MAX_NNZ
from sqlvec.wire.copy_binary import Fallback, Fields, _be_i32, _ranges, _starts, _values


def bit_column(u8: np.ndarray, f: Fields, t: SqlType) -> pa.Array:
    """bit(n)/varbit(n) values: lengths agree with their bit counts, the typmod holds."""
    valid, lens, flat = _values(u8, f)
    n = len(f.lengths)
    lens = lens.astype(np.int64)
    if (lens < 4).any():
        raise Fallback
    flat = flat.copy()
    begin = _starts(lens)
    nbits = _be_i32(flat, begin)
    if (nbits < 0).any() or (lens != 4 + (nbits + 7) // 8).any():
        raise Fallback
    if t.typmod > 0 and ((nbits != t.typmod) if t.short == "bit" else (nbits > t.typmod)).any():
        raise Fallback  # (the input function words 22026 / 22001)
    pad = (-nbits) % 8
    last = begin + lens - 1
    has = pad > 0
    flat[last[has]] &= (0xFF << pad[has]).astype(np.uint8)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(np.where(valid, f.lengths, 0), out=offsets[1:])
    nulls = int((~valid).sum())
    bitmap = None if not nulls else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.binary(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(flat)],
                                 null_count=nulls)


def sparse_column(u8: np.ndarray, f: Fields, t: SqlType) -> pa.Array:
    """sparsevec values passing pgvector's sparsevec_recv checks and the typmod."""
    valid, lens, flat = _values(u8, f)
    n = len(f.lengths)
    lens = lens.astype(np.int64)
    if (lens < 12).any():
        raise Fallback
    begin = _starts(lens)
    dim = _be_i32(flat, begin)
    nnz = _be_i32(flat, begin + 4)
    unused = _be_i32(flat, begin + 8)
    if ((dim < 1) | (dim > SPARSE_MAX_DIM) | (nnz < 0) | (nnz > SPARSE_MAX_NNZ) | (nnz > dim)
            | (unused != 0) | (lens != 12 + 8 * nnz)).any():
        raise Fallback
    if t.typmod > 0 and (dim != t.typmod).any():
        raise Fallback
    at = _ranges(begin + 12, nnz * 4)
    idx = flat[at].view(">i4").astype(np.int32)
    vals = flat[at + 4 * np.repeat(nnz, nnz * 4)].view(">f4").astype(np.float32)
    owner = np.repeat(np.arange(len(nnz)), nnz)
    first = np.r_[True, owner[1:] != owner[:-1]] if len(owner) else np.zeros(0, bool)
    ascending = first | np.r_[True, np.diff(idx.astype(np.int64)) > 0] if len(idx) else first
    if ((idx < 0) | (idx >= dim[owner]) | ~ascending | ~np.isfinite(vals) | (vals == 0)).any():
        raise Fallback
    counts = np.zeros(n, np.int64)
    counts[valid] = nnz
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    dims = np.zeros(n, np.int32)
    dims[valid] = dim
    return pa.StructArray.from_arrays(
        [pa.array(dims), pa.ListArray.from_arrays(offsets, pa.array(idx)),
         pa.ListArray.from_arrays(offsets, pa.array(vals))],
        fields=list(t.arrow), mask=pa.array(~valid) if not valid.all() else None)
