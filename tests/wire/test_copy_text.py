"""Text COPY FROM STDIN: Arrow CSV columns, numeric arrays parsed vectorised, errors load nothing."""

from __future__ import annotations

import pytest

from sqlvec.core.errors import BadCopyFileFormat, InvalidTextRepresentation
from sqlvec.session import Database, Session
from sqlvec.wire.copy import CopyIn, parse_copy


@pytest.fixture
def session():
    db = Database.open(None)
    s = Session(db)
    for _ in s.execute("CREATE TABLE ta (id int, f float4[], i int8[], t text[], n numeric(6,2))"):
        pass
    yield s
    s.close()
    db.close()


def load(s: Session, data: str, sql: str = "COPY ta FROM STDIN") -> int:
    cols = s.prepare("SELECT * FROM ta", [], "").columns
    c = CopyIn(s, parse_copy(sql), cols)
    c.feed(data.encode())
    return c.finish()


def rows(s: Session) -> list[tuple]:
    res = next(s.execute("SELECT id, f::text, i::text, t::text, n::text FROM ta ORDER BY id"))
    return [tuple(r.values()) for b in res.batches for r in b.to_pylist()]


def test_numeric_arrays_fast_and_engine_paths(session):
    data = ("1\t{1.5, -2,NULL}\t{1,2}\t{a,\"b c\"}\t1.25\n"
            "2\t\\N\t{}\t\\N\t\\N\n"
            "3\t{NaN,Infinity}\t{ 7 , 8 }\t{}\t-3\n"
            "\\.\n")
    assert load(session, data) == 3
    assert rows(session) == [
        (1, "{1.5,-2,NULL}", "{1,2}", '{a,"b c"}', "1.25"),
        (2, None, "{}", None, None),
        (3, "{NaN,Infinity}", "{7,8}", "{}", "-3.00"),
    ]


def test_csv_arrays_and_bad_elements_load_nothing(session):
    assert load(session, '4,"{0.5,1}",,,\n', "COPY ta FROM STDIN (FORMAT csv)") == 1
    with pytest.raises(InvalidTextRepresentation):
        load(session, "5\t{1,x}\t\\N\t\\N\t\\N\n")
    with pytest.raises(BadCopyFileFormat):
        load(session, "6\t{1}\n")
    assert rows(session) == [(4, "{0.5,1}", None, None, None)]
