"""bit_in over whole columns (textio.parse_bit, text COPY): the same stored values as the
value-by-value input function, every length, NULLs, sliced arrays, and its errors."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from sqlvec.core.errors import SqlError
from sqlvec.functions.vectors import types as V
from sqlvec.functions.vectors.textio import format_bit, parse_bit, parse_bit_value
from sqlvec.session import Database, Session
from tests.support.rows import run
from tests.wire.test_copy_vectors_fast import copy_in


def _texts(rng: random.Random, n: int, width: int | None) -> list[str | None]:
    return [None if rng.random() < 0.1 else
            "".join(rng.choice("01") for _ in range(width if width is not None else rng.randrange(40)))
            for _ in range(n)]


@pytest.mark.parametrize("width", [None, 13, 64])
def test_column_equals_value_by_value(width):
    rng = random.Random(width or 1)
    vals = _texts(rng, 700, width)
    t = V.VARBIT if width is None else V.BIT.with_typmod(width)
    want = [None if v is None else parse_bit_value(v, t.typmod, t.short) for v in vals]
    arr = pa.array(vals)
    assert parse_bit(arr, t).to_pylist() == want
    assert parse_bit(arr.slice(9, 300), t).to_pylist() == want[9:309]
    no_nulls = [v for v in vals if v is not None]
    assert parse_bit(pa.array(no_nulls), t).to_pylist() == [parse_bit_value(v, t.typmod, t.short) for v in no_nulls]
    assert format_bit(parse_bit(arr, t), t).to_pylist() == vals


@pytest.mark.parametrize("texts, t, sqlstate, message", [
    (["101", "12"], V.VARBIT, "22P02", '"2" is not a valid binary digit'),
    (["101", "1"], V.BIT.with_typmod(3), "22026", "bit string length 1 does not match type bit(3)"),
    (["1", "1"], V.BIT.with_typmod(3), "22026", "bit string length 1 does not match type bit(3)"),
    (["1", "111"], V.VARBIT.with_typmod(2), "22001", "bit string too long for type bit varying(2)"),
])
def test_errors_as_bit_in(texts, t, sqlstate, message):
    with pytest.raises(SqlError) as e:
        parse_bit(pa.array(texts), t)
    assert (e.value.sqlstate, e.value.message) == (sqlstate, message)


def test_prefixed_forms_still_read():
    assert format_bit(parse_bit(pa.array(["X1f", "B101", None, ""]), V.VARBIT), V.VARBIT).to_pylist() == \
        ["00011111", "101", None, ""]


def test_text_copy_of_bit_columns():
    db = Database.open(None)
    s = Session(db)
    try:
        run(s, "CREATE TABLE b (id int, x bit(5), y varbit)")
        rng = random.Random(4)
        rows = [(i, "".join(rng.choice("01") for _ in range(5)), "".join(rng.choice("01") for _ in range(i % 11)))
                for i in range(200)]
        data = "".join(f"{i}\t{x}\t{y if i % 7 else chr(92) + 'N'}\n" for i, x, y in rows).encode()
        assert copy_in(s, "COPY b FROM STDIN", data) == 200
        assert run(s, "SELECT id, x::text, y::text FROM b ORDER BY id") == \
            [(i, x, y if i % 7 else None) for i, x, y in rows]
        with pytest.raises(SqlError) as e:
            copy_in(s, "COPY b FROM STDIN", b"1\t101\t1\n")
        assert e.value.sqlstate == "22026"
    finally:
        s.close()
        db.close()
