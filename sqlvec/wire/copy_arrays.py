"""Text COPY of one-dimensional numeric arrays ('{1.5,2,NULL}'): the vectorised array input
of core/textio_arrays, applied when every literal of the column has the flat shape so the
column loads natively; other columns are left to the engine's (same) array input.

    >>> import pyarrow as pa
    >>> from sqlvec.core import types as T
    >>> parse_flat_arrays(pa.array(["{1, 2}", None, "{3,NULL}"]), T.array_of(T.INT4)).to_pylist()
    [[1, 2], None, [3, None]]
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core.textio_arrays import fast_path_applies, flat_literal_mask, parse_flat
from sqlvec.core.types import SqlType


def parse_flat_arrays(col: pa.Array, t: SqlType) -> pa.Array | None:
    """The array column of type t from its text, or None when this fast path does not apply."""
    if len(col) == 0 or not fast_path_applies(t):
        return None
    flat = flat_literal_mask(col)
    if not (flat | pc.is_null(col).to_numpy(zero_copy_only=False)).all():
        return None
    return parse_flat(col, t, textio.parse_text)


__all__ = ["parse_flat_arrays"]
