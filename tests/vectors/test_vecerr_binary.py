"""Binary vector Bind parameters with pgvector's receive errors (vector_recv, halfvec_recv,
sparsevec_recv), over psycopg (pgvector's adapter and hand-built payloads) and asyncpg.
The SQLSTATEs and words were checked against PostgreSQL 15 + pgvector 0.6.2 (vector; the
sparsevec ones are released pgvector's sparsevec_recv)."""

from __future__ import annotations

import asyncio
import struct

import numpy as np
import psycopg
import pytest
from psycopg.adapt import Dumper
from psycopg.pq import Format

pgvector_psycopg = pytest.importorskip("pgvector.psycopg")
asyncpg = pytest.importorskip("asyncpg")
from tests.support.asyncpg_vectors import vector_connection  # noqa: E402

NAN, INF = float("nan"), float("inf")
VEC = [  # (payload, SQLSTATE, message) as PostgreSQL + pgvector 0.6.2 answer
    (struct.pack(">hhf", 1, 0, NAN), "22000", "NaN not allowed in vector"),
    (struct.pack(">hhff", 2, 0, 1, -INF), "22000", "infinite value not allowed in vector"),
    (struct.pack(">hhf", 1, 7, 1), "22000", "expected unused to be 0, not 7"),
    (struct.pack(">hhf", 1, 7, NAN), "22000", "expected unused to be 0, not 7"),
    (struct.pack(">hh", 0, 7), "22000", "vector must have at least 1 dimension"),
    (struct.pack(">hh", -1, 0), "22000", "vector must have at least 1 dimension"),
    (struct.pack(">hhf", 2, 0, 1), "08P01", "insufficient data left in message"),
    (struct.pack(">hhff", 1, 0, 1, 2), "22P03", "incorrect binary data format in bind parameter 1"),
    (struct.pack(">hh", 16001, 0), "54000", "vector cannot have more than 16000 dimensions"),
]
HALF = [
    (struct.pack(">hhe", 1, 0, NAN), "22000", "NaN not allowed in halfvec"),
    (struct.pack(">hhe", 1, 3, 1), "22000", "expected unused to be 0, not 3"),
]
SPARSE = [  # int32 dim, nnz, unused, 0-based indices, float4 values
    (struct.pack(">iiiif", 3, 1, 0, 3, 1), "22000", "sparsevec index out of bounds"),
    (struct.pack(">iiiiiff", 3, 2, 0, 1, 1, 1, 2), "22000",
     "sparsevec indices must not contain duplicates"),
    (struct.pack(">iiiiiff", 3, 2, 0, 2, 1, 1, 2), "22000",
     "sparsevec indices must be in ascending order"),
    (struct.pack(">iiiif", 3, 1, 5, 0, 1), "22000", "expected unused to be 0, not 5"),
    (struct.pack(">iiiif", 3, 1, 0, 0, 0), "22000",
     "binary representation of sparsevec cannot contain zero values"),
    (struct.pack(">iiiif", 3, 1, 0, 0, INF), "22000", "infinite value not allowed in sparsevec"),
    (struct.pack(">iii", 0, 0, 0), "22000", "sparsevec must have at least 1 dimension"),
    (struct.pack(">iiiiiff", 1, 2, 0, 0, 1, 1, 2), "54000",
     "sparsevec cannot have more elements than dimensions"),
    (struct.pack(">iiii", 3, 1, 0, 0), "08P01", "insufficient data left in message"),
]


def _raw_dumper(oid: int) -> type:
    class Raw(bytes):
        pass

    class RawDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj):
            return bytes(obj)

    RawDumper.oid = oid
    return Raw, RawDumper


def test_psycopg_binary_payloads_get_pgvectors_errors(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS vector")
        con.execute("CREATE TABLE IF NOT EXISTS vbe (v vector(3))")
        for tname, cases in (("vector", VEC), ("halfvec", HALF), ("sparsevec", SPARSE)):
            oid = con.execute("SELECT oid FROM pg_type WHERE typname = %s", (tname,)).fetchone()[0]
            raw, dumper = _raw_dumper(oid)
            con.adapters.register_dumper(raw, dumper)
            for payload, state, msg in cases:
                with pytest.raises(psycopg.Error) as ei:
                    con.execute("SELECT %b::text", (raw(payload),))
                assert (ei.value.sqlstate, ei.value.diag.message_primary) == (state, msg), payload
            # a good payload of the same type still goes through
        good = struct.pack(">hhfff", 3, 0, 1, 2, 3)
        raw, dumper = _raw_dumper(con.execute("SELECT 'vector'::regtype::oid").fetchone()[0])
        con.adapters.register_dumper(raw, dumper)
        con.execute("INSERT INTO vbe VALUES (%b)", (raw(good),))
        with pytest.raises(psycopg.Error) as ei:
            con.execute("INSERT INTO vbe VALUES (%b)", (raw(struct.pack(">hhff", 2, 0, 1, 2)),))
        assert (ei.value.sqlstate, ei.value.diag.message_primary) == \
            ("22000", "expected 3 dimensions, not 2")
        assert con.execute("SELECT v::text FROM vbe").fetchall() == [("[1,2,3]",)]


def test_psycopg_pgvector_adapter_nan_and_infinity(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("CREATE EXTENSION IF NOT EXISTS vector")
        pgvector_psycopg.register_vector(con)
        for v, msg in ((np.array([1, NAN], np.float32), "NaN not allowed in vector"),
                       (np.array([INF, 1], np.float32), "infinite value not allowed in vector")):
            with pytest.raises(psycopg.errors.DataException, match=msg) as ei:
                con.execute("SELECT %b <-> '[1,1]'::vector", (v,))
            assert ei.value.sqlstate == "22000"


def test_asyncpg_binary_payloads_get_pgvectors_errors(server):
    async def main() -> None:
        async with vector_connection(server, register=False) as con:
            for tname, cases in (("vector", VEC), ("sparsevec", SPARSE)):
                await con.set_type_codec(tname, schema="public", encoder=lambda b: b,
                                         decoder=lambda b: b, format="binary")
                for payload, state, msg in cases:
                    with pytest.raises(asyncpg.PostgresError) as ei:
                        await con.fetchval(f"SELECT $1::{tname}::text", payload)
                    assert (ei.value.sqlstate, ei.value.args[0]) == (state, msg), payload

    asyncio.run(main())
