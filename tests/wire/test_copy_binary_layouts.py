"""Binary COPY tuple boundaries: the vectorised split (fixed blocks, candidate chains) finds
exactly the fields a row-by-row reader finds, on layouts that vary from row to row, with
field contents that look like tuple headers, and with a trailer, a cut or a bad tuple."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from sqlvec.core.errors import BadCopyFileFormat
from sqlvec.wire.copy_binary import _chain_block, _walk, split_rows

NCOLS = 3


def tuples(rng: np.random.Generator, n: int, tricky: bool) -> bytes:
    """n tuples (int4, bytea-ish of varying length or NULL, fixed 8-byte or NULL);
    `tricky`: the varying field repeats a tuple's own header bytes."""
    out = []
    lure = struct.pack("!hi", NCOLS, 4)
    for i in range(n):
        a = struct.pack("!ii", 4, i)
        k = int(rng.integers(-1, 12))
        if k < 0:
            b = struct.pack("!i", -1)
        else:
            body = (lure * 4)[:k] if tricky else bytes(rng.integers(0, 256, k, np.uint8))
            b = struct.pack("!i", k) + body
        c = struct.pack("!i", -1) if rng.random() < 0.1 else struct.pack("!iq", 8, i * 3)
        out.append(struct.pack("!h", NCOLS) + a + b + c)
    return b"".join(out)


def reference(buf: bytes, pos: int) -> tuple[list[list[int]], list[list[int]], int, bool]:
    fields, end, seen, _ = _walk(buf, pos, NCOLS, limit=10**9)
    if fields is None:
        return [[]] * NCOLS, [[]] * NCOLS, end, seen
    return ([f.starts.tolist() for f in fields], [f.lengths.tolist() for f in fields], end, seen)


def split(buf: bytes, pos: int, final: bool):
    fields, end, seen = split_rows(buf, pos, NCOLS, final)
    return ([f.starts.tolist() for f in fields], [f.lengths.tolist() for f in fields], end, seen)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tricky", [False, True])
def test_split_matches_the_row_reader(seed, tricky):
    rng = np.random.default_rng(seed)
    pre = b"\x00\x03\x00" * int(rng.integers(0, 3))  # junk before pos (never read)
    body = tuples(rng, 700, tricky)
    buf = pre + body + b"\xff\xff"
    assert split(buf, len(pre), True) == reference(buf, len(pre))
    chained, end = _chain_block(np.frombuffer(buf, np.uint8), len(pre), NCOLS)
    assert len(chained[0].starts) == 700 and end == len(buf) - 2  # all of them, no row loop
    for cut in rng.integers(1, len(body), 5):  # an incomplete last tuple: kept for later
        part = pre + body[:cut]
        got = split(part, len(pre), False)
        want = reference(part, len(pre))
        assert got[:3] == want[:3] and not got[3]
        if got[2] < len(part):  # (cut inside a tuple)
            with pytest.raises(BadCopyFileFormat, match="unexpected EOF"):
                split_rows(part, len(pre), NCOLS, True)


def test_a_bad_tuple_after_varying_ones_is_reported_as_the_row_reader_does():
    rng = np.random.default_rng(9)
    body = tuples(rng, 300, True)
    with pytest.raises(BadCopyFileFormat, match="row field count is 2, expected 3"):
        split_rows(body + struct.pack("!hii", 2, 4, 1) + b"\xff\xff", 0, NCOLS, True)
    with pytest.raises(BadCopyFileFormat, match="invalid field size -5"):
        split_rows(body + struct.pack("!hi", 3, -5) + bytes(20), 0, NCOLS, True)


def test_small_windows_give_the_same_split(monkeypatch):
    from sqlvec.wire import copy_binary as CB

    rng = np.random.default_rng(3)
    buf = tuples(rng, 900, True) + b"\xff\xff"
    want = reference(buf, 0)
    chain = CB._chain_block
    monkeypatch.setattr(CB, "_chain_block", lambda u8, pos, n: chain(u8, pos, n, window=331))
    assert split(buf, 0, True) == want
