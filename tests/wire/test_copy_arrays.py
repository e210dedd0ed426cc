"""Text/csv COPY of float arrays and vectors: the Arrow fast path and its fallbacks agree."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sqlvec.core.errors import SqlError
from sqlvec.session import Database, Session
from sqlvec.wire.copy import CopyIn, parse_copy
from sqlvec.wire.copy_arrays import plain_float_lists
from tests.support.rows import run


@pytest.fixture
def session():
    db = Database.open(None)
    s = Session(db)
    yield s
    s.close()
    db.close()


def copy_in(s: Session, sql: str, data: str) -> int:
    cmd = parse_copy(sql)
    c = CopyIn(s, cmd, s.prepare(f"SELECT * FROM {cmd.target}", [], "").columns)
    c.feed(data.encode())
    return c.finish()


@pytest.mark.parametrize("values, ok", [
    (["{1,2}", "{3.5e2,-.5,+4}", None], True),
    (["{1, 2}"], False), (["{1,,2}"], False), (["{1,NULL}"], False), (["{}"], False),
    (["{1}{2}"], False), (['{"1"}'], False), (["{inf}"], False), (["{1e39}"], False),
    (["{1,2} "], False), (["{1e}"], False),
])
def test_fast_path_takes_plain_literals_only(values, ok):
    got = plain_float_lists(pa.array(values, pa.string()), b"{}", pa.float32())
    assert (got is not None) == ok
    if ok:
        offsets, x = got
        assert offsets.tolist() == [0, 2, 5, 5] and x.tolist() == [1, 2, 350, -0.5, 4]


def test_fast_path_on_a_sliced_column():
    a = pa.array(["x", "{1,2}", None, "{3}"])[1:]
    offsets, x = plain_float_lists(a, b"{}", pa.float64())
    assert offsets.tolist() == [0, 2, 2, 3] and x.tolist() == [1, 2, 3]


def test_float_arrays_and_vectors_load_the_same_by_either_path(session):
    run(session, "CREATE TABLE t (id int, a float4[], b float8[], v vector(3), w vector)")
    plain = ('1,"{0.1,2}","{1e-3}","[1,2,3]","[0.5]"\n'
             '2,"{-3,4.25}","{5,6,7}","[4,5,6]","[1,2]"\n')
    other = ('3,"{0.1, 2}","{1e-3,NULL}","[1, 2, 3]","[0.5]"\n'
             '4,,"{5,6,7}",,\n')
    assert copy_in(session, "COPY t FROM STDIN (FORMAT csv)", plain + other) == 4
    got = run(session, "SELECT id, a::text, b::text, v::text, w::text FROM t ORDER BY id")
    assert got == [
        (1, "{0.1,2}", "{0.001}", "[1,2,3]", "[0.5]"),
        (2, "{-3,4.25}", "{5,6,7}", "[4,5,6]", "[1,2]"),
        (3, "{0.1,2}", "{0.001,NULL}", "[1,2,3]", "[0.5]"),
        (4, None, "{5,6,7}", None, None),
    ]


@pytest.mark.parametrize("line, sqlstate", [
    ('1,"{1e39}",,,\n', "22003"),  # out of range for real
    ('1,"{1,x}",,,\n', "22P02"),
    ('1,,,"[1,2]",\n', "22000"),  # wrong dimension count
])
def test_bad_values_get_the_engines_errors(session, line, sqlstate):
    run(session, "CREATE TABLE t (id int, a float4[], b float8[], v vector(3), w vector)")
    with pytest.raises(SqlError) as e:
        copy_in(session, "COPY t FROM STDIN (FORMAT csv)", line)
    assert e.value.sqlstate == sqlstate
    assert run(session, "SELECT count(*) FROM t") == [(0,)]
