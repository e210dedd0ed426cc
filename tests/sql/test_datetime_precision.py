"""timestamp(p) / time(p) / interval(p): a value reaching such a column or cast through a
parameter is rounded to p fractional digits as PostgreSQL does (the parameter itself is of
the plain type, then assignment-cast)."""

from __future__ import annotations

import datetime as dt

import sqlvec


def test_parameters_into_precision_columns_are_rounded():
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE tp (b interval(0), d timestamp(0), e time(1))")
    cur.execute("INSERT INTO tp VALUES (%s, %s, %s)", ("2.5 seconds", "2024-01-01 00:00:00.7", "10:00:00.55"))
    cur.execute("INSERT INTO tp VALUES (%s, %s, %s)",
                (dt.timedelta(seconds=3.5), dt.datetime(2024, 1, 1, 0, 0, 0, 400000), dt.time(1, 2, 3, 450000)))
    cur.execute("INSERT INTO tp (b) SELECT %s::interval", ("1.5 seconds",))
    cur.execute("SELECT b::text, d::text, e::text FROM tp")
    assert cur.fetchall() == [("00:00:03", "2024-01-01 00:00:01", "10:00:00.6"),
                              ("00:00:04", "2024-01-01 00:00:00", "01:02:03.5"),
                              ("00:00:02", None, None)]
    cur.execute("SELECT %s::interval(0)::text, %s::time(2)::text", ("0.5 s", "23:00:00.125"))
    assert cur.fetchall() == [("00:00:01", "23:00:00.13")]
