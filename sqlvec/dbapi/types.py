"""PEP 249 type objects and constructors; type codes in `cursor.description` are OIDs."""

from __future__ import annotations

import datetime as dt
import time

Date = dt.date
Time = dt.time
Timestamp = dt.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> dt.date:  # noqa: N802 - PEP 249 name
    return Date(*time.localtime(ticks)[:3])


def TimeFromTicks(ticks: float) -> dt.time:  # noqa: N802
    return Time(*time.localtime(ticks)[3:6])


def TimestampFromTicks(ticks: float) -> dt.datetime:  # noqa: N802
    return Timestamp(*time.localtime(ticks)[:6])


class TypeCode(frozenset):
    """Compares equal to each OID it contains (PEP 249: `description[1] == NUMBER`)."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int):
            return other in self
        return frozenset.__eq__(self, other)

    def __hash__(self) -> int:
        return frozenset.__hash__(self)


STRING = TypeCode({25, 1043, 1042, 19, 18, 114, 3802})
BINARY = TypeCode({17})
NUMBER = TypeCode({16, 20, 21, 23, 26, 700, 701, 1700})
DATETIME = TypeCode({1082, 1083, 1114, 1184, 1186, 1266})
ROWID = TypeCode({26})


def bit_values(arr: object, col: object) -> list:
    """A bit/varbit result column (arrays of them too) as psycopg gives it: the text form,
    '1010' (the column holds PostgreSQL's binary layout); one vectorised format per column.

        >>> import pyarrow as pa
        >>> from sqlvec.functions.vectors import types as V
        >>> from sqlvec.functions.vectors.textio import parse_bit
        >>> bit_values(parse_bit(pa.array(["1010", None, ""]), V.VARBIT), None)
        ['1010', None, '']
    """
    return _bit_text(arr).to_pylist()


def bf16_values(arr: object, col: object) -> list:
    """A bf16vec result column as lists of floats (its numbers, not the bfloat16 bit patterns
    it stores); one vectorised conversion per column.

        >>> import pyarrow as pa
        >>> bf16_values(pa.array([[16256, 49216], None], pa.list_(pa.uint16(), 2)), None)
        [[1.0, -3.0], None]
    """
    import pyarrow as pa

    from sqlvec.functions.vectors.types import bf16_to_f32

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    mask = arr.is_null() if arr.null_count else None
    bits = arr.values
    if bits.null_count:  # (the slots of a NULL row)
        bits = bits.fill_null(0)
    values = pa.array(bf16_to_f32(bits.to_numpy(zero_copy_only=False)))
    if isinstance(arr, pa.FixedSizeListArray):
        n = arr.type.list_size
        values = values.slice(arr.offset * n, len(arr) * n)
        return pa.FixedSizeListArray.from_arrays(values, n, mask=mask).to_pylist()
    return pa.ListArray.from_arrays(arr.offsets, values, mask=mask).to_pylist()


def _bit_text(arr):  # noqa: ANN001, ANN202 - pyarrow arrays
    import pyarrow as pa
    import pyarrow.compute as pc

    from sqlvec.functions.vectors import types as V
    from sqlvec.functions.vectors.textio import format_bit

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type):
        offsets = pc.subtract(arr.offsets, arr.offsets[0])  # (a sliced array's offsets)
        return type(arr).from_arrays(offsets, _bit_text(arr.flatten()),
                                     mask=pc.is_null(arr) if arr.null_count else None)
    return format_bit(arr, V.VARBIT)
