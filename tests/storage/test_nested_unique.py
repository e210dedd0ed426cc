"""UNIQUE on array and vector columns (were XX000: Arrow cannot sort lists): the unique-key
lookups compare nested values by their equality bytes (storage/nested_keys.py). Arrays
against PostgreSQL 15 (NULL elements equal, -0 = 0, NaN = NaN, shape matters); vector,
halfvec and sparsevec as pgvector's btree equality. Short lists take the bisect probe,
long ones (a multi-row INSERT) the hash probe."""

from __future__ import annotations

import numpy as np
import psycopg
import pytest

import sqlvec
from tests.support.conftest_pg import pg15_dsn  # noqa: F401 - fixture

ARRAYS = [  # (column type, values inserted one statement each, in order)
    ("int[]", ["{1,NULL}", "{1,NULL}", "{}", "{}", "{1,2}", "{2,1}", "{NULL}", "{NULL,NULL}"]),
    ("float8[]", ["{-0}", "{0}", "{NaN}", "{NaN}", "{1.5,2}", "{1.5,2.0}", "{Infinity}"]),
    ("text[]", ["{a,b}", "{ab}", "{a,b}", '{"",a}', '{a,""}', "{a,NULL}", "{a,NULL}"]),
    ("numeric[]", ["{1.5}", "{1.50}", "{-0.0}", "{0}"]),
    ("bool[]", ["{t,f}", "{t,f}", "{f}", "{f,NULL}"]),
    ("date[]", ["{2020-01-01}", "{2020-01-01}", "{2020-01-02}"]),
]


def _outcomes(execute, typ: str, values: list[str]) -> list[str]:
    execute("drop table if exists u")
    execute(f"create table u (id int, v {typ} unique)")
    out = []
    for i, v in enumerate(values):
        try:
            execute("insert into u values (%s, %s)", (i, v))
            out.append("ok")
        except (psycopg.Error, sqlvec.Error) as e:
            out.append(e.sqlstate)
    return out


@pytest.mark.parametrize("typ, values", ARRAYS, ids=[t for t, _ in ARRAYS])
def test_unique_arrays_as_postgresql(pg15_dsn, typ, values):  # noqa: F811
    with psycopg.connect(pg15_dsn, autocommit=True) as pc:
        want = _outcomes(lambda *a: pc.execute(*a), typ, values)
    con = sqlvec.connect()
    con.autocommit = True
    cur = con.cursor()
    assert _outcomes(lambda *a: cur.execute(*a), typ, values) == want
    con.close()


def test_unique_vectors_and_a_long_insert():
    con = sqlvec.connect()
    con.autocommit = True
    cur = con.cursor()
    cur.execute("create extension vector")
    cases = [("vector(2)", ["[1,2]", "[1,3]", "[1,2]", "[-0,3]", "[0,3]"]),
             ("halfvec(2)", ["[1,2]", "[1,3]", "[1,2]"]),
             ("sparsevec(3)", ["{1:1}/3", "{2:1}/3", "{1:1}/3", "{1:1,3:2}/3", "{1:1,3:2}/3"])]
    for typ, values in cases:
        got = _outcomes(lambda *a: cur.execute(*a), typ, values)
        assert got == ["ok", "ok", "23505", "ok", "23505"][:len(values)], typ
    # more values in one statement than the bisect probe takes: the hash probe
    rng = np.random.default_rng(1)
    cur.execute("create table w (v vector(4) unique, a int[] unique)")
    x = rng.standard_normal((200, 4)).astype(np.float32)

    def insert(rows):
        cur.execute("insert into w values " + ", ".join(
            f"('[{','.join(map(str, v))}]', '{{{','.join(map(str, a))}}}')" for v, a in rows))
    rows = [(v.tolist(), [i, i + 1]) for i, v in enumerate(x)]
    insert(rows[:100])
    for bad in ([(x[5].tolist(), [-1])], [([9, 9, 9, 9], [7, 8])], rows[120:121]):
        with pytest.raises(sqlvec.Error) as e:  # (a duplicate of a stored row, or in the statement)
            insert(rows[100:180] + bad)
        assert e.value.sqlstate == "23505"
    insert(rows[100:])
    cur.execute("insert into w values ('[9,9,9,9]', '{-5}') on conflict (v) do nothing")
    cur.execute("insert into w values ('[9,9,9,9]', '{-6}') on conflict (v) do nothing")
    cur.execute("select count(*) from w")
    assert cur.fetchone()[0] == 201
    con.close()
