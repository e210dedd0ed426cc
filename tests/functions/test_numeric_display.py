"""Result columns print each numeric with its own display scale, as PostgreSQL 15 does:
embedded (Decimal), over the wire in text and binary, prepared, and sorted by value.

Expected values are PostgreSQL 15's (checked against it by the sqllogic numeric.slt file and
the differential test)."""

from __future__ import annotations

from decimal import Decimal

import pytest

import sqlvec
from sqlvec.plan import expr as E
from sqlvec.plan import logical as L
from sqlvec.plan.numeric_display import show_numeric_scale

psycopg = pytest.importorskip("psycopg")

SETUP = [
    "CREATE TABLE nd(id INT, n NUMERIC, m NUMERIC(8,2))",
    "INSERT INTO nd VALUES (1, 1, 1.00), (2, 1000000, 10000.50), (3, 0.001, -0.01), (4, 0, 0),"
    " (5, 30, 3.31), (6, NULL, NULL)",
]
QUERY = "SELECT n / 3, m * m, sqrt(abs(m)) FROM nd ORDER BY id"
EXPECTED = [
    (Decimal("0.33333333333333333333"), Decimal("1.0000"), Decimal("1.000000000000000")),
    (Decimal("333333.333333333333"), Decimal("100010000.2500"), Decimal("100.0024999687508")),
    (Decimal("0.00033333333333333333"), Decimal("0.0001"), Decimal("0.10000000000000000")),
    (Decimal("0E-20"), Decimal("0.0000"), Decimal("0E-15")),
    (Decimal("10.0000000000000000"), Decimal("10.9561"), Decimal("1.819340539866025")),
    (None, None, None),
]


def _same(rows, expected):
    """Equal values with the same exponent (the display scale), not just equal numbers."""
    assert [[None if v is None else v.as_tuple() for v in r] for r in rows] == \
        [[None if v is None else v.as_tuple() for v in r] for r in expected]


def test_embedded_rows_keep_each_values_scale():
    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    for s in SETUP:
        cur.execute(s)
    _same(cur.execute(QUERY).fetchall(), EXPECTED)
    # ORDER BY the quotient sorts by value, not by its text ('10.0' < '333333.3' < '0.3')
    got = cur.execute("SELECT n / 3 AS q FROM nd WHERE n IS NOT NULL ORDER BY q DESC").fetchall()
    assert [r[0] for r in got] == [Decimal("333333.333333333333"), Decimal("10.0000000000000000"),
                                   Decimal("0.33333333333333333333"), Decimal("0.00033333333333333333"),
                                   Decimal("0E-20")]
    # a hidden ORDER BY column and LIMIT keep the scale too
    assert cur.execute("SELECT n / 3 FROM nd ORDER BY id LIMIT 1").fetchall() == [(EXPECTED[0][0],)]
    assert str(cur.execute("SELECT n / 3 FROM nd WHERE id = 1").fetchone()[0]) == "0.33333333333333333333"


def test_wire_text_binary_and_prepared(server):
    with psycopg.connect(server.dsn, autocommit=True) as con:
        con.execute("DROP TABLE IF EXISTS nd")
        for s in SETUP:
            con.execute(s)
        _same(con.execute(QUERY).fetchall(), EXPECTED)
        _same(con.cursor(binary=True).execute(QUERY).fetchall(), EXPECTED)
        for _ in range(3):  # prepared (psycopg prepares on the third run), with a parameter
            rows = con.execute("SELECT n / %s FROM nd WHERE id <= 2 ORDER BY id", (3,),
                               prepare=True).fetchall()
            _same(rows, [r[:1] for r in EXPECTED[:2]])
        con.execute("DROP TABLE nd")


def test_only_the_outermost_projection_is_rewritten():
    n = E.ColRef(0, sqlvec.core.types.NUMERIC)  # a plain column pick is left alone
    plan = L.Project(L.Values((), ()), (n,), (L.Field("n", n.type),))
    assert show_numeric_scale(plan) is plan


def test_avg_takes_a_scale_per_group():
    """avg(x) is sum(x) / count(x) with select_div_scale per group (PostgreSQL's numeric_avg);
    also through HAVING and ORDER BY, and inside an expression over it."""
    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    cur.execute("CREATE TABLE a(g INT, i INT, m NUMERIC(8,2))")
    cur.execute("INSERT INTO a VALUES (1, 1, 1.00), (1, 2, 10000.50), (2, -7, -0.01), (2, 0, 0),"
                " (3, 5, 0.95), (3, 10000, 1.05), (4, NULL, NULL)")
    rows = cur.execute("SELECT g, avg(i), avg(m) FROM a GROUP BY g ORDER BY g").fetchall()
    assert [tuple(str(v) for v in r) for r in rows] == [
        ("1", "1.5000000000000000", "5000.7500000000000000"),
        ("2", "-3.5000000000000000", "-0.00500000000000000000"),
        ("3", "5002.5000000000000000", "1.00000000000000000000"),
        ("4", "None", "None")]
    rows = cur.execute("SELECT g, avg(m) AS x FROM a GROUP BY g HAVING avg(m) < 2 ORDER BY x").fetchall()
    assert [(g, str(x)) for g, x in rows] == [(2, "-0.00500000000000000000"), (3, "1.00000000000000000000")]
    assert str(cur.execute("SELECT avg(m) / 3 FROM a WHERE g = 2").fetchone()[0]) == "-0.00166666666666666667"


def test_scale_passes_through_nullif_case_coalesce_and_folded_constants():
    """x / nullif(y, 0), CASE and COALESCE keep each value's scale; an operator over
    constants folded at plan time keeps PostgreSQL's scale (PostgreSQL 15's strings)."""
    con = sqlvec.connect(":memory:")
    cur = con.cursor()
    cur.execute("CREATE TABLE p(i INT, m NUMERIC(20,3))")
    cur.execute("INSERT INTO p VALUES (0, 1.5), (2, 3.25), (NULL, NULL)")
    got = cur.execute("SELECT m / nullif(i * 2.5, 0), coalesce(m / 3, 0), "
                      "CASE WHEN i > 0 THEN m / 7 ELSE m END, (2.5 / 7) * i FROM p ORDER BY i").fetchall()
    assert [tuple(None if v is None else str(v) for v in r) for r in got] == [
        (None, "0.50000000000000000000", "1.500", "0E-20"),
        ("0.65000000000000000000", "1.08333333333333333333", "0.46428571428571428571",
         "0.71428571428571428572"),
        (None, "0", None, None)]
