"""Text input/output of pgvector's types, vectorised: '[1,2,3]', '{1:0.5,3:2}/5', '0101'.

The fast paths split and cast whole columns with pyarrow; any failure reruns the value
through a scalar parser that mirrors pgvector's (so messages match word for word).

    >>> VECTOR_CODEC.format_text(pa.array([[1.0, 2.5]], pa.list_(pa.float32())), VECTOR).to_pylist()
    ['[1,2.5]']
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sqlvec.core import textio as core_textio
from sqlvec.core import types as T
from sqlvec.core.errors import (
    DataException,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
    ProgramLimitExceeded,
    StringDataLengthMismatch,
    StringDataRightTruncation,
)
from sqlvec.core.types import SqlType
from sqlvec.functions.vectors import types as V

_FLOAT_RE = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.I)
_INT_RE = re.compile(r"[+-]?\d+")
_WS = " \t\n\r\v\f"


def _combine(a: pa.Array | pa.ChunkedArray) -> pa.Array:
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


# ---- dense vectors ---------------------------------------------------------------------

def _element_text(values: pa.Array, short: str) -> pa.Array:
    if short == "int8vec":
        return pc.cast(values, pa.string())
    x = V.to_float32(V._np(values), short)
    return core_textio.format_text(pa.array(x, pa.float32()), T.FLOAT4)


def format_dense(a: pa.Array, t: SqlType) -> pa.Array:
    """'[1,2,3]' per row (float4 shortest form), NULL rows stay NULL."""
    a = _combine(a)
    if pa.types.is_null(a.type):
        return pa.nulls(len(a), pa.string())
    inner = _element_text(V.element_values(a), t.short)
    if pa.types.is_fixed_size_list(a.type):
        d = a.type.list_size
        offsets = pa.array(np.arange(len(a) + 1, dtype=np.int32) * d)
    else:
        offsets = pc.subtract(a.offsets, a.offsets[0])
    mask = a.is_null() if a.null_count else None
    lists = pa.ListArray.from_arrays(offsets, inner, mask=mask)
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")


def _malformed(t: str, s: str, detail: str | None = None) -> InvalidTextRepresentation:
    return InvalidTextRepresentation(f'malformed {t} literal: "{s}"', detail=detail)


def _syntax(t: str, s: str) -> InvalidTextRepresentation:
    return InvalidTextRepresentation(f'invalid input syntax for type {t}: "{s}"')


def _check_element(v: float, tname: str) -> None:
    if v != v:
        raise DataException(f"NaN not allowed in {tname}")
    if v in (float("inf"), float("-inf")):
        raise DataException(f"infinite value not allowed in {tname}")


def _convert(tok: str, v: float, short: str) -> float | int:
    """One parsed element in the type's precision, with pgvector's range errors."""
    if short == "int8vec":
        if not -128 <= v <= 127:
            raise NumericValueOutOfRange(f'"{tok}" is out of range for type {short}')
        return int(v)
    with np.errstate(over="ignore"):
        f = float(np.float32(v)) if short != "halfvec" else float(np.float16(np.float32(v)))
    _check_element(v, short)
    if f in (float("inf"), float("-inf")):
        if short == "halfvec":
            raise NumericValueOutOfRange(f'"{tok}" is out of range for type {short}')
        raise DataException(f"infinite value not allowed in {short}")
    return f


def dense_text_fast(s: str, dim: int = -1) -> np.ndarray | None:
    """One `vector` text '[1, 2.5,3]' as a float32 numpy array in one numpy parse, or None
    when anything is unusual (non-ASCII, '_', an empty or non-numeric element, NaN or
    infinity, beyond float32, no or too many dimensions, not `dim` when given): then
    parse_dense_value decides, with pgvector's errors. The numbers are the scalar parser's
    (both round the correctly rounded double to float32).

        >>> dense_text_fast(" [1, 2.5,-3e1] ").tolist(), dense_text_fast("[1,,2]")
        ([1.0, 2.5, -30.0], None)
    """
    if not s.isascii() or "_" in s:  # (numpy also reads '1_0' and non-ASCII digits)
        return None
    body = s.strip(_WS)
    if len(body) < 3 or body[0] != "[" or body[-1] != "]":
        return None
    try:
        x = np.array(body[1:-1].split(","), np.float64)
    except ValueError:
        return None
    n = len(x)
    if not n or n > V.MAX_DIM or (dim > 0 and n != dim):
        return None
    with np.errstate(over="ignore"):
        f = x.astype(np.float32)
    return f if np.isfinite(f).all() else None


def parse_dense_value(s: str, short: str) -> list:
    """pgvector's vector_in for one value: '[1, 2,3]' -> [1.0, 2.0, 3.0]."""
    rx = _INT_RE if short == "int8vec" else _FLOAT_RE
    i, n = 0, len(s)
    while i < n and s[i] in _WS:
        i += 1
    if i >= n or s[i] != "[":
        raise _malformed(short, s, 'Vector contents must start with "[".')
    i += 1
    while i < n and s[i] in _WS:
        i += 1
    if i < n and s[i] == "]":
        raise DataException(f"{short} must have at least 1 dimension")
    out: list = []
    while True:
        if len(out) == V.MAX_DIM:
            raise ProgramLimitExceeded(f"{short} cannot have more than {V.MAX_DIM} dimensions")
        j = i
        while i < n and s[i] in _WS:
            i += 1
        if i >= n or (s[i] == "," and i + 1 >= n):
            raise _malformed(short, s, "Unexpected end of input.")
        if s[i] == "," and i == j:
            raise _malformed(short, s)
        m = rx.match(s, i)
        if m is None:
            raise _syntax(short, s)
        tok = m.group(0)
        out.append(_convert(tok, float(tok) if short != "int8vec" else int(tok), short))
        i = m.end()
        while i < n and s[i] in _WS:
            i += 1
        if i < n and s[i] == ",":
            i += 1
        elif i < n and s[i] == "]":
            i += 1
            break
        elif i >= n:
            raise _malformed(short, s, "Unexpected end of input.")
        else:
            raise _syntax(short, s)
    while i < n and s[i] in _WS:
        i += 1
    if i < n:
        raise _malformed(short, s, "Junk after closing right brace.")
    return out


