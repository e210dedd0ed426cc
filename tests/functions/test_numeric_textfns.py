"""round / trunc / ceil / floor / abs / sign / mod / scale functions on numeric held as its
text (NUMERIC_TEXT): each value's own digits beyond 16 fractional and 22 integer digits,
NaN and Infinity as PostgreSQL 15 (numeric.slt checks the same against it)."""

from __future__ import annotations

import pyarrow as pa
import pytest

import sqlvec
from sqlvec.core.textio_numeric import numeric_text_array
from sqlvec.dbapi.exceptions import DataError
from sqlvec.functions.numeric_textfns import mod_text, round_text, scale_text, sign_text


@pytest.fixture()
def cur():
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    c = con.cursor()
    c.execute("create table t(id int, n numeric)")
    c.execute("insert into t values (1, 1.555), (2, -2.5), (3, 'NaN'), (4, 'Infinity'), "
              "(5, 12345678901234567890123456.123456789012345678901), (6, NULL), (7, 99.50)")
    yield c
    con.close()


def _text(a):
    return a.storage.to_pylist() if isinstance(a, pa.ExtensionArray) else a.to_pylist()


def test_kernels():
    x = numeric_text_array(pa.array(["1.555", "-2.5", "NaN", "-Infinity", None, "99.5"]))
    assert _text(round_text("round", x, 2, 6)) == ["1.56", "-2.50", "NaN", "-Infinity", None, "99.50"]
    assert _text(round_text("round", x, 0, 6)) == ["2", "-3", "NaN", "-Infinity", None, "100"]
    assert _text(round_text("trunc", x, pa.array([1, 0, 0, 0, 0, -1]), 6)) == \
        ["1.5", "-2", "NaN", "-Infinity", None, "90"]
    assert _text(round_text("ceil", x, None, 6)) == ["2", "-2", "NaN", "-Infinity", None, "100"]
    assert _text(sign_text(x, 6)) == ["1", "-1", "NaN", "-1", None, "1"]
    assert _text(scale_text("scale", x, 6)) == [3, 1, None, None, None, 1]
    assert _text(scale_text("trim_scale", numeric_text_array(pa.array(["1.500", "2.000", "30"])), 3)) == \
        ["1.5", "2", "30"]
    one = numeric_text_array(pa.array(["0.7"] * 6))
    assert _text(mod_text(x, one, 6)) == ["0.155", "-0.4", "NaN", "NaN", None, "0.1"]


def test_sql_keeps_digits_and_specials(cur):
    cur.execute("select round(n, 2)::text, trunc(n)::text, abs(n)::text, sign(n)::text, scale(n), "
                "mod(n, 1)::text from t order by id")
    rows = cur.fetchall()
    assert rows[4] == ("12345678901234567890123456.12", "12345678901234567890123456",
                       "12345678901234567890123456.123456789012345678901", "1", 21, "0.123456789012345678901")
    assert rows[2] == ("NaN", "NaN", "NaN", "NaN", None, "NaN")
    assert rows[3] == ("Infinity", "Infinity", "Infinity", "1", None, "NaN")
    assert rows[6] == ("99.50", "99", "99.50", "1", 2, "0.50")


def test_mod_by_zero(cur):
    with pytest.raises(DataError) as e:
        cur.execute("select mod(n, 0) from t where id = 4")
    assert e.value.sqlstate == "22012"
    with pytest.raises(DataError) as e:
        cur.execute("select n % 0 from t where id = 1")
    assert e.value.sqlstate == "22012"


def test_transcendental_specials():
    from sqlvec.functions.numeric_textfns import transcendental_text

    x = numeric_text_array(pa.array(["4", "NaN", "Infinity", None]))
    assert _text(transcendental_text("sqrt", [x], 4)) == ["2.000000000000000", "NaN", "Infinity", None]
    assert _text(transcendental_text("exp", [numeric_text_array(pa.array(["-Infinity"]))], 1)) == ["0"]
    two = numeric_text_array(pa.array(["0.5", "0", "-1", "-Infinity"]))
    inf = numeric_text_array(pa.array(["Infinity"] * 4))
    assert _text(transcendental_text("power", [two, inf], 4)) == ["0", "0", "1", "Infinity"]
    assert _text(transcendental_text("power", [inf, numeric_text_array(pa.array(["-2", "0", "NaN", "3"]))], 4)) == \
        ["0", "1", "NaN", "Infinity"]


def test_transcendental_errors(cur):
    cur.execute("insert into t values (8, '-Infinity')")
    for sql, state in (("select sqrt(n) from t where id = 8", "2201F"), ("select ln(n) from t where id = 8", "2201E"),
                       ("select log(n, 10) from t where id = 8", "2201E"),
                       ("select power(n, 0.5) from t where id = 8", "2201F")):
        with pytest.raises(DataError) as e:
            cur.execute(sql)
        assert e.value.sqlstate == state, sql
    cur.execute("select power(n, 3)::text, exp(n)::text from t where id = 8")
    assert cur.fetchall() == [("-Infinity", "0")]


def test_div_is_exact_where_the_quotient_rounds_onto_an_integer():
    from sqlvec.functions.numeric_textfns import div_text

    # 2765831.53571999999999999 / 3.633935 is 761111.99999999999999724...: 761112.0000000000 at
    # the quotient's display scale, 761111 exactly
    a = numeric_text_array(pa.array(["2765831.53571999999999999", "9", "-2765831.53571999999999999", "NaN", "5"]))
    b = numeric_text_array(pa.array(["3.633935", "3", "3.633935", "2", "Infinity"]))
    assert _text(div_text(a, b, 5)) == ["761111", "3", "-761111", "NaN", "0"]
