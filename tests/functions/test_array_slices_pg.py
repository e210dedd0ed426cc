"""Array slices a[lo:hi][lo:hi]... against PostgreSQL 15: each subscript bounds its own
dimension, a plain subscript next to a slice is 1:i, empty or surplus ranges give '{}', a
NULL bound gives NULL (was: every slice applied to the outer dimension, NULL bounds ignored).
"""

from __future__ import annotations

import random


def _literal(rng: random.Random, shape: tuple[int, ...]) -> str:
    if not shape:
        return "NULL" if rng.random() < 0.1 else str(rng.randrange(100))
    return "{" + ",".join(_literal(rng, shape[1:]) for _ in range(shape[0])) + "}"


def _bound(rng: random.Random) -> str:
    return rng.choice(["", "0", "1", "2", "3", "4", "-1", "NULL"])


def _subscript(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return f"[{rng.choice(['1', '2', '3'])}]"
    return f"[{_bound(rng)}:{_bound(rng)}]"


def test_random_slices_equal_postgresql(pg, db):
    rng = random.Random(42)
    exprs = []
    for _ in range(160):
        shape = tuple(rng.randrange(1, 4) for _ in range(rng.randrange(1, 4)))
        subs = [_subscript(rng) for _ in range(rng.randrange(1, 4))]
        if not any(":" in s for s in subs):
            subs[0] = "[2:3]"
        exprs.append(f"('{_literal(rng, shape)}'::int[]){''.join(subs)}")
    exprs += ["('{}'::int[])[1:2][1:2]", "('{{1,2,3},{4,5,6}}'::int[])[1:2][2:3]",
              "('{{1,2,3},{4,5,6}}'::int[])[2:2][1:1]", "('{{1,2,3},{4,5,6}}'::int[])[2][1:2]"]
    sql = "select " + ", ".join(f"({e})::text" for e in exprs)
    got, want = db(sql)[0], pg(sql)[0]
    assert [(e, g) for e, g, w in zip(exprs, got, want) if g != w] == []
    assert want[-4:] == ("{}", "{{2,3},{5,6}}", "{{4}}", "{{1,2},{4,5}}")


def test_column_slices_with_column_bounds_equal_postgresql(pg, db):
    rows = ("(1, '{1,2,3,4}', '{a,b,NULL,d}', 2, 3), (2, NULL, NULL, 1, 1), (3, '{}', '{}', 1, 5),"
            " (4, '{5,6}', '{x,y}', NULL, 2), (5, '{7,8,9}', '{p,q,r}', 0, 9)")
    for run in (pg, db):
        run("create temp table s (id int, a int[], t text[], lo int, hi int)")
        run(f"insert into s values {rows}")
    sql = ("select id, a[lo:hi]::text, t[lo:hi]::text, a[:hi]::text, t[lo:]::text, a[lo:hi][1:1]::text,"
           " a[2:]::text, (array[a, a])[lo:hi][2]::text from s order by id")
    assert db(sql) == pg(sql)
