"""IS [NOT] DISTINCT FROM compares with the `=` of its two types (arrays element by element,
NaN = NaN, intervals by span, numeric by value; were Arrow's equal: XX000 for arrays,
vectors and sparsevecs, NaN distinct from NaN, '1 day' from '24 hours'), and row
constructors field by field; against PostgreSQL 15, and vectors against pgvector's
vector_eq."""

from __future__ import annotations

import pytest

from tests.support.conftest_pg import assert_as_postgresql

SETUP = [
    "CREATE TABLE tv (id int, a int[], f float8, i interval, c char(3), n numeric, j jsonb)",
    "INSERT INTO tv VALUES (1, '{1,2}', 'NaN', '1 day', 'a', 1.50, '{\"a\":1}'), "
    "(2, NULL, NULL, NULL, NULL, NULL, NULL), (3, '{1,NULL}', '-0', '24 hours', 'a  ', 1.5, '{\"a\": 1}')",
]
QUERIES = [
    "SELECT id FROM tv WHERE a IS NOT DISTINCT FROM '{1,2}' ORDER BY 1",
    "SELECT id, a IS DISTINCT FROM '{1,NULL}', a IS NOT DISTINCT FROM NULL FROM tv ORDER BY 1",
    "SELECT array[1,2] IS NOT DISTINCT FROM array[1,2], array[1,2] IS DISTINCT FROM NULL, "
    "array[[1,2]] IS DISTINCT FROM array[[1,2]], array[1.0] IS NOT DISTINCT FROM array[1.00]",
    "SELECT id, f IS NOT DISTINCT FROM 'NaN', f IS NOT DISTINCT FROM 0, i IS NOT DISTINCT FROM '1 day', "
    "c IS NOT DISTINCT FROM 'a', n IS NOT DISTINCT FROM 1.5, j IS NOT DISTINCT FROM '{\"a\":1}' FROM tv ORDER BY 1",
    "SELECT a.id, b.id FROM tv a JOIN tv b ON a.a IS NOT DISTINCT FROM b.a ORDER BY 1, 2",
    "SELECT (1, NULL) IS NOT DISTINCT FROM (1, NULL), (1, 2) IS DISTINCT FROM (1, NULL), "
    "(1, 2) IS DISTINCT FROM (1, 2), (NULL, 2) IS NOT DISTINCT FROM (1, 2)",
]


def test_as_postgresql(pg):
    assert_as_postgresql(pg, SETUP, QUERIES)


@pytest.mark.parametrize("sql, want", [
    ("SELECT id FROM vt WHERE v IS NOT DISTINCT FROM '[0,2,3]' ORDER BY 1", [(3,)]),
    ("SELECT id, v IS DISTINCT FROM '[1,2,3]' FROM vt ORDER BY 1", [(1, False), (2, True), (3, True)]),
    ("SELECT id FROM vt WHERE s IS NOT DISTINCT FROM '{1:1}/3' ORDER BY 1", [(1,), (3,)]),
    ("SELECT id FROM vt WHERE h IS NOT DISTINCT FROM '[1,2]' ORDER BY 1", [(1,), (3,)]),
    ("SELECT '[1,2]'::vector IS DISTINCT FROM '[1,2,3]', NULL::vector IS NOT DISTINCT FROM NULL",
     [(True, True)]),
])
def test_vectors(db, sql, want):
    db("CREATE TABLE IF NOT EXISTS vt (id int, v vector(3), s sparsevec(3), h halfvec(2))")
    db("DELETE FROM vt")
    db("INSERT INTO vt VALUES (1, '[1,2,3]', '{1:1}/3', '[1,2]'), (2, NULL, NULL, NULL), "
       "(3, '[-0,2,3]', '{1:1,2:0}/3', '[1,2.0001]')")
    assert db(sql) == want
