"""COPY into length-limited columns reads each value with the type's input and its length,
as PostgreSQL: a too-long varchar / char value is 22001 (an explicit cast would cut it),
char pads, a bit(n) value of another length is 22026, trailing blanks beyond a varchar's
length are dropped. Text and binary COPY, each outcome compared with PostgreSQL 15."""

from __future__ import annotations

import psycopg
import pytest

from tests.support.conftest_pg import pg15_dsn  # noqa: F401 - fixture

CASES = [  # (column type, text value, binary type or None)
    ("varchar(3)", "abcd", "text"),
    ("varchar(3)", "ab   ", "text"),
    ("varchar(3)", "abc", "text"),
    ("char(4)", "ab", "text"),
    ("char(2)", "abc", "text"),
    ("char(2)", "ab  ", "text"),
    ("bit(4)", "101", None),
    ("bit(4)", "1011", None),
    ("varbit(2)", "111", None),
    ("numeric(4,1)", "12.36", None),
]


def _load(dsn: str, typ: str, value: str, binary: str | None) -> tuple:
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute("drop table if exists cl")
        con.execute(f"create table cl (v {typ})")
        out = []
        for fmt in ("text", "binary") if binary else ("text",):
            try:
                with con.cursor() as cur:
                    if fmt == "text":
                        with cur.copy("copy cl from stdin") as cp:
                            cp.write(f"{value}\n")
                    else:
                        with cur.copy("copy cl from stdin (format binary)") as cp:
                            cp.set_types([binary])
                            cp.write_row((value,))
                out.append("ok")
            except psycopg.Error as e:
                out.append(e.sqlstate)
        rows = con.execute("select v::text from cl").fetchall()
        return out, rows


@pytest.mark.parametrize("typ, value, binary", CASES, ids=[f"{t}:{v}" for t, v, _ in CASES])
def test_copy_into_length_limited_columns_as_postgresql(server, pg15_dsn, typ, value, binary):  # noqa: F811
    assert _load(server.dsn, typ, value, binary) == _load(pg15_dsn, typ, value, binary)
