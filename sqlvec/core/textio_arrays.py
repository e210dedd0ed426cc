"""PostgreSQL array text input ('{1.5,2,NULL}') for whole string columns.

Simple one-dimensional literals of numeric/bool elements (only [0-9A-Za-z.+-] words, commas
and ASCII blanks between braces: the shape of every float4[] embedding) are split with
pyarrow.compute and their elements converted with the element type's vectorised input
function. Every other literal (quotes, nested braces, backslashes, dimension decorations,
empty elements, other blanks, other element types) goes through the general per-literal
grammar in textio_literals, once per distinct value. Both give identical values and errors.
core/textio.parse_text and COPY (wire/copy_arrays.py) use this one implementation.

    >>> from sqlvec.core import types as T
    >>> from sqlvec.core.textio import parse_text
    >>> parse_arrays(pa.array(["{1, 2}", None, '{"3",NULL}']), T.array_of(T.INT4), parse_text).to_pylist()
    [[1, 2], None, [3, None]]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import accumulate

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core.errors import FeatureNotSupported, InvalidTextRepresentation
from sqlvec.core.textio_literals import parse_array_literal, unparse_array
from sqlvec.core.types import SqlType

ElementParser = Callable[[pa.Array, SqlType], pa.Array]

FAST_ELEMENTS = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "bool"})
_B = r"[ \t\n\r]*"
_W = r"[0-9A-Za-z.+\-]+"
FLAT_LITERAL = rf"^{_B}\{{{_B}{_W}(?:{_B},{_B}{_W})*{_B}\}}{_B}$"
_FLAT_RX = re.compile(FLAT_LITERAL[1:-1])  # the same pattern for re.fullmatch (ASCII classes only)
_BLANKS = " \t\n\r"
# A value of more dimensions than a one-dimensional Arrow list holds (a table column's
# array type): refused rather than flattened (issue 3; PostgreSQL would keep the dimensions)
MULTIDIM_COLUMN = "multidimensional arrays are not supported in table columns"


def multidim_error(value: object, t: SqlType) -> FeatureNotSupported:
    """0A000 for a multidimensional value where a one-dimensional t is stored."""
    return FeatureNotSupported(MULTIDIM_COLUMN, detail=f"A multidimensional value {value!s:.80} "
                               f"was given where a one-dimensional {t.display()} is expected.")


SMALL = 16  # up to this many rows (one Bind parameter, a cast constant) str methods beat kernel calls


def fast_path_applies(t: SqlType) -> bool:
    """Whether literals of array type t may take the vectorised split path."""
    elem = t.element
    return elem is not None and elem.short in FAST_ELEMENTS and t.codec is None \
        and pa.types.is_list(t.arrow)


def flat_literal_mask(a: pa.Array) -> np.ndarray:
    """Per row: True where the literal has the simple flat shape (nulls: False)."""
    if len(a) <= SMALL:
        return np.array([v is not None and _FLAT_RX.fullmatch(v) is not None for v in a.to_pylist()],
                        dtype=bool)
    return np.asarray(pc.fill_null(pc.match_substring_regex(a, FLAT_LITERAL), False), dtype=bool)


def parse_flat(a: pa.Array, t: SqlType, parse_elem: ElementParser) -> pa.Array:
    """Literals that all have the flat shape (or are null) to t's Arrow list array."""
    elem = t.element
    assert elem is not None
    if len(a) <= SMALL:
        texts = a.to_pylist()
        fast = _small_floats(texts, elem)
        if fast is not None:
            offsets, values = fast
            out = pa.ListArray.from_arrays(offsets, values, mask=pc.is_null(a) if a.null_count else None)
            return out if out.type == t.arrow else pc.cast(out, t.arrow)
        offsets, flat = _split_small(texts)
    else:
        inner = pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(a), 1, -1)
        parts = pc.split_pattern(inner, ",")
        flat = pc.utf8_trim_whitespace(parts.flatten())
        flat = pc.if_else(pc.equal(pc.utf8_upper(flat), "NULL"), pa.scalar(None, pa.string()), flat)
        offsets = parts.offsets
    values = parse_elem(flat, elem)
    out = pa.ListArray.from_arrays(offsets, values,
                                   mask=pc.is_null(a) if a.null_count else None)
    return out if out.type == t.arrow else pc.cast(out, t.arrow)


_NUM = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_PLAIN_FLOATS = re.compile(rf"{_B}\{{{_B}{_NUM}(?:{_B},{_B}{_NUM})*{_B}\}}{_B}")


