"""EXPLAIN prints a vector search's query value as its SQL literal (was a Python repr for
bit: b'\\x00..', and sparsevec: {'dim': ..})."""

from __future__ import annotations


def test_explain_prints_query_values_as_sql_literals(db):
    db("CREATE EXTENSION IF NOT EXISTS vector")
    db("CREATE TABLE ex5 (id int, x bit(8), s sparsevec(4), h halfvec(2), v vector(2))")
    for order, want in (("x <~> '10101010'", "x <~> '10101010'::bit"),
                        ("x <~> B'10101010'", "x <~> '10101010'::bit"),
                        ("s <-> '{3:1.5,1:1}/4'", "s <-> '{1:1,3:1.5}/4'::sparsevec"),
                        ("h <=> '[1,2.5]'", "h <=> '[1,2.5]'::halfvec"),
                        ("v <#> '[1,-2]'", "v <#> '[1,-2]'::vector")):
        lines = [r[0].strip() for r in db(f"EXPLAIN SELECT id FROM ex5 ORDER BY {order} LIMIT 1")]
        assert f"Order By: {want}" in lines, lines
