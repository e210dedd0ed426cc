"""Binary COPY FROM STDIN decoded with numpy: tuple boundaries, then one Arrow array per column.

Rows with one fixed layout (every field the same length, the common case: no NULLs and
fixed-width values) are cut arithmetically from a 2-D byte view; otherwise a loop per row
records each field's start and length. Each column is then decoded from its bytes at once
(`np.frombuffer(..., '>i8')`, string offsets, pgvector's vector format, 1-D arrays of
fixed-width elements). Types without a vectorised decoder go through the per-value binary
codec and reach the engine as text (cast there with the type's input function).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from sqlvec.core.errors import (
    BadCopyFileFormat,
    CharacterNotInRepertoire,
    DataException,
    InvalidBinaryRepresentation,
)
from sqlvec.core.results import Column

PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
PG_EPOCH_US = PG_EPOCH_DAYS * 86_400_000_000

_FIXED = {  # type short name -> (big-endian numpy dtype, native dtype)
    "int2": (">i2", np.int16), "int4": (">i4", np.int32), "int8": (">i8", np.int64),
    "float4": (">f4", np.float32), "float8": (">f8", np.float64), "oid": (">u4", np.uint32),
    "date": (">i4", np.int32), "timestamp": (">i8", np.int64), "timestamptz": (">i8", np.int64),
    "time": (">i8", np.int64), "bool": ("u1", np.uint8),
}
_STRINGS = frozenset({"text", "varchar", "bpchar", "name", "json"})
_ARRAY_ELEMS = {"_int2": ">i2", "_int4": ">i4", "_int8": ">i8", "_float4": ">f4",
                "_float8": ">f8"}
_VECTORS = {"vector": ">f4", "halfvec": ">f2", "bf16vec": ">u2", "int8vec": ">i1"}
_SPARSE_BITS = frozenset({"bit", "varbit", "sparsevec"})  # copy_binary_sparse


@dataclass
class Fields:
    """Where one column's values lie in the buffer: start offsets and lengths (-1: NULL)."""

    starts: np.ndarray
    lengths: np.ndarray
    stride: int = 0  # > 0: every value has one width and the next row's is `stride` bytes on


@dataclass
class Grid:
    """k values of one width, each `stride` bytes after the last, from `first` in `base`."""

    base: np.ndarray
    first: int
    stride: int
    k: int
    width: int

    def view(self, off: int, dt: str, count: int = 1, step: int = 0) -> np.ndarray:
        """(k, count) items of dtype dt at byte `off` of each value, `step` bytes apart."""
        size = np.dtype(dt).itemsize
        return np.ndarray((self.k, count), dtype=dt, buffer=self.base, offset=self.first + off,
                          strides=(self.stride, step or size))

    def raw(self) -> np.ndarray:
        """The values' bytes back to back."""
        return np.ascontiguousarray(self.view(0, "u1", self.width)).reshape(-1)


def native_decoder(col: Column) -> bool:
    """Whether the column's values are decoded straight to its Arrow type (else: text)."""
    s = col.type.short
    return s in _FIXED or s in _STRINGS or s in ("bytea", "uuid") or s in _ARRAY_ELEMS \
        or s in _VECTORS or s in _SPARSE_BITS


def split_rows(buf: bytes, pos: int, ncols: int, final: bool) -> tuple[list[Fields], int, bool]:
    """Field positions of the complete tuples from `pos`; (fields, end, trailer seen)."""
    u8 = np.frombuffer(buf, np.uint8)
    parts: list[list[Fields]] = []
    seen_end = False
    while True:
        fixed, pos = _fixed_block(u8, buf, pos, ncols)
        if fixed is not None:
            parts.append(fixed)
        chained, pos = _chain_block(u8, pos, ncols)
        if chained is not None:
            parts.append(chained)
        walked, pos, seen_end, stuck = _walk(buf, pos, ncols, limit=2 if chained else 256)
        if walked is not None:
            parts.append(walked)
        if seen_end or stuck:
            break
    if not seen_end and final and pos < len(buf):
        raise BadCopyFileFormat("unexpected EOF in COPY data")
    if not parts:
        empty = np.zeros(0, np.int64)
        return [Fields(empty, empty) for _ in range(ncols)], pos, seen_end
    if len(parts) == 1:
        return parts[0], pos, seen_end
    out = []
    for c in range(ncols):
        out.append(Fields(np.concatenate([p[c].starts for p in parts]),
                          np.concatenate([p[c].lengths for p in parts])))
    return out, pos, seen_end


