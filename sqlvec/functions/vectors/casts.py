"""Casts between the vector types and from/to real[], double precision[], integer[], numeric[].

Contexts follow pgvector's CREATE CAST: typmod coercion, vector -> halfvec and vector /
halfvec -> sparsevec are implicit, the other way assignment casts (so `halfvec <-> vector`
resolves to the halfvec operator); arrays -> vectors are assignment casts, vector -> real[]
implicit, halfvec -> real[] assignment. (bf16vec and int8vec, ours: implicit to vector.)
A cast to a typmod checks the dimension ('expected 3 dimensions, not 2').

    >>> to_dense(pa.array([[1, 2]], pa.list_(pa.int32())), T.array_of(T.INT4), VT.VECTOR,
    ...          False).to_pylist()
    [[1.0, 2.0]]
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import (
    DataException,
    NullValueNotAllowed,
    ProgramLimitExceeded,
    StringDataLengthMismatch,
    StringDataRightTruncation,
)
from sqlvec.core.types import SqlType
from sqlvec.functions.casts import CastRegistry
from sqlvec.functions.vectors import textio as VT
from sqlvec.functions.vectors import types as V
from sqlvec.functions.vectors.arith import from_float32


def _fit(out: pa.Array, to_t: SqlType) -> pa.Array:
    """Check the target typmod and give the target's storage type."""
    if to_t.typmod > 0:
        V.check_dims(to_t.typmod, V.dims_of(out)[V.valid_mask(out)])
        return pc.cast(out, to_t.arrow) if out.type != to_t.arrow else out
    return out


def _check_float(m: np.ndarray, short: str) -> None:
    if np.isnan(m).any():
        raise DataException(f"NaN not allowed in {short}")
    if np.isinf(m).any():
        raise DataException(f"infinite value not allowed in {short}")


