"""bit/varbit and sparsevec order and comparisons as PostgreSQL's / pgvector's btree.

bit and varbit are checked against PostgreSQL 15 itself (bitcmp: bit by bit over the common
length, then the shorter first); sparsevec against a port of pgvector's
sparsevec_cmp_internal and against PostgreSQL's order of the dense forms as real[] (the same
order: pgvector compares values before dimensions "to be consistent with Postgres arrays").
"""

from __future__ import annotations

import functools
import random

import psycopg
import pytest


def _bits(rng: random.Random, n: int, width: int | None) -> list[str | None]:
    out = []
    for _ in range(n):
        if rng.random() < 0.05:
            out.append(None)
            continue
        k = width if width is not None else rng.randrange(0, 19)
        out.append("".join(rng.choice("01") if rng.random() < 0.7 else "0" for _ in range(k)))
    return out


BIT_QUERIES = [
    "select id, x from t order by x, id",
    "select id, x from t order by x desc nulls last, id desc",
    "select distinct x from t order by x",
    "select x, count(*) from t group by x order by x nulls first",
    "select id, rank() over (order by x) from t order by id",
    "select min(id), max(id) from t where x is not null group by x order by 1",
    "select count(*) filter (where a.x < b.x), count(*) filter (where a.x <= b.x),"
    " count(*) filter (where a.x = b.x), count(*) filter (where a.x <> b.x),"
    " count(*) filter (where a.x > b.x), count(*) filter (where a.x >= b.x) from t a, t b",
    "select id from t where x > '0110' and x <= '1' order by id",
    "select a.id, b.id from t a join t b on a.x = b.x and a.id < b.id order by 1, 2",
]


@pytest.mark.parametrize("typ,width", [("varbit", None), ("bit(5)", 5)])
def test_bit_order_equals_postgresql(pg, db, typ, width):
    rng = random.Random(5 + (width or 0))
    vals = _bits(rng, 160, width)
    vals += ["1", "10", "101", "11", "100", "1000", "0", ""] if width is None else []
    rows = ", ".join(f"({i}, {'NULL' if v is None else repr(v)})" for i, v in enumerate(vals))
    for run in (pg, db):
        run(f"create table t (id int, x {typ})")
        run(f"insert into t values {rows}")
    for sql in BIT_QUERIES:
        want = [tuple(r) for r in pg(sql)]
        got = [tuple(r) for r in db(sql)]
        assert got == want, sql


def test_bit_unique_index_and_range_scan_equal_postgresql(pg, db):
    for run in (pg, db):
        run("create table u (id int, x varbit)")
        run("create unique index u_x on u (x)")
        run("insert into u values (1, '1'), (2, '10'), (3, '01'), (4, ''), (5, '100'), (6, '11')")
    for sql in ("insert into u values (7, '10')", "insert into u values (8, '')"):
        with pytest.raises(psycopg.errors.UniqueViolation):
            pg(sql)
        with pytest.raises(Exception) as e:
            db(sql)
        assert getattr(e.value, "sqlstate", None) == "23505"
    db("insert into u values (9, '1000')")
    pg("insert into u values (9, '1000')")
    for sql in ("select id from u where x >= '1' and x < '101' order by x",
                "select id from u where x between '0' and '100' order by x desc"):
        assert [tuple(r) for r in db(sql)] == [tuple(r) for r in pg(sql)], sql


# ---- sparsevec ----------------------------------------------------------------------------

def _sparsevec_cmp(a: tuple[int, dict[int, float]], b: tuple[int, dict[int, float]]) -> int:
    """pgvector's sparsevec_cmp_internal over (dim, {0-based index: value}), step by step."""
    (adim, ad), (bdim, bd) = a, b
    ai, bi = sorted(ad), sorted(bd)
    nnz = min(len(ai), len(bi))
    for i in range(nnz):
        if ai[i] < bi[i]:
            return -1 if ad[ai[i]] < 0 else 1
        if ai[i] > bi[i]:
            return 1 if bd[bi[i]] < 0 else -1
        if ad[ai[i]] != bd[bi[i]]:
            return -1 if ad[ai[i]] < bd[bi[i]] else 1
    if len(ai) < len(bi) and bi[nnz] < adim:
        return 1 if bd[bi[nnz]] < 0 else -1
    if len(ai) > len(bi) and ai[nnz] < bdim:
        return -1 if ad[ai[nnz]] < 0 else 1
    return (adim > bdim) - (adim < bdim)


def _sparse_values(rng: random.Random, n: int) -> list[tuple[int, dict[int, float]] | None]:
    out: list[tuple[int, dict[int, float]] | None] = []
    for _ in range(n):
        if rng.random() < 0.05:
            out.append(None)
            continue
        dim = rng.randrange(1, 6)
        out.append((dim, {i: rng.choice([-2.0, -1.0, 0.5, 1.0]) for i in range(dim) if rng.random() < 0.4}))
    return out


def _text(v: tuple[int, dict[int, float]]) -> str:
    dim, d = v
    return "{" + ",".join(f"{i + 1}:{x:g}" for i, x in sorted(d.items())) + f"}}/{dim}"


def _dense(v: tuple[int, dict[int, float]]) -> str:
    dim, d = v
    return "{" + ",".join(f"{d.get(i, 0.0):g}" for i in range(dim)) + "}"


