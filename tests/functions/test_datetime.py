"""Date/time functions and operators; expectations are PostgreSQL 15's output (TimeZone UTC)."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from sqlvec.core import errors as E
from sqlvec.core import types as T
from sqlvec.core.textio import format_text, parse_text

U, TS, TSTZ, D, IV, I4, F8 = T.UNKNOWN, T.TIMESTAMP, T.TIMESTAMPTZ, T.DATE, T.INTERVAL, T.INT4, T.FLOAT8


@pytest.mark.parametrize("name,args,expected", [
    ("date_trunc", [("month", U), ("2024-03-15 10:20:30", TS)], "2024-03-01 00:00:00"),
    ("date_trunc", [("week", U), ("2024-03-15 10:20:30", TS)], "2024-03-11 00:00:00"),
    ("date_trunc", [("hour", U), ("2024-03-15 10:20:30+00", TSTZ)], "2024-03-15 10:00:00+00"),
    ("date_part", [("dow", U), ("2024-03-15", D)], "5"),
    ("date_part", [("epoch", U), ("2024-01-01", TS)], "1704067200"),
    ("extract", [("epoch", U), ("2024-01-01 00:00:05.5", TS)], "1704067205.500000"),
    ("extract", [("second", U), ("2024-01-01 00:00:05", TS)], "5.000000"),
    ("extract", [("year", U), ("2024-03-15", D)], "2024"),
    ("extract", [("doy", U), ("2024-03-15", D)], "75"),
    ("extract", [("isodow", U), ("2024-03-17", D)], "7"),
    ("extract", [("week", U), ("2024-03-15", D)], "11"),
    ("extract", [("quarter", U), ("2024-03-15", D)], "1"),
    ("extract", [("epoch", U), ("1 day 2 hours", IV)], "93600.000000"),
    ("extract", [("day", U), ("1 day 2 hours", IV)], "1"),
    ("extract", [("julian", U), ("2024-01-01", D)], "2460311"),
    ("age", [("2024-03-15", TS), ("2023-01-31", TS)], "1 year 1 mon 15 days"),
    ("age", [("2023-01-31", TS), ("2024-03-15", TS)], "-1 years -1 mons -15 days"),
    ("-", [("2024-03-01", D), ("2024-01-01", D)], "60"),
    ("+", [("2024-01-31", D), ("1 month", IV)], "2024-02-29 00:00:00"),
    ("-", [("2024-03-01 00:00", TS), ("2024-01-01 12:00", TS)], "59 days 12:00:00"),
    ("*", [("1 day", IV), (1.5, F8)], "1 day 12:00:00"),
    ("/", [("1 month", IV), (2, F8)], "15 days"),
    ("+", [("2024-01-01", D), (5, I4)], "2024-01-06"),
    ("make_date", [(2024, I4), (2, I4), (29, I4)], "2024-02-29"),
    ("make_timestamp", [(2024, I4), (1, I4), (2, I4), (3, I4), (4, I4), (5.5, F8)],
     "2024-01-02 03:04:05.5"),
    ("to_char", [("2024-03-05 14:07:09.123", TS),
                 ("YYYY-MM-DD HH24:MI:SS.MS Month Mon Day Dy DDD AM HH12 Q FMDD", U)],
     "2024-03-05 14:07:09.123 March     Mar Tuesday   Tue 065 PM 02 1 5"),
    ("to_char", [(Decimal("123.456"), T.NUMERIC), ("999.99", U)], " 123.46"),
    ("to_char", [(5, I4), ("000", U)], " 005"),
    ("to_char", [(1234567, I4), ("9,999,999", U)], " 1,234,567"),
    ("to_char", [(Decimal("123.4"), T.NUMERIC), ("FM999.99", U)], "123.4"),
    ("to_char", [(Decimal("-12.5"), T.NUMERIC), ("999.9", U)], " -12.5"),
    ("to_date", [("2024-03-05", U), ("YYYY-MM-DD", U)], "2024-03-05"),
    ("to_timestamp", [("05/03/2024 14:07", U), ("DD/MM/YYYY HH24:MI", U)], "2024-03-05 14:07:00+00"),
    ("to_timestamp", [(0, I4)], "1970-01-01 00:00:00+00"),
    ("justify_hours", [("27 hours", IV)], "1 day 03:00:00"),
    ("justify_days", [("35 days", IV)], "1 mon 5 days"),
    ("-", [("1 day", IV)], "-1 days"),
    ("+", [("10:00", T.TIME), ("3 hours", IV)], "13:00:00"),
    ("+", [("2024-01-01", D), ("10:00", T.TIME)], "2024-01-01 10:00:00"),
    ("-", [("2024-01-01", TS), ("1 day 1 hour", IV)], "2023-12-30 23:00:00"),
    ("<", [("2024-01-01", D), ("2024-01-01 10:00", TS)], "t"),
    ("=", [("2024-01-01", D), ("2024-01-01", U)], "t"),
])
def test_datetime(q, name, args, expected):
    assert q(name, *args) == expected


def test_now_uses_statement_time(regs):
    from sqlvec.functions.registry import EvalEnv
    f = regs.functions.resolve("now", [])
    out = f.call([], 2, EvalEnv(statement_time_us=1_704_067_200_000_000))
    assert format_text(out, TSTZ).to_pylist() == ["2024-01-01 00:00:00+00"] * 2
    assert f.volatile


def test_bad_unit(q):
    with pytest.raises(E.InvalidParameterValue, match='unit "fortnight" not recognized'):
        q("date_trunc", ("fortnight", U), ("2024-03-15", TS))


@pytest.mark.parametrize("zone,value,t,expected", [
    ("UTC", "2024-06-01 12:00:00+05", TSTZ, "2024-06-01 07:00:00"),
    ("Europe/Paris", "2024-06-01 12:00:00+00", TSTZ, "2024-06-01 14:00:00"),
    ("Europe/Paris", "2024-06-01 12:00:00", TS, "2024-06-01 10:00:00+00"),
    ("+05", "2024-06-01 12:00:00", TS, "2024-06-01 17:00:00+00"),
])
def test_at_time_zone(q, zone, value, t, expected):
    assert q("timezone", (zone, U), (value, t)) == expected


def test_date_bin(q):
    assert q("date_bin", ("15 minutes", IV), ("2024-01-01 10:17:00", TS), ("2000-01-01", TS)) == \
        "2024-01-01 10:15:00"


@pytest.mark.parametrize("name,args,expected", [
    ("to_char", [("2024-01-05 00:00", TS), ("Day, DDth Month YYYY", U)], "Friday   , 05th January   2024"),
    ("to_char", [("2024-01-05 00:00", TS), ("FMDay, FMDDTH FMMonth YYYY", U)], "Friday, 5TH January 2024"),
    ("justify_interval", [("1 mon -1 hour", IV)], "29 days 23:00:00"),
    ("age", [("2024-03-01", TS), ("2024-01-31", TS)], "1 mon 1 day"),
    ("+", [("2024-02-29", D), ("1 year", IV)], "2025-02-28 00:00:00"),
])
def test_datetime_edge_cases(q, name, args, expected):
    assert q(name, *args) == expected


def test_timestamptz_functions_follow_session_timezone(regs):
    """SET TimeZone = 'Europe/Paris' on PostgreSQL 15, x = '2024-03-30 23:30:00+00' (the night
    before the DST switch)."""
    from sqlvec.functions.registry import EvalEnv

    env = EvalEnv(timezone="Europe/Paris")
    x = parse_text(pa.array(["2024-03-30 23:30:00+00"]), TSTZ)

    def run(name, types, args):
        f = regs.functions.resolve(name, types)
        return format_text(f.call(args, 1, env), f.return_type, timezone="Europe/Paris")[0].as_py()

    day = parse_text(pa.array(["1 day"]), IV)[0]
    assert run("date_trunc", [T.TEXT, TSTZ], [pa.scalar("day"), x]) == "2024-03-31 00:00:00+01"
    assert run("date_part", [T.TEXT, TSTZ], [pa.scalar("hour"), x]) == "0"
    assert run("extract", [T.TEXT, TSTZ], [pa.scalar("timezone"), x]) == "3600"
    assert run("to_char", [TSTZ, T.TEXT], [x, pa.scalar("YYYY-MM-DD HH24:MI TZ OF")]) == \
        "2024-03-31 00:30 CET +01"
    assert run("+", [TSTZ, IV], [x, day]) == "2024-04-01 00:30:00+02"
    assert run("+", [TSTZ, IV], [x, parse_text(pa.array(["24 hours"]), IV)[0]]) == \
        "2024-04-01 01:30:00+02"
