"""The jsonpath type over the wire in binary, side by side with PostgreSQL 15: results carry
the version byte, a parameter with it is read and printed as PostgreSQL prints it, and one
with another version is PostgreSQL's XX000."""

from __future__ import annotations

import psycopg

pytest_plugins = ["tests.support.conftest_pg"]

JSONPATH_OID = 4072


def _run(dsn):
    out = []
    with psycopg.connect(dsn, autocommit=True) as con:
        pgc = con.pgconn
        res = pgc.exec_params(b"select $1::jsonpath, '$.a ? (@ > 1)'::jsonpath", [b"$.b"],
                              result_format=1)
        out.append([res.get_value(0, 0), res.get_value(0, 1)])
        for raw in (b"\x01$.c == 1", b"\x02$.c"):
            res = pgc.exec_params(b"select $1::text", [raw], [JSONPATH_OID], [1])
            out.append(res.get_value(0, 0) if not res.error_message else
                       (res.error_field(ord("C")), res.error_message.decode().splitlines()[0]))
        out.append(con.execute("select 1").fetchone())
    return out


def test_jsonpath_binary_as_postgresql(server, pg15_dsn):
    got = _run(server.dsn)
    assert got == _run(pg15_dsn)
    assert got[0] == [b'\x01$."b"', b'\x01$."a"?(@ > 1)']
