"""json/jsonb and array operators and functions; expectations are PostgreSQL 15's output."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from sqlvec.core import errors as E
from sqlvec.core import types as T
from sqlvec.core.textio import format_text, parse_text
from sqlvec.functions.arrays import quantified_compare, slice_lists, subscript

U, J, JB, I4, TXT = T.UNKNOWN, T.JSON, T.JSONB, T.INT4, T.TEXT
IA = T.array_of(T.INT4)


@pytest.mark.parametrize("name,args,expected", [
    ("->", [('{"a": {"b" : 1}}', JB), ("a", U)], '{"b": 1}'),
    ("->>", [('{"a":"x"}', JB), ("a", U)], "x"),
    ("->", [("[1,2,3]", JB), (1, I4)], "2"),
    ("->", [("[1,2,3]", JB), (-1, I4)], "3"),
    ("->", [('{"a":1}', JB), ("zz", U)], None),
    ("#>", [('{"a":{"b":[5,6]}}', JB), ("{a,b,1}", U)], "6"),
    ("#>>", [('{"a":{"b":[5,6]}}', JB), ("{a,b}", U)], "[5, 6]"),
    ("@>", [('{"a":1,"b":2}', JB), ('{"a":1}', U)], "t"),
    ("<@", [('{"a":1}', JB), ('{"a":1,"b":2}', U)], "t"),
    ("?", [('{"a":1}', JB), ("a", U)], "t"),
    ("?|", [('{"a":1}', JB), ("{x,a}", U)], "t"),
    ("?&", [('{"a":1}', JB), ("{x,a}", U)], "f"),
    ("jsonb_build_object", [("a", U), (1, I4), ("b", U), ("x", U), ("c", U), (None, TXT)],
     '{"a": 1, "b": "x", "c": null}'),
    ("json_build_object", [("a", U), (1, I4), ("b", U), (True, T.BOOL)], '{"a" : 1, "b" : true}'),
    ("json_build_array", [(1, I4), ("a", U), (None, TXT)], '[1, "a", null]'),
    ("jsonb_build_array", [(1, I4), ("a", U), (Decimal("1.50"), T.NUMERIC.with_typmod(T.numeric_typmod(3, 2)))],
     '[1, "a", 1.50]'),
    ("jsonb_typeof", [("[1]", U)], "array"),
    ("jsonb_array_length", [("[1,2]", U)], "2"),
    ("jsonb_extract_path", [('{"a":{"b":2}}', U), ("a", U), ("b", U)], "2"),
    ("jsonb_extract_path_text", [('{"a":{"b":"z"}}', U), ("a", U), ("b", U)], "z"),
    ("to_json", [("a", TXT)], '"a"'),
    ("to_jsonb", [("2024-01-01 10:00", T.TIMESTAMP)], '"2024-01-01T10:00:00"'),
    ("to_json", [("{1,2}", IA)], "[1,2]"),
    ("to_jsonb", [(1.5, T.FLOAT8)], "1.5"),
    ("||", [('{"a":1}', JB), ('{"b":2}', JB)], '{"a": 1, "b": 2}'),
    ("-", [('{"a":1,"b":2}', JB), ("a", U)], '{"b": 2}'),
    ("jsonb_set", [('{"a":1}', JB), ("{b}", U), ("2", U)], '{"a": 1, "b": 2}'),
])
def test_json(q, name, args, expected):
    assert q(name, *args) == expected


def test_json_aggregates(regs):
    import numpy as np
    g = np.zeros(2, np.int64)
    vals = pa.array([1, 2], pa.int32())
    a = regs.functions.aggregate("json_agg", [I4], False)
    assert a.evaluate([vals], g, 1).to_pylist() == ["[1, 2]"]
    a = regs.functions.aggregate("jsonb_object_agg", [TXT, I4], False)
    assert a.evaluate([pa.array(["1", "2"]), vals], g, 1).to_pylist() == ['{"1": 1, "2": 2}']


@pytest.mark.parametrize("name,args,expected", [
    ("@>", [("{1,2,3}", IA), ("{2,3}", IA)], "t"),
    ("@>", [("{1,2,3}", IA), ("{2,4}", IA)], "f"),
    ("<@", [("{2}", IA), ("{1,2}", IA)], "t"),
    ("&&", [("{1,2}", IA), ("{2,5}", IA)], "t"),
    ("||", [("{1,2}", IA), ("{3}", IA)], "{1,2,3}"),
    ("||", [("{1,2}", IA), (3, I4)], "{1,2,3}"),
    ("||", [(0, I4), ("{1,2}", IA)], "{0,1,2}"),
    ("array_length", [("{1,2,3}", IA), (1, I4)], "3"),
    ("array_length", [("{}", IA), (1, I4)], None),
    ("cardinality", [("{}", IA)], "0"),
    ("array_upper", [("{1,2}", IA), (1, I4)], "2"),
    ("array_position", [("{5,6,7}", IA), (6, I4)], "2"),
    ("array_positions", [("{5,6,5}", IA), (5, I4)], "{1,3}"),
    ("array_remove", [("{1,2,1}", IA), (1, I4)], "{2}"),
    ("array_replace", [("{1,2,1}", IA), (1, I4), (9, I4)], "{9,2,9}"),
    ("array_to_string", [("{1,NULL,3}", IA), (",", U)], "1,3"),
    ("array_to_string", [("{1,NULL,3}", IA), (",", U), ("*", U)], "1,*,3"),
    ("string_to_array", [("a,b,,c", U), (",", U)], '{a,b,"",c}'),
    ("string_to_array", [("a,b,,c", U), (",", U), ("", U)], "{a,b,NULL,c}"),
    ("array_dims", [("{1,2}", IA)], "[1:2]"),
    ("=", [("{1,2}", IA), ("{1,2}", IA)], "t"),
])
def test_arrays(q, name, args, expected):
    assert q(name, *args) == expected


def test_array_literal_error(q):
    with pytest.raises(E.InvalidTextRepresentation, match='malformed array literal: "b"'):
        q("||", ("{a}", T.array_of(TXT)), ("b", U))


def test_any_all_and_subscripts(regs):
    a = parse_text(pa.array(["{1,2,3}", "{4,NULL}", None, "{}"]), IA)
    two = pa.array([2] * 4, pa.int32())
    assert quantified_compare(regs, "=", two, I4, a, IA, 4).to_pylist() == [True, None, None, False]
    zero = pa.array([0] * 4, pa.int32())
    assert quantified_compare(regs, "<", zero, I4, a, IA, 4, all_=True).to_pylist() == \
        [True, None, None, True]
    assert subscript(a, pa.scalar(2), 4).to_pylist() == [2, None, None, None]
    assert slice_lists(a, pa.scalar(2), None, 4).to_pylist() == [[2, 3], [None], None, []]


def test_gen_random_uuid(regs):
    out = regs.functions.resolve("gen_random_uuid", []).call([], 3)
    txt = format_text(out, T.UUID).to_pylist()
    assert len(set(txt)) == 3 and all(t[14] == "4" for t in txt)


def test_array_ordering_and_typeof(q):
    assert q("<", ("{1,2}", IA), ("{1,3}", IA)) == "t"
    assert q(">", ("{1,NULL}", IA), ("{1,2}", IA)) == "t"
    # pg_typeof gives a regtype (the type's OID; printed by name where the catalog is at hand)
    assert q("pg_typeof", ("{1}", IA)) == str(IA.oid)
    assert q("pg_typeof", ("x", U)) == str(T.UNKNOWN.oid)


def test_already_coerced_arguments_pass_through(regs):
    f = regs.functions.resolve("#>", [JB, U])
    path = parse_text(pa.array(["{a,b}"]), T.array_of(TXT))
    out = f.call([pa.array(['{"a":{"b":7}}']), path], 1)
    assert out.to_pylist() == ["7"]
