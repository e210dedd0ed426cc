"""pgvector's Python adapters (psycopg 3 and asyncpg), text and binary, against sqlvec serve."""

from __future__ import annotations

import asyncio

import numpy as np
import psycopg
import pyarrow as pa
import pytest

from sqlvec.functions.vectors.types import SPARSE_ARROW
from sqlvec.wire.vector_codecs import decode, encode

pgvector_psycopg = pytest.importorskip("pgvector.psycopg")
asyncpg = pytest.importorskip("asyncpg")
from tests.support.asyncpg_vectors import vector_connection  # noqa: E402


def _np(v) -> np.ndarray:
    """pgvector gives numpy arrays or Vector objects depending on version and format."""
    return np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v)


def test_codec_roundtrip_all_types():
    cases = [
        ("vector", pa.array([[1.0, -2.5], [3.0, 4.0]], pa.list_(pa.float32(), 2))),
        ("vector", pa.array([[1.0], [2.0, 3.0, 4.0]], pa.list_(pa.float32()))),
        ("halfvec", pa.array([[1.5, 2.0]], pa.list_(pa.float16()))),
        ("int8vec", pa.array([[1, -128, 127]], pa.list_(pa.int8()))),
        ("sparsevec", pa.array([{"dim": 5, "indices": [0, 4], "values": [1.5, -2.0]}], SPARSE_ARROW)),
        ("bit", pa.array([b"\x00\x00\x00\x03\xa0"], pa.binary())),
    ]
    for short, arr in cases:
        out = [decode(b, short) for b in encode(arr, short).to_list()]
        if short == "vector":  # (a float32 numpy array: the ANN path searches with it as is)
            assert all(type(v) is np.ndarray and v.dtype == np.float32 for v in out)
            out = [v.tolist() for v in out]
        want = arr.to_pylist()
        if short == "halfvec":
            want = [[float(x) for x in v] for v in want]
        assert out == want, short
    assert encode(cases[0][1], "vector").to_list()[0] == b"\x00\x02\x00\x00?\x80\x00\x00\xc0 \x00\x00"


def test_psycopg_register_vector_text_and_binary(server):
    from pgvector import Bit, HalfVector, SparseVector

    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS vector")
        pgvector_psycopg.register_vector(con)
        con.execute("CREATE TABLE pv_items (id int, emb vector(3), h halfvec(3), s sparsevec(5), "
                    "b bit(4))")
        emb = np.array([1.5, 2, 3], dtype=np.float32)
        con.execute("INSERT INTO pv_items VALUES (%s, %s, %s, %s, %s)",
                    (1, emb, HalfVector([1, 2, 3]), SparseVector({0: 1.5, 3: 2}, 5), Bit("1010")))
        con.execute("INSERT INTO pv_items VALUES (2, '[4,5,6]', '[4,5,6]', '{1:1}/5', '0001')")
        for binary in (False, True):
            with con.cursor(binary=binary) as cur:
                rows = cur.execute("SELECT id, emb, h, s, b FROM pv_items ORDER BY id").fetchall()
                assert np.array_equal(_np(rows[0][1]), emb), binary
                assert rows[0][2].to_list() == [1, 2, 3]
                assert rows[0][3].indices() == [0, 3] and rows[0][3].dimensions() == 5
                b = rows[0][4]
                assert b == ("1010" if not binary else b"\x00\x00\x00\x04\xa0")  # as from PostgreSQL
                got = cur.execute("SELECT id FROM pv_items ORDER BY emb <-> %s LIMIT 1",
                                  (np.array([4, 5, 6.1], dtype=np.float32),)).fetchall()
                assert got == [(2,)]
                d = cur.execute("SELECT emb <=> %s FROM pv_items WHERE id = 1", (emb,)).fetchone()
                assert abs(d[0]) < 1e-6


def test_asyncpg_register_vector_binary(server):
    async def main() -> None:
        async with vector_connection(server) as con:
            await con.execute("CREATE TABLE ap_items (id int, emb vector(3))")
            await con.executemany("INSERT INTO ap_items VALUES ($1, $2)",
                                  [(i, np.array([i, i + 1, i + 2], dtype=np.float32)) for i in range(5)])
            rows = await con.fetch("SELECT id, emb FROM ap_items ORDER BY emb <-> $1 LIMIT 2",
                                   np.array([3, 4, 5], dtype=np.float32))
            assert [r["id"] for r in rows] == [3, 2] or [r["id"] for r in rows] == [3, 4]
            assert np.array_equal(_np(rows[0]["emb"]), np.array([3, 4, 5], dtype=np.float32))

    asyncio.run(main())