def _fast_dense(a: pa.Array, t: SqlType) -> pa.Array | None:
    """Whole-column parse; None when anything is unusual (the scalar parser decides)."""
    s = pc.utf8_trim(a, _WS)
    ok = pc.and_(pc.starts_with(s, "["), pc.ends_with(s, "]"))
    if not pc.all(pc.fill_null(ok, True)).as_py():
        return None
    parts = pc.split_pattern(pc.utf8_slice_codeunits(s, 1, -1), ",")
    toks = pc.utf8_trim(pc.list_flatten(parts), _WS)
    target = pa.int8() if t.short == "int8vec" else pa.float32()
    try:
        vals = pc.cast(toks, pa.float64() if target == pa.float32() else pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    x = vals.to_numpy(zero_copy_only=False)
    if t.short == "int8vec":
        if len(x) and ((x < -128) | (x > 127)).any():
            return None
        elems = x.astype(np.int8)
    else:
        with np.errstate(over="ignore"):
            elems = x.astype(np.float32)
        if not np.isfinite(elems).all():
            return None
        if t.short == "halfvec":
            with np.errstate(over="ignore"):
                h = elems.astype(np.float16)
            if not np.isfinite(h).all():
                return None
        if t.short == "bf16vec":
            elems = V.f32_to_bf16(elems)
    lens = pc.fill_null(pc.list_value_length(parts), 1).to_numpy(zero_copy_only=False)
    if len(lens) and (lens.max() > V.MAX_DIM):
        return None
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    valid = V.valid_mask(a)
    if a.null_count:  # split of NULL is NULL: no tokens for those rows
        lens = np.where(valid, lens, 0)
        offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    elem_t = V.DENSE_ELEMENT[t.short]
    values = pa.array(elems, elem_t) if elem_t != pa.float16() else pa.array(elems.astype(np.float16))
    out = pa.ListArray.from_arrays(pa.array(offsets), values, mask=pa.array(~valid) if a.null_count else None)
    return _fit_typmod(out, t, lens[valid])


_ONE_FAST = ("vector", "halfvec", "bf16vec", "int8vec")
_INTEGERS = frozenset("0123456789-,[] \t\n\r\f\v")  # an int8vec text numpy reads as Arrow does
_ONE_MAX = 300  # numbers of one value parsed by numpy (parse_dense); more: by Arrow


def _one_dense(s: str, short: str) -> pa.Array | None:
    """dense_text_fast of one value as the type's element array (halfvec: the float32
    numbers rounded to float16, None when one overflows it: the scalar parser says so;
    bf16vec: rounded to bfloat16; int8vec: plain integers in its range only), as
    _fast_dense makes them."""
    if short == "int8vec" and not _INTEGERS.issuperset(s):
        return None  # (a sign, a point, an exponent: the Arrow path decides)
    one = dense_text_fast(s)
    if one is None or short == "vector":
        return None if one is None else pa.array(one)
    if short == "halfvec":
        with np.errstate(over="ignore"):
            h = one.astype(np.float16)
        return pa.array(h) if np.isfinite(h).all() else None
    if short == "int8vec":
        ok = len(one) and -128 <= _MINR(one) and _MAXR(one) <= 127
        return pa.array(one.astype(np.int8)) if ok else None
    return pa.array(V.f32_to_bf16(one), V.DENSE_ELEMENT[short])


_MINR, _MAXR = np.minimum.reduce, np.maximum.reduce


def _fit_typmod(out: pa.Array, t: SqlType, dims: np.ndarray) -> pa.Array:
    if t.typmod > 0:
        V.check_dims(t.typmod, dims)
        return pc.cast(out, t.arrow) if len(out) else pa.array([], t.arrow)
    return out


def parse_dense(a: pa.Array, t: SqlType) -> pa.Array:
    """'[1,2,3]' strings to a dense vector array of t (typmod checked)."""
    a = _combine(a)
    if t.short in _ONE_FAST and len(a) == 1 and not a.null_count:
        # one value (a literal, a parameter) of up to _ONE_MAX numbers: numpy parses it in
        # ~20-60 us where the Arrow kernels cost ~110 us plus less per number (from ~400
        # numbers they are the faster: 1536-d 240 us against numpy's 470)
        text = a[0].as_py()
        one = _one_dense(text, t.short) if text.count(",") < _ONE_MAX else None
        if one is not None:
            out = pa.ListArray.from_arrays(pa.array([0, len(one)], pa.int32()), one)
            return _fit_typmod(out, t, np.array([len(one)]))
    fast = _fast_dense(a, t) if len(a) else pa.array([], t.arrow)
    if fast is not None:
        return fast
    vals = [None if s is None else parse_dense_value(s, t.short) for s in a.to_pylist()]
    elem = V.DENSE_ELEMENT[t.short]
    if t.short == "bf16vec":
        vals = [None if v is None else V.f32_to_bf16(np.asarray(v, np.float32)).tolist() for v in vals]
    if elem == pa.float16():
        vals = [None if v is None else np.asarray(v, np.float16) for v in vals]
    out = pa.array(vals, pa.list_(elem))
    dims = np.array([len(v) for v in vals if v is not None], dtype=np.int64)
    return _fit_typmod(out, t, dims)


# ---- sparsevec ------------------------------------------------------------------------

def format_sparse(a: pa.Array, t: SqlType) -> pa.Array:
    """'{1:0.5,3:2}/5' per row (1-based indices)."""
    a = _combine(a)
    if pa.types.is_null(a.type):
        return pa.nulls(len(a), pa.string())
    idx = a.field("indices")
    vals = a.field("values")
    flat_i = pc.cast(pc.add(V.element_values(idx), 1), pa.string())
    flat_v = _element_text(V.element_values(vals), "vector")
    pairs = pc.binary_join_element_wise(flat_i, flat_v, ":")
    offsets = pc.subtract(idx.offsets, idx.offsets[0])
    body = pc.binary_join(pa.ListArray.from_arrays(offsets, pairs), ",")
    dim = pc.cast(a.field("dim"), pa.string())
    out = pc.binary_join_element_wise("{", body, "}/", dim, "")
    return pc.if_else(a.is_valid(), out, pa.nulls(len(a), pa.string())) if a.null_count else out


def parse_sparse_value(s: str, typmod: int = -1) -> dict:
    """pgvector's sparsevec_in: '{1:0.5,3:2}/5' -> {'dim': 5, 'indices': [0, 2], 'values': [...]}."""
    t = "sparsevec"
    i, n = 0, len(s)

    def ws() -> None:
        nonlocal i
        while i < n and s[i] in _WS:
            i += 1

    ws()
    if i >= n or s[i] != "{":
        raise InvalidTextRepresentation(f'invalid input syntax for type {t}: "{s}"',
                                        detail='Vector contents must start with "{".')
    i += 1
    idx: list[int] = []
    vals: list[float] = []
    ws()
    if i < n and s[i] == ",":  # '{,}/1' is accepted by pgvector
        i += 1
        ws()
    while True:
        ws()
        if i >= n:
            raise InvalidTextRepresentation(f'invalid input syntax for type {t}: "{s}"',
                                            detail="Unexpected end of input.")
        if s[i] == "}":
            if idx and s[i - 1] == ",":
                raise _syntax(t, s)
            i += 1
            break
        m = _INT_RE.match(s, i)
        if m is None:
            raise _syntax(t, s)
        k = int(m.group(0))
        i = m.end()
        ws()
        if i >= n or s[i] != ":":
            raise _syntax(t, s)
        i += 1
        ws()
        m = _FLOAT_RE.match(s, i)
        if m is None:
            raise _syntax(t, s)
        v = float(m.group(0))
        _check_element(v, t)
        with np.errstate(over="ignore"):
            f = float(np.float32(v))
        if f in (float("inf"), float("-inf")):
            raise DataException(f"infinite value not allowed in {t}")
        i = m.end()
        if f != 0:  # (a zero is not stored: its index is not checked, as pgvector's)
            idx.append(min(max(k, -(2**31) + 1), 2**31 - 1) - 1)  # kept in int32, 0-based
            vals.append(f)
        if len(idx) > V.SPARSE_MAX_NNZ:
            raise ProgramLimitExceeded(
                f"sparsevec cannot have more than {V.SPARSE_MAX_NNZ} non-zero elements")
        ws()
        if i < n and s[i] == ",":
            i += 1
            ws()
            if i < n and s[i] == "}":
                raise _syntax(t, s)
        elif i < n and s[i] == "}":
            continue
        elif i >= n:
            raise InvalidTextRepresentation(f'invalid input syntax for type {t}: "{s}"',
                                            detail="Unexpected end of input.")
        else:
            raise _syntax(t, s)
    ws()
    if i >= n or s[i] != "/":
        raise InvalidTextRepresentation(f'invalid input syntax for type {t}: "{s}"',
                                        detail="Unexpected end of input.")
    i += 1
    ws()
    m = _INT_RE.match(s, i)
    if m is None:
        raise _syntax(t, s)
    dim = int(m.group(0))
    i = m.end()
    ws()
    if i < n:
        raise InvalidTextRepresentation(f'invalid input syntax for type {t}: "{s}"',
                                        detail="Junk after closing.")
    check_sparse_header(dim, 0)
    if typmod > 0 and dim != typmod:
        raise DataException(f"expected {typmod} dimensions, not {dim}")
    order = np.argsort(np.asarray(idx, np.int64), kind="stable")  # pgvector sorts the input
    sidx = np.asarray(idx, np.int64)[order]
    check_sparse_indices(sidx, dim)
    return {"dim": dim, "indices": sidx.tolist(), "values": np.asarray(vals)[order].tolist()}


def check_sparse_header(dim: int, nnz: int) -> None:
    """pgvector's CheckDim and CheckNnz of a sparse vector (text input: nnz 0)."""
    if dim < 1:
        raise DataException("sparsevec must have at least 1 dimension")
    if dim > V.SPARSE_MAX_DIM:
        raise ProgramLimitExceeded(f"sparsevec cannot have more than {V.SPARSE_MAX_DIM} dimensions")
    if nnz < 0:
        raise DataException("sparsevec cannot have negative number of elements")
    if nnz > V.SPARSE_MAX_NNZ:
        raise ProgramLimitExceeded(
            f"sparsevec cannot have more than {V.SPARSE_MAX_NNZ} non-zero elements")
    if nnz > dim:
        raise ProgramLimitExceeded("sparsevec cannot have more elements than dimensions")


def check_sparse_indices(idx: np.ndarray, dim: int) -> None:
    """pgvector's CheckIndex over 0-based indices, the first failing one reported: out of
    [0, dim), below or equal to the one before it (all 22000).

        >>> try:
        ...     check_sparse_indices(np.array([0, 2, 2]), 3)
        ... except DataException as e:
        ...     print(e.message)
        sparsevec indices must not contain duplicates
    """
    idx = np.asarray(idx, np.int64)
    oob = (idx < 0) | (idx >= dim)
    step = np.zeros(len(idx), np.int64)
    step[1:] = np.sign(np.diff(idx))
    bad = oob | (np.arange(len(idx)) > 0) & (step <= 0)
    if not bad.any():
        return
    k = int(np.argmax(bad))
    if oob[k]:
        raise DataException("sparsevec index out of bounds")
    if step[k] < 0:
        raise DataException("sparsevec indices must be in ascending order")
    raise DataException("sparsevec indices must not contain duplicates")


_NUM = r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d{1,3})?"
_PLAIN_SPARSE = rf"^\{{(?:\d{{1,9}}:{_NUM}(?:,\d{{1,9}}:{_NUM})*)?\}}/\d{{1,10}}$"


