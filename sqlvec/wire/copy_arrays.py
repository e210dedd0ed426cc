"""Text COPY of one-dimensional numeric arrays ('{1.5,2,NULL}') parsed with pyarrow.compute.

The engine's array input function reads each distinct literal in Python, which is slow for
embeddings stored as float4[] (every row is distinct). Literals without quotes, braces
inside, backslashes or dimension decorations are split with `split_pattern` and their
elements converted with the element type's vectorised input function; any other shape
(and every other element type) is left to the engine.

    >>> import pyarrow as pa
    >>> from sqlvec.core import types as T
    >>> parse_flat_arrays(pa.array(["{1, 2}", None, "{3,NULL}"]), T.array_of(T.INT4)).to_pylist()
    [[1, 2], None, [3, None]]
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio
from sqlvec.core.types import SqlType

_ELEMENTS = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "bool"})
_FLAT = r"^\s*\{[^{}\"\\]+\}\s*$"


def parse_flat_arrays(col: pa.Array, t: SqlType) -> pa.Array | None:
    """The array column of type t from its text, or None when this fast path does not apply."""
    elem = t.element
    if elem is None or elem.short not in _ELEMENTS or not pa.types.is_list(t.arrow) \
            or len(col) == 0:
        return None
    ok = pc.match_substring_regex(col, _FLAT)
    if ok.null_count < len(col) and not pc.all(ok).as_py():
        return None
    inner = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(col), 1, -1)
    parts = pc.split_pattern(inner, ",")
    flat = pc.utf8_trim_whitespace(parts.flatten())
    if pc.any(pc.equal(flat, "")).as_py():
        return None  # '{1,,2}' and friends: the engine's parser words the error
    flat = pc.if_else(pc.equal(pc.utf8_upper(flat), "NULL"), pa.scalar(None, pa.string()), flat)
    values = textio.parse_text(flat, elem)
    out = pa.ListArray.from_arrays(parts.offsets, values, mask=pc.is_null(col))
    return out if out.type == t.arrow else out.cast(t.arrow)


__all__ = ["parse_flat_arrays"]
