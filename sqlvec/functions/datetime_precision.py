"""Fractional-second precision of timestamp(p), timestamptz(p), time(p) and interval(p):
values cast to such a type are rounded to p digits, half away from zero, as PostgreSQL's
AdjustTimestampForTypmod / AdjustTimeForTypmod / AdjustIntervalForTypmod (the typmod of
these types is p itself here; see core.types.modifier_text)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sqlvec.core.types import SqlType

_TS_INFINITY, _TS_NEG_INFINITY = 2**63 - 1, -(2**63)
KINDS = ("timestamp", "timestamptz", "time", "interval")


def _round(v: np.ndarray, scale: int) -> np.ndarray:
    """Integer values rounded to a multiple of scale, half away from zero."""
    mag = (np.abs(v) + scale // 2) // scale * scale
    return np.where(v < 0, -mag, mag)


def round_to_precision(a: pa.Array, t: SqlType) -> pa.Array:
    """a (of type t's Arrow type) rounded to t's precision; a itself when t has none."""
    if t.short not in KINDS or not 0 <= t.typmod < 6 or len(a) == 0:
        return a
    scale = 10 ** (6 - t.typmod)
    if isinstance(a, pa.ChunkedArray):
        a = a.combine_chunks()
    valid = a.buffers()[0]
    if t.short == "interval":  # months int32, days int32, nanoseconds int64 per value
        rec = np.frombuffer(a.buffers()[1], dtype=np.dtype([("m", "<i4"), ("d", "<i4"), ("ns", "<i8")]),
                            count=a.offset + len(a))[a.offset:].copy()
        rec["ns"] = _round(rec["ns"] // 1000, scale) * 1000
        return pa.Array.from_buffers(a.type, len(a), [_sliced_validity(a, valid), pa.py_buffer(rec.tobytes())])
    us = np.frombuffer(a.buffers()[1], dtype=np.int64, count=a.offset + len(a))[a.offset:]
    out = _round(us, scale)
    if t.short != "time":  # +-infinity stay
        out = np.where((us == _TS_INFINITY) | (us == _TS_NEG_INFINITY), us, out)
    return pa.Array.from_buffers(a.type, len(a), [_sliced_validity(a, valid), pa.py_buffer(out.tobytes())])


def _sliced_validity(a: pa.Array, valid: pa.Buffer | None) -> pa.Buffer | None:
    if valid is None or a.null_count == 0:
        return None
    if a.offset == 0:
        return valid
    return pa.array(np.asarray(a.is_valid())).buffers()[1]  # re-packed from offset 0