def _sparse_table(db, vals) -> None:
    db("create extension if not exists vector")
    db("create table s (id int, v sparsevec)")
    db("insert into s values " + ", ".join(
        f"({i}, {'NULL' if v is None else repr(_text(v))})" for i, v in enumerate(vals)))


def test_sparsevec_order_and_comparisons_are_pgvectors(db):
    rng = random.Random(7)
    vals = _sparse_values(rng, 150)
    _sparse_table(db, vals)
    present = [i for i, v in enumerate(vals) if v is not None]
    key = functools.cmp_to_key(lambda i, j: _sparsevec_cmp(vals[i], vals[j]) or (i > j) - (i < j))
    want = sorted(present, key=key) + [i for i, v in enumerate(vals) if v is None]
    assert [r[0] for r in db("select id from s order by v, id")] == want
    assert [r[0] for r in db("select id from s order by v desc nulls last, id desc")] == \
        sorted(present, key=key, reverse=True) + [i for i, v in enumerate(vals) if v is None][::-1]
    got = db("select a.id, b.id, a.v < b.v, a.v <= b.v, a.v = b.v, a.v <> b.v, a.v > b.v, a.v >= b.v"
             " from s a, s b where a.id < 40 and b.id < 40")
    for i, j, *ops in got:
        if vals[i] is None or vals[j] is None:
            assert ops == [None] * 6
            continue
        c = _sparsevec_cmp(vals[i], vals[j])
        assert ops == [c < 0, c <= 0, c == 0, c != 0, c > 0, c >= 0], (vals[i], vals[j])
    distinct = {_text(v) for v in vals if v is not None}
    assert db("select count(distinct v) from s") == [(len(distinct),)]
    assert len(db("select v, count(*) from s group by v")) == len(distinct) + 1
    # against a constant, both sides
    c = _text(vals[present[0]])
    assert [r[0] for r in db(f"select id from s where v <= '{c}' order by id")] == \
        [i for i in present if _sparsevec_cmp(vals[i], vals[present[0]]) <= 0]
    assert [r[0] for r in db(f"select id from s where '{c}' < v order by id")] == \
        [i for i in present if _sparsevec_cmp(vals[present[0]], vals[i]) < 0]


def test_sparsevec_order_is_postgresqls_order_of_the_dense_arrays(pg, db):
    vals = _sparse_values(random.Random(11), 120)
    _sparse_table(db, vals)
    pg("create table s (id int, v real[])")
    pg("insert into s values " + ", ".join(
        f"({i}, {'NULL' if v is None else repr(_dense(v))})" for i, v in enumerate(vals)))
    for sql in ("select id from s order by v, id", "select id from s order by v desc, id",
                "select id, dense_rank() over (order by v) from s order by id"):
        assert db(sql) == [tuple(r) for r in pg(sql)], sql


def test_vector_and_halfvec_order_by_window_and_comparisons(db):
    db("create extension if not exists vector")
    db("create table v (id int, v vector, h halfvec)")
    db("insert into v values (1, '[1,2]', '[1,2]'), (2, '[1]', '[1]'), (3, '[-1,5]', '[-1,5]'),"
       " (4, '[0,1]', '[0,1]'), (5, '[1,2,0]', '[1,2,0]'), (6, NULL, NULL), (7, '[0,5]', '[0,5]')")
    want = [3, 4, 7, 2, 1, 5, 6]
    assert [r[0] for r in db("select id from v order by v, id")] == want
    assert [r[0] for r in db("select id from v order by h, id")] == want
    assert [r[0] for r in db("select id from v order by row_number() over (order by v, id)")] == want
    assert db("select '[1]'::vector < '[1,2]', '[1,2]'::halfvec > '[1]', '[-0,5]'::vector = '[0,5]'") \
        == [(True, True, True)]


# ---- the embedded API gives bit values as psycopg does: their text ---------------------------

def test_embedded_fetch_gives_bit_text_as_psycopg(pg, db):
    sql = ("select B'1010', x, y, '{101,NULL,1}'::varbit[] from (values ('0'::varbit, '111'::bit(3)),"
           " (NULL, NULL), (''::varbit, '000'::bit(3))) t(x, y)")
    want = [tuple(r) for r in pg(sql)]
    assert want[0] == ("1010", "0", "111", ["101", None, "1"])
    assert db(sql) == want


# ---- 42883 names types as format_type_be: no typmod ---------------------------------------------

@pytest.mark.parametrize("sql", [
    "select foo('a'::varchar(3), 1::numeric(5,2), '{a}'::varchar(3)[], '1'::varbit(3), now()::timestamp(3))",
    "select -'a'::varchar(3)",
    "select max(x) from (select '1'::varbit(3)) s(x)",
])
def test_undefined_function_names_types_without_typmod(pg, db, sql):
    with pytest.raises(psycopg.Error) as want:
        pg(sql)
    with pytest.raises(Exception) as got:
        db(sql)
    assert got.value.sqlstate == want.value.sqlstate == "42883"
    assert str(got.value).splitlines()[0] == str(want.value).splitlines()[0]


def test_max_vector_says_vector_without_dimensions(db):
    db("create extension if not exists vector")
    with pytest.raises(Exception) as e:
        db("select max(x) from (select '[1,2]'::vector(2)) s(x)")
    assert (e.value.sqlstate, str(e.value).splitlines()[0]) == ("42883", "function max(vector) does not exist")
