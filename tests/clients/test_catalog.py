"""pg_catalog / information_schema relations and system functions on an embedded session."""

from __future__ import annotations

import pytest

from sqlvec.catalog.system.columns import COLUMNS
from sqlvec.core.errors import UndefinedTable
from sqlvec.session import Database, Session


def _rows(result) -> list[tuple]:
    out: list[tuple] = []
    for b in getattr(result, "batches", []):
        out.extend(zip(*[c.to_pylist() for c in b.columns]))
    return out


@pytest.fixture
def q():
    s = Session(Database.open(None))

    def run(sql: str) -> list[tuple]:
        return _rows(list(s.execute(sql))[-1])

    run.session = s  # type: ignore[attr-defined]
    run("create table items (id int primary key, name varchar(20) not null default 'x', "
        "price numeric(10,2), tags text[], created timestamptz, check (id > 0))")
    run("create index items_name_idx on items (name)")
    run("create schema other")
    run("create table other.t2 (a bigint)")
    return run


def test_every_relation_resolves_qualified_and_unqualified(q):
    for schema, name in COLUMNS:
        cols = [c for c, _ in COLUMNS[(schema, name)]]
        q(f"select * from {schema}.{name} limit 1")
        if schema == "pg_catalog":
            q(f"select {', '.join(cols[:3])} from {name} limit 1")


def test_pg_class_is_current(q):
    assert ("items", "r", 2200) in q("select relname, relkind, relnamespace from pg_class")
    assert ("items_pkey", "i") in q("select relname, relkind from pg_catalog.pg_class")
    q("drop table other.t2")
    assert not q("select 1 from pg_class where relname = 't2'")
    q("create table t3 (x int)")
    assert q("select relnatts from pg_class where relname = 't3'") == [(1,)]


def test_pg_attribute_types_and_defaults(q):
    rows = q("select attname, pg_catalog.format_type(atttypid, atttypmod), attnotnull, atthasdef "
             "from pg_attribute where attrelid = 'items'::regclass and attnum > 0 order by attnum")
    assert rows == [("id", "integer", True, False), ("name", "character varying(20)", True, True),
                    ("price", "numeric(10,2)", False, False), ("tags", "text[]", False, False),
                    ("created", "timestamp with time zone", False, False)]
    assert q("select adbin from pg_attrdef where adrelid = 'items'::regclass") == [("'x'::character varying",)]


def test_constraints_and_indexes(q):
    cons = q("select conname, contype, pg_get_constraintdef(oid) from pg_constraint "
             "where conrelid = 'items'::regclass order by contype desc")
    assert cons[0] == ("items_pkey", "p", "PRIMARY KEY (id)")
    assert cons[1][1] == "c" and "id > 0" in cons[1][2]
    idx = q("select c.relname, i.indisprimary, i.indisunique, pg_get_indexdef(i.indexrelid) "
            "from pg_index i join pg_class c on c.oid = i.indexrelid "
            "where i.indrelid = 'items'::regclass order by c.relname")
    assert idx == [("items_name_idx", False, False,
                    "CREATE INDEX items_name_idx ON public.items USING btree (name)"),
                   ("items_pkey", True, True,
                    "CREATE UNIQUE INDEX items_pkey ON public.items USING btree (id)")]


def test_information_schema(q):
    assert ("other",) in q("select schema_name from information_schema.schemata")
    assert q("select table_name, table_type from information_schema.tables "
             "where table_schema = 'public'") == [("items", "BASE TABLE")]
    cols = q("select column_name, data_type, is_nullable, character_maximum_length "
             "from information_schema.columns where table_name = 'items' order by ordinal_position")
    assert cols[:2] == [("id", "integer", "NO", None), ("name", "character varying", "NO", 20)]
    assert cols[3][1] == "ARRAY"
    assert q("select constraint_type from information_schema.table_constraints "
             "where table_name = 'items' order by 1") == [("CHECK",), ("PRIMARY KEY",)]
    assert q("select column_name from information_schema.key_column_usage "
             "where constraint_name = 'items_pkey'") == [("id",)]


def test_session_functions(q):
    (v, db, schema, user, schemas, sp) = q(
        "select version(), current_database(), current_schema(), current_user, "
        "current_schemas(true), current_setting('search_path')")[0]
    assert v.startswith("PostgreSQL 15") and db == "sqlvec" and schema == "public"
    assert user == "sqlvec" and schemas == ["pg_catalog", "public"] and sp == '"$user", public'
    assert q("select set_config('application_name', 'abc', false)") == [("abc",)]
    assert q("show application_name") == [("abc",)]
    assert q("select pg_get_userbyid(10), pg_encoding_to_char(6)") == [("sqlvec", "UTF8")]
    assert q("select has_table_privilege('items', 'select')") == [(True,)]


