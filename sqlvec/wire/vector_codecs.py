"""pgvector's binary wire formats, whole columns at a time (numpy byte swaps, no row loop).

    vector     int16 dim, int16 0, dim x float4       (big-endian)
    halfvec    int16 dim, int16 0, dim x float2
    sparsevec  int32 dim, int32 nnz, int32 0, nnz x int32 index (0-based), nnz x float4
    bit        int32 bit length, packed bits          (PostgreSQL's own bit/varbit format)
    bf16vec    int16 dim, int16 0, dim x bfloat16 bit patterns   (ours)
    int8vec    int16 dim, int16 0, dim x int8                     (ours)

    >>> encode(pa.array([[1.0, 2.0]], pa.list_(pa.float32(), 2)), "vector").to_list()
    [b'\\x00\\x02\\x00\\x00?\\x80\\x00\\x00@\\x00\\x00\\x00']
"""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa

from sqlvec.core.errors import DataException, ProgramLimitExceeded, ProtocolViolation
from sqlvec.functions.vectors.textio import check_sparse_header, check_sparse_indices
from sqlvec.functions.vectors.types import MAX_DIM
from sqlvec.wire.copy_binary import _check_values
from sqlvec.wire.segments import I16, I32, Seg, be_bytes, binary_seg, concat_rows, fixed_seg

DENSE_WIRE = {"vector": ">f4", "halfvec": ">f2", "bf16vec": ">u2", "int8vec": ">i1"}
SHORTS = frozenset({*DENSE_WIRE, "sparsevec", "bit", "varbit"})
_HEAD = struct.Struct("!hh")  # dim, unused
_ALL, _FINITE = np.logical_and.reduce, np.isfinite
_WIDTH = {short: np.dtype(np_t).itemsize for short, np_t in DENSE_WIRE.items()}


