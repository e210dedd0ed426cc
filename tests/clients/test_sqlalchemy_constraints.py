"""SQLAlchemy's inspector reads foreign keys, expression / partial unique indexes and
materialized views from sqlvec's catalog as it does from PostgreSQL's."""

from __future__ import annotations

import pytest

sa = pytest.importorskip("sqlalchemy")
psycopg = pytest.importorskip("psycopg")


def test_inspector_sees_constraints(server):
    url = f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{server.database}"
    with psycopg.connect(host=server.host, port=server.port, user=server.user, dbname=server.database,
                         autocommit=True) as con:
        for t in ("sa_c", "sa_p2", "sa_p"):
            con.execute(f"DROP TABLE IF EXISTS {t} CASCADE")
        con.execute("DROP MATERIALIZED VIEW IF EXISTS sa_mv")
        con.execute("CREATE TABLE sa_p (id int PRIMARY KEY, email text)")
        con.execute("CREATE UNIQUE INDEX sa_p_email ON sa_p (lower(email)) WHERE id > 0")
        con.execute("CREATE TABLE sa_p2 (x int, y int, PRIMARY KEY (x, y))")
        con.execute("CREATE TABLE sa_c (id int, pid int REFERENCES sa_p ON DELETE CASCADE, a int, b int, "
                    "CONSTRAINT sa_c_ab FOREIGN KEY (a, b) REFERENCES sa_p2 (x, y) MATCH FULL)")
        con.execute("CREATE MATERIALIZED VIEW sa_mv AS SELECT id FROM sa_p")
    engine = sa.create_engine(url)
    try:
        ins = sa.inspect(engine)
        fks = sorted(ins.get_foreign_keys("sa_c"), key=lambda f: f["name"])
        assert [(f["name"], f["constrained_columns"], f["referred_table"], f["referred_columns"], f["options"])
                for f in fks] == [
            ("sa_c_ab", ["a", "b"], "sa_p2", ["x", "y"], {"match": "FULL"}),
            ("sa_c_pid_fkey", ["pid"], "sa_p", ["id"], {"ondelete": "CASCADE"}),
        ]
        idx = ins.get_indexes("sa_p")
        assert [(i["name"], i["unique"], i["expressions"], i["dialect_options"]["postgresql_where"])
                for i in idx] == [("sa_p_email", True, ["lower(email)"], "id > 0")]
        assert "sa_mv" in ins.get_materialized_view_names()
        assert "sa_mv" not in ins.get_table_names()
    finally:
        engine.dispose()


def test_pgvector_halfvec_and_binary_expression_indexes(server):
    """pgvector-python's documented SQLAlchemy forms: an Index on func.cast(col, HALFVEC(n))
    and on a cast of binary_quantize(col), and queries ordering by the same expressions;
    the index serves them and the inspector reads them back as expressions."""
    pgv = pytest.importorskip("pgvector.sqlalchemy")
    from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "sa_vec_items"
        id = mapped_column(sa.Integer, primary_key=True)
        embedding = mapped_column(pgv.VECTOR(3))

    half = sa.func.cast(Item.embedding, pgv.HALFVEC(3))
    bq = sa.func.cast(sa.func.binary_quantize(Item.embedding), pgv.BIT(3))
    sa.Index("sa_vec_half", half.label("embedding"), postgresql_using="hnsw",
             postgresql_with={"m": 16, "ef_construction": 64},
             postgresql_ops={"embedding": "halfvec_cosine_ops"})
    sa.Index("sa_vec_bq", bq.label("embedding"), postgresql_using="hnsw",
             postgresql_ops={"embedding": "bit_hamming_ops"})
    url = f"postgresql+psycopg://{server.user}@{server.host}:{server.port}/{server.database}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as c:
            c.execute(sa.text("CREATE EXTENSION IF NOT EXISTS vector"))
            c.execute(sa.text("DROP TABLE IF EXISTS sa_vec_items"))
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            s.add_all([Item(id=i, embedding=v) for i, v in
                       enumerate([[1, 1, 1], [2, 2, 2.5], [1, 1, 2], [-1, 2, 0], [3, -1, 0.5]])])
            s.commit()
            s.execute(sa.text("SET enable_seqscan = off"))  # (the index, however small the table)
            near = s.scalars(sa.select(Item.id).order_by(half.cosine_distance([1, 2, 3])).limit(3))
            assert list(near) == [2, 1, 0]
            q = sa.func.binary_quantize(sa.cast([1, -2, 3], pgv.VECTOR(3)))
            near = s.scalars(sa.select(Item.id).order_by(bq.hamming_distance(q), Item.id).limit(2))
            assert list(near) == [4, 0]
            plan = s.execute(sa.text("EXPLAIN SELECT id FROM sa_vec_items ORDER BY "
                                     "embedding::halfvec(3) <=> '[1,2,3]' LIMIT 3")).scalars().all()
            assert any("hnsw index sa_vec_half (halfvec_cosine_ops)" in line for line in plan), plan
        idx = sorted(sa.inspect(engine).get_indexes("sa_vec_items"), key=lambda i: i["name"])
        assert [(i["name"], i["expressions"]) for i in idx] == [
            ("sa_vec_bq", ["((binary_quantize(embedding))::bit(3))"]),
            ("sa_vec_half", ["((embedding)::halfvec(3))"])]
        assert [c["name"] for c in sa.inspect(engine).get_columns("sa_vec_items")] == ["id", "embedding"]
    finally:
        engine.dispose()
