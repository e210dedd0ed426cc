"""text / varchar -> bit(n) and varbit(n) casts as PostgreSQL's (an I/O conversion, then the
explicit length coercion: padded or cut, not 22026), and a 42804 assignment message that
names the column's type without its typmod (format_type_be); against PostgreSQL 15."""

from __future__ import annotations

import psycopg
import pytest

import sqlvec
from tests.support.conftest_pg import pg15_dsn  # noqa: F401 - fixture

QUERIES = [
    "select '101'::text::bit(4)",
    "select '10111'::text::bit(4)",
    "select '101'::varchar::bit(4)",
    "select '10111'::text::varbit(2)",
    "select 'X1F'::text::bit(8)",
    "select null::text::bit(3)",
    "select '1x'::text::bit(4)",
    "insert into tb (b) select '101'::text",
    "insert into tb (v) select 5",
]


def _answers(execute) -> list:
    out = []
    execute("create table tb (b bit(4), v varchar(10))")
    for q in QUERIES:
        try:
            out.append(execute(q))
        except (psycopg.Error, sqlvec.Error) as e:
            out.append((e.sqlstate, str(e).splitlines()[0]))
    return out


@pytest.mark.usefixtures("pg15_dsn")
def test_text_to_bit_casts_and_assignment_words_as_postgresql(pg15_dsn):  # noqa: F811
    with psycopg.connect(pg15_dsn, autocommit=True) as pc:
        pc.execute("drop table if exists tb")
        want = _answers(lambda q: pc.execute(q).fetchall() if q.startswith("select") else
                        pc.execute(q) and None)
    con = sqlvec.connect()
    con.autocommit = True
    cur = con.cursor()

    def run(q):
        cur.execute(q)
        return [tuple(r) for r in cur.fetchall()] if q.startswith("select") else None
    assert _answers(run) == want
    con.close()