def _values(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(flat element values, per-row dims) of a null-free list / fixed-size-list array."""
    if pa.types.is_fixed_size_list(arr.type):
        d = arr.type.list_size
        vals = arr.values.slice(arr.offset * d, len(arr) * d)
        dims = np.full(len(arr), d, np.int64)
    else:
        offs = arr.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        vals = arr.values.slice(int(offs[0]), int(offs[-1] - offs[0]))
        dims = np.diff(offs)
    if vals.type == pa.float16():
        buf = np.frombuffer(vals.buffers()[1], np.float16, count=vals.offset + len(vals))
        return buf[vals.offset:], dims
    return vals.to_numpy(zero_copy_only=False), dims


def _rows_of(flat_bytes: np.ndarray, widths: np.ndarray) -> Seg:
    return Seg(widths.astype(np.int64), np.ascontiguousarray(flat_bytes).reshape(-1))


def encode(arr: pa.Array, short: str) -> Seg:
    """Binary wire bytes of a null-free column of one of the vector types."""
    if short in ("bit", "varbit"):
        return binary_seg(arr)  # stored exactly as PostgreSQL sends it
    if short == "sparsevec":
        return _encode_sparse(arr)
    np_t = DENSE_WIRE[short]
    vals, dims = _values(arr)
    body = be_bytes(np.asarray(vals), np_t)
    n = len(arr)
    if pa.types.is_fixed_size_list(arr.type) and n:
        d = int(dims[0]) if n else 0
        head = np.frombuffer(struct.pack("!hh", d, 0), np.uint8)
        return fixed_seg(np.hstack([np.broadcast_to(head, (n, 4)), body.reshape(n, -1)]))
    elems = _rows_of(body, dims * body.shape[1] if len(body) else dims * 0)
    return concat_rows(n, [I16(dims.astype(np.int16)), b"\x00\x00", elems])


def _encode_sparse(arr: pa.Array) -> Seg:
    n = len(arr)
    idx_l = arr.field("indices")
    val_l = arr.field("values")
    offs = idx_l.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    nnz = np.diff(offs)
    idx = idx_l.values.slice(int(offs[0]), int(offs[-1] - offs[0])).to_numpy(zero_copy_only=False)
    voffs = val_l.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    vals = val_l.values.slice(int(voffs[0]), int(voffs[-1] - voffs[0])).to_numpy(zero_copy_only=False)
    dims = arr.field("dim").to_numpy(zero_copy_only=False)
    return concat_rows(n, [
        I32(dims.astype(np.int32)), I32(nnz.astype(np.int32)), b"\x00\x00\x00\x00",
        _rows_of(be_bytes(np.asarray(idx, np.int32), ">i4"), nnz * 4),
        _rows_of(be_bytes(np.asarray(vals, np.float32), ">f4"), nnz * 4),
    ])


def decode_text(s: str, typmod: int) -> np.ndarray | None:
    """A text-format `vector` Bind parameter as a float32 numpy array (as the binary one),
    or None when it is unusual or of another dimension than typmod: the type's text input
    then reads it and raises pgvector's error."""
    from sqlvec.functions.vectors.textio import dense_text_fast

    return dense_text_fast(s, typmod)


_SHORT_MSG = "insufficient data left in message"  # PostgreSQL's pq_getmsg* (08P01)


def decode(raw: bytes, short: str) -> object:
    """One Bind parameter in binary format to the Python value of the type (a `vector` as a
    1-D float32 numpy array, as an embedded caller may pass it: the ANN path searches with
    it as it is, Arrow takes it without a Python list in between). pgvector's receive
    checks in its order (the binary COPY path's own): too few bytes 08P01, no dimensions
    22000, unused not 0 22000, a NaN/infinite element 22000; bytes left over are a
    ValueError, which the caller words as PostgreSQL (22P03 naming the parameter)."""
    if short in ("bit", "varbit"):
        if len(raw) < 4:
            raise ProtocolViolation(_SHORT_MSG)
        nbits = struct.unpack_from("!i", raw)[0]
        if nbits < 0:
            raise ValueError
        if len(raw) < 4 + (nbits + 7) // 8:
            raise ProtocolViolation(_SHORT_MSG)
        if len(raw) != 4 + (nbits + 7) // 8:
            raise ValueError
        return bytes(raw)
    if short == "sparsevec":
        return _decode_sparse(raw)
    if short == "vector" and len(raw) > 4:  # the ANN query's own: a well-formed one at once
        dim, unused = _HEAD.unpack_from(raw)
        if unused == 0 and 0 < dim <= MAX_DIM and len(raw) == 4 + 4 * dim:
            out = np.frombuffer(raw, ">f4", offset=4).astype(np.float32)
            if _ALL(_FINITE(out)):  # (a NaN or infinity: the checks below word the error)
                return out
    if len(raw) < 4:
        raise ProtocolViolation(_SHORT_MSG)
    dim, unused = struct.unpack_from("!hh", raw)
    if dim > MAX_DIM:
        raise ProgramLimitExceeded(f"{short} cannot have more than {MAX_DIM} dimensions")
    np_t = DENSE_WIRE[short]
    width = _WIDTH[short]
    have = max(0, min(dim, (len(raw) - 4) // width))
    vals = np.frombuffer(raw, np_t, count=have, offset=4)
    vals = vals.astype(vals.dtype.newbyteorder("="))
    _check_values(vals[:0], np.array([dim]), np.array([unused]), -1, short)
    _check_values(vals, np.array([have]), np.zeros(1, np.int64), -1, short)
    if have < dim:  # (the elements before the end were checked first, as pgvector reads them)
        raise ProtocolViolation(_SHORT_MSG)
    if len(raw) != 4 + dim * width:
        raise ValueError
    if short == "int8vec" or short == "bf16vec":
        return vals.astype(np.int64).tolist()
    out = vals.astype(np.float32)
    return out if short == "vector" else out.tolist()


def _decode_sparse(raw: bytes) -> dict:
    """pgvector's sparsevec_recv: int32 dim, nnz, unused, nnz 0-based indices, nnz floats."""
    if len(raw) < 12:
        raise ProtocolViolation(_SHORT_MSG)
    dim, nnz, unused = struct.unpack_from("!iii", raw)
    check_sparse_header(dim, nnz)
    if unused != 0:
        raise DataException(f"expected unused to be 0, not {unused}")
    have = min(nnz, (len(raw) - 12) // 4)
    idx = np.frombuffer(raw, ">i4", count=have, offset=12).astype(np.int32)
    check_sparse_indices(idx, dim)
    if have < nnz:
        raise ProtocolViolation(_SHORT_MSG)
    nv = min(nnz, (len(raw) - 12 - 4 * nnz) // 4)
    vals = np.frombuffer(raw, ">f4", count=nv, offset=12 + 4 * nnz).astype(np.float32)
    bad = ~np.isfinite(vals) | (vals == 0)
    if bad.any():
        v = vals[int(np.argmax(bad))]
        if v == 0:
            raise DataException("binary representation of sparsevec cannot contain zero values")
        raise DataException(f"{'NaN' if v != v else 'infinite value'} not allowed in sparsevec")
    if nv < nnz:
        raise ProtocolViolation(_SHORT_MSG)
    if len(raw) != 12 + 8 * nnz:
        raise ValueError
    return {"dim": dim, "indices": idx.tolist(), "values": vals.tolist()}
