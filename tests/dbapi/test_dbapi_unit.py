"""The DB-API layer over a test double session: placeholders, fetching, errors."""

from __future__ import annotations

import pytest

import sqlvec.dbapi as dbapi
from sqlvec.core.errors import (
    DivisionByZero,
    FeatureNotSupported,
    UndefinedTable,
    UniqueViolation,
)
from sqlvec.dbapi.connection import Connection, convert_placeholders
from sqlvec.dbapi.exceptions import from_sql_error
from tests.wire.fake_session import FakeSession


class FakeDb:
    closed = False

    def close(self):
        self.closed = True


def test_module_globals():
    assert dbapi.apilevel == "2.0" and dbapi.paramstyle == "pyformat"
    assert dbapi.threadsafety in (1, 2)
    assert issubclass(dbapi.IntegrityError, dbapi.DatabaseError)
    assert issubclass(dbapi.DatabaseError, dbapi.Error)


def test_placeholders():
    assert convert_placeholders("a %s b %s", (1, 2)) == ("a $1 b $2", [1, 2])
    assert convert_placeholders("x %(a)s %(b)s %(a)s 50%%", {"a": 1, "b": 2}) == \
        ("x $1 $2 $1 50%", [1, 2])
    with pytest.raises(dbapi.ProgrammingError):
        convert_placeholders("%s %s", (1,))
    with pytest.raises(dbapi.ProgrammingError):
        convert_placeholders("%s", (1, 2))


@pytest.mark.parametrize("err,cls", [
    (DivisionByZero("division by zero"), dbapi.DataError),
    (UniqueViolation("dup"), dbapi.IntegrityError),
    (UndefinedTable("nope"), dbapi.ProgrammingError),
    (FeatureNotSupported("no"), dbapi.NotSupportedError),
])
def test_error_mapping(err, cls):
    e = from_sql_error(err)
    assert isinstance(e, cls) and e.sqlstate == err.code == e.pgcode


def test_cursor_fetching_and_description():
    con = Connection(FakeDb(), FakeSession())
    cur = con.cursor()
    cur.execute("SELECT 5")
    assert [d[0] for d in cur.description] == ["id", "name"]
    assert cur.description[0][1] == 23 and cur.description[0][1] == dbapi.NUMBER
    assert cur.rowcount == 5
    assert cur.fetchone() == (1, "r1")
    cur.arraysize = 2
    assert cur.fetchmany() == [(2, "r2"), (3, None)]
    assert cur.fetchall() == [(4, "r4"), (5, "r5")]
    assert cur.fetchone() is None


def test_parameters_and_transactions():
    s = FakeSession()
    db = FakeDb()
    con = Connection(db, s)
    cur = con.execute("SELECT $1 -- %s", ("hi",))
    assert cur.fetchall() == [("hi",)]
    assert s.txn_status == "T"  # implicit BEGIN as PEP 249 requires
    con.commit()
    assert s.txn_status == "I"
    with pytest.raises(dbapi.ProgrammingError) as info:
        con.execute("FROM nope")
    assert info.value.sqlstate == "42P01"
    con.rollback()
    con.close()
    assert s.closed and db.closed
    with pytest.raises(dbapi.InterfaceError):
        con.cursor()


def test_autocommit_and_context_manager():
    s = FakeSession()
    with Connection(FakeDb(), s) as con:
        con.autocommit = True
        con.execute("SELECT 1")
        assert s.txn_status == "I"
    assert s.closed