def _fixed_block(u8: np.ndarray, buf: bytes, pos: int, ncols: int) -> tuple[list[Fields] | None, int]:
    """The longest run of tuples at `pos` that share the first one's layout."""
    if pos + 2 + 4 * ncols > len(buf):
        return None, pos
    nf = struct.unpack_from("!h", buf, pos)[0]
    if nf != ncols:
        return None, pos
    lens, offs, p = [], [], pos + 2
    for _ in range(ncols):
        if p + 4 > len(buf):
            return None, pos
        ln = struct.unpack_from("!i", buf, p)[0]
        if ln < -1:
            return None, pos
        lens.append(ln)
        offs.append(p - pos)
        p += 4 + max(ln, 0)
    width = p - pos
    nmax = (len(buf) - pos) // width
    if nmax < 2:
        return None, pos
    k, window = 0, 64  # windows grow 16x, so a layout change costs O(rows consumed)
    while k < nmax:
        m = min(nmax, k + window) - k
        rows = Grid(u8, pos + k * width, width, m, width)
        ok = rows.view(0, ">i2").reshape(-1) == ncols
        for ln, off in zip(lens, offs):
            ok &= rows.view(off, ">i4").reshape(-1) == ln
        if not ok.all():
            k += int(np.argmin(ok))
            break
        k, window = k + m, window * 16
    if k < 2:
        return None, pos
    base = pos + np.arange(k, dtype=np.int64) * width
    fields = []
    for ln, off in zip(lens, offs):
        fields.append(Fields(base + off + 4, np.full(k, ln, np.int64), width if ln >= 0 else 0))
    return fields, pos + k * width


