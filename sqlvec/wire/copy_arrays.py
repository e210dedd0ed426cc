"""Text COPY of one-dimensional numeric arrays ('{1.5,2,NULL}') and vectors ('[1.5,2]').

Float arrays and vectors written the way clients write embeddings (no blanks, no NULL
elements, plain finite numbers: `{0.25,-1e-3}`, `[1,2]`) are split and converted by Arrow
kernels over the whole column (`plain_float_lists`). Other
numeric arrays use the vectorised array input of core/textio_arrays when every literal of
the column has the flat shape; anything else (and every literal the fast path does not
accept, whose errors the engine's input function reports) is left to the engine.

    >>> import pyarrow as pa
    >>> from sqlvec.core import types as T
    >>> parse_flat_arrays(pa.array(["{1, 2}", None, "{3,NULL}"]), T.array_of(T.INT4)).to_pylist()
    [[1, 2], None, [3, None]]
    >>> parse_flat_arrays(pa.array(["{1.5,-2e1}", None]), T.array_of(T.FLOAT4)).to_pylist()
    [[1.5, -20.0], None]
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core.textio_arrays import fast_path_applies, flat_literal_mask, parse_flat
from sqlvec.core.types import SqlType

_FLOATS = {"float4": pa.float32(), "float8": pa.float64()}


def parse_flat_arrays(col: pa.Array, t: SqlType) -> pa.Array | None:
    """The array/vector column of type t from its text, or None when no fast path applies."""
    if len(col) == 0:
        return None
    fast = _float_lists(col, t)
    if fast is not None or not fast_path_applies(t):
        return fast
    flat = flat_literal_mask(col)
    if not (flat | pc.is_null(col).to_numpy(zero_copy_only=False)).all():
        return None
    return parse_flat(col, t, textio.parse_text)


def _float_lists(col: pa.Array, t: SqlType) -> pa.Array | None:
    """float4[]/float8[] or vector literals of plain numbers; None for anything else."""
    if t.short == "vector" and t.arrow.value_type == pa.float32():
        brackets, elem = b"[]", "float4"
    elif t.element is not None and t.element.short in _FLOATS and t.codec is None \
            and pa.types.is_list(t.arrow):
        brackets, elem = b"{}", t.element.short
    else:
        return None
    got = plain_float_lists(col, brackets, _FLOATS[elem])
    if got is None:
        return None
    offsets, values = got
    mask = pc.is_null(col) if col.null_count else None
    if pa.types.is_fixed_size_list(t.arrow):
        dim = t.arrow.list_size
        if mask is not None or not (np.diff(offsets) == dim).all():
            return None  # NULLs or a wrong dimension: the engine reports it
        return pa.FixedSizeListArray.from_arrays(pa.array(values), dim)
    out = pa.ListArray.from_arrays(pa.array(offsets), pa.array(values), mask=mask)
    return out if out.type == t.arrow else out.cast(t.arrow)


def plain_float_lists(col: pa.Array, brackets: bytes, to: pa.DataType,
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """(list offsets from 0, values of float type `to`) when every non-null value is
    `{n,n,...}` (brackets) of one or more plain numbers, finite in `to`, no blanks (in
    vectors, `[..]`, blanks around the numbers too, as pgvector's input); otherwise None.
    Arrow's cast validates the numbers: a blank, a quote, an inner bracket,
    an empty element or a word like NULL fails it (and inf/nan fail the finiteness check),
    so whatever it accepts is a plain strtof/strtod number, correctly rounded."""
    if col.type != pa.string() or col.null_count == len(col):
        return None
    n = len(col)
    bufs = col.buffers()
    offs = np.frombuffer(bufs[1], np.int32, n + 1, col.offset * 4)
    valid = slice(None) if not col.null_count else \
        col.is_valid().to_numpy(zero_copy_only=False)
    first, last = offs[:-1][valid], offs[1:][valid] - 1
    if (last - first < 2).any():
        return None  # '{}' or shorter
    u8 = np.frombuffer(bufs[2], np.uint8)
    if not ((u8[first] == brackets[0]).all() and (u8[last] == brackets[1]).all()):
        return None
    inner = pc.binary_slice(col.view(pa.binary()), 1, -1).view(pa.string())
    parts = pc.split_pattern(inner, ",")
    values = parts.values
    if brackets == b"[]" and (u8[offs[0]:offs[-1]] <= 32).any():
        # pgvector's input skips blanks around the numbers ('[1, 2]', as numpy prints);
        # trimmed first: a cast that fails costs ten times one that succeeds
        values = pc.ascii_trim_whitespace(values)
    try:
        x = pc.cast(values, to).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None  # '1e', ' 1', 'NULL', ...: the engine's input function decides
    if not np.isfinite(x).all():  # inf, nan or out of range: the engine's error or value
        return None
    lo = np.asarray(parts.offsets)
    return (lo - lo[0]).astype(np.int32), x[lo[0]:lo[-1]]


__all__ = ["parse_flat_arrays", "plain_float_lists"]