def test_reg_casts_and_lookups(q):
    oid = q("select oid from pg_class where relname = 'items'")[0][0]
    assert q("select 'items'::regclass::oid, 'public.items'::regclass::oid") == [(oid, oid)]
    assert q("select to_regclass('nope'), to_regclass('items')::oid") == [(None, oid)]
    assert q("select 23::regtype::text, 'int4'::regtype::oid, to_regtype('text')::oid") == \
        [("integer", 23, 25)]
    assert q("select 'pg_class'::regclass::oid") == [(1259,)]
    with pytest.raises(UndefinedTable):
        q("select 'nope'::regclass")
    assert q("select pg_table_is_visible('items'::regclass), "
             "pg_table_is_visible('other.t2'::regclass)") == [(True, False)]
    assert q("select 'other.t2'::regclass::text") == [("other.t2",)]


def test_pg_type_lists_vector_types(q):
    sql = "select typname, typnamespace from pg_type where typname in ('vector', 'int4', '_text')"
    assert sorted(q(sql)) == [("_text", 11), ("int4", 11), ("vector", 11)]
    q("create extension vector")  # pgvector's types then live in public, as with pgvector
    assert sorted(q(sql)) == [("_text", 11), ("int4", 11), ("vector", 2200)]
    q("create table v (e vector(3))")
    assert q("select format_type(atttypid, atttypmod) from pg_attribute "
             "where attrelid = 'v'::regclass and attnum = 1") == [("vector(3)",)]


def test_pg_database_roles_settings(q):
    assert ("sqlvec",) in q("select datname from pg_database")
    assert q("select rolname, rolsuper from pg_roles where rolname = 'sqlvec'") == [("sqlvec", True)]
    assert q("select setting from pg_settings where name = 'server_encoding'") == [("UTF8",)]
    assert q("select usename from pg_stat_activity") == [("sqlvec",)]
    assert q("select pg_size_pretty(10240::bigint), pg_size_pretty(123456789::bigint)") == \
        [("10 kB", "118 MB")]


def test_reg_columns_print_names(q):
    assert q("select 'items'::regclass, 23::regtype, 'pg_class'::regclass, "
             "'public'::regnamespace, 10::regrole") == [("items", "integer", "pg_class", "public", "sqlvec")]
    assert q("select c.oid::regclass from pg_class c where c.relname = 't2'") == [("other.t2",)]
    assert q("select 'array_in'::regproc::oid") == [(750,)]


def test_view_columns_are_bound(q):
    q("create view v_items as select id, name as label, price * 2 as double_price from items")
    assert q("select attname, format_type(atttypid, atttypmod) from pg_attribute "
             "where attrelid = 'v_items'::regclass order by attnum") == \
        [("id", "integer"), ("label", "character varying(20)"), ("double_price", "numeric")]
    assert q("select column_name, data_type from information_schema.columns "
             "where table_name = 'v_items' order by ordinal_position") == \
        [("id", "integer"), ("label", "character varying"), ("double_price", "numeric")]
    assert q("select table_type from information_schema.tables where table_name = 'v_items'") == [("VIEW",)]


def test_pg_stat_activity_lists_live_sessions():
    db = Database.open(None)
    a, b = Session(db, params={"application_name": "app_a"}), Session(db)
    a.backend_pid, b.backend_pid = 11, 22
    list(b.execute("begin"))
    list(b.execute("select 1"))
    rows = _rows(list(a.execute("select pid, application_name, state, query from pg_stat_activity "
                                "order by pid"))[-1])
    assert rows == [(11, "app_a", "active", "select pid, application_name, state, query from "
                     "pg_stat_activity order by pid"), (22, "", "idle in transaction", "select 1")]
    b.close()
    assert _rows(list(a.execute("select count(*) from pg_stat_activity"))[-1]) == [(1,)]


def test_reg_array_casts(q):
    assert q("select a::regtype[]::text[] from (values ('{23,25}'::oid[])) v(a)") == [(["integer", "text"],)]
    rows = q("select proargtypes::regtype[]::text[] from pg_proc where proname = 'format_type'")
    assert rows == [(["oid", "integer"],)]
