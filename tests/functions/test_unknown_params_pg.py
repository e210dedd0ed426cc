"""Untyped parameters next to an operator, side by side with PostgreSQL 15: a parameter takes
the other operand's type only where the operator takes that type on both sides; otherwise
operator resolution types it (`jsonb ->> $1` is text, `jsonb -> $1` text, `jsonb ? $1`
text), as a driver sending Python strings untyped (psycopg) relies on. Both the answers and
the parameter types the server describes are compared."""

from __future__ import annotations

import psycopg

pytest_plugins = ["tests.support.conftest_pg"]

CASES = [
    ("""select '{"a": 1}'::jsonb ->> $1""", ["a"]),
    ("""select '{"a": {"b": 2}}'::jsonb -> $1""", ["a"]),
    ("""select '{"a": 1}'::jsonb ? $1""", ["a"]),
    ("""select '{"a": 1}'::jsonb #>> $1""", ["{a}"]),
    ("""select '{"a": 1}'::jsonb @> $1""", ['{"a": 1}']),
    ("""select ('{"a": "x"}'::jsonb ->> $1) in ($2::varchar, 'y')""", ["a", "x"]),
    ("select 3 + $1", ["4"]),
    ("select 'ab'::text || $1", ["c"]),
    ("select array[1, 2] @> $1", ["{2}"]),
]


def _run(dsn):
    out = []
    with psycopg.connect(dsn, autocommit=True) as con:
        pgc = con.pgconn
        for i, (sql, params) in enumerate(CASES):
            name = f"s{i}".encode()
            res = pgc.prepare(name, sql.encode())
            if res.error_message:
                out.append(res.error_message.decode())
                continue
            desc = pgc.describe_prepared(name)
            types = [desc.param_type(j) for j in range(desc.nparams)]
            res = pgc.exec_prepared(name, [p.encode() for p in params])
            value = res.get_value(0, 0) if not res.error_message else res.error_message.decode()
            out.append((types, value))
    return out


def test_untyped_operator_parameters_as_postgresql(server, pg15_dsn):
    assert _run(server.dsn) == _run(pg15_dsn)
