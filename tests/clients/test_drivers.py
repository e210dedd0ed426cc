"""Python drivers and libraries against a real sqlvec server (SQLAlchemy compared with PG 15)."""

from __future__ import annotations

import asyncio

import pytest

from tests.clients.conftest import need

DDL = ("create table if not exists people (id integer primary key, name varchar(40) not null, "
       "score double precision)")


def _url(driver: str, host: str, port: int, user: str, db: str) -> str:
    return f"postgresql+{driver}://{user}@{host}:{port}/{db}"


@pytest.fixture(scope="module")
def pg(pg15):
    p = need(pg15)
    return p.host, p.port, p.fresh_database("drivers")


def _reflect(url: str, what: str) -> object:
    sa = pytest.importorskip("sqlalchemy")
    eng = sa.create_engine(url)
    try:
        with eng.begin() as con:
            con.exec_driver_sql(DDL)
            con.exec_driver_sql("create index if not exists people_name_idx on people (name)")
            con.exec_driver_sql("create table if not exists tagged (id integer primary key, "
                                "code varchar(10) unique, qty integer check (qty > 0))")
            con.exec_driver_sql("create or replace view people_names as select id, name from people")
        insp = sa.inspect(eng)
        if what == "tables":
            return insp.get_table_names()
        if what == "schemas":
            return "public" in insp.get_schema_names()
        if what == "columns":
            return [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns("people")]
        if what == "pk":
            return insp.get_pk_constraint("people")["constrained_columns"]
        if what == "uniques":
            return [(u["name"], u["column_names"]) for u in insp.get_unique_constraints("tagged")]
        if what == "checks":
            return [(c["name"], c["sqltext"]) for c in insp.get_check_constraints("tagged")]
        if what == "fks":
            return insp.get_foreign_keys("tagged")
        if what == "views":
            return insp.get_view_names(), [c["name"] for c in insp.get_columns("people_names")]
        return [(i["name"], i["column_names"], bool(i["unique"])) for i in insp.get_indexes("people")]
    finally:
        eng.dispose()


@pytest.mark.parametrize("what", ["tables", "columns", "schemas", "uniques", "checks", "fks", "views",
                                  "pk",
                                  "indexes"])
@pytest.mark.parametrize("driver", ["psycopg", "psycopg2", "pg8000"])
def test_sqlalchemy_inspect_matches_postgresql(driver, what, server, pg):
    pytest.importorskip(driver)
    mine = _reflect(_url(driver, server.host, server.port, server.user, server.database), what)
    theirs = _reflect(_url(driver, pg[0], pg[1], "postgres", pg[2]), what)
    assert mine == theirs


def test_sqlalchemy_orm_round_trip(server):
    sa = pytest.importorskip("sqlalchemy")
    from sqlalchemy.orm import Session, declarative_base

    Base = declarative_base()  # noqa: N806

    class Note(Base):  # type: ignore[valid-type, misc]
        __tablename__ = "orm_notes"
        id = sa.Column(sa.Integer, primary_key=True)
        body = sa.Column(sa.String(100))

    eng = sa.create_engine(_url("psycopg", server.host, server.port, server.user, server.database))
    Base.metadata.create_all(eng)
    with Session(eng) as s:
        s.add_all([Note(id=1, body="a"), Note(id=2, body="b")])
        s.commit()
    with Session(eng) as s:
        assert [n.body for n in s.query(Note).order_by(Note.id)] == ["a", "b"]
    assert sa.inspect(eng).has_table("orm_notes")
    eng.dispose()


def test_pandas_to_sql_read_sql(server):
    pd = pytest.importorskip("pandas")
    sa = pytest.importorskip("sqlalchemy")
    eng = sa.create_engine(_url("psycopg", server.host, server.port, server.user, server.database))
    df = pd.DataFrame({"k": [1, 2, 3], "v": ["x", "y", None], "f": [0.5, 1.5, 2.5]})
    df.to_sql("pd_frame", eng, index=False, if_exists="replace")
    back = pd.read_sql("select k, v, f from pd_frame order by k", eng)
    assert back["k"].tolist() == [1, 2, 3] and back["v"].tolist()[:2] == ["x", "y"]
    assert back["f"].sum() == 4.5
    eng.dispose()


def test_psycopg2_and_pg8000(server):
    psycopg2 = pytest.importorskip("psycopg2")
    con = psycopg2.connect(host=server.host, port=server.port, user=server.user, dbname=server.database)
    con.autocommit = True
    cur = con.cursor()
    cur.execute(DDL)
    cur.execute("insert into people values (%s, %s, %s) on conflict do nothing", (7, "ann", 1.5))
    cur.execute("select name, score from people where id = %s", (7,))
    assert cur.fetchone() == ("ann", 1.5)
    con.close()
    pg8000 = pytest.importorskip("pg8000.native")
    c = pg8000.Connection(server.user, host=server.host, port=server.port, database=server.database)
    assert c.run("select name from people where id = :i", i=7) == [["ann"]]
    assert c.run("select current_database(), current_schema()") == [["sqlvec", "public"]]
    c.close()


def test_psycopg3_text_binary_and_type_info(server):
    psycopg = pytest.importorskip("psycopg")
    from psycopg.types import TypeInfo

    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute(DDL)
        for binary in (False, True):
            row = con.execute("select %s::int + 1, %s::text", (41, "z"), binary=binary).fetchone()
            assert row == (42, "z")
        info = TypeInfo.fetch(con, "vector")
        assert info is not None and info.name == "vector"
        assert TypeInfo.fetch(con, "int4").oid == 23


def test_asyncpg_introspection(server):
    asyncpg = pytest.importorskip("asyncpg")

    async def main() -> None:
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database)
        try:
            await con.execute(DDL)
            assert await con.fetchval("select current_setting('server_encoding')") == "UTF8"
            st = await con.prepare("select id, name from people where id = $1")
            assert [a.name for a in st.get_attributes()] == ["id", "name"]
            assert await con.fetchval("select version()")
            assert con.get_server_version().major == 15
        finally:
            await con.close()
    asyncio.run(main())