def parse_sparse(a: pa.Array, t: SqlType) -> pa.Array:
    """sparsevec_in over a column: texts written plainly ('{1:0.5,3:2}/5', no blanks, plain
    numbers) are split and converted by Arrow kernels for the whole column, then checked with
    numpy; a column with any other text, or a value sparsevec_in would refuse, goes value by
    value (parse_sparse_value), which gives pgvector's answer and words."""
    a = _combine(a)
    fast = _plain_sparse(a, t) if len(a) else None
    if fast is not None:
        return fast
    vals = [None if s is None else parse_sparse_value(s, t.typmod) for s in a.to_pylist()]
    return pa.array(vals, V.SPARSE_ARROW)


def _plain_sparse(a: pa.Array, t: SqlType) -> pa.Array | None:
    """parse_sparse's column path (None: not every value is plain and accepted)."""
    if not pa.types.is_string(a.type):
        a = a.cast(pa.string())
    valid = V.valid_mask(a)
    texts = a.filter(pa.array(valid)) if not valid.all() else a
    if not len(texts) or not pc.all(pc.match_substring_regex(texts, _PLAIN_SPARSE)).as_py():
        return None
    parts = pc.split_pattern(texts, "}/")
    head, tail = pc.list_element(parts, 0), pc.list_element(parts, 1)
    dim = np.asarray(pc.cast(tail, pa.int64()), np.int64)
    pairs = pc.split_pattern(pc.utf8_slice_codeunits(head, 1), ",")
    counts = np.asarray(pc.list_value_length(pairs), np.int64)
    flat = pc.list_flatten(pairs)
    nonempty = np.asarray(pc.not_equal(flat, ""))  # '{}' splits to one empty text
    kv = pc.split_pattern(flat.filter(pa.array(nonempty)), ":")
    counts -= np.add.reduceat(~nonempty, np.cumsum(counts) - counts) if len(counts) else 0
    k = np.asarray(pc.cast(pc.list_element(kv, 0), pa.int64()), np.int64)
    with np.errstate(over="ignore"):
        v = np.asarray(pc.cast(pc.list_element(kv, 1), pa.float64()), np.float64).astype(np.float32)
    if np.isinf(v).any():
        return None
    row = np.repeat(np.arange(len(texts)), counts)
    keep = v != 0  # (a zero is not stored, as pgvector's)
    row, k, v = row[keep], k[keep] - 1, v[keep]
    order = np.lexsort((k, row))  # pgvector sorts the input
    row, k, v = row[order], k[order], v[order]
    nnz = np.bincount(row, minlength=len(texts))
    first = np.r_[True, row[1:] != row[:-1]] if len(row) else np.zeros(0, bool)
    ascending = first | np.r_[True, np.diff(k) > 0] if len(k) else first
    if ((dim < 1) | (dim > V.SPARSE_MAX_DIM) | (nnz > V.SPARSE_MAX_NNZ)).any() or \
            (t.typmod > 0 and (dim != t.typmod).any()) or \
            ((k < 0) | (k >= dim[row]) | ~ascending).any():
        return None
    n = len(a)
    all_nnz = np.zeros(n, np.int64)
    all_nnz[valid] = nnz
    all_dim = np.zeros(n, np.int32)
    all_dim[valid] = dim
    offsets = pa.array(np.concatenate([[0], np.cumsum(all_nnz)]).astype(np.int32))
    return pa.StructArray.from_arrays(
        [pa.array(all_dim), pa.ListArray.from_arrays(offsets, pa.array(k.astype(np.int32))),
         pa.ListArray.from_arrays(offsets, pa.array(v))],
        fields=list(V.SPARSE_ARROW), mask=pa.array(~valid) if not valid.all() else None)