def _be_i32(u8: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Big-endian int32 at each byte offset of `at` (any alignment) as int64."""
    return u8[at[:, None] + np.arange(4)].view(">i4").reshape(-1).astype(np.int64)


def _chain_block(u8: np.ndarray, pos: int, ncols: int, window: int = 1 << 20,
                 ) -> tuple[list[Fields] | None, int]:
    """The complete, well-formed tuples from `pos` when their layouts vary (NULLs, strings,
    vectors of several dims), found without a loop per row.

    Every offset where a tuple could start (its int16 field count is `ncols`) is a
    candidate; for all candidates at once the fields are stepped over (one vector step per
    column), giving where the next tuple would start. The tuples are the chain of
    candidates from `pos` along those links, collected by pointer doubling (log2(rows)
    gathers). Where the chain stops (trailer, incomplete or malformed tuple, or the end of
    the `window` bytes read at a time, which bounds the candidates' memory) the caller's
    per-row reader takes over. (None, pos) when fewer than 2 tuples."""
    size = min(len(u8), pos + window)
    if size - pos < 2 + 4 * ncols or ncols > 0x7FFF:
        return None, pos
    hi, lo = ncols >> 8, ncols & 0xFF
    tail = u8[pos:size - 1]
    cand = np.flatnonzero((tail == hi) & (u8[pos + 1:size] == lo)).astype(np.int64) + pos
    if len(cand) < 2 or cand[0] != pos:
        return None, pos
    m = len(cand)
    ok = np.ones(m, bool)
    at = cand + 2
    starts = np.empty((ncols, m), np.int64)
    lengths = np.empty((ncols, m), np.int64)
    for c in range(ncols):
        ok &= at + 4 <= size
        at = np.where(ok, at, 0)
        ln = _be_i32(u8, at)
        ok &= ln >= -1
        starts[c], lengths[c] = at + 4, ln
        at = at + 4 + np.maximum(ln, 0)
    ok &= at <= size
    nxt = np.searchsorted(cand, at)  # the candidate where the next tuple starts, if one does
    found = nxt < m
    found[found] = cand[nxt[found]] == at[found]
    link = np.where(ok & found, nxt, m)
    link[(link < m) & ~ok[np.minimum(link, m - 1)]] = m  # (the next one must be whole too)
    link = np.append(link, m)  # m: the end of the chain
    if not ok[0]:
        return None, pos
    chain = np.zeros(1, np.int64)
    step = link
    while True:
        more = step[chain]
        more = more[more < m]
        chain = np.concatenate([chain, more])
        if len(more) < len(chain) - len(more) or len(more) == 0:
            break
        step = step[step]
    if len(chain) < 2:
        return None, pos
    last = int(chain[-1])
    fields = [Fields(starts[c, chain], lengths[c, chain]) for c in range(ncols)]
    return fields, int(at[last])


def _walk(buf: bytes, pos: int, ncols: int, limit: int) -> tuple[list[Fields] | None, int, bool, bool]:
    """Up to `limit` tuples one row at a time; (fields, end, trailer seen, incomplete)."""
    starts: list[list[int]] = [[] for _ in range(ncols)]
    lengths: list[list[int]] = [[] for _ in range(ncols)]
    n, end, stuck, size = 0, False, False, len(buf)
    unpack = struct.unpack_from
    while n < limit:
        if pos + 2 > size:
            stuck = True
            break
        nf = unpack("!h", buf, pos)[0]
        if nf == -1:
            end = True
            pos += 2
            break
        if nf != ncols:
            raise BadCopyFileFormat(f"row field count is {nf}, expected {ncols}")
        p, row_s, row_l = pos + 2, [], []
        for _ in range(ncols):
            if p + 4 > size:
                break
            ln = unpack("!i", buf, p)[0]
            if ln < -1:
                raise BadCopyFileFormat(f"invalid field size {ln}")
            row_s.append(p + 4)
            row_l.append(ln)
            p += 4 + max(ln, 0)
        if len(row_l) < ncols or p > size:
            stuck = True
            break
        for c in range(ncols):
            starts[c].append(row_s[c])
            lengths[c].append(row_l[c])
        pos, n = p, n + 1
    if n == 0:
        return None, pos, end, stuck or end
    return ([Fields(np.array(s, np.int64), np.array(ln, np.int64)) for s, ln in zip(starts, lengths)],
            pos, end, stuck)


def _values(u8: np.ndarray, f: Fields) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(valid mask, lengths of the valid values, their bytes concatenated)."""
    valid = f.lengths >= 0
    if f.stride:
        return valid, f.lengths, _grid(u8, f, valid).raw()
    lens = f.lengths[valid]
    starts = f.starts[valid]
    total = int(lens.sum())
    if total == 0:
        return valid, lens, np.zeros(0, np.uint8)
    w = int(lens[0])
    if (lens == w).all() and len(u8) >= w:  # one width: whole values taken as rows of bytes
        rows = np.lib.stride_tricks.as_strided(u8, (len(u8) - w + 1, w), (1, 1), writeable=False)
        return valid, lens, rows[starts].reshape(-1)
    return valid, lens, u8[_ranges(starts, lens)]


def _starts(lens: np.ndarray) -> np.ndarray:
    """Where each of consecutive runs of these lengths starts (0 first)."""
    out = np.zeros(len(lens), np.int64)
    np.cumsum(lens[:-1], out=out[1:])
    return out


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """starts[i] + 0 .. counts[i] - 1 for every i, concatenated."""
    return np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(starts - _starts(counts), counts)


def _grid(u8: np.ndarray, f: Fields, valid: np.ndarray, width: int | None = None) -> Grid | None:
    """The valid values as a Grid when they all have one width (`width` if given)."""
    if f.stride:
        w = int(f.lengths[0])
        return Grid(u8, int(f.starts[0]), f.stride, len(f.lengths), w) \
            if width is None or w == width else None
    _, lens, flat = _values(u8, f)
    if len(lens) == 0:
        return Grid(flat, 0, max(width or 0, 1), 0, width or 0)
    w = int(lens[0]) if width is None else width
    if not (lens == w).all():
        return None
    return Grid(flat, 0, w, len(lens), w)


def _spread(valid: np.ndarray, vals: np.ndarray, n: int) -> tuple[np.ndarray, pa.Buffer | None]:
    """Values of the valid rows placed at their rows, and a validity bitmap (None: no NULLs)."""
    if valid.all():
        return vals, None
    out = np.zeros((n, *vals.shape[1:]), vals.dtype)
    out[valid] = vals
    return out, pa.py_buffer(np.packbits(valid, bitorder="little"))


def decode_column(buf: bytes, f: Fields, col: Column) -> pa.Array:
    """One column's binary values as an Arrow array of its type (native decoders only)."""
    u8 = np.frombuffer(buf, np.uint8)
    n = len(f.lengths)
    t = col.type
    s = t.short
    arrow = t.arrow
    valid = f.lengths >= 0
    nulls = int(n - valid.sum())
    if nulls == n:
        return pa.nulls(n, arrow)
    bad = InvalidBinaryRepresentation("incorrect binary data format")
    if s in _FIXED:
        be_dt, native = _FIXED[s]
        g = _grid(u8, f, valid, np.dtype(be_dt).itemsize)
        if g is None:
            raise bad
        vals = g.view(0, be_dt).reshape(-1).astype(native)
        if s == "bool":
            vals = vals != 0
        elif s == "date":
            vals = vals + PG_EPOCH_DAYS
        elif s in ("timestamp", "timestamptz"):
            vals = vals + PG_EPOCH_US
        data, bitmap = _spread(valid, vals, n)
        if s == "bool":
            return pa.array(data, pa.bool_(), mask=~valid if nulls else None)
        base = pa.Array.from_buffers(pa.from_numpy_dtype(data.dtype), n,
                                     [bitmap, pa.py_buffer(data)], null_count=nulls)
        return base if base.type == arrow else base.view(arrow)
    if s in _STRINGS or s == "bytea":
        _, _, flat = _values(u8, f)
        full_lens = np.where(valid, f.lengths, 0)
        offsets = np.zeros(n + 1, np.int32)
        np.cumsum(full_lens, out=offsets[1:])
        bitmap = None if not nulls else pa.py_buffer(np.packbits(valid, bitorder="little"))
        kind = pa.binary() if s == "bytea" else pa.string()
        arr = pa.Array.from_buffers(kind, n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(flat)],
                                    null_count=nulls)
        if kind == pa.string():
            try:
                arr.validate(full=True)
            except pa.ArrowInvalid:
                raise CharacterNotInRepertoire('invalid byte sequence for encoding "UTF8"') from None
        return arr if arr.type == arrow else arr.cast(arrow)
    if s == "uuid":
        g = _grid(u8, f, valid, 16)
        if g is None:
            raise bad
        data, bitmap = _spread(valid, g.view(0, "u1", 16), n)
        return pa.Array.from_buffers(pa.binary(16), n, [bitmap, pa.py_buffer(data)],
                                     null_count=nulls).cast(arrow)
    if s in _VECTORS:
        return _vector_column(u8, f, valid, n, s, t.typmod, arrow)
    if s in _ARRAY_ELEMS:
        return _array_column(_grid(u8, f, valid), valid, n, _ARRAY_ELEMS[s], arrow)
    if s in _SPARSE_BITS:
        from sqlvec.wire import copy_binary_sparse as SB

        return SB.sparse_column(u8, f, t) if s == "sparsevec" else SB.bit_column(u8, f, t)
    raise AssertionError(s)


def _vector_column(u8: np.ndarray, f: Fields, valid: np.ndarray, n: int, short: str,
                   typmod: int, arrow: pa.DataType) -> pa.Array:
    """pgvector's binary vector/halfvec (int16 dim, int16 unused, dim big-endian floats):
    one (rows, dim) view converted at once when every value has one width (else the
    values' bytes gathered and split by their dims). Errors as pgvector's receive function:
    a dim that disagrees with the value's length 22P03, another dimension than the column's
    ('expected 3 dimensions, not 2'), NaN or infinity 22000."""
    elem = _VECTORS[short]
    size = np.dtype(elem).itemsize
    bad = InvalidBinaryRepresentation("incorrect binary data format")
    g = _grid(u8, f, valid)
    if g is not None:
        if g.width < 4 or (g.width - 4) % size:
            raise bad
        dim = (g.width - 4) // size
        if not (g.view(0, ">i2") == dim).all():
            raise bad
        dims = np.full(g.k, dim, np.int64)
        unused = g.view(2, ">i2").reshape(-1)
        rows = g.view(4, elem, dim).astype(elem[1:])  # (k, dim): one conversion
        vals = rows.reshape(-1)
    else:
        _, lens, flat = _values(u8, f)
        if (lens < 4).any() or ((lens - 4) % size).any():
            raise bad
        dims = (lens - 4) // size
        starts = np.zeros(len(lens), np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        head = (flat[starts].astype(np.int64) << 8) | flat[starts + 1]
        if not (np.where(head >= 1 << 15, head - (1 << 16), head) == dims).all():
            raise bad
        unused = flat[np.minimum(starts[:, None] + [2, 3], len(flat) - 1)].copy().view(">i2")
        keep = np.ones(len(flat), bool)
        for k in range(4):
            keep[starts + k] = False
        vals = flat[keep].view(elem).astype(elem[1:])
    _check_values(vals, dims, unused.reshape(-1), typmod, short)
    if g is not None:
        return _list_array(rows, valid, n, rows.shape[1], arrow)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(_spread(valid, dims, n)[0], out=offsets[1:])
    mask = pa.array(~valid) if not valid.all() else None
    out = pa.ListArray.from_arrays(pa.array(offsets), pa.array(vals), mask=mask)
    if pa.types.is_fixed_size_list(arrow):
        raise bad  # (a typmod makes every width equal: not reached past its check)
    return out if out.type == arrow else out.cast(arrow)


def _check_values(vals: np.ndarray, dims: np.ndarray, unused: np.ndarray, typmod: int,
                  short: str) -> None:
    """pgvector's checks of received vectors (flat values; each row's dim and unused
    field), reported for the first row that fails one, in its receive function's order:
    no dimensions, another dimension than typmod, unused not 0, a NaN/infinite element
    (all 22000, as PostgreSQL + pgvector 0.6.2 answer)."""
    nonfinite = _nonfinite(vals, short)
    finite = nonfinite is None or not nonfinite.any()
    bad = (dims < 1) | (unused != 0)
    if typmod > 0:
        bad |= dims != typmod
    if finite and not bad.any():
        return
    if not finite:
        bad[np.repeat(np.arange(len(dims)), dims)[nonfinite]] = True
    k = int(np.argmax(bad))
    if dims[k] < 1:
        raise DataException(f"{short} must have at least 1 dimension")
    if typmod > 0 and dims[k] != typmod:
        raise DataException(f"expected {typmod} dimensions, not {int(dims[k])}")
    if unused[k] != 0:
        raise DataException(f"expected unused to be 0, not {int(unused[k])}")
    start = int(dims[:k].sum())
    x = vals[start:start + int(dims[k])]
    if short == "bf16vec":  # bit patterns: all-ones exponent, NaN with a mantissa
        nan = bool(((x & 0x7F80) == 0x7F80)[(x & 0x7F) != 0].any())
    else:
        nan = bool(np.isnan(x).any())
    raise DataException(f"{'NaN' if nan else 'infinite value'} not allowed in {short}")


def _nonfinite(vals: np.ndarray, short: str) -> np.ndarray | None:
    """Which elements are NaN or infinite (None: the type has neither)."""
    if short == "int8vec":
        return None
    if short == "bf16vec":
        return (vals & 0x7F80) == 0x7F80
    return ~np.isfinite(vals)


def _list_array(vals: np.ndarray, valid: np.ndarray, n: int, dim: int, arrow: pa.DataType,
                ) -> pa.Array:
    """Rows of `dim` values each (only the valid rows) as a list / fixed-size list array."""
    data, _ = _spread(valid, vals.reshape(len(vals), dim), n)
    values = pa.array(data.reshape(-1))
    mask = pa.array(~valid) if not valid.all() else None
    if pa.types.is_fixed_size_list(arrow):
        if arrow.list_size != dim:
            raise InvalidBinaryRepresentation("incorrect binary data format")
        out = pa.FixedSizeListArray.from_arrays(values, dim, mask=mask)
    else:
        offsets = pa.array(np.arange(n + 1, dtype=np.int32) * dim)
        out = pa.ListArray.from_arrays(offsets, values, mask=mask)
    return out if out.type == arrow else out.cast(arrow)


def _array_column(g: Grid | None, valid: np.ndarray, n: int, elem: str, arrow: pa.DataType,
                  ) -> pa.Array:
    """1-D arrays of one length, no NULL elements (e.g. float4[] embeddings)."""
    w = np.dtype(elem).itemsize
    if g is None or g.width < 20 or (g.width - 20) % (4 + w):
        raise Fallback
    dim = (g.width - 20) // (4 + w)
    head = g.view(0, ">i4", 5)
    if not ((head[:, 0] == 1).all() and (head[:, 1] == 0).all() and (head[:, 3] == dim).all()
            and (head[:, 4] == 1).all()):
        raise Fallback
    if not (g.view(20, ">i4", dim, 4 + w) == w).all():
        raise InvalidBinaryRepresentation("incorrect binary data format")
    return _list_array(g.view(24, elem, dim, 4 + w).astype(elem[1:]), valid, n, dim, arrow)


class Fallback(Exception):
    """The column's values need the per-value decoder (a layout the fast path skips)."""


__all__ = ["Fields", "split_rows", "decode_column", "native_decoder", "Fallback"]
