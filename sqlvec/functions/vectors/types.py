"""pgvector's SQL types as SqlType values: OIDs, Arrow storage per typmod, matrix views.

Dense vectors are Arrow lists of one element type: `fixed_size_list<elem>[n]` when the
dimension n (the typmod) is known, `list<elem>` otherwise, so a column is one contiguous
numpy matrix without copying. sparsevec is `struct<dim int32, indices list<int32>,
values list<float32>>` (0-based indices, ascending); bit is PostgreSQL's bit type with
its varlena layout as Arrow binary: int32 big-endian bit length, then the packed bits.

    >>> with_codec(VECTOR, DenseStorage(pa.float32())).with_typmod(3).arrow
    FixedSizeListType(fixed_size_list<item: float>[3])
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import types as T
from sqlvec.core.errors import DataException, InvalidParameterValue
from sqlvec.core.types import SqlType

MAX_DIM = 16000  # pgvector's VECTOR_MAX_DIM (the type cap; indexes are not capped at 2,000)
SPARSE_MAX_DIM = 1_000_000_000
SPARSE_MAX_NNZ = 16000

# Stable OIDs in the user range; each type's array type follows it.
VECTOR_OID, HALFVEC_OID, SPARSEVEC_OID, BF16VEC_OID, INT8VEC_OID = 16385, 16387, 16389, 16391, 16393

DENSE_ELEMENT: dict[str, pa.DataType] = {
    "vector": pa.float32(), "halfvec": pa.float16(), "bf16vec": pa.uint16(), "int8vec": pa.int8(),
}
SPARSE_ARROW = pa.struct([("dim", pa.int32()), ("indices", pa.list_(pa.int32())),
                          ("values", pa.list_(pa.float32()))])


@dataclass(frozen=True)
class DenseStorage:
    """Arrow storage of a dense vector type: fixed-size list when the dimension is known."""

    element: pa.DataType

    def arrow_for_typmod(self, typmod: int) -> pa.DataType:
        check_typmod(typmod, next(n for n, e in DENSE_ELEMENT.items() if e == self.element), MAX_DIM)
        return pa.list_(self.element, typmod) if typmod > 0 else pa.list_(self.element)


def check_typmod(typmod: int, name: str, most: int) -> None:
    """pgvector's typmod_in: `vector(0)` and `vector(16001)` are 22023."""
    if typmod == 0 or typmod > most:
        raise InvalidParameterValue(f"dimensions for type {name} must be at least 1" if typmod == 0
                                    else f"dimensions for type {name} cannot exceed {most}")


@dataclass(frozen=True)
class FixedStorage:
    """Arrow storage that does not depend on the typmod (sparsevec, bit)."""

    arrow: pa.DataType

    def arrow_for_typmod(self, typmod: int) -> pa.DataType:
        if self.arrow == SPARSE_ARROW:
            check_typmod(typmod, "sparsevec", SPARSE_MAX_DIM)
        return self.arrow


def _vtype(name: str, oid: int, arrow: pa.DataType) -> SqlType:
    return SqlType(name=name, oid=oid, arrow=arrow, category="U", typlen=-1, short=name,
                   array_oid=oid + 1)


VECTOR = _vtype("vector", VECTOR_OID, pa.list_(pa.float32()))
HALFVEC = _vtype("halfvec", HALFVEC_OID, pa.list_(pa.float16()))
SPARSEVEC = _vtype("sparsevec", SPARSEVEC_OID, SPARSE_ARROW)
BF16VEC = _vtype("bf16vec", BF16VEC_OID, pa.list_(pa.uint16()))
INT8VEC = _vtype("int8vec", INT8VEC_OID, pa.list_(pa.int8()))
DENSE_TYPES = (VECTOR, HALFVEC, BF16VEC, INT8VEC)
BIT = T.BIT
VARBIT = T.VARBIT


def with_codec(t: SqlType, codec: object) -> SqlType:
    """The type carrying its codec (text I/O + Arrow storage per typmod)."""
    return replace(t, codec=codec)


# ---- dense vectors as numpy matrices ---------------------------------------------------

def dims_of(a: pa.Array) -> np.ndarray:
    """Per-row dimension (0 for NULL rows) of a dense vector array."""
    if pa.types.is_fixed_size_list(a.type):
        out = np.full(len(a), a.type.list_size, dtype=np.int64)
    else:
        out = np.diff(list_offsets(a)).astype(np.int64)
    if a.null_count:
        out[~valid_mask(a)] = 0
    return out


def valid_mask(a: pa.Array) -> np.ndarray:
    if not a.null_count:
        return np.ones(len(a), dtype=bool)
    return a.is_valid().to_numpy(zero_copy_only=False)


def list_offsets(a: pa.Array) -> np.ndarray:
    """The n + 1 offsets of a list array's rows as a zero-copy numpy view (slicing
    respected; a NULL row's offsets span whatever its slot holds)."""
    width = np.int64 if pa.types.is_large_list(a.type) else np.int32
    if a.buffers()[1] is None:  # an empty array may have no offsets buffer
        return np.zeros(1, dtype=width)
    return np.frombuffer(a.buffers()[1], dtype=width, count=a.offset + len(a) + 1)[a.offset:]


