"""A parameter stored into a varchar(n) / char(n) column is of the plain type, then
assignment-cast as PostgreSQL does: too long is 22001, trailing spaces are cut, char(n)
pads (was stored as sent, whatever its length)."""

from __future__ import annotations

import pytest

import sqlvec


def test_parameters_into_length_limited_columns_are_checked():
    con = sqlvec.connect(":memory:")
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE vc (s varchar(2), c char(3))")
    for sql, args in [("INSERT INTO vc (s) VALUES (%s)", ("abc",)),
                      ("INSERT INTO vc (c) VALUES (%s)", ("abcd",)),
                      ("INSERT INTO vc (s) SELECT %s", ("abc",))]:
        with pytest.raises(sqlvec.DataError) as err:
            cur.execute(sql, args)
        assert err.value.sqlstate == "22001"
    cur.execute("INSERT INTO vc VALUES (%s, %s)", ("ab   ", "a"))
    with pytest.raises(sqlvec.DataError):
        cur.execute("UPDATE vc SET s = %s", ("xyz",))
    cur.execute("SELECT s, c, octet_length(c::text || '') FROM vc")
    assert cur.fetchall() == [("ab", "a  ", 1)]
    cur.execute("SELECT %s::varchar(2)", ("abc",))  # an explicit cast truncates
    assert cur.fetchall() == [("ab",)]
