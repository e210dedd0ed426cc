"""EXPLAIN of a statement with parameters (`EXPLAIN SELECT ... ORDER BY emb <-> $1`), as a
driver sends it: Parse infers the explained statement's parameter types and describes one
text column, QUERY PLAN; Bind gives the values (were 08P01: "requires 0" parameters).
Embedded, and over the wire with psycopg (simple and extended protocol, text and binary)."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector

SETUP = ["CREATE EXTENSION IF NOT EXISTS vector",
         "CREATE TABLE ep (id int, emb vector(3))",
         "INSERT INTO ep SELECT i, array[i, i % 7, 1]::real[]::vector "
         "FROM generate_series(1, 300) i",
         "CREATE INDEX ON ep USING hnsw (emb vector_l2_ops)",
         "SET sqlvec.exact_scan_threshold = 0"]
KNN = "EXPLAIN SELECT id FROM ep ORDER BY emb <-> %s LIMIT 2"
FILTERED = "EXPLAIN ANALYZE SELECT id FROM ep WHERE id < %s ORDER BY emb <-> %s LIMIT 2"


def _check(knn: list[str], filtered: list[str]) -> None:
    assert "Order By: emb <-> $1" in knn and any(
        s.startswith("Strategy: hnsw index ep_emb_idx") for s in knn), knn
    # (psycopg's 50 is an int2: the filter shows ($1)::integer)
    assert any(s.startswith("Filter: (id < ") and "$1" in s for s in filtered) and any(
        s.startswith("Strategy: hnsw ep_emb_idx; 49 of 300 rows pass") for s in filtered), filtered
    assert filtered[0].startswith("Limit (actual time=") and "rows=2 " in filtered[0]


def test_embedded(db):
    for sql in SETUP:
        db(sql)
    lines = lambda rows: [r[0].strip() for r in rows]  # noqa: E731
    _check(lines(db(KNN, ([1.0, 1.0, 1.0],))),
           lines(db(FILTERED, (50, np.array([1, 1, 1], np.float32)))))
    assert lines(db("EXPLAIN SELECT %s::int + 1", ("4",))) == ["Result"]


@pytest.mark.parametrize("prepare", [False, True])
@pytest.mark.parametrize("binary", [False, True])
def test_psycopg(server, prepare, binary):
    with psycopg.connect(server.dsn, autocommit=True) as c:
        c.execute("DROP TABLE IF EXISTS ep")
        for sql in SETUP:
            c.execute(sql)
        register_vector(c)
        cur = c.cursor(binary=binary)
        q = np.array([1, 1, 1], np.float32)
        knn = [r[0].strip() for r in cur.execute(KNN, (q,), prepare=prepare)]
        assert [d.name for d in cur.description] == ["QUERY PLAN"]
        filtered = [r[0].strip() for r in cur.execute(FILTERED, (50, q), prepare=prepare)]
        _check(knn, filtered)
        assert cur.execute("EXPLAIN SELECT 1", prepare=prepare).fetchall() == [("Result",)]
        with pytest.raises(psycopg.Error) as e:  # a value the statement has no slot for
            cur.execute("EXPLAIN SELECT id FROM ep WHERE id = %s", (1, 2), prepare=prepare)
        assert e.value.sqlstate in ("08P01", None)  # (psycopg itself may refuse first)
        assert cur.execute("SELECT count(*) FROM ep").fetchone() == (300,)  # still usable