def element_values(a: pa.Array) -> pa.Array:
    """The child values of the rows of a list/fixed-size-list array (slicing respected)."""
    if pa.types.is_fixed_size_list(a.type):
        d = a.type.list_size
        return a.values.slice(a.offset * d, len(a) * d)
    offs = a.offsets
    start, end = offs[0].as_py(), offs[-1].as_py()
    return a.values.slice(start, end - start)


_NP_DTYPE = {pa.float32(): np.float32, pa.float16(): np.float16, pa.uint16(): np.uint16,
             pa.int8(): np.int8, pa.int32(): np.int32, pa.int64(): np.int64,
             pa.float64(): np.float64}


def _np(values: pa.Array) -> np.ndarray:
    """Zero-copy numpy view of a primitive array without NULLs (a copy otherwise)."""
    dt = _NP_DTYPE.get(values.type)
    if dt is not None and not values.null_count:
        arr = np.frombuffer(values.buffers()[1], dtype=dt, count=values.offset + len(values))
        return arr[values.offset:]
    return values.to_numpy(zero_copy_only=False)


def matrix(a: pa.Array, dtype: type | None = None, tname: str = "vector"
           ) -> tuple[np.ndarray, np.ndarray]:
    """(rows x dim matrix, valid mask) of a dense vector array with one dimension.

    NULL rows are zero-filled; rows of different dimensions raise 22000.
    """
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    valid = valid_mask(a)
    n = len(a)
    if pa.types.is_fixed_size_list(a.type):
        d = a.type.list_size
        vals = _np(element_values(a))
        m = vals.reshape(n, d)
    else:
        offs = list_offsets(a)
        if n and not a.null_count:  # the common case: no NULLs, one dimension
            d = int(offs[1] - offs[0])
            if int(offs[-1] - offs[0]) == n * d and (n == 1 or (np.diff(offs) == d).all()):
                m = _np(a.values.slice(int(offs[0]), n * d)).reshape(n, d)
                if dtype is not None and m.dtype != dtype:
                    m = m.astype(dtype)
                return m, valid
        if not valid.any():
            return np.zeros((n, 0), dtype=_NP_DTYPE.get(a.type.value_type, np.float32)), valid
        dims = dims_of(a)
        d = int(dims[valid][0])
        if (dims[valid] != d).any():
            other = int(dims[valid][dims[valid] != d][0])
            raise DataException(f"different {tname} dimensions {d} and {other}")
        if valid.all() and (np.diff(offs) == d).all():
            m = _np(element_values(a)).reshape(n, d)
        else:
            flat = _np(pc.list_flatten(a.filter(pa.array(valid))) if a.null_count else element_values(a))
            m = np.zeros((n, d), dtype=flat.dtype)
            m[valid] = flat.reshape(-1, d)
    if dtype is not None and m.dtype != dtype:
        m = m.astype(dtype)
    return m, valid


def from_matrix(m: np.ndarray, arrow: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    """A dense vector array of type `arrow` (list or fixed-size list) from a matrix."""
    n, d = m.shape
    elem = arrow.value_type
    flat = np.ascontiguousarray(m).reshape(-1)
    values = pa.array(flat, type=elem) if elem != pa.float16() else pa.array(flat.astype(np.float16))
    mask = pa.array(~valid) if valid is not None and not valid.all() else None
    if pa.types.is_fixed_size_list(arrow):
        out = pa.FixedSizeListArray.from_arrays(values, d)
        return out if mask is None else pc.if_else(mask, pa.nulls(n, out.type), out)
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * d, pa.int32())
    return pa.ListArray.from_arrays(offsets, values, type=pa.list_(elem), mask=mask)


def scalar_vector(s: pa.Scalar) -> np.ndarray | None:
    """A dense vector constant as a 1-D numpy array (None for NULL)."""
    if not s.is_valid:
        return None
    return _np(s.values)


def check_dims(expected: int, got: np.ndarray) -> None:
    """Typmod check: 'expected 3 dimensions, not 2' for the first row that differs."""
    bad = got != expected
    if bad.any():
        raise DataException(f"expected {expected} dimensions, not {int(got[bad][0])}")


def bf16_to_f32(u: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) to float32."""
    return (u.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x: np.ndarray) -> np.ndarray:
    """float32 to bfloat16 bit patterns, rounding to nearest even (NaN kept quiet)."""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = bits + (0x7FFF + ((bits >> 16) & 1))
    out = (rounded >> 16).astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        out[nan] = 0x7FC0
    return out


def to_float32(m: np.ndarray, short: str) -> np.ndarray:
    """Stored elements of a dense type as float32 (what distances accumulate in)."""
    if short == "bf16vec":
        return bf16_to_f32(m)
    return m.astype(np.float32, copy=False)
