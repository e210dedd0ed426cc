"""How PostgreSQL function calls bind: the name and argument order the user wrote, not
sqlglot's cross-dialect nodes (expected values from PostgreSQL 15)."""

from __future__ import annotations

import datetime as dt
import decimal
import time

import pytest

from sqlvec.core.errors import UndefinedFunction


@pytest.mark.parametrize(("sql", "expected"), [
    ("select lpad('a', 3, 'x'), rpad('a', 3, 'x'), lpad('abc', 2), rpad('a', 3)", ("xxa", "axx", "ab", "a  ")),
    ("select initcap('hello wORLD')", ("Hello World",)),
    ("select to_hex(255), to_hex(-1)", ("ff", "ffffffff")),
    ("select to_char(timestamp '2024-01-02 03:04:05', 'YYYY-MM-DD HH24:MI')", ("2024-01-02 03:04",)),
    ("select to_date('2024-01-02', 'YYYY-MM-DD')", (dt.date(2024, 1, 2),)),
    ("select to_timestamp(0) = timestamptz '1970-01-01 00:00+00'", (True,)),
    ("select substr('abc', '2'), substr('abcdef', 2, 3), substring('abcdef' from 2 for 3)", ("bc", "bcd", "bcd")),
    ("select ltrim('  a  '), rtrim('  a  '), ltrim('xxaxx', 'x'), rtrim('xxaxx', 'x'), btrim('xaxx', 'x')",
     ("a  ", "  a", "axx", "xxa", "a")),
    ("select trim(leading 'x' from 'xxaxx'), trim(trailing 'x' from 'xxaxx'), trim(both 'x' from 'xxaxx')",
     ("axx", "xxa", "a")),
    ("select array_cat(array[1], array[2, 3]), array_cat(array['a'], array['b'])", ([1, 2, 3], ["a", "b"])),
    ("select array_prepend(1, array[2, 3]), array_append(array[2, 3], 1)", ([1, 2, 3], [2, 3, 1])),
    ("select '{\"a\": 1}'::jsonb ? 'a', '{\"a\": 1}'::jsonb ? 'b'", (True, False)),
    ("select json_extract_path_text('{\"a\": {\"b\": 2}}', 'a', 'b'), json_extract_path('{\"a\": 1}', 'a')::text",
     ("2", "1")),
    ("select gen_random_uuid() is not null", (True,)),
    ("select char_length('abc'), character_length('ab'), strpos('abc', 'c'), log10(100), ceiling(1.5)",
     (3, 2, 3, 2.0, 2)),
    ("select E'a\\nb', E'it''s'", ("a\nb", "it's")),
])
def test_pg_function_names_and_argument_order(q, sql, expected) -> None:
    assert q(sql) == [expected]


def test_unnest_in_select_list(q) -> None:
    assert q("select unnest(array[1, 2])") == [(1,), (2,)]


def test_output_column_names_are_the_called_names(q) -> None:
    res = q.result("select lpad('a', 2), substr('ab', 1), date_part('year', date '2024-01-01'), "
                   "extract(year from date '2024-01-01'), ltrim('a'), trim(' a ')")
    assert [c.name for c in res.columns] == ["lpad", "substr", "date_part", "extract", "ltrim", "btrim"]


def test_extract_is_numeric_and_date_part_is_float8(q) -> None:
    res = q.result("select extract(year from timestamp '2024-03-04 05:06:07'), "
                   "extract(epoch from timestamp '2024-03-04 05:06:07.5'), "
                   "date_part('month', date '2024-03-04'), extract(dow from date '2024-01-07')")
    assert [c.type.short for c in res.columns] == ["numeric", "numeric", "float8", "numeric"]
    (row,) = q("select extract(year from timestamp '2024-03-04 05:06:07'), "
               "extract(epoch from timestamp '2024-03-04 05:06:07.5'), date_part('month', date '2024-03-04')")
    assert row == (decimal.Decimal(2024), decimal.Decimal("1709528767.5"), 3.0)
    assert q("select date_trunc('month', timestamp '2024-03-04 05:06:07')") == [(dt.datetime(2024, 3, 1),)]


def test_at_time_zone(q) -> None:
    assert q("select timestamptz '2024-01-01 12:00+00' at time zone 'Europe/Paris'") == [
        (dt.datetime(2024, 1, 1, 13, 0),)]
    (row,) = q("select (timestamp '2024-01-01 12:00' at time zone 'Europe/Paris')::text")
    assert row == ("2024-01-01 11:00:00+00",)


def test_like_escape_and_similar_to(q) -> None:
    assert q("select 'a_c' like 'a!_c' escape '!', 'abc' like 'a!_c' escape '!', "
             "'ABC' not ilike 'a%' escape '!', 'a%' ilike 'A#%' escape '#'") == [(True, False, False, True)]
    assert q("select 'abc' similar to 'a%', 'abc' not similar to 'b%', 'abc' similar to 'a#%' escape '#', "
             "'a%' similar to 'a#%' escape '#'") == [(True, True, False, True)]
    assert q("select x similar to y from (values ('abc', 'a(b|c)%'), ('xbc', 'a%')) t(x, y)") == [(True,), (False,)]


