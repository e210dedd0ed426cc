"""Core operators, resolution and casts; expectations checked against PostgreSQL 15."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from sqlvec.core import errors as E
from sqlvec.core import types as T
from sqlvec.core.textio import format_text


def test_unknown_literal_resolves_to_other_operand(regs, call):
    f = regs.functions.resolve("+", [T.INT4, T.UNKNOWN])
    assert f.return_type == T.INT4
    assert call("+", [([1, 2], T.INT4), ("40", T.UNKNOWN)]) == [41, 42]


def test_mixed_int_widths_promote(regs):
    assert regs.functions.resolve("<", [T.INT4, T.INT8]).arg_types == (T.INT8, T.INT8)
    assert regs.functions.resolve("+", [T.INT2, T.INT4]).return_type == T.INT4
    assert regs.functions.resolve("+", [T.INT4, T.NUMERIC]).return_type == T.NUMERIC
    assert regs.functions.resolve("=", [T.INT4, T.FLOAT8]).arg_types == (T.FLOAT8, T.FLOAT8)
    assert regs.functions.resolve("=", [T.TEXT, T.VARCHAR]).arg_types == (T.TEXT, T.TEXT)


def test_integer_division_truncates(call):
    assert call("/", [([-7, 7], T.INT4), ([2, 2], T.INT4)]) == [-3, 3]
    assert call("%", [([-7, 7], T.INT4), ([2, -2], T.INT4)]) == [-1, 1]


@pytest.mark.parametrize(
    "op,t,a,b,exc,msg",
    [
        ("+", T.INT4, 2**31 - 1, 1, E.NumericValueOutOfRange, "integer out of range"),
        ("+", T.INT2, 32767, 1, E.NumericValueOutOfRange, "smallint out of range"),
        ("*", T.INT8, 2**63 - 1, 2, E.NumericValueOutOfRange, "bigint out of range"),
        ("/", T.INT4, 1, 0, E.DivisionByZero, "division by zero"),
        ("%", T.INT8, 1, 0, E.DivisionByZero, "division by zero"),
        ("/", T.FLOAT8, 1.0, 0.0, E.DivisionByZero, "division by zero"),
        ("*", T.FLOAT8, 1e308, 10.0, E.NumericValueOutOfRange, "value out of range: overflow"),
    ],
)
def test_arithmetic_errors(call, op, t, a, b, exc, msg):
    with pytest.raises(exc) as ei:
        call(op, [([a], t), ([b], t)])
    assert ei.value.message == msg


def test_division_by_zero_ignores_null_rows(call):
    assert call("/", [([None, 4], T.INT4), ([0, 2], T.INT4)]) == [None, 2]


def test_numeric_scales_match_postgres(call):
    d = T.NUMERIC

    def num(v, s):
        return pa.array([Decimal(v)], pa.decimal128(38, s))

    out = call("+", [(num("1.5", 1), d), ([1], T.INT4)])
    assert out == [Decimal("2.5")]
    mul = call("*", [(num("1.50", 2), d), (num("2.00", 2), d)])
    assert str(mul[0]) == "3.0000"  # PostgreSQL: 1.50 * 2.00 = 3.0000
    div = call("/", [([10], T.INT4), (num("4.0", 1), d)])
    assert str(div[0]) == "2.5000000000000000"  # PostgreSQL: 10/4.0


def test_operator_not_found_messages(regs):
    with pytest.raises(E.UndefinedFunction, match=r"^operator does not exist: integer \+ text$"):
        regs.functions.resolve("+", [T.INT4, T.TEXT])
    with pytest.raises(E.UndefinedFunction, match=r"^operator does not exist: - text$"):
        regs.functions.resolve("-", [T.TEXT])
    with pytest.raises(E.UndefinedFunction, match=r"^function foo\(integer\) does not exist$"):
        regs.functions.resolve("foo", [T.INT4])


def test_concat_and_like(call):
    assert call("||", [("a", T.UNKNOWN), ([1], T.INT4)]) == ["a1"]
    assert call("||", [([1], T.INT4), ("abc", T.UNKNOWN)]) == ["1abc"]
    assert call("~~", [(["abc", "xbc", None], T.TEXT), ("a%", T.UNKNOWN)]) == [True, False, None]
    assert call("~~*", [(["ABC"], T.TEXT), ("a_c", T.UNKNOWN)]) == [True]
    assert call("!~~", [(["abc"], T.TEXT), ("a%", T.UNKNOWN)]) == [False]
    assert call("~~", [(["a"], T.TEXT), ("a\\", T.UNKNOWN)]) == [False]


def test_like_with_pattern_column(call):
    out = call("~~", [(["abc", "xyz", "abd"], T.TEXT), (["a%", "%z", None], T.TEXT)])
    assert out == [True, True, None]


def test_kleene_logic(call):
    a = [None, True, None, False]
    b = [False, None, True, None]
    assert call("and", [(a, T.BOOL), (b, T.BOOL)]) == [False, None, None, False]
    assert call("or", [(a, T.BOOL), (b, T.BOOL)]) == [None, True, True, None]


def test_comparisons_per_type(call):
    assert call("=", [(["a "], T.BPCHAR), (["a"], T.BPCHAR)]) == [True]
    assert call("<", [([1.5], T.FLOAT8), ([2], T.INT4)]) == [True]
    assert call(">=", [(["b"], T.TEXT), ("a", T.UNKNOWN)]) == [True]


def test_casts(regs):
    c = regs.casts
    assert c.cast(pa.array([2.5, 3.5, -2.5]), T.FLOAT8, T.INT4).to_pylist() == [2, 4, -2]
    dec = pa.array([Decimal("2.5"), Decimal("-2.5")], pa.decimal128(38, 16))
    assert c.cast(dec, T.NUMERIC, T.INT4).to_pylist() == [3, -3]
    v3 = T.VARCHAR.with_typmod(3 + 4)
    assert c.cast(pa.array(["abcd"]), T.TEXT, v3, explicit=True).to_pylist() == ["abc"]
    with pytest.raises(E.StringDataRightTruncation, match="character varying\\(3\\)"):
        c.cast(pa.array(["abcd"]), T.TEXT, v3, explicit=False)
    with pytest.raises(E.NumericValueOutOfRange, match="^integer out of range$"):
        c.cast(pa.array([2**40]), T.INT8, T.INT4)
    with pytest.raises(E.InvalidTextRepresentation):
        c.cast(pa.array(["x"]), T.TEXT, T.INT4)
    n42 = T.NUMERIC.with_typmod(T.numeric_typmod(4, 2))
    with pytest.raises(E.NumericValueOutOfRange) as ei:
        c.cast(pa.array(["123.456"]), T.TEXT, n42)
    assert ei.value.detail.endswith("less than 10^2.")
    assert format_text(c.cast(pa.array([1, None]), T.INT4, T.TEXT), T.TEXT).to_pylist() == ["1", None]
    assert c.cast(pa.array([True, False]), T.BOOL, T.TEXT).to_pylist() == ["true", "false"]


def test_cast_rules(regs):
    c = regs.casts
    assert c.can_implicit(T.INT4, T.INT8) and not c.can_implicit(T.INT8, T.INT4)
    assert c.can_implicit(T.UNKNOWN, T.DATE)
    assert not c.can_implicit(T.TEXT, T.INT4)
    assert c.common_type([T.INT4, T.NUMERIC, T.INT8]) == T.NUMERIC
    assert c.common_type([T.UNKNOWN, T.INT4]) == T.INT4
    assert c.common_type([T.UNKNOWN, T.UNKNOWN]) == T.TEXT
    with pytest.raises(E.DatatypeMismatch, match="^UNION types integer and text cannot be matched$"):
        c.common_type([T.INT4, T.TEXT])


def test_sort_key_orders_intervals_by_span():
    from sqlvec.core.textio import parse_text
    from sqlvec.functions.compare import sort_key

    iv = parse_text(pa.array(["1 mon", "29 days", "1 day 01:00:00", "25 hours"]), T.INTERVAL)
    order = pa.compute.sort_indices(sort_key(iv, T.INTERVAL)).to_pylist()
    assert order == [2, 3, 1, 0] or order == [3, 2, 1, 0]


def test_more_postgres_arithmetic(text1):
    from decimal import Decimal as D
    n = T.NUMERIC
    assert text1("%", (D("5.5"), n), (2, T.INT4)) == "1.5"
    assert text1("%", (D("-5.5"), n), (2, T.INT4)) == "-1.5"
    assert text1("*", (1.1, T.FLOAT4), (2, T.INT4)) == "2.200000047683716"  # float48mul
    assert text1("/", (10.0, T.FLOAT4), (3, T.INT4)) == "3.3333333333333335"
    assert text1("=", (float("nan"), T.FLOAT8), (float("nan"), T.FLOAT8)) == "t"
    assert text1(">", (float("nan"), T.FLOAT8), (float("inf"), T.FLOAT8)) == "t"
    assert text1("/", (D("0.0"), n), (1, T.INT4)) == "0.0000000000000000"


def test_bytea_hex_error():
    from sqlvec.core.textio import parse_text
    with pytest.raises(E.InvalidTextRepresentation, match='^invalid hexadecimal digit: "Z"$'):
        parse_text(pa.array(["\\xZZ"]), T.BYTEA)


def test_unknown_resolution_like_postgres(regs):
    with pytest.raises(E.AmbiguousFunction, match=r"^operator is not unique: date \+ unknown$"):
        regs.functions.resolve("+", [T.DATE, T.UNKNOWN])
    with pytest.raises(E.AmbiguousFunction, match=r"^operator is not unique: unknown \+ unknown$"):
        regs.functions.resolve("+", [T.UNKNOWN, T.UNKNOWN])
    assert regs.functions.resolve("-", [T.TIMESTAMPTZ, T.UNKNOWN]).return_type == T.INTERVAL
    assert regs.functions.resolve("+", [T.INTERVAL, T.UNKNOWN]).return_type == T.INTERVAL
    assert regs.functions.resolve("substr", [T.UNKNOWN, T.UNKNOWN]).arg_types[1] == T.INT4


def test_common_type_typmods(regs):
    c = regs.casts
    n102 = T.NUMERIC.with_typmod(T.numeric_typmod(10, 2))
    t = c.common_type([n102, T.INT4])
    assert t == T.NUMERIC and t.typmod == -1 and t.arrow == pa.decimal128(38, 2)
    v7 = T.VARCHAR.with_typmod(7 + 4)
    assert c.common_type([v7, v7]).typmod == 11
    assert c.common_type([v7, T.VARCHAR]).typmod == -1


def test_numeric_literal_type_keeps_scale():
    from decimal import Decimal

    from sqlvec.core.textio import format_text
    from sqlvec.functions.casts import numeric_literal_type

    t = numeric_literal_type(Decimal("1.50"))
    assert t == T.NUMERIC and t.arrow == pa.decimal128(38, 2)
    assert format_text(pa.array([Decimal("1.50")], t.arrow), t).to_pylist() == ["1.50"]


def test_numeric_division_with_small_precision_inputs(regs):
    """numeric(20,1) / numeric(20,2): PostgreSQL gives -4625.9548278935264532."""
    from decimal import Decimal

    from sqlvec.core.textio import format_text

    ta = T.NUMERIC.with_typmod(T.numeric_typmod(20, 1))
    tb = T.NUMERIC.with_typmod(T.numeric_typmod(20, 2))
    f = regs.functions.resolve("/", [ta, tb])
    out = f.call([pa.array([Decimal("-7422483.3")], ta.arrow), pa.array([Decimal("1604.53")], tb.arrow)], 1)
    assert format_text(out, f.return_type).to_pylist() == ["-4625.9548278935264532"]
    g = regs.functions.resolve("%", [ta, tb])
    out = g.call([pa.array([Decimal("3913563.4")], ta.arrow), pa.array([Decimal("8796.55")], tb.arrow)], 1)
    assert format_text(out, g.return_type).to_pylist() == ["7895.20"]


def test_numeric_division_keeps_sixteen_digits_for_narrow_divisors(regs):
    """24337.781::numeric(12,3) / 9607.57::numeric(9,2) = 2.5331879965485549 in PostgreSQL."""
    from decimal import Decimal

    from sqlvec.core.textio import format_text

    ta = T.NUMERIC.with_typmod(T.numeric_typmod(12, 3))
    tb = T.NUMERIC.with_typmod(T.numeric_typmod(9, 2))
    f = regs.functions.resolve("/", [ta, tb])
    out = f.call([pa.array([Decimal("24337.781")], ta.arrow), pa.array([Decimal("9607.57")], tb.arrow)], 1)
    assert format_text(out, f.return_type).to_pylist() == ["2.5331879965485549"]


def test_casts_in_session_timezone(regs):
    """SET TimeZone = 'Europe/Paris' on PostgreSQL 15."""
    from sqlvec.core.textio import format_text, parse_text

    c, tz = regs.casts, "Europe/Paris"
    x = parse_text(pa.array(["2024-03-30 23:30:00+00", None]), T.TIMESTAMPTZ)
    assert c.cast(x, T.TIMESTAMPTZ, T.TEXT, timezone=tz).to_pylist() == ["2024-03-31 00:30:00+01", None]
    assert format_text(c.cast(x, T.TIMESTAMPTZ, T.DATE, timezone=tz), T.DATE).to_pylist() == \
        ["2024-03-31", None]
    d = parse_text(pa.array(["2024-06-01"]), T.DATE)
    assert format_text(c.cast(d, T.DATE, T.TIMESTAMPTZ, timezone=tz), T.TIMESTAMPTZ).to_pylist() == \
        ["2024-05-31 22:00:00+00"]


def test_like_escape(call):
    """'a%b\\c' LIKE 'a!%b\\c' ESCAPE '!' is true in PostgreSQL; like_escape gives a\\%b\\\\c."""
    assert call("like_escape", [("a!%b\\c", T.TEXT), ("!", T.TEXT)]) == ["a\\%b\\\\c"]
    assert call("~~", [(["a%b\\c", "axb\\c"], T.TEXT), ("a\\%b\\\\c", T.TEXT)]) == [True, False]


def test_resolution_is_cached_and_invalidated(regs):
    from sqlvec.functions import default_registries

    r = default_registries()
    a = r.functions.resolve("+", [T.INT4, T.INT4])
    assert r.functions.resolve("+", [T.INT4, T.INT4]) is a
    r.functions.add("zz_test_fn", [T.INT4], T.INT4, lambda ctx, args: args[0])
    assert r.functions.resolve("+", [T.INT4, T.INT4]) is not a
