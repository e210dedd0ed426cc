"""pgvector's Python adapters, unchanged, over the wire: every type in both directions and
both formats. psycopg 3 with parameters sent binary (%b) and as text (%t), results read
binary and as text; asyncpg (binary codecs) for vector, halfvec, sparsevec and bit; and the
two types pgvector lacks (bf16vec, int8vec) through asyncpg's raw binary codec hooks, whose
bytes must be the layout vector_codecs documents (int16 dim, int16 0, big-endian values)."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import psycopg
import pytest

pgvector_psycopg = pytest.importorskip("pgvector.psycopg")
asyncpg = pytest.importorskip("asyncpg")
from pgvector import Bit, HalfVector, SparseVector, Vector  # noqa: E402

from tests.support.asyncpg_vectors import vector_connection  # noqa: E402


def _np(v) -> np.ndarray:
    return np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v)


@pytest.mark.parametrize("fmt", ["%b", "%t"])
def test_psycopg_parameters_binary_and_text_for_every_type(server, fmt):
    table = "pvb" if fmt == "%b" else "pvt"
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS vector")
        pgvector_psycopg.register_vector(con)
        con.execute(f"CREATE TABLE {table} (id int, emb vector(3), h halfvec(3), s sparsevec(6), b bit(5))")
        rows = [(1, np.array([1.5, -2, 3], np.float32), HalfVector([0.5, 1, -4]),
                 SparseVector({0: 1.5, 5: -2}, 6), Bit("10110")),
                (2, np.array([4, 5, 6], np.float32), HalfVector([4, 5, 6]),
                 SparseVector({2: 1}, 6), Bit("00001"))]
        with con.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} VALUES ({fmt}, {fmt}, {fmt}, {fmt}, {fmt})", rows)
        for binary in (False, True):
            with con.cursor(binary=binary) as cur:
                got = cur.execute(f"SELECT id, emb, h, s, b FROM {table} ORDER BY id").fetchall()
                for g, w in zip(got, rows, strict=True):
                    assert np.array_equal(_np(g[1]), w[1])
                    assert g[2].to_list() == w[2].to_list()
                    assert (g[3].indices(), g[3].values(), g[3].dimensions()) == \
                        (w[3].indices(), w[3].values(), 6)
                # bit has no adapter: text '10110', binary as PostgreSQL's varbit_send
                assert got[0][4] == (b"\x00\x00\x00\x05\xb0" if binary else "10110")
                # each type as the query vector of a search, sent in the same format
                for col, op, q, want in (("emb", "<->", np.array([4, 5, 6.1], np.float32), 2),
                                         ("h", "<=>", HalfVector([1, 2, -8]), 1),
                                         ("s", "<#>", SparseVector({5: -1}, 6), 1),
                                         ("b", "<~>", Bit("00011"), 2)):
                    r = cur.execute(f"SELECT id FROM {table} ORDER BY {col} {op} {fmt} LIMIT 1",
                                    (q,)).fetchall()
                    assert r == [(want,)], (col, binary)


def test_psycopg_binary_results_are_pgvectors_bytes(server):
    """The binary results of vector/halfvec/sparsevec are byte-identical to what pgvector's
    own to_binary writes (pgvector's vector_send, halfvec_send, sparsevec_send)."""
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS vector")
        cur = con.cursor(binary=True)  # no adapter: raw bytes
        got = cur.execute("SELECT '[1.5,-2,3]'::vector, '[0.5,1,-4]'::halfvec, "
                          "'{1:1.5,6:-2}/6'::sparsevec").fetchone()
        assert got[0] == Vector([1.5, -2, 3]).to_binary()
        assert got[1] == HalfVector([0.5, 1, -4]).to_binary()
        assert got[2] == SparseVector({0: 1.5, 5: -2}, 6).to_binary()


def test_asyncpg_every_pgvector_type_binary_and_our_low_precision_types(server):
    async def main() -> None:
        async with vector_connection(server) as con:
            raw = dict(encoder=lambda b: b, decoder=lambda b: b, format="binary")
            await con.set_type_codec("bf16vec", schema="public", **raw)
            await con.set_type_codec("int8vec", schema="public", **raw)
            await con.execute("CREATE TABLE ap5 (id int, emb vector(3), h halfvec(3), s sparsevec(6), "
                              "b bit(5), bf bf16vec(3), i8 int8vec(3))")
            bf = struct.pack(">hh3H", 3, 0, 0x3FC0, 0xC000, 0x4040)  # 1.5, -2, 3 as bfloat16
            i8 = struct.pack(">hh3b", 3, 0, 1, -128, 127)
            await con.executemany(
                "INSERT INTO ap5 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                [(1, np.array([1.5, -2, 3], np.float32), HalfVector([0.5, 1, -4]),
                  SparseVector({0: 1.5, 5: -2}, 6), asyncpg.BitString("10110"), bf, i8),
                 (2, np.array([4, 5, 6], np.float32), HalfVector([4, 5, 6]),
                  SparseVector({2: 1}, 6), asyncpg.BitString("00001"), None, None)])
            r = await con.fetchrow("SELECT * FROM ap5 WHERE id = 1")
            assert np.array_equal(_np(r["emb"]), np.array([1.5, -2, 3], np.float32))
            assert r["h"].to_list() == [0.5, 1, -4]
            assert (r["s"].indices(), r["s"].values(), r["s"].dimensions()) == ([0, 5], [1.5, -2], 6)
            assert r["b"] == asyncpg.BitString("10110")
            assert (r["bf"], r["i8"]) == (bf, i8)
            text = await con.fetchrow("SELECT bf::text, i8::text FROM ap5 WHERE id = 1")
            assert tuple(text) == ("[1.5,-2,3]", "[1,-128,127]")
            assert (await con.fetchrow("SELECT bf, i8 FROM ap5 WHERE id = 2"))[0] is None
            for col, op, q, want in (("emb", "<->", np.array([4, 5, 6.1], np.float32), 2),
                                     ("h", "<=>", HalfVector([1, 2, -8]), 1),
                                     ("s", "<#>", SparseVector({5: -1}, 6), 1),
                                     ("b", "<~>", asyncpg.BitString("00011"), 2),
                                     ("bf", "<->", bf, 1), ("i8", "<=>", i8, 1)):
                rows = await con.fetch(f"SELECT id FROM ap5 ORDER BY {col} {op} $1 LIMIT 1", q)
                assert [x["id"] for x in rows] == [want], col

    asyncio.run(main())


