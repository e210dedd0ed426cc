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
