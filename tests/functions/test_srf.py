"""Set-returning functions: one list per input row (PostgreSQL 15's sets, in order)."""

from __future__ import annotations

import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.core.textio import format_text, parse_text


def sets(regs, name, types, vals, n=1):
    f = regs.functions.resolve(name, types)
    assert f.set_returning
    out = f.call(vals, n)
    elem_t = f.return_type
    return [None if v is None else format_text(pa.array(v, type=out.type.value_type), elem_t).to_pylist()
            for v in out.to_pylist()] if not pa.types.is_struct(out.type.value_type) else out.to_pylist()


def test_generate_series(regs):
    i4 = pa.int32()
    assert sets(regs, "generate_series", [T.INT4, T.INT4], [pa.array([1, 3], i4), pa.scalar(4, i4)], 2) == \
        [["1", "2", "3", "4"], ["3", "4"]]
    assert sets(regs, "generate_series", [T.INT4, T.INT4, T.INT4],
                [pa.scalar(10, i4), pa.scalar(1, i4), pa.scalar(-4, i4)]) == [["10", "6", "2"]]
    ts = [parse_text(pa.array([v]), t)[0] for v, t in
          (("2024-01-01", T.TIMESTAMP), ("2024-01-02", T.TIMESTAMP), ("6 hours", T.INTERVAL))]
    out = sets(regs, "generate_series", [T.TIMESTAMP, T.TIMESTAMP, T.INTERVAL], ts)
    assert out == [["2024-01-01 00:00:00", "2024-01-01 06:00:00", "2024-01-01 12:00:00",
                    "2024-01-01 18:00:00", "2024-01-02 00:00:00"]]


def test_unnest_and_json_sets(regs):
    arrs = parse_text(pa.array(["{1,2}", None]), T.array_of(T.INT4))
    assert sets(regs, "unnest", [T.array_of(T.INT4)], [arrs], 2) == [["1", "2"], []]
    assert sets(regs, "jsonb_array_elements_text", [T.JSONB], [pa.scalar('[1,"a",null]')]) == \
        [["1", "a", None]]
    assert sets(regs, "jsonb_each", [T.JSONB], [pa.scalar('{"b":[1],"a":1}')]) == \
        [[{"key": "a", "value": "1"}, {"key": "b", "value": "[1]"}]]
    assert sets(regs, "jsonb_object_keys", [T.JSONB], [pa.scalar('{"b":[1],"a":1}')]) == [["a", "b"]]


def test_text_sets(regs):
    assert sets(regs, "regexp_matches", [T.TEXT, T.TEXT, T.TEXT],
                [pa.scalar("a1b22"), pa.scalar("(\\d+)"), pa.scalar("g")]) == [["{1}", "{22}"]]
    assert sets(regs, "string_to_table", [T.TEXT, T.TEXT], [pa.scalar("x,y,,z"), pa.scalar(",")]) == \
        [["x", "y", "", "z"]]
