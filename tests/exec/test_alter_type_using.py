"""ALTER TABLE ... ALTER COLUMN c TYPE t [USING expr], checked against PostgreSQL 15's behaviour."""

from __future__ import annotations

import pytest

import sqlvec
import sqlvec.dbapi as dbapi


def _con(path=":memory:"):
    con = sqlvec.connect(path)
    con.autocommit = True
    return con


def _rows(cur, table="u"):
    return cur.execute(f"SELECT * FROM {table} ORDER BY a").fetchall()


def _fails(cur, sql, state):
    with pytest.raises(dbapi.DatabaseError) as info:
        cur.execute(sql)
    assert info.value.sqlstate == state, info.value
    return info.value


def test_using_expressions_over_the_row():
    cur = _con().cursor()
    cur.execute("CREATE TABLE u (a integer, c integer)")
    cur.execute("INSERT INTO u VALUES (1, 5), (2, 7), (3, NULL)")
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE bigint USING c * 2")
    assert _rows(cur) == [(1, 10), (2, 14), (3, None)]
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE text USING (a || '-' || c)::text")
    assert _rows(cur) == [(1, "1-10"), (2, "2-14"), (3, None)]
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE text USING a")  # int -> text: assignment cast
    assert _rows(cur) == [(1, "1"), (2, "2"), (3, "3")]
    cur.execute("ALTER TABLE u ALTER COLUMN c SET DATA TYPE integer USING c::text::int + a")
    assert _rows(cur) == [(1, 2), (2, 4), (3, 6)]
    cur.execute("SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'u' AND column_name = 'c'")
    assert cur.fetchone() == ("integer",)
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE integer USING 1.7")  # numeric -> int rounds
    assert _rows(cur) == [(1, 2), (2, 2), (3, 2)]
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE boolean USING a > 1")
    assert _rows(cur) == [(1, False), (2, True), (3, True)]
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE integer USING NULL")
    assert _rows(cur) == [(1, None), (2, None), (3, None)]
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE integer USING '12'")
    assert _rows(cur) == [(1, 12), (2, 12), (3, 12)]
    cur.execute("INSERT INTO u VALUES (4, 40)")  # the new type takes new rows
    assert cur.execute("SELECT sum(c) FROM u").fetchone() == (76,)


def test_using_on_an_empty_table():
    cur = _con().cursor()
    cur.execute("CREATE TABLE u (a integer, c text)")
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE integer USING c::integer")
    cur.execute("INSERT INTO u VALUES (1, 3)")
    assert _rows(cur) == [(1, 3)]


def test_without_using_needs_an_assignment_cast():
    cur = _con().cursor()
    cur.execute("CREATE TABLE t (a integer, c text)")
    cur.execute("INSERT INTO t VALUES (1, '5'), (2, '6')")
    err = _fails(cur, "ALTER TABLE t ALTER COLUMN c TYPE integer", "42804")
    assert err.message == 'column "c" cannot be cast automatically to type integer'
    assert err.error.hint == 'You might need to specify "USING c::integer".'
    assert _rows(cur, "t") == [(1, "5"), (2, "6")]
    cur.execute("ALTER TABLE t ALTER COLUMN a TYPE bigint")  # assignment casts still work
    cur.execute("ALTER TABLE t ALTER COLUMN a TYPE text")
    cur.execute("ALTER TABLE t ALTER COLUMN c TYPE integer USING c::integer")
    assert _rows(cur, "t") == [("1", 5), ("2", 6)]


@pytest.mark.parametrize("using,state", [
    ("c", "42804"),  # text result: no assignment cast to integer
    ("c::int", "22P02"),  # 'x' is no integer
    ("100000::int::smallint", "22003"),
    ("nosuch", "42703"),
    ("(SELECT 1)", "0A000"),
    ("sum(a)", "42803"),
    ("'abc'", "22P02"),
])
def test_failing_using_changes_nothing(using, state):
    cur = _con().cursor()
    cur.execute("CREATE TABLE u (a integer, c text)")
    cur.execute("INSERT INTO u VALUES (1, '5'), (2, 'x')")
    ty = "smallint" if "smallint" in using else "integer"
    err = _fails(cur, f"ALTER TABLE u ALTER COLUMN c TYPE {ty} USING {using}", state)
    if using == "c":
        assert err.message == ('result of USING clause for column "c" cannot be cast '
                               "automatically to type integer")
        assert err.error.hint == "You might need to add an explicit cast."
    assert _rows(cur) == [(1, "5"), (2, "x")]
    cur.execute("INSERT INTO u VALUES (3, 'still text')")
    assert _rows(cur)[-1] == (3, "still text")


def test_rollback_restores_and_failure_aborts_the_transaction():
    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    cur.execute("CREATE TABLE u (a integer, c integer)")
    cur.execute("INSERT INTO u VALUES (1, 5), (2, 7)")
    con.commit()
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE text USING 'v' || c")
    assert _rows(cur) == [(1, "v5"), (2, "v7")]
    con.rollback()
    assert _rows(cur) == [(1, 5), (2, 7)]
    cur.execute("UPDATE u SET c = 8 WHERE a = 1")
    _fails(cur, "ALTER TABLE u ALTER COLUMN c TYPE smallint USING c * 10000", "22003")
    con.rollback()
    assert _rows(cur) == [(1, 5), (2, 7)]


def test_file_backed_survives_reopen(tmp_path):
    path = str(tmp_path / "db")
    con = _con(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE u (a integer, c integer)")
    cur.execute("INSERT INTO u SELECT g, g * 10 FROM generate_series(1, 5000) g")
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE text USING (a || ':' || c)")
    _fails(cur, "ALTER TABLE u ALTER COLUMN c TYPE integer USING c::integer", "22P02")
    con.close()
    con = _con(path)
    cur = con.cursor()
    assert cur.execute("SELECT c FROM u WHERE a = 4321").fetchone() == ("4321:43210",)
    assert cur.execute("SELECT count(*) FROM u WHERE c LIKE '%:%'").fetchone() == (5000,)
    cur.execute("ALTER TABLE u ALTER COLUMN c TYPE bigint USING split_part(c, ':', 2)::bigint + a")
    con.close()
    con = _con(path)
    cur = con.cursor()
    assert cur.execute("SELECT sum(c), min(c) FROM u").fetchone() == (11 * 5000 * 5001 // 2, 11)
    cur.execute("SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'u' AND column_name = 'c'")
    assert cur.fetchone() == ("bigint",)
    con.close()
