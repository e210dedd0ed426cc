"""Regression tests for bugs the durability review found: parameters, EXCLUDED, array_fill,
sqlvec.memory_limit and the relation name storage errors use."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import (
    ArraySubscriptError,
    FeatureNotSupported,
    InvalidParameterValue,
    NullValueNotAllowed,
    OutOfMemory,
    ProgramLimitExceeded,
)
from sqlvec.session import Database, Session
from sqlvec.sql.parse import parse_sql


@pytest.mark.parametrize(
    "sql", ["SELECT $10,$11", "SELECT $1,$2", "SELECT $10||$11", "SELECT ARRAY[$10,$11]"]
)
def test_parameters_next_to_punctuation_tokenize(sql) -> None:
    (node,) = parse_sql(sql)
    assert node.sql(dialect="postgres").count("$") == 2


def test_dollar_quotes_still_work() -> None:
    (node,) = parse_sql("SELECT $$a$$ || $t$b$t$, $_x$c$_x$")
    assert node.sql(dialect="postgres") == "SELECT 'a' || 'b', 'c'"


def test_parameters_above_nine(q) -> None:
    q("PREPARE p (int, int, int, int, int, int, int, int, int, int, int) AS SELECT $10,$11")
    assert q("EXECUTE p (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)") == [(10, 11)]


def test_excluded_is_case_insensitive(q) -> None:
    q("CREATE TABLE kv (k int PRIMARY KEY, v int)")
    q("INSERT INTO kv VALUES (1, 1), (2, 2)")
    q("INSERT INTO kv VALUES (1, 10) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v")
    q("INSERT INTO kv VALUES (2, 20) ON CONFLICT (k) DO UPDATE SET v = Excluded.v + kv.v")
    assert q("SELECT k, v FROM kv ORDER BY k") == [(1, 10), (2, 22)]
    # the target's alias (any case) names it in DO UPDATE, WHERE and RETURNING
    got = q(
        "INSERT INTO kv AS X VALUES (2, 1) ON CONFLICT (k) "
        "DO UPDATE SET v = EXCLUDED.v + x.v WHERE X.k = 2 RETURNING x.k, X.v"
    )
    assert got == [(2, 23)]


@pytest.mark.parametrize(
    "sql, want",
    [
        ("SELECT array_fill(7, ARRAY[3])", [7, 7, 7]),
        ("SELECT array_fill(7, ARRAY[3], ARRAY[1])", [7, 7, 7]),
        ("SELECT array_fill(NULL::int, ARRAY[2])", [None, None]),
        ("SELECT array_fill('x'::text, ARRAY[2])", ["x", "x"]),
        ("SELECT array_fill(7, ARRAY[0])", []),
        ("SELECT array_fill(7, '{}'::int[])", []),
        ("SELECT array_fill(7::int8, ARRAY[2])::text", "{7,7}"),
    ],
)
def test_array_fill(q, sql, want) -> None:
    assert q(sql) == [(want,)]


def test_array_fill_per_row(q) -> None:
    got = q("SELECT array_fill(g, ARRAY[g]) FROM generate_series(0, 3) g")
    assert got == [([],), ([1],), ([2, 2],), ([3, 3, 3],)]


@pytest.mark.parametrize(
    "sql, err",
    [
        ("SELECT array_fill(7, NULL)", NullValueNotAllowed),
        ("SELECT array_fill(7, ARRAY[NULL]::int[])", NullValueNotAllowed),
        ("SELECT array_fill(7, ARRAY[-1])", ProgramLimitExceeded),
        ("SELECT array_fill(7, ARRAY[3], ARRAY[1, 1])", ArraySubscriptError),
        ("SELECT array_fill(7, ARRAY[2, 2])", FeatureNotSupported),
        ("SELECT array_fill(7, ARRAY[3], ARRAY[2])", FeatureNotSupported),
    ],
)
def test_array_fill_errors(q, sql, err) -> None:
    with pytest.raises(err):
        q(sql)


def test_memory_limit_is_the_databases_budget() -> None:
    db = Database.open(None, memory_limit=1 << 20)
    s = Session(db)

    def run(sql):
        res = list(s.execute(sql))[-1]
        batches = getattr(res, "batches", [])
        return [tuple(c[i].as_py() for c in b.columns) for b in batches for i in range(b.num_rows)]

    assert run("SHOW sqlvec.memory_limit") == [("1MB",)]
    assert run("SELECT current_setting('sqlvec.memory_limit')") == [("1MB",)]
    assert ("sqlvec.memory_limit", "1MB", "") in run("SHOW ALL")
    with pytest.raises(OutOfMemory) as e:
        run("SELECT string_agg(md5(g::text), ',') FROM generate_series(1, 40000) g")
    assert e.value.code == "53200" and "1.0 MB memory limit" in e.value.detail
    assert db.store.memory.used == 0
    assert run("SELECT count(*) FROM generate_series(1, 40000) g") == [(40000,)]
    run("SET sqlvec.memory_limit = '4MB'")
    assert db.store.memory.limit == 4 << 20
    assert len(run("SELECT string_agg(md5(g::text), ',') FROM generate_series(1, 40000) g")[0][0])
    run("RESET sqlvec.memory_limit")
    assert run("SHOW sqlvec.memory_limit") == [("1MB",)]
    with pytest.raises(InvalidParameterValue):
        run("SET sqlvec.memory_limit = 'plenty'")


def test_storage_errors_name_the_relation(tmp_path) -> None:
    db = Database.open(str(tmp_path / "d"))
    try:
        s = Session(db)
        list(s.execute("CREATE TABLE victim (id int)"))
        list(s.execute("CREATE SCHEMA other; CREATE TABLE other.t2 (id int)"))
        oids = {r.name: r.oid for r in db.catalog(db.store.begin()).relations()}
        assert db.store.describe_table(oids["victim"]) == 'relation "victim"'
        assert db.store.describe_table(oids["t2"]) == 'relation "other.t2"'
        assert db.store.describe_table(999_999) == "table 999999"
        list(s.execute("ALTER TABLE victim RENAME TO renamed"))
        assert db.store.describe_table(oids["victim"]) == 'relation "renamed"'
        list(s.execute("DROP TABLE renamed"))
        assert db.store.describe_table(oids["victim"]) == f"table {oids['victim']}"
    finally:
        db.close()
