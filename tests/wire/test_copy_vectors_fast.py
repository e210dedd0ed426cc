"""COPY of pgvector columns: the vectorised binary and text paths load what they are given,
and refuse what pgvector's receive/input functions refuse, with its words.

Binary tuples are built with numpy (fixed-width rows) or struct (rows of mixed widths);
the loads go through CopyIn in small pieces with a small flush size, so values are decoded
chunk by chunk (text chunks are read in place, not copied).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from sqlvec.core.errors import SqlError
from sqlvec.session import Database, Session
from sqlvec.wire.copy import BINARY_SIGNATURE, CopyIn, parse_copy
from tests.support.rows import run

HEADER = BINARY_SIGNATURE + bytes(8)
TRAILER = b"\xff\xff"


@pytest.fixture
def session():
    db = Database.open(None)
    s = Session(db)
    run(s, "CREATE EXTENSION IF NOT EXISTS vector")
    yield s
    s.close()
    db.close()


def copy_in(s: Session, sql: str, data: bytes, piece: int = 997, flush: int = 4096) -> int:
    cmd = parse_copy(sql)
    c = CopyIn(s, cmd, s.prepare(f"SELECT * FROM {cmd.target}", [], "").columns)
    c.FLUSH_BYTES = flush
    for i in range(0, len(data), piece):
        c.feed(data[i:i + piece])
    return c.finish()


def rows_numpy(x: np.ndarray, first: int = 0) -> bytes:
    """(id int4, emb vector) tuples of one width, as bench/ann_multi.copy_rows builds them."""
    dim = x.shape[1]
    rec = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("id", ">i4"), ("l2", ">i4"),
                    ("dim", ">i2"), ("unused", ">i2"), ("v", ">f4", (dim,))])
    out = np.zeros(len(x), rec)
    out["nf"], out["l1"], out["l2"], out["dim"] = 2, 4, 4 + 4 * dim, dim
    out["id"], out["v"] = np.arange(first, first + len(x)), x
    return out.tobytes()


def row(i: int, v: list[float] | None, elem: str = ">f4", dim: int | None = None,
        unused: int = 0) -> bytes:
    if v is None:
        return struct.pack("!hiii", 2, 4, i, -1)
    body = struct.pack("!hh", len(v) if dim is None else dim, unused) + \
        np.asarray(v, elem).tobytes()
    return struct.pack("!hii", 2, 4, i) + struct.pack("!i", len(body)) + body


def binary_error(s: Session, table: str, rows: list[bytes]) -> tuple[str, str]:
    with pytest.raises(SqlError) as e:
        copy_in(s, f"COPY {table} FROM STDIN WITH (FORMAT binary)",
                HEADER + b"".join(rows) + TRAILER)
    assert run(s, f"SELECT count(*) FROM {table}") == [(0,)]  # nothing of it is kept
    return e.value.sqlstate.value, str(e.value)


def test_binary_fixed_rows_load_exact_float32(session):
    x = np.random.default_rng(1).standard_normal((3000, 16)).astype(np.float32)
    run(session, "CREATE TABLE t (id int, emb vector(16))")
    assert copy_in(session, "COPY t FROM STDIN WITH (FORMAT binary)",
                   HEADER + rows_numpy(x) + TRAILER, piece=4093) == 3000
    got = run(session, "SELECT id, emb FROM t ORDER BY id")
    assert [r[0] for r in got] == list(range(3000))
    assert np.array_equal(np.array([r[1] for r in got], np.float32), x)


def test_binary_mixed_widths_and_nulls_in_an_unconstrained_column(session):
    run(session, "CREATE TABLE t (id int, emb vector)")
    rows = [row(1, [1, 2, 3]), row(2, None), row(3, [0.5]), row(4, [-1, 2.25, 3, 4])]
    assert copy_in(session, "COPY t FROM STDIN WITH (FORMAT binary)",
                   HEADER + b"".join(rows) + TRAILER) == 4
    assert run(session, "SELECT id, emb::text FROM t ORDER BY id") == [
        (1, "[1,2,3]"), (2, None), (3, "[0.5]"), (4, "[-1,2.25,3,4]")]


def test_binary_halfvec(session):
    run(session, "CREATE TABLE h (id int, emb halfvec(2))")
    rows = [row(1, [1.5, -2], ">f2"), row(2, None), row(3, [0.25, 8], ">f2")]
    assert copy_in(session, "COPY h FROM STDIN WITH (FORMAT binary)",
                   HEADER + b"".join(rows) + TRAILER) == 3
    assert run(session, "SELECT id, emb::text FROM h ORDER BY id") == [
        (1, "[1.5,-2]"), (2, None), (3, "[0.25,8]")]


@pytest.mark.parametrize("rows, sqlstate, message", [
    ([row(1, [1, 2, 3]), row(2, [1, 2, 3])], "22000", "expected 2 dimensions, not 3"),
    ([row(1, [1, 2]), row(2, [1, 2, 3])], "22000", "expected 2 dimensions, not 3"),
    ([row(1, [1, 2]), row(2, [np.nan, 2])], "22000", "NaN not allowed in vector"),
    ([row(1, [1, 2]), row(2, [1, -np.inf])], "22000", "infinite value not allowed in vector"),
    ([row(1, [np.inf, 2]), row(2, [1, 2, 3])], "22000", "infinite value not allowed in vector"),
    ([row(1, [1, 2]), row(2, [1, 2, 3]), row(3, [np.nan, 2])], "22000",
     "expected 2 dimensions, not 3"),
    ([row(1, [1, 2], dim=3), row(2, [1, 2], dim=3)], "22P03", "incorrect binary data format"),
    ([row(1, [1, 2]), row(2, [1, 2], unused=7)], "22000", "expected unused to be 0, not 7"),
    ([row(1, [1, np.nan]), row(2, [1, 2], unused=7)], "22000", "NaN not allowed in vector"),
    ([row(1, [1, 2], unused=-1), row(2, [1, 2, 3])], "22000", "expected unused to be 0, not -1"),
    ([row(1, [1, 2], unused=1), row(2, [1])], "22000", "expected unused to be 0, not 1"),
    ([row(1, []), row(2, [])], "22000", "vector must have at least 1 dimension"),
    ([row(1, [1, 2]), row(2, [1, 2], dim=5)], "22P03", "incorrect binary data format"),
])
def test_binary_errors_as_pgvector(session, rows, sqlstate, message):
    run(session, "CREATE TABLE t (id int, emb vector(2))")
    assert binary_error(session, "t", rows) == (sqlstate, message)


def test_binary_halfvec_nan_is_refused(session):
    run(session, "CREATE TABLE h (id int, emb halfvec(2))")
    assert binary_error(session, "h", [row(1, [1, np.nan], ">f2")]) == (
        "22000", "NaN not allowed in halfvec")


def test_text_vectors_in_chunks_with_escapes_and_the_end_marker(session):
    x = np.random.default_rng(2).standard_normal((500, 8)).astype(np.float32)
    run(session, "CREATE TABLE t (id int, note text, emb vector(8))")
    lines = [f"{i}\tn{i}\t[" + ",".join(repr(float(v)) for v in x[i]) + "]" for i in range(500)]
    lines[400] = "400\ta\\tb\\\\c\t[" + ",".join(repr(float(v)) for v in x[400]) + "]"
    lines[401] = "401\t\\N\t\\N"
    data = ("\n".join(lines) + "\n\\.\n").encode()
    assert copy_in(session, "COPY t FROM STDIN", data) == 500
    got = run(session, "SELECT id, note, emb FROM t ORDER BY id")
    assert got[400][1] == "a\tb\\c" and got[7][1] == "n7" and got[401][1:] == (None, None)
    keep = [i for i in range(500) if i != 401]
    assert np.array_equal(np.array([got[i][2] for i in keep], np.float32), x[keep])


def test_text_vectors_with_blanks_take_the_bulk_path_as_pgvector_reads_them(session):
    import pyarrow as pa

    from sqlvec.wire.copy_arrays import plain_float_lists

    col = pa.array(["[1, 2.5,-3]", "[ 0.5 ,\v4 ]", None])
    offsets, values = plain_float_lists(col, b"[]", pa.float32())
    assert offsets.tolist() == [0, 3, 5, 5] and values.tolist() == [1, 2.5, -3, 0.5, 4]
    assert plain_float_lists(pa.array(["[1 2]"]), b"[]", pa.float32()) is None
    assert plain_float_lists(pa.array(["{1, 2}"]), b"{}", pa.float32()) is None  # arrays: no
    run(session, "CREATE TABLE t (id int, emb vector(2))")
    assert copy_in(session, "COPY t FROM STDIN", b"1\t[1, 2]\n2\t[ 3 ,4 ]\n") == 2
    assert run(session, "SELECT id, emb::text FROM t ORDER BY id") == [(1, "[1,2]"), (2, "[3,4]")]


@pytest.mark.parametrize("literal, sqlstate, message", [
    ("[1,2,3]", "22000", "expected 2 dimensions, not 3"),
    ("[1,NaN]", "22000", "NaN not allowed in vector"),
    ("[1,2", "22P02", 'malformed vector literal: "[1,2"'),
])
def test_text_errors_as_pgvector(session, literal, sqlstate, message):
    run(session, "CREATE TABLE t (id int, emb vector(2))")
    data = "".join(f"{i}\t[{i},1]\n" for i in range(300)) + f"300\t{literal}\n"
    with pytest.raises(SqlError) as e:
        copy_in(session, "COPY t FROM STDIN", data.encode())
    assert (e.value.sqlstate.value, str(e.value)) == (sqlstate, message)
    assert run(session, "SELECT count(*) FROM t") == [(0,)]


def _bf16(v: list[float]) -> np.ndarray:
    return (np.asarray(v, np.float32).view(np.uint32) >> 16).astype(np.uint16)


def test_binary_bf16vec_and_int8vec_columns(session):
    run(session, "CREATE TABLE b (id int, e bf16vec(2), k int8vec)")

    def tup(i: int, e: list[float] | None, k: list[int], dim: int | None = None) -> bytes:
        out = struct.pack("!hii", 3, 4, i)
        if e is None:
            out += struct.pack("!i", -1)
        else:
            be = struct.pack("!hh", len(e) if dim is None else dim, 0) + \
                _bf16(e).astype(">u2").tobytes()
            out += struct.pack("!i", len(be)) + be
        bk = struct.pack("!hh", len(k), 0) + np.asarray(k, ">i1").tobytes()
        return out + struct.pack("!i", len(bk)) + bk

    rows = [tup(1, [1.5, -2], [3, -4]), tup(2, None, [127]), tup(3, [0.25, 8], [-128, 0, 1])]
    assert copy_in(session, "COPY b FROM STDIN WITH (FORMAT binary)",
                   HEADER + b"".join(rows) + TRAILER) == 3
    assert run(session, "SELECT id, e::text, k::text FROM b ORDER BY id") == [
        (1, "[1.5,-2]", "[3,-4]"), (2, None, "[127]"), (3, "[0.25,8]", "[-128,0,1]")]
    run(session, "DELETE FROM b")
    for bad, message in [([tup(1, [1, np.nan], [1])], "NaN not allowed in bf16vec"),
                         ([tup(1, [1, 2], [1]), tup(2, [np.inf, 2], [1])],
                          "infinite value not allowed in bf16vec"),
                         ([tup(1, [1, 2, 3], [1])], "expected 2 dimensions, not 3")]:
        assert binary_error(session, "b", bad) == ("22000", message)
