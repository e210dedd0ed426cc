"""Math and string functions; every expectation is PostgreSQL 15's output for the same call."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sqlvec.core import errors as E
from sqlvec.core import types as T

U, I4, N, F8, TXT = T.UNKNOWN, T.INT4, T.NUMERIC, T.FLOAT8, T.TEXT


@pytest.mark.parametrize("name,args,expected", [
    ("round", [(Decimal("2.5"), N)], "3"),
    ("round", [(Decimal("-2.5"), N)], "-3"),
    ("round", [(2.5, F8)], "2"),
    ("round", [(Decimal("2.567"), N), (2, I4)], "2.57"),
    ("round", [(Decimal("1234.5678"), N), (-2, I4)], "1200"),
    ("trunc", [(Decimal("2.567"), N), (1, I4)], "2.5"),
    ("ceil", [(Decimal("2.1"), N)], "3"),
    ("floor", [(Decimal("-2.1"), N)], "-3"),
    ("power", [(2, I4), (3, I4)], "8"),
    ("sqrt", [(2, I4)], "1.4142135623730951"),
    ("exp", [(1, I4)], "2.718281828459045"),
    ("ln", [(10, I4)], "2.302585092994046"),
    ("log", [(100, I4)], "2"),
    ("log", [(2, I4), (8, I4)], "3.0000000000000000"),
    ("sign", [(-3, I4)], "-1"),
    ("pi", [], "3.141592653589793"),
    ("div", [(7, I4), (2, I4)], "3"),
    ("greatest", [(1, I4), (2, I4), (None, I4)], "2"),
    ("least", [("b", U), ("a", U)], "a"),
    ("&", [(7, I4), (3, I4)], "3"),
    ("<<", [(1, I4), (4, I4)], "16"),
    ("abs", [(Decimal("-2.5"), N)], "2.5"),
    ("mod", [(-7, I4), (3, I4)], "-1"),
])
def test_math(text1, name, args, expected):
    assert text1(name, *args) == expected


@pytest.mark.parametrize("name,args,exc,msg", [
    ("sqrt", [(-1, I4)], E.InvalidArgumentForPowerFunction,
     "cannot take square root of a negative number"),
    ("ln", [(0, I4)], E.InvalidArgumentForLogarithm, "cannot take logarithm of zero"),
    ("power", [(0, I4), (-1, I4)], E.InvalidArgumentForPowerFunction,
     "zero raised to a negative power is undefined"),
])
def test_math_errors(text1, name, args, exc, msg):
    with pytest.raises(exc) as ei:
        text1(name, *args)
    assert ei.value.message == msg


@pytest.mark.parametrize("name,args,expected", [
    ("substr", [("hello", U), (2, I4), (3, I4)], "ell"),
    ("substr", [("hello", U), (0, I4), (2, I4)], "h"),
    ("substring", [("hello", U), (3, I4)], "llo"),
    ("strpos", [("héllo", U), ("l", U)], "3"),
    ("position", [("abc", U), ("x", U)], "0"),
    ("lpad", [("hi", U), (5, I4), ("xy", U)], "xyxhi"),
    ("lpad", [("hello", U), (3, I4)], "hel"),
    ("rpad", [("hi", U), (5, I4)], "hi   "),
    ("left", [("hello", U), (-2, I4)], "hel"),
    ("right", [("hello", U), (2, I4)], "lo"),
    ("right", [("hello", U), (-2, I4)], "llo"),
    ("split_part", [("a,b,c", U), (",", U), (2, I4)], "b"),
    ("split_part", [("a,b,c", U), (",", U), (-1, I4)], "c"),
    ("split_part", [("a,b,c", U), (",", U), (5, I4)], ""),
    ("concat", [("a", U), (1, I4), (None, I4), (True, T.BOOL)], "a1t"),
    ("concat_ws", [(",", U), ("a", U), (None, TXT), (2, I4)], "a,2"),
    ("initcap", [("hi THOMAS", U)], "Hi Thomas"),
    ("md5", [("abc", U)], "900150983cd24fb0d6963f7d28e17f72"),
    ("ascii", [("A", U)], "65"),
    ("chr", [(65, I4)], "A"),
    ("format", [("Hello %s, %I %L", U), ("World", U), ("Foo", U), ("O'x", U)],
     "Hello World, \"Foo\" 'O''x'"),
    ("to_hex", [(255, I4)], "ff"),
    ("to_hex", [(-1, I4)], "ffffffff"),
    ("repeat", [("ab", U), (3, I4)], "ababab"),
    ("reverse", [("abc", U)], "cba"),
    ("translate", [("12345", U), ("143", U), ("ax", U)], "a2x5"),
    ("length", [("abc", U)], "3"),
    ("octet_length", [("é", U)], "2"),
    ("btrim", [("xxaxx", U), ("x", U)], "a"),
    ("replace", [("abcabc", U), ("b", U), ("X", U)], "aXcaXc"),
    ("starts_with", [("alphabet", U), ("alph", U)], "t"),
    ("encode", [(b"\x01\xff", T.BYTEA), ("hex", U)], "01ff"),
    ("encode", [(b"hello", T.BYTEA), ("base64", U)], "aGVsbG8="),
    ("decode", [("aGVsbG8=", U), ("base64", U)], "\\x68656c6c6f"),
    ("~", [("abc", U), ("^a.c$", U)], "t"),
    ("!~*", [("ABC", U), ("^a", U)], "f"),
    ("regexp_replace", [("foobarbaz", U), ("b(..)", U), ("X\\1Y", U), ("g", U)], "fooXarYXazY"),
    ("regexp_replace", [("foobarbaz", U), ("b(..)", U), ("X\\1Y", U)], "fooXarYbaz"),
    ("regexp_match", [("foobarbequebaz", U), ("(bar)(beque)", U)], "{bar,beque}"),
    ("similar_to", [("abc", U), ("%(b|d)%", U)], "t"),
    ("similar_to", [("abc", U), ("a", U)], "f"),
])
def test_strings(text1, name, args, expected):
    assert text1(name, *args) == expected


def test_string_errors(text1):
    with pytest.raises(E.DataException, match="^negative substring length not allowed$"):
        text1("substr", ("abc", U), (1, I4), (-1, I4))
    with pytest.raises(E.InvalidRegularExpression):
        text1("~", ("abc", U), ("(", U))


@pytest.mark.parametrize("name,args,expected", [
    ("^", [(Decimal("2.0"), N), (Decimal("0.5"), N)], "1.4142135623730950"),
    ("power", [(Decimal("2"), N), (Decimal("10"), N)], "1024.0000000000000000"),
    ("ln", [(Decimal("10"), N)], "2.3025850929940457"),
    ("exp", [(Decimal("1"), N)], "2.7182818284590452"),
    ("log", [(Decimal("2"), N), (Decimal("8"), N)], "3.0000000000000000"),
    ("<", [(1, I4), (Decimal("2.5"), N)], "t"),
])
def test_numeric_exact_math(text1, name, args, expected):
    assert text1(name, *args) == expected


def test_constant_arrays_take_scalar_paths(regs):
    import pyarrow as pa
    f = regs.functions.resolve("string_to_array", [TXT, TXT])
    out = f.call([pa.array(["a-b", "c"]), pa.array(["-", "-"])], 2)
    assert out.to_pylist() == [["a", "b"], ["c"]]


@pytest.mark.parametrize("name,args,expected", [
    ("substring", [("foobar", U), ("o(.)b", U)], "o"),
    ("substring", [("foobar", U), ("o.b", U)], "oob"),
    ("overlay", [("Txxxxas", U), ("hom", U), (2, I4), (4, I4)], "Thomas"),
    ("to_number", [("12,454.8-", U), ("99G999D9S", U)], "-12454.8"),
    ("scale", [(Decimal("1.50"), T.NUMERIC.with_typmod(T.numeric_typmod(3, 2)))], "2"),
    ("trim_scale", [(Decimal("1.500"), T.NUMERIC.with_typmod(T.numeric_typmod(4, 3)))], "1.5"),
    ("||", [(b"\x01", T.BYTEA), (b"\x02", T.BYTEA)], "\\x0102"),
    ("factorial", [(5, I4)], "120"),
])
def test_more_functions(text1, name, args, expected):
    assert text1(name, *args) == expected
