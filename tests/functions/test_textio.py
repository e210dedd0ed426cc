"""core.textio: PostgreSQL text output/input; expected strings taken from PostgreSQL 15."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core import errors as E
from sqlvec.core import types as T
from sqlvec.core.textio import format_text, format_value, parse_text, parse_text_value


def fmt(values, t, arrow=None):
    return format_text(pa.array(values, type=arrow or t.arrow), t).to_pylist()


def test_float8_output():
    vals = [1.5, None, float("inf"), float("-inf"), float("nan"), 1e15, 1e14, 123456789012345.6,
            1e-4, 1e-5, 1e16, -0.0, 0.1 + 0.2]
    assert fmt(vals, T.FLOAT8) == ["1.5", None, "Infinity", "-Infinity", "NaN", "1e+15",
                                   "100000000000000", "123456789012345.6", "0.0001", "1e-05",
                                   "1e+16", "-0", "0.30000000000000004"]


def test_float4_output():
    assert fmt([1.1, 1e7, 3.4e38, 1234567.0, 12345678.0, 1e-5], T.FLOAT4) == [
        "1.1", "1e+07", "3.4e+38", "1.234567e+06", "1.2345678e+07", "1e-05"]


def test_scalar_types_output():
    assert fmt([True, False, None], T.BOOL) == ["t", "f", None]
    assert fmt([b"\x0a\x0b", b""], T.BYTEA) == ["\\x0a0b", "\\x"]
    assert fmt([dt.date(2024, 1, 2)], T.DATE) == ["2024-01-02"]
    assert fmt([dt.datetime(2024, 1, 2, 3, 4, 5, 123000)], T.TIMESTAMP) == ["2024-01-02 03:04:05.123"]
    assert fmt([dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)], T.TIMESTAMPTZ) == [
        "2024-01-02 03:04:05+00"]
    assert fmt([dt.time(1, 2, 3, 500000)], T.TIME) == ["01:02:03.5"]
    n102 = T.NUMERIC.with_typmod(T.numeric_typmod(10, 2))
    assert fmt([Decimal("1.5"), Decimal("0")], n102) == ["1.50", "0.00"]
    assert fmt([Decimal("1.5"), Decimal("100"), Decimal("0")], T.NUMERIC) == ["1.5", "100", "0"]


@pytest.mark.parametrize("text,expected", [
    ("1 day 02:00:00", "1 day 02:00:00"),
    ("-1 day 2 hours", "-1 days +02:00:00"),
    ("1 year -2 mons 3 days -04:05:06", "10 mons 3 days -04:05:06"),
    ("1.5 days", "1 day 12:00:00"),
    ("2 weeks", "14 days"),
    ("-1 year", "-1 years"),
    ("36 hours", "36:00:00"),
    ("0", "00:00:00"),
    ("-18 years 18 days", "-18 years +18 days"),
    ("-16 years -23 mons 48 days 20 hours -6 minutes -43 seconds",
     "-17 years -11 mons +48 days 19:53:17"),
    ("-33 mons 17 days -4 hours 2 minutes 23 seconds", "-2 years -9 mons +17 days -03:57:37"),
    ("@ 1 hour ago", "-01:00:00"),
    ("P1Y2M", "1 year 2 mons"),
])
def test_interval_round_trip(text, expected):
    assert format_text(parse_text(pa.array([text]), T.INTERVAL), T.INTERVAL).to_pylist() == [expected]


def test_arrays():
    ia = T.array_of(T.INT4)
    assert fmt([[1, None], None, []], ia) == ["{1,NULL}", None, "{}"]
    ta = T.array_of(T.TEXT)
    assert fmt([["a b", "c", None, "", "NULL", 'x"y', "a\\b"]], ta) == [
        '{"a b",c,NULL,"","NULL","x\\"y","a\\\\b"}']
    assert parse_text(pa.array(["{1,NULL}", "{}"]), ia).to_pylist() == [[1, None], []]
    assert parse_text(pa.array(['{"a b",c,NULL,"NULL"}']), ta).to_pylist() == [["a b", "c", None, "NULL"]]
    with pytest.raises(E.InvalidTextRepresentation, match="malformed array literal"):
        parse_text(pa.array(["1,2"]), ia)


def test_parse_scalars():
    assert parse_text(pa.array(["1", " 42 ", None]), T.INT4).to_pylist() == [1, 42, None]
    assert parse_text(pa.array(["yes", "off", "T"]), T.BOOL).to_pylist() == [True, False, True]
    n42 = T.NUMERIC.with_typmod(T.numeric_typmod(4, 2))
    assert parse_text(pa.array(["1.235"]), n42).to_pylist() == [Decimal("1.24")]
    ts = parse_text(pa.array(["2024-01-02 03:04:05.5+02"]), T.TIMESTAMPTZ)
    assert format_text(ts, T.TIMESTAMPTZ).to_pylist() == ["2024-01-02 01:04:05.5+00"]
    assert parse_text_value("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", T.UUID) is not None
    u = parse_text(pa.array(["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"]), T.UUID)
    assert format_text(u, T.UUID).to_pylist() == ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]
    assert parse_text_value('{"b":1, "a": [1.50, 1e2, "x"]}', T.JSONB) == \
        '{"a": [1.50, 100, "x"], "b": 1}'
    assert parse_text_value("[1e2, 1.0E-2, -0, 0.0]", T.JSONB) == "[100, 0.010, 0, 0.0]"
    assert format_value(Decimal("1.50"), T.NUMERIC) == "1.50"


@pytest.mark.parametrize("text,t,exc,msg", [
    ("abc", T.INT4, E.InvalidTextRepresentation, 'invalid input syntax for type integer: "abc"'),
    ("99999999999", T.INT4, E.NumericValueOutOfRange,
     'value "99999999999" is out of range for type integer'),
    ("x", T.BOOL, E.InvalidTextRepresentation, 'invalid input syntax for type boolean: "x"'),
    ("1.2.3", T.FLOAT8, E.InvalidTextRepresentation,
     'invalid input syntax for type double precision: "1.2.3"'),
    ("xx", T.DATE, E.InvalidDatetimeFormat, 'invalid input syntax for type date: "xx"'),
    ("2024-13-01", T.DATE, E.DatetimeFieldOverflow, 'date/time field value out of range: "2024-13-01"'),
    ("zz", T.UUID, E.InvalidTextRepresentation, 'invalid input syntax for type uuid: "zz"'),
])
def test_parse_errors(text, t, exc, msg):
    with pytest.raises(exc) as ei:
        parse_text(pa.array([text]), t)
    assert ei.value.message == msg


def test_other_date_spellings():
    """PostgreSQL (DateStyle ISO, MDY) reads all of these as 2024-01-02."""
    texts = ["01/02/2024", "20240102", "Jan 2 2024", "January 2, 2024", "2 Jan 2024"]
    assert format_text(parse_text(pa.array(texts), T.DATE), T.DATE).to_pylist() == ["2024-01-02"] * 5
    ts = parse_text(pa.array(["Jan 2 2024 10:00:00"]), T.TIMESTAMP)
    assert format_text(ts, T.TIMESTAMP).to_pylist() == ["2024-01-02 10:00:00"]


def test_int2vector_and_oidvector():
    """pg_index.indkey style: space-separated, as PostgreSQL prints '1 2'."""
    a = pa.array([[1, 2], [], None, [3]], pa.list_(pa.int16()))
    assert format_text(a, T.INT2VECTOR).to_pylist() == ["1 2", "", None, "3"]
    assert parse_text(pa.array(["1 2", "", None, " 3 "]), T.INT2VECTOR).to_pylist() == \
        [[1, 2], [], None, [3]]
    assert parse_text(pa.array(["7 8"]), T.OIDVECTOR).to_pylist() == [[7, 8]]


@pytest.mark.parametrize("tz,expected", [
    ("UTC", ["2024-06-01 12:00:00+00", "2024-01-01 12:00:00.5+00", None, "1900-01-01 00:00:00+00"]),
    ("Europe/Paris", ["2024-06-01 14:00:00+02", "2024-01-01 13:00:00.5+01", None,
                      "1900-01-01 00:09:21+00:09:21"]),
    ("America/New_York", ["2024-06-01 08:00:00-04", "2024-01-01 07:00:00.5-05", None,
                          "1899-12-31 19:00:00-05"]),
    ("Asia/Kolkata", ["2024-06-01 17:30:00+05:30", "2024-01-01 17:30:00.5+05:30", None,
                      "1900-01-01 05:21:10+05:21:10"]),
])
def test_timestamptz_in_session_timezone(tz, expected):
    """PostgreSQL 15 with SET TimeZone = tz prints exactly these."""
    a = parse_text(pa.array(["2024-06-01 12:00:00+00", "2024-01-01 12:00:00.5+00", None,
                             "1900-01-01 00:00+00"]), T.TIMESTAMPTZ)
    assert format_text(a, T.TIMESTAMPTZ, timezone=tz).to_pylist() == expected


def test_timestamptz_input_without_zone_uses_session_timezone():
    b = parse_text(pa.array(["2024-06-01 12:00:00", "2024-06-01 12:00:00+00"]), T.TIMESTAMPTZ,
                   timezone="Europe/Paris")
    assert format_text(b, T.TIMESTAMPTZ).to_pylist() == ["2024-06-01 10:00:00+00",
                                                          "2024-06-01 12:00:00+00"]


@pytest.mark.parametrize("t", [T.DATE, T.TIMESTAMP, T.TIMESTAMPTZ])
def test_infinity_dates_and_timestamps(t):
    a = parse_text(pa.array(["infinity", "-infinity", None, " Infinity "]), t)
    assert format_text(a, t).to_pylist() == ["infinity", "-infinity", None, "infinity"]


def _random_literals(rng: np.random.Generator, n: int, special: bool = True) -> list[str | None]:
    """Flat array literals with random floats, blanks, NULLs and specials (fast-path shape)."""
    words = ["NULL", "null", "1e3", "-0", "+4.5", ".5", "7."]
    words += ["NaN", "Infinity", "-Infinity"] if special else []
    out: list[str | None] = []
    for _ in range(n):
        if rng.random() < 0.05:
            out.append(None)
            continue
        k = int(rng.integers(1, 40))
        elems = [str(words[int(rng.integers(len(words)))]) if rng.random() < 0.1
                 else repr(float(rng.normal(scale=10.0 ** int(rng.integers(-3, 4))))) for _ in range(k)]
        blank = [" ", "", "\t", "\n"][int(rng.integers(4))]
        out.append(" {" + blank + ("," + blank).join(elems) + blank + "}" + blank)
    return out


@pytest.mark.parametrize("elem", [T.FLOAT4, T.FLOAT8, T.NUMERIC])
def test_array_fast_path_matches_general(elem):
    from sqlvec.core.textio_arrays import flat_literal_mask, parse_flat, parse_general
    t = T.array_of(elem)
    texts = pa.array(_random_literals(np.random.default_rng(7), 300, elem != T.NUMERIC), pa.string())
    mask = flat_literal_mask(texts)
    assert mask[np.asarray(texts.is_valid())].all()
    fast = parse_flat(texts, t, parse_text)
    slow = parse_general(texts, t, parse_text)
    assert fast.type == slow.type == t.arrow and fast.offsets.equals(slow.offsets)
    assert fast.is_valid().equals(slow.is_valid()) and fast.values.is_valid().equals(slow.values.is_valid())
    assert format_text(fast, t).equals(format_text(slow, t))  # NaN-safe exact comparison
    assert format_text(parse_text(texts, t), t).equals(format_text(fast, t))


def test_array_mixed_shapes_keep_row_order():
    from sqlvec.core.textio_arrays import flat_literal_mask
    t = T.array_of(T.INT4)
    texts = ["{1,2}", '{"3",4}', None, "{{5,6},{7,8}}", "{}", "[0:1]={9,10}", "{ 11 , NULL }", "{1\\2}"]
    assert flat_literal_mask(pa.array(texts)).tolist() == [True, False, False, False, False, False, True, False]
    keep = texts[:3] + texts[4:-1]  # a 2-D literal into 1-D int4[] is 0A000 (issue 3), not flattened
    assert parse_text(pa.array(keep), t).to_pylist() == [[1, 2], [3, 4], None, [], [9, 10], [11, None]]
    with pytest.raises(E.FeatureNotSupported, match="multidimensional arrays"):
        parse_text(pa.array(texts[:-1]), t)
    bools = parse_text(pa.array(["{t,false, yes ,NULL}", '{"on"}']), T.array_of(T.BOOL))
    assert bools.to_pylist() == [[True, False, True, None], [True]]


@pytest.mark.parametrize("text, msg", [
    ("{1,,2}", 'malformed array literal: "{1,,2}"'),
    ("{1,2", 'malformed array literal: "{1,2"'),
    ("{1,2}x", 'malformed array literal: "{1,2}x"'),
    ("1,2", 'malformed array literal: "1,2"'),
    ("{,}", 'malformed array literal: "{,}"'),
    ("{1.5,abc}", 'invalid input syntax for type real: "abc"'),
    ("{1 2}", 'invalid input syntax for type real: "1 2"'),
])
def test_array_errors_same_on_both_paths(text, msg):
    from sqlvec.core.textio_arrays import parse_general
    t = T.array_of(T.FLOAT4)
    for rows in ([text], ["{1,2}", text, "{3}"]):
        with pytest.raises(E.InvalidTextRepresentation) as fast_err:
            parse_text(pa.array(rows), t)
        with pytest.raises(E.InvalidTextRepresentation) as slow_err:
            parse_general(pa.array(rows), t, parse_text)
        assert str(fast_err.value) == str(slow_err.value) == msg
        assert fast_err.value.sqlstate == "22P02"


def test_array_element_overflow_on_fast_path():
    with pytest.raises(E.NumericValueOutOfRange):
        parse_text(pa.array(["{1,1e999}"]), T.array_of(T.FLOAT4))
    with pytest.raises(E.NumericValueOutOfRange):
        parse_text(pa.array(["{1,99999}"]), T.array_of(T.INT2))