@pytest.mark.parametrize("sql", ["select lower(1)", "select length(1)", "select upper(1.5)"])
def test_no_implicit_cast_to_text_in_function_calls(q, sql) -> None:
    with pytest.raises(UndefinedFunction):
        q(sql)


def test_now_is_the_transaction_start(q) -> None:
    assert q("select now() = now(), now() = current_timestamp, now() = transaction_timestamp(), "
             "localtimestamp = localtimestamp, now() <= clock_timestamp()") == [(True,) * 5]
    q("begin")
    (first,) = q("select now()")
    time.sleep(0.02)
    assert q("select now()") == [first]
    q("commit")
    (later,) = q("select now()")
    assert later > first
    (a,), (b,) = q("select now(); select now()"), q("select now()")
    assert a < b


def test_session_time_zone_reaches_functions_and_casts(q) -> None:
    q("set timezone = 'Europe/Paris'")
    assert q("select (timestamptz '2024-06-01 12:00:00+00')::text, "
             "'2024-06-01 12:00+00'::timestamptz::timestamp::text, "
             "date_trunc('day', timestamptz '2024-06-01 23:30+00')::text, "
             "extract(hour from timestamptz '2024-06-01 12:00+00')") == [
        ("2024-06-01 14:00:00+02", "2024-06-01 14:00:00", "2024-06-02 00:00:00+02", 14)]
    q("create table t (a timestamptz)")
    q("insert into t values ('2024-06-01 12:00'), (timestamptz '2024-01-01 00:00')")
    assert q("select a::text from t") == [("2024-06-01 12:00:00+02",), ("2024-01-01 00:00:00+01",)]
    q("set timezone = 'UTC'")
    assert q("select a::text from t") == [("2024-06-01 10:00:00+00",), ("2023-12-31 23:00:00+00",)]


def test_framed_window_sums_are_exact(q) -> None:
    rows = q("select sum(x) over (order by x rows between 1 preceding and current row), "
             "count(x) over (order by x rows 1 preceding) "
             "from (values (9223372036854775807::int8), (1), (2)) t(x) order by x")
    assert rows == [(1, 1), (3, 2), (9223372036854775809, 2)]
    assert q("select avg(x) over (order by x rows 1 preceding) from (values (1), (2), (4)) t(x) order by x") == [
        (1,), (decimal.Decimal("1.5"),), (3,)]
    assert q("select sum(x) over (order by x) from (values (9007199254740993), (1)) t(x) order by x") == [
        (1,), (9007199254740994,)]
    assert q("select sum(x) over (order by x range between 1 preceding and 1 following) "
             "from (values (1), (2), (4), (null)) t(x) order by x") == [(3,), (3,), (4,), (None,)]
    assert q("select sum(x) over (order by x desc range between 1 preceding and current row) "
             "from (values (1), (2), (4)) t(x) order by x") == [(3,), (2,), (4,)]
    assert q("select sum(x) over (order by x groups between 1 preceding and current row), "
             "sum(x) over (order by x rows between 1 following and 2 following) "
             "from (values (1), (2), (2), (4)) t(x) order by x") == [(1, 4), (5, 6), (5, 4), (8, None)]


def test_column_default_now_is_stable_in_a_block(q) -> None:
    q("create table ev (id int, at timestamptz default now())")
    q("begin")
    q("insert into ev (id) values (1)")
    time.sleep(0.02)
    q("insert into ev (id) values (2)")
    assert q("select count(distinct at), min(at) = now() from ev") == [(1, True)]
    q("commit")


def test_range_offsets_over_dates_and_timestamps(q) -> None:
    assert q("select sum(x) over (order by d range between interval '1 day' preceding and current row) "
             "from (values (1, date '2024-01-01'), (2, date '2024-01-02'), (4, date '2024-01-05')) t(x, d) "
             "order by d") == [(1,), (3,), (4,)]
    assert q("select count(*) over (order by ts desc range between interval '90 minutes' preceding and current row) "
             "from (values (timestamptz '2024-01-01 10:00+00'), ('2024-01-01 11:00+00'), ('2024-01-01 13:00+00')) "
             "t(ts) order by ts") == [(2,), (1,), (1,)]


def test_bit_string_literals(q) -> None:
    assert q("select B'101'::text, X'1F'::text, pg_typeof(B'101')::text") == [("101", "00011111", "bit")]


def test_output_names_of_time_and_position_syntax(q) -> None:
    res = q.result("select now(), current_timestamp, position('a' in 'b'), strpos('a', 'b'), current_date")
    assert [c.name for c in res.columns] == ["now", "current_timestamp", "position", "strpos", "current_date"]


def test_typed_literal_cast(q) -> None:
    assert q("select date '2024-01-01'::text, pg_typeof(date '2024-01-01'::text)::text, "
             "int4 '5'::text || 'a'") == [("2024-01-01", "text", "5a")]