def test_asyncpg_wrong_dimension_is_22000(server):
    """A binary vector parameter into vector(n) is of type vector and assignment-cast, as
    in PostgreSQL (it was typed vector(n): 42804 naming a Python type)."""
    async def main() -> None:
        async with vector_connection(server) as con:
            await con.execute("CREATE TABLE ap5d (id int, emb vector(3))")
            with pytest.raises(asyncpg.DataError, match="expected 3 dimensions, not 2"):
                await con.execute("INSERT INTO ap5d VALUES (1, $1)", np.array([1, 2], np.float32))
            with pytest.raises(asyncpg.DataError, match="expected 3 dimensions, not 4"):
                await con.execute("INSERT INTO ap5d VALUES (1, $1::vector(3))", [1, 2, 3, 4])
            await con.execute("INSERT INTO ap5d VALUES (1, $1)", np.array([1, 2, 3], np.float32))
            await con.execute("UPDATE ap5d SET emb = $1 WHERE id = $2", [4, 5, 6], 1)
            assert await con.fetchval("SELECT emb::text FROM ap5d") == "[4,5,6]"
            rows = await con.fetch("SELECT id FROM ap5d ORDER BY emb <-> $1 LIMIT 1", [1, 1, 1])
            assert [r["id"] for r in rows] == [1]

    asyncio.run(main())
