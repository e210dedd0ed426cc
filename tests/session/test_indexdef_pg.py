"""pg_indexes.indexdef and pg_get_indexdef print index keys and partial-index predicates as
PostgreSQL 15 does: a predicate written in parentheses in one pair (was two:
'WHERE ((category_id = 123))'), an expression key that is not a function call in
parentheses however many it was written in, a function call as it is."""

from __future__ import annotations

from tests.support.conftest_pg import assert_as_postgresql

DDL = [
    "CREATE TABLE items (id int, category_id int, name text)",
    "CREATE INDEX i1 ON items (id) WHERE (category_id = 123)",
    "CREATE INDEX i2 ON items (category_id) WHERE category_id > 5",
    "CREATE INDEX i3 ON items ((category_id + 1))",
    "CREATE INDEX i4 ON items (lower(name)) WHERE (name IS NOT NULL) AND (id > 0)",
    "CREATE INDEX i5 ON items ((lower(name)))",
    "CREATE INDEX i6 ON items (id, (((category_id * 2))), upper(name)) WHERE (((id < 7)))",
]
QUERIES = [
    "SELECT indexname, replace(indexdef, 'oracle_fixture.', 'public.') FROM pg_indexes "
    "WHERE tablename = 'items' ORDER BY indexname",
    "SELECT i, pg_get_indexdef('i6'::regclass, i, true) FROM generate_series(1, 3) i",
    "SELECT pg_get_indexdef('i3'::regclass, 1, true), pg_get_indexdef('i5'::regclass, 1, true)",
]


def test_as_postgresql(pg):
    assert_as_postgresql(pg, DDL, QUERIES)
