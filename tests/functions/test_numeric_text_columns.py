"""Unconstrained numeric table columns hold PostgreSQL's text of each value (NUMERIC_TEXT):
each value keeps its own scale, NaN and +-Infinity, through storage, keys, sorting, grouping,
joins and the comparisons (expected values are PostgreSQL 15's; numeric.slt checks them
against it). A data directory written when such columns were decimal128(38, 16) stays
readable as it is."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

import sqlvec
from sqlvec.core.textio_numeric import numeric_key, numeric_text_of, parse_numeric_text
from sqlvec.dbapi.exceptions import IntegrityError


@pytest.fixture()
def cur():
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    yield con.cursor()
    con.close()


def _rows(cur, sql):
    cur.execute(sql)
    return cur.fetchall()


def test_values_keep_their_scale(cur):
    cur.execute("create table t(id int, n numeric)")
    cur.execute("insert into t values (1, 1.50), (2, 2.000), (3, 3), (4, NULL), (5, '-0.0'), (6, ' +007.250 ')")
    assert _rows(cur, "select n::text from t order by id") == [("1.50",), ("2.000",), ("3",), (None,), ("0.0",),
                                                                ("7.250",)]
    assert _rows(cur, "select n from t where id = 1") == [(Decimal("1.50"),)]
    # ordering, grouping, DISTINCT and equality by value (1.5 = 1.50), each row's own text shown
    cur.execute("insert into t values (7, 1.5), (8, 2)")
    assert _rows(cur, "select n::text as s from t where n is not null order by n, id") == \
        [("0.0",), ("1.50",), ("1.5",), ("2.000",), ("2",), ("3",), ("7.250",)]
    assert _rows(cur, "select count(*) from t group by n order by n nulls first") == [(1,), (1,), (2,), (2,), (1,), (1,)]
    assert _rows(cur, "select count(distinct n) from t") == [(5,)]
    assert _rows(cur, "select id from t where n = 1.5 order by id") == [(1,), (7,)]
    assert _rows(cur, "select id from t where n > 1.6 and n < 3 order by id") == [(2,), (8,)]
    assert _rows(cur, "select a.id, b.id from t a join t b on a.n = b.n and a.id < b.id order by 1") == \
        [(1, 7), (2, 8)]
    assert _rows(cur, "select min(n)::text, max(n)::text from t") == [("0.0", "7.250")]


def test_more_digits_than_decimal128_holds(cur):
    cur.execute("create table t(n numeric)")
    big = "123456789012345678901234567890123456789012.000000000000000000000000000001"
    cur.execute(f"insert into t values ({big}), (0.1)")
    assert _rows(cur, "select n::text from t order by n") == [("0.1",), (big,)]


def test_nan_and_infinity(cur):
    cur.execute("create table t(id int, n numeric)")
    cur.execute("insert into t values (1, 'NaN'), (2, 'Infinity'), (3, '-inf'), (4, 5), (5, 'nan')")
    assert _rows(cur, "select n::text as s from t order by n, id") == \
        [("-Infinity",), ("5",), ("Infinity",), ("NaN",), ("NaN",)]
    assert _rows(cur, "select count(*) from t where n = 'NaN'") == [(2,)]
    assert _rows(cur, "select count(*) from t where n > 1e300") == [(3,)]  # Infinity and NaN
    assert _rows(cur, "select min(n)::text, max(n)::text from t") == [("-Infinity", "NaN")]
    assert _rows(cur, "select 'NaN'::numeric = 'NaN'::numeric, 'Infinity'::numeric > 1e30") == [(True, True)]
    assert _rows(cur, "select n::float8 from t where id in (1, 2, 3) order by id")[1:] == [(float("inf"),),
                                                                                        (float("-inf"),)]


def test_unique_keys_compare_by_value(cur):
    cur.execute("create table u(n numeric primary key, v text)")
    cur.execute("insert into u values (1.50, 'a'), (2, 'b')")
    with pytest.raises(IntegrityError):
        cur.execute("insert into u values (1.5, 'dup')")
    cur.execute("insert into u values (2.0, 'c') on conflict (n) do update set v = 'upd'")
    assert _rows(cur, "select n::text, v from u order by n") == [("1.50", "a"), ("2", "upd")]
    assert _rows(cur, "select v from u where n = 1.500") == [("a",)]  # the key lookup


def test_key_orders_as_the_values():
    text = parse_numeric_text(pa.array(["-Infinity", "-12.5", "-12.45", "-1", "-0.001", "0", "0.00", "0.001",
                                        "0.0011", "1", "1.0", "9.99", "10", "1e30", "Infinity", "NaN", None]))
    keys = numeric_key(text).to_pylist()
    values = text.to_pylist()
    for i in range(len(values) - 2):
        a, b = Decimal(values[i]), Decimal(values[i + 1])
        if a.is_nan() or b.is_nan():
            continue
        assert (keys[i] < keys[i + 1]) == (a < b) and (keys[i] == keys[i + 1]) == (a == b), (values[i], values[i + 1])
    assert keys[-2] > keys[-3] and keys[-1] is None  # NaN above everything, NULL stays NULL
    assert numeric_text_of(pa.array([1.5, float("nan"), float("-inf")])).storage.to_pylist() == \
        ["1.5", "NaN", "-Infinity"]


def test_old_decimal_column_stays_readable(tmp_path):
    """A table written when unconstrained numeric was stored as decimal128(38, 16): its
    catalog entry has no numeric_text key and its storage column that decimal type."""
    from sqlvec.storage import Store

    path = str(tmp_path / "db")
    con = sqlvec.connect(path)
    c = con.cursor()
    c.execute("create table old(id int, n numeric(38, 16))")
    c.execute("insert into old values (1, 1.5), (2, 2.25)")
    con.commit()
    con.close()
    store = Store.open(path)
    txn = store.begin()
    d = txn.catalog_get("rel/public/old")
    for col in d["columns"]:
        col.pop("numeric_text", None)
        if col["name"] == "n":
            col["typmod"] = -1  # unconstrained, as the old catalog said
    txn.catalog_put("rel/public/old", d)
    txn.commit()
    store.close()
    con = sqlvec.connect(path)
    c = con.cursor()
    c.execute("insert into old values (3, 0.125)")
    assert _rows(c, "select id, n, n::text, n + 1 from old order by n desc") == [
        (2, Decimal("2.25"), "2.25", Decimal("3.25")), (1, Decimal("1.5"), "1.5", Decimal("2.5")),
        (3, Decimal("0.125"), "0.125", Decimal("1.125"))]
    assert _rows(c, "select sum(n), max(n) from old where n > 1") == [(Decimal("3.75"), Decimal("2.25"))]
    c.execute("create table fresh(n numeric)")
    c.execute("insert into fresh select n from old")
    assert _rows(c, "select n::text from fresh order by n") == [("0.125",), ("1.5",), ("2.25",)]
    con.commit()
    con.close()


def test_wire_text_binary_copy_and_parameters(server):
    """COPY text and binary in and out, both result formats and numeric parameters keep each
    value's text, NaN and -Infinity included."""
    psycopg = pytest.importorskip("psycopg")
    want = [(1, Decimal("1.50")), (2, "NaN"), (3, Decimal("-Infinity")), (4, Decimal("2.000")), (5, None),
            (6, Decimal("1000")), (7, Decimal("3.1400")), (8, "NaN")]

    def same(rows):  # Decimal('NaN') equals nothing: compare NaN by its text
        return [(i, "NaN" if isinstance(v, Decimal) and v.is_nan() else v) for i, v in rows]

    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS ntw")
        con.execute("CREATE TABLE ntw(id int, n numeric)")
        with con.cursor().copy("COPY ntw FROM STDIN") as cp:
            cp.write("1\t1.50\n2\tNaN\n3\t-Infinity\n4\t2.000\n5\t\\N\n6\t1e3\n")
        con.execute("INSERT INTO ntw VALUES (7, %s), (8, %s)", (Decimal("3.1400"), Decimal("NaN")))
        for binary in (False, True):
            cur = con.cursor(binary=binary)
            assert same(cur.execute("SELECT id, n FROM ntw ORDER BY id").fetchall()) == want
            assert cur.execute("SELECT id FROM ntw WHERE n = %s", (Decimal("1.5"),)).fetchall() == [(1,)]
        with con.cursor().copy("COPY ntw TO STDOUT") as cp:
            text = b"".join(bytes(r) for r in cp).decode()
        assert text.splitlines()[:4] == ["1\t1.50", "2\tNaN", "3\t-Infinity", "4\t2.000"]
        with con.cursor().copy("COPY ntw FROM STDIN (FORMAT binary)") as cp:
            cp.set_types(["int4", "numeric"])
            cp.write_row((9, Decimal("9.900")))
            cp.write_row((10, Decimal("-Infinity")))
        assert con.execute("SELECT id, n::text FROM ntw WHERE id >= 9 ORDER BY id").fetchall() == \
            [(9, "9.900"), (10, "-Infinity")]
        con.execute("DROP TABLE ntw")


def test_in_distinct_from_and_ordered_aggregates_by_value(cur):
    cur.execute("create table t(id int, n numeric, m numeric(10,2))")
    cur.execute("insert into t values (1, 1.50, 1.00), (2, 2.000, 3.31), (3, -3, 0), (4, NULL, NULL), (5, 3.3100, 2)")
    assert _rows(cur, "select n in (1.5, 3), n not in (1.5), n in (1, null) from t order by id") == [
        (True, False, None), (False, True, None), (False, True, None), (None, None, None), (False, True, None)]
    assert _rows(cur, "select n in (select m from t) from t order by id") == [(None,), (True,), (None,), (None,), (True,)]
    assert _rows(cur, "select n is distinct from 1.5, n is not distinct from null from t order by id") == [
        (False, False), (True, False), (True, False), (True, True), (True, False)]
    assert _rows(cur, "select mode() within group (order by n)::text, count(distinct n) from t") == [("-3", 4)]
    assert _rows(cur, "select id from t where n = m + 1.31 order by id") == [(5,)]
