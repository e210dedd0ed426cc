"""LangChain's PGVector store (langchain_postgres, use_jsonb=True) against `sqlvec serve`:
its statements as SQLAlchemy renders them for psycopg 3, in its order: the extension under
an advisory lock, the two tables and their indexes, an upsert, similarity search with each
kind of metadata filter it emits (jsonb_path_match on a jsonpath cast for comparisons,
->> IN for $in, ? for $exists, LIKE), and a delete. Each answer is checked against the
distances computed here."""

from __future__ import annotations

import json
import uuid

import numpy as np
import psycopg

COLLECTION = uuid.UUID("5f3c1a2e-1111-4a4a-9b9b-123456789abc")
SEARCH = """SELECT langchain_pg_embedding.id AS langchain_pg_embedding_id,
 langchain_pg_embedding.document AS langchain_pg_embedding_document,
 langchain_pg_embedding.embedding <=> %(embedding_1)s AS distance
FROM langchain_pg_embedding JOIN langchain_pg_collection
 ON langchain_pg_embedding.collection_id = langchain_pg_collection.uuid
WHERE langchain_pg_embedding.collection_id = %(collection_id_1)s::UUID AND {where}
ORDER BY distance ASC
 LIMIT %(param_9)s::INTEGER"""
DOCS = [("a", [1, 2, 3], "alpha", {"topic": "x", "n": 3}),
        ("b", [3, 2, 1], "beta", {"topic": "y", "n": 5}),
        ("c", [1, 0, 0], "gamma", {"topic": "x", "n": 9, "extra": True}),
        ("d", [0, 1, 1], "delta", {"topic": "z", "n": 1})]


def _cos(q, v):
    q, v = np.asarray(q, float), np.asarray(v, float)
    return 1 - q @ v / np.linalg.norm(q) / np.linalg.norm(v)


def _expected(q, keep, k=4):
    ranked = sorted((_cos(q, v), i) for i, v, _doc, meta in DOCS if keep(meta))
    return [i for _d, i in ranked[:k]]


def test_langchain_pgvector_statements(server):
    con = psycopg.connect(server.dsn, autocommit=True)
    con.execute("SELECT pg_advisory_xact_lock(1573678846307946496);"
                "CREATE EXTENSION IF NOT EXISTS vector;")
    con.execute("CREATE TABLE langchain_pg_collection (uuid UUID NOT NULL, name VARCHAR NOT "
                "NULL, cmetadata JSON, PRIMARY KEY (uuid), UNIQUE (name))")
    con.execute("CREATE TABLE langchain_pg_embedding (id VARCHAR NOT NULL, collection_id UUID, "
                "embedding VECTOR(3), document VARCHAR, cmetadata JSONB, PRIMARY KEY (id), "
                "FOREIGN KEY(collection_id) REFERENCES langchain_pg_collection (uuid) "
                "ON DELETE CASCADE)")
    con.execute("CREATE INDEX ix_cmetadata_gin ON langchain_pg_embedding "
                "USING gin (cmetadata jsonb_path_ops)")
    con.execute("CREATE UNIQUE INDEX ix_langchain_pg_embedding_id ON langchain_pg_embedding (id)")
    con.execute("INSERT INTO langchain_pg_collection (uuid, name, cmetadata) VALUES "
                "(%(uuid)s::UUID, %(name)s::VARCHAR, %(cmetadata)s::JSON)",
                {"uuid": COLLECTION, "name": "docs", "cmetadata": "{}"})
    upsert = ("INSERT INTO langchain_pg_embedding (id, collection_id, embedding, document, "
              "cmetadata) VALUES (%(id)s::VARCHAR, %(collection_id)s::UUID, %(embedding)s, "
              "%(document)s::VARCHAR, %(cmetadata)s::JSONB) ON CONFLICT (id) DO UPDATE SET "
              "embedding = excluded.embedding, document = excluded.document, "
              "cmetadata = excluded.cmetadata")
    with con.cursor() as cur:
        cur.executemany(upsert, [
            {"id": i, "collection_id": COLLECTION, "embedding": str(v), "document": "old",
             "cmetadata": json.dumps(m)} for i, v, _doc, m in DOCS])
        cur.executemany(upsert, [  # (again: every row updated in place)
            {"id": i, "collection_id": COLLECTION, "embedding": str(v), "document": doc,
             "cmetadata": json.dumps(m)} for i, v, doc, m in DOCS])
    q = [1, 1, 2]

    def search(where, params, keep):
        rows = con.execute(SEARCH.format(where=where), {
            "embedding_1": str(q), "collection_id_1": COLLECTION, "param_9": 4,
            **params}).fetchall()
        assert [r[0] for r in rows] == _expected(q, keep)
        assert all(r[1] == next(d for i, _v, d, _m in DOCS if i == r[0]) for r in rows)
        assert np.allclose([r[2] for r in rows], [_cos(q, next(v for i, v, *_ in DOCS
                                                               if i == r[0])) for r in rows])

    match = ("jsonb_path_match(langchain_pg_embedding.cmetadata, CAST(%(param_1)s AS "
             "JSONPATH), CAST(%(param_2)s::JSONB AS JSONB))")
    for path, value, keep in (
            ("$.n > $value", 2, lambda m: m["n"] > 2),
            ("$.topic == $value", "x", lambda m: m["topic"] == "x"),
            ("$.n <= $value", 3, lambda m: m["n"] <= 3),
            ("$.topic != $value", "y", lambda m: m["topic"] != "y"),
            ("$.extra == $value", True, lambda m: m.get("extra") is True)):
        search(match, {"param_1": path, "param_2": json.dumps({"value": value})}, keep)
    search(f"({match}) AND (langchain_pg_embedding.cmetadata ->> %(cmetadata_1)s) IN "
           "(%(param_3_1)s::VARCHAR, %(param_3_2)s::VARCHAR)",
           {"param_1": "$.n >= $value", "param_2": json.dumps({"value": 3}),
            "cmetadata_1": "topic", "param_3_1": "x", "param_3_2": "z"},
           lambda m: m["n"] >= 3 and m["topic"] in ("x", "z"))
    search("(langchain_pg_embedding.cmetadata ? %(cmetadata_1)s)", {"cmetadata_1": "extra"},
           lambda m: "extra" in m)
    search("(langchain_pg_embedding.cmetadata ->> %(cmetadata_1)s) LIKE %(param_1)s::VARCHAR",
           {"cmetadata_1": "topic", "param_1": "%y%"}, lambda m: "y" in m["topic"])
    con.execute("DELETE FROM langchain_pg_embedding WHERE langchain_pg_embedding.id "
                "IN (%(id_1_1)s::VARCHAR)", {"id_1_1": "a"})
    con.execute("DELETE FROM langchain_pg_collection WHERE langchain_pg_collection.uuid = "
                "%(uuid_1)s::UUID", {"uuid_1": COLLECTION})
    assert con.execute("SELECT count(*) FROM langchain_pg_embedding").fetchone() == (0,)
    con.close()