def dense_to_dense(a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
    """vector(n) -> vector(m), vector -> halfvec, halfvec -> vector, ... (typmod checked)."""
    if from_t.short == to_t.short:
        if to_t.typmod <= 0:
            return a
        return _fit(a, to_t)
    dims = V.dims_of(a)
    valid = V.valid_mask(a)
    out_parts = []
    if len(np.unique(dims[valid])) <= 1:
        m, _ = V.matrix(a, tname=from_t.short)
        out_parts.append(from_float32(V.to_float32(m, from_t.short), _plain(to_t), valid))
        out = out_parts[0]
    else:  # mixed dimensions in an unconstrained column: via the element lists
        vals = V.to_float32(V._np(pc.list_flatten(a)), from_t.short)
        lens = np.where(valid, dims, 0)
        offs = pa.array(np.concatenate([[0], np.cumsum(lens)]).astype(np.int32))
        flat = from_float32(vals.reshape(-1, 1), _plain(to_t), None) if len(vals) else \
            pa.array([], pa.list_(V.DENSE_ELEMENT[to_t.short]))
        out = pa.ListArray.from_arrays(offs, pc.list_flatten(flat), mask=pa.array(~valid))
    return _fit(out, to_t)


def _plain(t: SqlType) -> SqlType:
    return t.with_typmod(-1) if t.typmod > 0 else t


def to_dense(a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
    """real[] / double precision[] / integer[] / numeric[] -> a dense vector type."""
    valid = V.valid_mask(a)
    flat = pc.list_flatten(a.filter(pa.array(valid))) if a.null_count else pc.list_flatten(a)
    if pa.types.is_list(flat.type) or pa.types.is_large_list(flat.type):
        raise DataException("array must be 1-D")  # (pgvector's array_to_vector)
    if flat.null_count:
        raise NullValueNotAllowed("array must not contain nulls")
    lens = np.where(valid, pc.fill_null(pc.list_value_length(a), 0).to_numpy(zero_copy_only=False), 0)
    if (lens[valid] == 0).any():
        raise DataException(f"{to_t.short} must have at least 1 dimension")
    if (lens > V.MAX_DIM).any():
        raise ProgramLimitExceeded(f"{to_t.short} cannot have more than {V.MAX_DIM} dimensions")
    x = pc.cast(flat, pa.float64()).to_numpy(zero_copy_only=False)
    with np.errstate(over="ignore"):
        f = x.astype(np.float32)
    _check_float(f, to_t.short)
    offs = pa.array(np.concatenate([[0], np.cumsum(lens)]).astype(np.int32))
    elems = from_float32(f.reshape(-1, 1), _plain(to_t), None) if len(f) else \
        pa.array([], pa.list_(V.DENSE_ELEMENT[to_t.short]))
    out = pa.ListArray.from_arrays(offs, pc.list_flatten(elems),
                                   mask=pa.array(~valid) if a.null_count else None)
    return _fit(out, to_t)


def dense_to_array(a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
    """vector -> real[] (or double precision[])."""
    valid = V.valid_mask(a)
    values = V.to_float32(V._np(V.element_values(a)), from_t.short)
    if pa.types.is_fixed_size_list(a.type):
        offs = pa.array(np.arange(len(a) + 1, dtype=np.int32) * a.type.list_size)
    else:
        offs = pc.subtract(a.offsets, a.offsets[0])
    elem = to_t.element.arrow if to_t.element is not None else pa.float32()
    return pa.ListArray.from_arrays(offs, pa.array(values.astype(elem.to_pandas_dtype())),
                                    mask=pa.array(~valid) if not valid.all() else None)


def dense_to_sparse(a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
    m, valid = V.matrix(a, tname=from_t.short)
    m = V.to_float32(m, from_t.short)
    nz = (m != 0) & valid[:, None]
    rows, cols = np.nonzero(nz)
    counts = np.bincount(rows, minlength=len(a))
    offs = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    d = m.shape[1]
    out = pa.StructArray.from_arrays(
        [pa.array(np.full(len(a), d, np.int32)),
         pa.ListArray.from_arrays(offs, pa.array(cols.astype(np.int32))),
         pa.ListArray.from_arrays(offs, pa.array(m[rows, cols], pa.float32()))],
        fields=list(V.SPARSE_ARROW), mask=pa.array(~valid) if not valid.all() else None)
    return sparse_to_sparse(out, to_t, to_t, explicit)


def sparse_to_sparse(a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
    if to_t.typmod > 0:
        dims = a.field("dim").to_numpy(zero_copy_only=False)[V.valid_mask(a)]
        V.check_dims(to_t.typmod, dims)
    return a


def sparse_to_dense(a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
    valid = V.valid_mask(a)
    dims = a.field("dim").fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if to_t.typmod > 0:
        V.check_dims(to_t.typmod, dims[valid])
    if (dims[valid] > V.MAX_DIM).any():
        raise ProgramLimitExceeded(f"{to_t.short} cannot have more than {V.MAX_DIM} dimensions")
    from sqlvec.functions.vectors.ops import Sparse
    s = Sparse.of(a, len(a))
    lens = np.where(valid, dims, 0)
    starts = np.concatenate([[0], np.cumsum(lens)])
    flat = np.zeros(int(starts[-1]), np.float32)
    flat[starts[s.rows] + s.idx] = s.vals
    offs = pa.array(starts.astype(np.int32))
    elems = from_float32(flat.reshape(-1, 1), _plain(to_t), None) if len(flat) else \
        pa.array([], pa.list_(V.DENSE_ELEMENT[to_t.short]))
    out = pa.ListArray.from_arrays(offs, pc.list_flatten(elems),
                                   mask=pa.array(~valid) if not valid.all() else None)
    return _fit(out, to_t)


def bit_to_bit(a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
    """PostgreSQL's bit(bit, int, bool) and varbit(varbit, int, bool) length coercions: into
    bit(n) the length must be n (22026), into varbit(n) at most n (22001); an explicit cast
    truncates (and zero-pads into bit(n)) instead.

        >>> import sqlvec.functions.vectors.types as V
        >>> b = VT.parse_bit(pa.array(["1", "10101", None]), V.VARBIT)
        >>> VT.format_bit(bit_to_bit(b, V.VARBIT, V.BIT.with_typmod(3), True), V.BIT).to_pylist()
        ['100', '101', None]
        >>> VT.format_bit(bit_to_bit(b, V.VARBIT, V.VARBIT.with_typmod(2), True), V.VARBIT).to_pylist()
        ['1', '10', None]
    """
    if to_t.typmod <= 0:
        return a
    n = to_t.typmod
    lens = VT.bit_lengths(a)
    valid = V.valid_mask(a)
    fixed = to_t.short == "bit"
    bad = valid & ((lens != n) if fixed else (lens > n))
    if not bad.any():
        return a
    if not explicit:
        if fixed:
            raise StringDataLengthMismatch(f"bit string length {int(lens[bad][0])} does not match type bit({n})")
        raise StringDataRightTruncation(f"bit string too long for type bit varying({n})")
    text = pc.utf8_slice_codeunits(VT.format_bit(a, from_t), 0, n)
    return VT.parse_bit(pc.utf8_rpad(text, n, "0") if fixed else text, to_t)


def int_to_bit(a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
    """PostgreSQL's bitfromint4/bitfromint8 (explicit only): the low n bits of the integer,
    sign-filled above its width (n = the typmod, 1 without one).

        >>> import sqlvec.functions.vectors.types as V
        >>> fmt = lambda b: VT.format_bit(b, V.BIT).to_pylist()
        >>> fmt(int_to_bit(pa.array([5, -1, None], pa.int32()), T.INT4, V.BIT.with_typmod(4), True))
        ['0101', '1111', None]
    """
    n = to_t.typmod if to_t.typmod > 0 else 1
    valid = V.valid_mask(a)
    v = pc.fill_null(a, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    shifts = np.minimum(np.arange(n - 1, -1, -1, dtype=np.int64), 63)
    bits = ((v[:, None] >> shifts[None, :]) & 1).astype(np.uint8)
    return VT.bits_from_matrix(np.packbits(bits, axis=1), n, valid)


def from_unknown(a: pa.Array, from_t: SqlType, to_t: SqlType, explicit: bool) -> pa.Array:
    """An untyped literal: parse its text, unless the binder already converted it."""
    if to_t.short in ("bit", "varbit") and (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        # bit_in without the typmod, then the length coercion: '1'::bit(3) is 100 (explicit)
        a = VT.parse_bit(a, replace(to_t, typmod=-1))
    elif pa.types.is_string(a.type) or pa.types.is_large_string(a.type):
        return to_t.codec.parse_text(a, to_t)
    if to_t.short in ("bit", "varbit"):
        return bit_to_bit(a, to_t, to_t, explicit)
    if to_t.short == "sparsevec":
        return sparse_to_sparse(a, to_t, to_t, explicit)
    return dense_to_dense(a, to_t, to_t, explicit)


def register(casts: CastRegistry) -> None:
    dense = ("vector", "halfvec", "bf16vec", "int8vec")
    for f in dense:
        for t in dense:
            casts.add_cast(f, t, dense_to_dense, "i" if f == t or (f, t) == ("vector", "halfvec")
                           or (t == "vector" and f != "halfvec") else "a")
        for arr in ("_int4", "_float4", "_float8", "_numeric", "_int8", "_int2"):
            casts.add_cast(arr, f, to_dense, "a")
        casts.add_cast(f, "_float4", dense_to_array, "i" if f == "vector" else "a")
        casts.add_cast(f, "_float8", dense_to_array, "e")
        casts.add_cast(f, "sparsevec", dense_to_sparse, "i" if f in ("vector", "halfvec") else "a")
        casts.add_cast("sparsevec", f, sparse_to_dense, "a")
    casts.add_cast("sparsevec", "sparsevec", sparse_to_sparse, "i")
    for t in (*dense, "sparsevec", "bit", "varbit"):
        casts.add_cast("unknown", t, from_unknown, "i")
    for f in ("bit", "varbit"):
        for t in ("bit", "varbit"):
            casts.add_cast(f, t, bit_to_bit, "i")
        for s in ("text", "varchar", "bpchar"):  # (I/O conversion, then the explicit length
            casts.add_cast(s, f, from_unknown, "e")  # coercion: '101'::text::bit(4) is 1010)
    for f in ("int4", "int8"):
        casts.add_cast(f, "bit", int_to_bit, "e")


__all__ = ["T", "register"]
