"""Every type the issue lists, and one-dimensional arrays of each, read and sent as a
parameter by real clients in text and binary: psycopg (text and binary cursors) and
asyncpg (binary). Expected values are what the same drivers return from PostgreSQL 15."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import uuid
from decimal import Decimal

import psycopg
import pytest

asyncpg = pytest.importorskip("asyncpg")

U = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
UTC = dt.UTC
# (cast type, SQL expression, the Python value psycopg gives; asyncpg's where it differs)
CASES: list[tuple[str, str, object, object]] = [
    ("bool", "true", True, None),
    ("int2", "(-32767)::int2", -32767, None),
    ("int4", "2147483647", 2147483647, None),
    ("int8", "(-9223372036854775807)::int8", -9223372036854775807, None),
    ("float4", "1.5::float4", 1.5, None),
    ("float8", "0.1::float8", 0.1, None),
    ("float8", "'-Infinity'::float8", -math.inf, None),
    ("numeric", "123.4500::numeric", Decimal("123.4500"), None),
    ("numeric", "(-0.000001)::numeric(10,6)", Decimal("-0.000001"), None),
    ("text", "'héllo\t\"x\"'::text", 'héllo\t"x"', None),
    ("varchar", "'ab'::varchar(5)", "ab", None),
    ("bpchar", "'ab'::char(4)", "ab  ", None),
    ("bytea", "'\\x00ff10'::bytea", b"\x00\xff\x10", None),
    ("date", "'2024-02-29'::date", dt.date(2024, 2, 29), None),
    ("time", "'13:14:15.123456'::time", dt.time(13, 14, 15, 123456), None),
    ("timestamp", "'2024-02-29 13:14:15.5'::timestamp", dt.datetime(2024, 2, 29, 13, 14, 15, 500000), None),
    ("timestamptz", "'2024-02-29 13:14:15.5+02'::timestamptz",
     dt.datetime(2024, 2, 29, 11, 14, 15, 500000, tzinfo=UTC), None),
    ("interval", "'3 days 04:05:06.5'::interval", dt.timedelta(days=3, seconds=14706.5), None),
    ("interval", "'-1 day -00:00:01'::interval", dt.timedelta(days=-1, seconds=-1), None),
    ("uuid", f"'{U}'::uuid", U, None),
    ("json", "'{\"a\": [1, 2.5, null]}'::json", {"a": [1, 2.5, None]}, '{"a": [1, 2.5, null]}'),
    ("jsonb", "'{\"b\": 1, \"a\": \"x\"}'::jsonb", {"a": "x", "b": 1}, '{"a": "x", "b": 1}'),
    ("bool[]", "array[true, null, false]", [True, None, False], None),
    ("int2[]", "array[1, null]::int2[]", [1, None], None),
    ("int4[]", "array[1, 2, null]", [1, 2, None], None),
    ("int4[]", "'{}'::int4[]", [], None),
    ("int8[]", "array[9223372036854775807]::int8[]", [9223372036854775807], None),
    ("float4[]", "array[1.5, null]::float4[]", [1.5, None], None),
    ("float8[]", "array[1.5, null]::float8[]", [1.5, None], None),
    ("numeric[]", "array[1.50, null]::numeric[]", [Decimal("1.50"), None], None),
    ("text[]", "array['a', null, 'b c', '\"q\"', 'NULL', '']", ["a", None, "b c", '"q"', "NULL", ""], None),
    ("varchar[]", "array['x']::varchar[]", ["x"], None),
    ("bpchar[]", "array['x']::char(2)[]", ["x "], None),
    ("bytea[]", "array['\\x01'::bytea]", [b"\x01"], None),
    ("date[]", "array['2024-01-01'::date, null]", [dt.date(2024, 1, 1), None], None),
    ("time[]", "array['01:02:03'::time]", [dt.time(1, 2, 3)], None),
    ("timestamp[]", "array['2024-01-01 01:02:03'::timestamp]", [dt.datetime(2024, 1, 1, 1, 2, 3)], None),
    ("timestamptz[]", "array['2024-01-01 01:02:03+00'::timestamptz]",
     [dt.datetime(2024, 1, 1, 1, 2, 3, tzinfo=UTC)], None),
    ("interval[]", "array['1 day'::interval]", [dt.timedelta(days=1)], None),
    ("uuid[]", f"array['{U}'::uuid]", [U], None),
    ("jsonb[]", "array['{\"a\":1}'::jsonb]", [{"a": 1}], ['{"a": 1}']),
]


def test_psycopg_reads_and_sends_every_type_in_text_and_binary(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        for binary in (False, True):
            cur = con.cursor(binary=binary)
            for typ, expr, want, _ in CASES:
                got = cur.execute(f"SELECT {expr}").fetchone()[0]
                assert got == want, (binary, typ, expr, got)
                if typ in ("json", "jsonb", "jsonb[]"):
                    continue  # (psycopg sends dicts only through its Json wrappers)
                back = cur.execute(f"SELECT %s::{typ}", (got,)).fetchone()[0]
                assert back == want, (binary, "param", typ, expr, back)


def test_asyncpg_reads_and_sends_every_type_in_binary(server):
    async def go():
        con = await asyncpg.connect(host=server.host, port=server.port, user=server.user,
                                    database=server.database, ssl=False)
        try:
            for typ, expr, want, apg in CASES:
                want = apg if apg is not None else want
                got = await con.fetchval(f"SELECT {expr}")
                assert got == want, (typ, expr, got)
                back = await con.fetchval(f"SELECT $1::{typ}", got)
                assert back == want, ("param", typ, expr, back)
        finally:
            await con.close()

    asyncio.run(go())
