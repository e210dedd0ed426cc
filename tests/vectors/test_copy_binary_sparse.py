"""Binary COPY of bit/varbit and sparsevec columns: decoded for the whole column at once
(no per-value receive), the same values as the per-value path, and every malformed or
out-of-typmod value still refused with the receive / input function's words."""

from __future__ import annotations

import random
import struct

import pytest

from sqlvec.core.errors import SqlError
from sqlvec.wire import copy as wire_copy
from tests.support.rows import run
from tests.wire import test_copy_vectors_fast as _vectors_fast
from tests.wire.test_copy_vectors_fast import HEADER, TRAILER, copy_in

session = _vectors_fast.session  # (the fixture: an in-memory session with pgvector's types)


def field(raw: bytes | None) -> bytes:
    return struct.pack("!i", -1) if raw is None else struct.pack("!i", len(raw)) + raw


def bits(text: str, pad: int = 0) -> bytes:
    """PostgreSQL's binary bit/varbit; `pad` sets that many of the last byte's pad bits."""
    nb = (len(text) + 7) // 8
    packed = int(text or "0", 2) << (nb * 8 - len(text)) if text else 0
    raw = bytearray(struct.pack("!i", len(text)) + packed.to_bytes(nb, "big"))
    if pad and nb:
        raw[-1] |= (1 << min(pad, nb * 8 - len(text))) - 1
    return bytes(raw)


def sparse(dim: int, entries: dict[int, float], nnz: int | None = None, unused: int = 0) -> bytes:
    idx = list(entries)
    return struct.pack(f"!iii{len(idx)}i{len(idx)}f", dim, len(idx) if nnz is None else nnz,
                       unused, *idx, *entries.values())


def sparse_text(dim: int, entries: dict[int, float]) -> str:
    return "{" + ",".join(f"{i + 1}:{v:g}" for i, v in entries.items()) + f"}}/{dim}"


def payload(rows: list[tuple[bytes | None, ...]]) -> bytes:
    return HEADER + b"".join(struct.pack("!h", len(r)) + b"".join(map(field, r)) for r in rows) \
        + TRAILER


@pytest.fixture
def no_per_value(monkeypatch):
    """Fail when a column goes through the per-value decoder."""
    def refuse(data, f, col):
        raise AssertionError(f"{col.name} decoded value by value")
    monkeypatch.setattr(wire_copy, "_decode_as_text", refuse)


def test_bit_varbit_sparsevec_columns_load_at_once(session, no_per_value):
    rng = random.Random(3)
    run(session, "CREATE TABLE t (id int4, b bit(10), vb varbit, s sparsevec, s5 sparsevec(5))")
    rows, want = [], []
    for i in range(300):
        b = "".join(rng.choice("01") for _ in range(10))
        vb = "".join(rng.choice("01") for _ in range(rng.randrange(0, 20)))
        dim = rng.randrange(1, 12)
        ent = {k: rng.choice([-1.5, 0.25, 3.0]) for k in sorted(rng.sample(range(dim), rng.randrange(0, dim + 1)))}
        ent5 = {k: 1.0 + k for k in sorted(rng.sample(range(5), rng.randrange(0, 4)))}
        nulls = [rng.random() < 0.1 for _ in range(4)]
        rows.append((struct.pack("!i", i), None if nulls[0] else bits(b, pad=i % 3),
                     None if nulls[1] else bits(vb, pad=i % 2), None if nulls[2] else sparse(dim, ent),
                     None if nulls[3] else sparse(5, ent5)))
        want.append((i, None if nulls[0] else b, None if nulls[1] else vb,
                     None if nulls[2] else sparse_text(dim, ent), None if nulls[3] else sparse_text(5, ent5)))
    assert copy_in(session, "COPY t FROM STDIN (FORMAT binary)", payload(rows), piece=251, flush=2048) == 300
    assert run(session, "SELECT id, b::text, vb::text, s::text, s5::text FROM t ORDER BY id") == want
    # the pad bits were cleared (as bit_recv): equal to the same value typed in
    b0, vb0 = want[1][1], want[1][2]
    assert run(session, f"SELECT count(*) FROM t WHERE id = 1 AND b = B'{b0}' AND vb = B'{vb0}'") == [(1,)]


@pytest.mark.parametrize("typ, value, sqlstate, message", [
    ("bit(4)", bits("101"), "22026", "bit string length 3 does not match type bit(4)"),
    ("varbit(2)", bits("101"), "22001", "bit string too long for type bit varying(2)"),
    ("varbit", struct.pack("!i", 9) + b"\xff", "08P01", None),
    ("sparsevec", sparse(3, {2: 1.0, 1: 2.0}), "22000", "sparsevec indices must be in ascending order"),
    ("sparsevec", sparse(3, {1: 1.0, 3: 2.0}), "22000", "sparsevec index out of bounds"),
    ("sparsevec", sparse(3, {0: 0.0}), "22000", "binary representation of sparsevec cannot contain zero values"),
    ("sparsevec", sparse(3, {0: float("nan")}), "22000", "NaN not allowed in sparsevec"),
    ("sparsevec", sparse(2, {0: 1.0}, unused=4), "22000", "expected unused to be 0, not 4"),
    ("sparsevec", sparse(0, {}), "22000", "sparsevec must have at least 1 dimension"),
    ("sparsevec(5)", sparse(4, {0: 1.0}), "22000", "expected 5 dimensions, not 4"),
])
def test_refused_as_the_receive_function(session, typ, value, sqlstate, message):
    run(session, f"CREATE TABLE e (id int4, x {typ})")
    good = (struct.pack("!i", 1), bits("1011") if typ == "bit(4)" else bits("1")
            if "bit" in typ else sparse(5, {0: 1.0}))
    with pytest.raises(SqlError) as e:
        copy_in(session, "COPY e FROM STDIN (FORMAT binary)",
                payload([good, (struct.pack("!i", 2), value)]))
    assert e.value.sqlstate == sqlstate
    if message is not None:
        assert e.value.message == message
    assert run(session, "SELECT count(*) FROM e") == [(0,)]
