"""GROUP BY, DISTINCT and aggregates' DISTINCT on array, vector and float values group by
PostgreSQL's btree equality (storage/nested_keys bytes, no Python loop over rows): NULL
elements equal, -0 = 0, NaN = NaN, {} apart from NULL; against PostgreSQL 15, vectors as
pgvector."""

from __future__ import annotations

import psycopg

import sqlvec
from tests.support.conftest_pg import pg15_dsn  # noqa: F401 - fixture

QUERIES = [
    "select v::text, count(*) from (values ('{1,NULL}'::int[]), ('{1,NULL}'), ('{}'), (null),"
    " (null), ('{NULL}')) t(v) group by v order by 2 desc, 1",
    "select count(distinct v) from (values ('{-0,1}'::float8[]), ('{0,1}'), ('{NaN}'),"
    " ('{NaN}')) t(v)",
    "select v::text, count(*) from (values ('{a,b}'::text[]), ('{ab}'), ('{a,b}'), ('{a,\"\"}'),"
    " ('{\"\",a}')) t(v) group by v order by 2 desc, 1",
    "select count(*) from (select distinct v from (values ('{1.5}'::numeric[]), ('{1.50}'),"
    " ('{2}')) t(v)) s",
    "select count(distinct v), count(distinct w) from (values ('{-0}'::float8[], -0.0::float8),"
    " ('{0}', 0.0), ('{NaN}', 'NaN'), ('{NaN}', 'NaN')) t(v, w)",
    "select v::text, count(*) from (values (-0.0::float8), (0.0), ('NaN'), ('NaN')) t(v) group by v"
    " order by 1",
]


def test_grouping_arrays_as_postgresql(pg15_dsn):  # noqa: F811
    with psycopg.connect(pg15_dsn, autocommit=True) as pc:
        want = [pc.execute(q).fetchall() for q in QUERIES]
    con = sqlvec.connect()
    cur = con.cursor()
    got = []
    for q in QUERIES:
        cur.execute(q)
        got.append([tuple(r) for r in cur.fetchall()])
    assert got == want
    con.close()


def test_grouping_vectors_as_pgvector():
    con = sqlvec.connect()
    cur = con.cursor()
    cur.execute("create extension vector")
    cur.execute("select v::text, count(*) from (values ('[-0,5]'::vector), ('[0,5]'), ('[1,1]'),"
                " (null)) t(v) group by v order by 2 desc, 1")
    assert cur.fetchall() == [("[-0,5]", 2), ("[1,1]", 1), (None, 1)]
    cur.execute("select count(distinct v) from (values ('{1:1}/3'::sparsevec), ('{1:1}/3'),"
                " ('{2:1}/3'), ('{1:1}/4')) t(v)")
    assert cur.fetchall() == [(3,)]
    con.close()
