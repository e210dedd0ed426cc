"""Error fields clients display (psycopg's diag), compared with PostgreSQL 15."""

from __future__ import annotations

import pytest

from tests.clients.conftest import need

psycopg = pytest.importorskip("psycopg")

STATEMENTS = [
    "select * from nope",
    "select nope from ev",
    "insert into ev values (1, 'b', 1)",
    "insert into ev values (2, null, 1)",
    "insert into ev values (3, 'c', -1)",
    "select 1/0",
    "select 'abc'::int",
]
FIELDS = ("severity", "sqlstate", "message_primary", "message_detail", "schema_name", "table_name",
          "column_name", "constraint_name")


def _errors(dsn: str, fields: tuple[str, ...]) -> list[tuple]:
    out = []
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("drop table if exists ev")
        con.execute("create table ev (id int primary key, name text not null, qty int check (qty > 0))")
        con.execute("insert into ev values (1, 'a', 1)")
        for sql in STATEMENTS:
            with pytest.raises(psycopg.Error) as info:
                con.execute(sql)
            out.append(tuple(getattr(info.value.diag, f) for f in fields))
        assert con.execute("select count(*) from ev").fetchone() == (1,)  # nothing half-applied
    return out


@pytest.fixture(scope="module")
def pg_dsn(pg15):
    return need(pg15).dsn


def test_error_fields_match_postgresql(server, pg_dsn):
    assert _errors(server.dsn, FIELDS) == _errors(pg_dsn, FIELDS)


def test_error_positions_match_postgresql(server, pg_dsn):
    assert _errors(server.dsn, ("statement_position",)) == _errors(pg_dsn, ("statement_position",))