def _small_floats(texts: list[str | None], elem: SqlType) -> tuple[pa.Array, pa.Array] | None:
    """float4/float8 elements of a few literals of plain finite numbers (an embedding bound as
    one parameter) in one numpy conversion; None (the general element parser) for anything
    else: NULL elements, infinity/NaN words, values out of range (whose errors it reports)."""
    if elem.short not in ("float4", "float8") or len(texts) > SMALL:
        return None
    pieces = []
    for v in texts:
        if v is None:
            pieces.append([])
        elif _PLAIN_FLOATS.fullmatch(v) is None:
            return None
        else:
            pieces.append(v.strip(_BLANKS)[1:-1].split(","))
    words = [w for p in pieces for w in p]
    x = np.array(words, dtype=np.float64) if words else np.zeros(0)
    big = np.finfo(np.float32 if elem.short == "float4" else np.float64).max
    if not (np.abs(x) <= big).all():  # inf, or beyond float4: the general path's error
        return None
    offsets = pa.array([0, *accumulate(len(p) for p in pieces)], pa.int32())
    vals = pa.array(x.astype(np.float32) if elem.short == "float4" else x)
    return offsets, vals if vals.type == elem.arrow else pc.cast(vals, elem.arrow)


def _split_small(texts: list[str | None]) -> tuple[pa.Array, pa.Array]:
    """parse_flat's split for a few rows with str methods: list offsets and element texts."""
    words: list[str | None] = []
    offsets = [0]
    for v in texts:
        if v is not None:
            for w in v.strip(_BLANKS)[1:-1].split(","):
                w = w.strip(_BLANKS)
                words.append(None if w.upper() == "NULL" else w)
        offsets.append(len(words))
    return pa.array(offsets, pa.int32()), pa.array(words, pa.string())


def parse_general(a: pa.Array, t: SqlType, parse_elem: ElementParser) -> pa.Array:
    """Any array literals through the per-literal grammar, once per distinct value."""
    elem_t = t.element
    assert elem_t is not None
    enc = pc.dictionary_encode(a)
    parsed = [parse_array_literal(v, t.display()) for v in enc.dictionary.to_pylist()]
    nested = any(isinstance(x, list) for lst in parsed for x in lst)
    if nested and not elem_t.is_array:
        # multi-dimensional input into a one-dimensional Arrow list: an error, never a
        # silent flattening (empty nests such as '{{}}' still flatten to '{}', as before)
        def flatten(xs: list) -> list:
            return [y for x in xs for y in (flatten(x) if isinstance(x, list) else [x])]
        for v, p in zip(enc.dictionary.to_pylist(), parsed):
            if any(isinstance(x, list) for x in p) and flatten(p):
                raise multidim_error(f'"{v}"', t)
        parsed = [flatten(p) for p in parsed]
    if elem_t.is_array:
        for v, p in zip(enc.dictionary.to_pylist(), parsed):
            if len({len(x) if isinstance(x, list) else -1 for x in p}) > 1:
                raise InvalidTextRepresentation(
                    f'malformed array literal: "{v}"',
                    detail="Multidimensional arrays must have sub-arrays with matching dimensions.")
    lengths = np.array([len(p) for p in parsed], dtype=np.int32)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    if elem_t.is_array:
        flat_text = pa.array([unparse_array(x) for p in parsed for x in p], pa.string())
    else:
        flat_text = pa.array([x for p in parsed for x in p], pa.string())
    values = parse_elem(flat_text, elem_t)
    dict_lists = pa.ListArray.from_arrays(pa.array(offsets), values, type=pa.list_(values.type))
    out = dict_lists.take(enc.indices)
    return out if out.type == t.arrow or pa.types.is_null(t.arrow) else pc.cast(out, t.arrow)


def parse_arrays(a: pa.Array, t: SqlType, parse_elem: ElementParser) -> pa.Array:
    """Array literals of type t (a string array) to t's Arrow type; parse_elem is
    core/textio.parse_text (passed in to keep the import one-way)."""
    if len(a) == 0 or not fast_path_applies(t):
        return parse_general(a, t, parse_elem)
    if len(a) <= SMALL and t.element is not None and t.element.short in ("float4", "float8"):
        small = _small_floats(a.to_pylist(), t.element)  # one regex, not the flat one as well
        if small is not None:
            out = pa.ListArray.from_arrays(*small, mask=pc.is_null(a) if a.null_count else None)
            return out if out.type == t.arrow else pc.cast(out, t.arrow)
    flat = flat_literal_mask(a)
    other = ~flat & np.asarray(pc.is_valid(a), dtype=bool)
    if not other.any():
        return parse_flat(a, t, parse_elem)
    if not flat.any():
        return parse_general(a, t, parse_elem)
    # mixed shapes: the general literals first (their syntax errors come before element errors)
    slow_idx = np.flatnonzero(~flat)
    fast_idx = np.flatnonzero(flat)
    slow = parse_general(a.take(pa.array(slow_idx)), t, parse_elem)
    fast = parse_flat(a.take(pa.array(fast_idx)), t, parse_elem)
    both = pa.concat_arrays([slow, fast.cast(slow.type)])
    order = np.empty(len(a), dtype=np.int64)
    order[np.concatenate([slow_idx, fast_idx])] = np.arange(len(a))
    return both.take(pa.array(order))


__all__ = ["FAST_ELEMENTS", "FLAT_LITERAL", "MULTIDIM_COLUMN", "fast_path_applies", "flat_literal_mask",
           "multidim_error", "parse_arrays", "parse_flat", "parse_general"]
