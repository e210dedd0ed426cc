"""Issue 3: a multidimensional array never reaches a table column (columns hold one-dimensional
arrays): every write path answers 0A000 and changes nothing, never a flattened value or XX000.
1-D arrays keep working on the same paths."""

from __future__ import annotations

import psycopg
import pytest

import sqlvec
from sqlvec.dbapi.exceptions import NotSupportedError

MSG = "multidimensional arrays are not supported in table columns"

STATEMENTS = [
    "insert into a values (1, '{{1,2},{3,4}}')",
    "insert into a values (1, '{1}'), (2, '{{1,2},{3,4}}')",  # batched literal column
    "insert into a values (1, ARRAY[[1,2],[3,4]])",
    "insert into a select 1, '{{5,6},{7,8}}'::int[]",
    "insert into a select 1, ARRAY[[5,6],[7,8]]",
    "update a set x = ARRAY[[1,2],[3,4]]",
    "update a set x = '{{1,2},{3,4}}'",
    "insert into a values (9, '{9}') on conflict (id) do update set x = ARRAY[[1,2],[3,4]]",
    "insert into a values (9, '{9}') on conflict (id) do update set x = '{{1,2},{3,4}}'",
    "merge into a using (select 9 as id) s on a.id = s.id when matched then update set x = ARRAY[[1,2]]",
    "merge into a using (select 7 as id) s on a.id = s.id when not matched then insert values (7, '{{1,2}}')",
    "create table b as select ARRAY[[1,2],[3,4]] as y",
    "create table b as select 1 as id, '{{1,2},{3,4}}'::int[] as y",
]


@pytest.fixture
def con():
    c = sqlvec.connect()
    c.cursor().execute("create table a (id int primary key, x int4[])")
    c.cursor().execute("insert into a values (9, '{1,2}')")
    c.commit()
    yield c
    c.close()


@pytest.mark.parametrize("sql", STATEMENTS)
def test_embedded_write_paths_refuse(con, sql):
    cur = con.cursor()
    with pytest.raises(NotSupportedError, match=MSG) as err:
        cur.execute(sql)
    assert err.value.sqlstate == "0A000"
    con.rollback()
    cur.execute("select id, x, array_dims(x) from a order by id")
    assert cur.fetchall() == [(9, [1, 2], "[1:2]")]
    cur.execute("select count(*) from pg_class where relname = 'b'")
    assert cur.fetchall() == [(0,)]


def test_embedded_nested_list_parameter(con):
    cur = con.cursor()
    with pytest.raises(NotSupportedError, match=MSG):
        cur.execute("insert into a values (1, %s)", ([[1, 2], [3, 4]],))
    con.rollback()
    cur.execute("insert into a values (1, %s), (2, '{}'), (3, NULL)", ([3, 4],))
    cur.execute("update a set x = array_append(x, 5) where id = 9")
    cur.execute("select id, x from a order by id")
    assert cur.fetchall() == [(1, [3, 4]), (2, []), (3, None), (9, [1, 2, 5])]
    cur.execute("select '{{1,2},{3,4}}'::int[], array_dims(ARRAY[[1,2],[3,4]])")  # values still 2-D
    assert cur.fetchall() == [([[1, 2], [3, 4]], "[1:2][1:2]")]


def test_column_default(con):
    cur = con.cursor()
    cur.execute("create table d (id int, x int[] default ARRAY[[1,2],[3,4]])")
    with pytest.raises(NotSupportedError, match=MSG):
        cur.execute("insert into d (id) values (1)")


def test_vector_arrays_unaffected(con):
    cur = con.cursor()
    cur.execute("create table v (id int, e vector(2), es vector(2)[], f float4[])")
    cur.execute("insert into v values (1, '[1,2]', ARRAY['[1,2]'::vector(2), '[3,4]'], '{1.5,2}')")
    cur.execute("select e::text, array_length(es, 1), f from v")
    assert cur.fetchall() == [("[1,2]", 2, [1.5, 2.0])]


def test_wire_text_params_and_copy(server):
    with psycopg.connect(server.dsn, autocommit=True) as c:
        c.execute("create table w (id int, x int4[])")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match=MSG):
            c.execute("insert into w values (1, %s::text::int4[])", ("{{1,2},{3,4}}",))
        with pytest.raises(psycopg.errors.FeatureNotSupported, match=MSG):
            c.execute("insert into w values (%s, %s)", (1, "{{1,2},{3,4}}"), prepare=True)
        with pytest.raises(psycopg.errors.FeatureNotSupported, match=MSG):
            c.execute("insert into w values (%s, %s)", (1, [[1, 2], [3, 4]]))
        with c.cursor() as cur:
            with pytest.raises(psycopg.errors.FeatureNotSupported, match=MSG):
                with cur.copy("copy w from stdin") as cp:
                    cp.write("1\t{1,2}\n2\t{{1,2},{3,4}}\n")
            with pytest.raises(psycopg.errors.FeatureNotSupported, match=MSG):
                with cur.copy("copy w from stdin (format csv)") as cp:
                    cp.write('1,"{{1,2},{3,4}}"\n')
            with cur.copy("copy w from stdin (format csv)") as cp:
                cp.write('1,"{1,2}"\n')
        with pytest.raises(psycopg.errors.FeatureNotSupported, match=MSG):
            c.execute("insert into w values (%b, %b)", (1, [[1, 2], [3, 4]]))
        with c.cursor() as cur, pytest.raises(psycopg.errors.FeatureNotSupported, match=MSG):
            with cur.copy("copy w from stdin (format binary)") as cp:
                cp.set_types(["int4", "int4[]"])
                cp.write_row((1, [[1, 2], [3, 4]]))
        c.execute("insert into w values (%s, %s)", (2, [3, 4]))
        assert c.execute("select id, x from w order by id").fetchall() == [(1, [1, 2]), (2, [3, 4])]


def test_table_rows_backstop():
    """exec/dml's row conversion refuses a nested list for a 1-D column (never Arrow XX000)."""
    import pyarrow as pa

    from sqlvec.catalog.objects import ColumnDef, TableDef
    from sqlvec.core import types as T
    from sqlvec.core.errors import FeatureNotSupported
    from sqlvec.exec.dml import _as_table_rows
    from sqlvec.session.database import build_registries

    regs = build_registries()
    tdef = TableDef(1, "public", "t", (ColumnDef("x", T.array_of(T.INT4).oid),))
    flat = _as_table_rows(tdef, pa.table({"x": pa.array([[1, 2]], pa.list_(pa.int64()))}), regs)
    assert flat.column(0).type == pa.list_(pa.int32())
    nested = pa.table({"x": pa.array([[[1, 2]]], pa.list_(pa.list_(pa.int32())))})
    with pytest.raises(FeatureNotSupported, match=MSG):
        _as_table_rows(tdef, nested, regs)