# ---- bit --------------------------------------------------------------------------------

def _binary_parts(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(int64 offsets, uint8 data) of a binary array, slicing respected."""
    offs = np.frombuffer(a.buffers()[1], np.int32, count=a.offset + len(a) + 1)[a.offset:]
    data = a.buffers()[2]
    return offs.astype(np.int64), (np.frombuffer(data, np.uint8) if data is not None
                                   else np.zeros(0, np.uint8))


def bit_lengths(a: pa.Array) -> np.ndarray:
    """Bit length of each bit value (0 for NULL) from its 4-byte big-endian header."""
    a = _combine(a)
    valid = V.valid_mask(a)
    offs, data = _binary_parts(a)
    out = np.zeros(len(a), np.int64)
    if valid.any():
        starts = offs[:-1][valid]
        head = data[starts[:, None] + np.arange(4)]
        out[valid] = head.astype(np.int64) @ np.array([1 << 24, 1 << 16, 1 << 8, 1], np.int64)
    return out


def bit_matrix(a: pa.Array) -> tuple[np.ndarray, int, np.ndarray]:
    """(rows x bytes packed-bit matrix, bit length, valid) for bit values of one length."""
    a = _combine(a)
    valid = V.valid_mask(a)
    lens = bit_lengths(a)
    nbits = int(lens[valid][0]) if valid.any() else 0
    if (lens[valid] != nbits).any():
        other = int(lens[valid][lens[valid] != nbits][0])
        raise DataException(f"different bit lengths {nbits} and {other}")
    nbytes = (nbits + 7) // 8
    m = np.zeros((len(a), nbytes), dtype=np.uint8)
    if valid.any() and nbytes:
        offs, data = _binary_parts(a)
        starts = offs[:-1][valid] + 4
        m[valid] = data[starts[:, None] + np.arange(nbytes)]
    return m, nbits, valid


def bits_from_matrix(m: np.ndarray, nbits: int, valid: np.ndarray | None = None) -> pa.Array:
    """Bit values (binary with a length header) from a packed-bit matrix."""
    n = len(m)
    head = np.frombuffer(int(nbits).to_bytes(4, "big"), np.uint8)
    rows = np.hstack([np.broadcast_to(head, (n, 4)), m.astype(np.uint8)])
    w = rows.shape[1]
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * w)
    out = pa.BinaryArray.from_buffers(pa.binary(), n, [None, offsets.buffers()[1],
                                                         pa.py_buffer(rows.tobytes())])
    if valid is not None and not valid.all():
        out = pc.if_else(pa.array(valid), out, pa.nulls(n, pa.binary()))
    return out


def format_bit(a: pa.Array, t: SqlType) -> pa.Array:
    """'0101' per row, every length in one pass: the payload bytes of all rows gathered
    (headers skipped), unpacked, each row's padding bits dropped.

        >>> from sqlvec.functions.vectors import types as V
        >>> format_bit(parse_bit(pa.array(["101", None, "", "110000001"]), V.VARBIT), V.VARBIT).to_pylist()
        ['101', None, '', '110000001']
    """
    a = _combine(a)
    if pa.types.is_null(a.type) or len(a) == 0:
        return pa.nulls(len(a), pa.string())
    lens = bit_lengths(a)  # 0 for NULL rows
    valid = V.valid_mask(a)
    offs, data = _binary_parts(a)
    nbytes = (lens + 7) // 8
    byte_start = np.cumsum(nbytes) - nbytes
    row_of_byte = np.repeat(np.arange(len(a)), nbytes)
    src = offs[:-1][row_of_byte] + 4 + (np.arange(int(nbytes.sum())) - byte_start[row_of_byte])
    bits = np.unpackbits(data[src])
    pos = np.arange(len(bits)) - np.repeat(8 * byte_start, 8 * nbytes)
    chars = bits[pos < np.repeat(lens, 8 * nbytes)] + np.uint8(ord("0"))
    ends = np.cumsum(lens)
    otype = np.int32 if (ends[-1] if len(ends) else 0) < 2**31 else np.int64
    offsets = np.concatenate([[0], ends]).astype(otype)
    null_bitmap = None if valid.all() else pa.array(valid).buffers()[1]
    make = pa.StringArray if otype is np.int32 else pa.LargeStringArray
    out = make.from_buffers(len(a), pa.py_buffer(offsets.tobytes()), pa.py_buffer(chars.tobytes()),
                            null_bitmap, int((~valid).sum()))
    return out if otype is np.int32 else out.cast(pa.string())


def parse_bit_value(s: str, typmod: int, short: str = "bit") -> bytes:
    """'0101' (or B'..'/X'..' forms) to the stored bit value."""
    txt = s
    if txt[:1] in ("b", "B"):
        txt = txt[1:]
    if txt[:1] in ("x", "X"):
        try:
            bits = "".join(f"{int(c, 16):04b}" for c in txt[1:])
        except ValueError:
            bad = next(c for c in txt[1:] if c not in "0123456789abcdefABCDEF")
            raise InvalidTextRepresentation(f'"{bad}" is not a valid hexadecimal digit') from None
    else:
        bad = next((c for c in txt if c not in "01"), None)
        if bad is not None:
            raise InvalidTextRepresentation(f'"{bad}" is not a valid binary digit')
        bits = txt
    if typmod > 0 and short == "bit" and len(bits) != typmod:
        raise StringDataLengthMismatch(
            f"bit string length {len(bits)} does not match type bit({typmod})")
    if typmod > 0 and short == "varbit" and len(bits) > typmod:
        raise StringDataRightTruncation(f"bit string too long for type bit varying({typmod})")
    packed = np.packbits(np.frombuffer(bits.encode(), np.uint8) - ord("0")) if bits else b""
    return len(bits).to_bytes(4, "big") + bytes(packed)


def _parse_bits_of_one_length(chars: np.ndarray, a: pa.Array, t: SqlType) -> pa.Array:
    """parse_bit for rows of one length, no NULLs: a (rows, bits) matrix of '0'/'1' bytes."""
    n, w = chars.shape
    digits = chars - np.uint8(ord("0"))
    if (digits > 1).any() or (t.typmod > 0 and (w != t.typmod if t.short == "bit" else w > t.typmod)):
        return _parse_bits_by_value(a, t)  # (its errors: every row has this length)
    nb = (w + 7) // 8
    out = np.empty((n, 4 + nb), np.uint8)
    out[:, :4] = np.frombuffer(np.array([w], ">u4").tobytes(), np.uint8)
    out[:, 4:] = np.packbits(digits, axis=1)
    offsets = (np.arange(n + 1, dtype=np.int64) * (4 + nb)).astype(np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out)])


def _parse_bits_by_value(a: pa.Array, t: SqlType) -> pa.Array:
    """bit_in value by value (each distinct text once): the B'..' / X'..' forms and errors."""
    vals = {s: parse_bit_value(s, t.typmod, t.short) for s in set(a.drop_null().to_pylist())}
    return pa.array([None if s is None else vals[s] for s in a.to_pylist()], pa.binary())


def parse_bit(a: pa.Array, t: SqlType) -> pa.Array:
    """bit_in over a column of '0101' texts: the digits packed for every row at once (the
    B'..' / X'..' forms and malformed texts, value by value, with their errors).

        >>> from sqlvec.functions.vectors import types as V
        >>> parse_bit(pa.array(["101", None, "", "110000001"]), V.VARBIT).to_pylist()[0]
        b'\\x00\\x00\\x00\\x03\\xa0'
    """
    a = _combine(a)
    if not pa.types.is_string(a.type):
        a = a.cast(pa.string())
    valid = V.valid_mask(a)
    offs = np.frombuffer(a.buffers()[1], np.int32, count=a.offset + len(a) + 1)[a.offset:].astype(np.int64)
    lens = np.where(valid, np.diff(offs), 0)
    data = np.frombuffer(a.buffers()[2], np.uint8) if a.buffers()[2] is not None else np.zeros(0, np.uint8)
    w = int(lens[0]) if len(lens) else 0
    if valid.all() and (lens == w).all() and w and offs[-1] - offs[0] == w * len(a):
        return _parse_bits_of_one_length(data[offs[0]:offs[-1]].reshape(len(a), w), a, t)
    src = np.repeat(offs[:-1] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
    digits = data[src] - np.uint8(ord("0"))
    if not valid.any() or (digits > 1).any():  # (B'..', X'..', a bad digit: value by value)
        return _parse_bits_by_value(a, t)
    if t.typmod > 0:
        bad = valid & ((lens != t.typmod) if t.short == "bit" else (lens > t.typmod))
        if bad.any():  # (the first row's: PostgreSQL's first failing value)
            k = int(np.argmax(bad))
            if t.short == "bit":
                raise StringDataLengthMismatch(f"bit string length {int(lens[k])} does not match type bit({t.typmod})")
            raise StringDataRightTruncation(f"bit string too long for type bit varying({t.typmod})")
    nbytes = (lens + 7) // 8
    dst = np.repeat(8 * (np.cumsum(nbytes) - nbytes) - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
    bits = np.zeros(8 * int(nbytes.sum()), np.uint8)
    bits[dst] = digits
    packed = np.packbits(bits)
    size = np.where(valid, 4 + nbytes, 0)
    out_offs = np.concatenate([[0], np.cumsum(size)])
    out = np.zeros(int(out_offs[-1]), np.uint8)
    head = out_offs[:-1][valid]
    out[head[:, None] + np.arange(4)] = lens[valid].astype(">u4").view(np.uint8).reshape(-1, 4)
    body = np.repeat(head + 4 - (np.cumsum(nbytes[valid]) - nbytes[valid]), nbytes[valid]) + np.arange(len(packed))
    out[body] = packed
    nulls = int((~valid).sum())
    return pa.Array.from_buffers(pa.binary(), len(a), [
        None if not nulls else pa.py_buffer(np.packbits(valid, bitorder="little")),
        pa.py_buffer(out_offs.astype(np.int32)), pa.py_buffer(out)], null_count=nulls)


# ---- codecs carried by the types ------------------------------------------------------

@dataclass(frozen=True)
class DenseCodec(V.DenseStorage):
    """Text I/O + storage of vector, halfvec, bf16vec and int8vec."""

    def format_text(self, a: pa.Array, t: SqlType) -> pa.Array:
        return format_dense(a, t)

    def parse_text(self, a: pa.Array, t: SqlType) -> pa.Array:
        return parse_dense(a, t)


@dataclass(frozen=True)
class SparseCodec(V.FixedStorage):
    """Text I/O + storage of sparsevec."""

    def format_text(self, a: pa.Array, t: SqlType) -> pa.Array:
        return format_sparse(a, t)

    def parse_text(self, a: pa.Array, t: SqlType) -> pa.Array:
        return parse_sparse(a, t)


@dataclass(frozen=True)
class BitCodec(V.FixedStorage):
    """Text I/O of PostgreSQL's bit and bit varying ('0101')."""

    def format_text(self, a: pa.Array, t: SqlType) -> pa.Array:
        return format_bit(a, t)

    def parse_text(self, a: pa.Array, t: SqlType) -> pa.Array:
        return parse_bit(a, t)


VECTOR_CODEC = DenseCodec(pa.float32())
VECTOR = V.with_codec(V.VECTOR, VECTOR_CODEC)
HALFVEC = V.with_codec(V.HALFVEC, DenseCodec(pa.float16()))
BF16VEC = V.with_codec(V.BF16VEC, DenseCodec(pa.uint16()))
INT8VEC = V.with_codec(V.INT8VEC, DenseCodec(pa.int8()))
SPARSEVEC = V.with_codec(V.SPARSEVEC, SparseCodec(V.SPARSE_ARROW))
BIT = V.with_codec(T.BIT, BitCodec(pa.binary()))
VARBIT = V.with_codec(T.VARBIT, BitCodec(pa.binary()))
ALL_TYPES = (VECTOR, HALFVEC, BF16VEC, INT8VEC, SPARSEVEC)
