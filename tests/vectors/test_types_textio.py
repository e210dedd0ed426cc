"""Vector types: OIDs, Arrow storage per typmod, text I/O as pgvector prints and parses it."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core import errors as E
from sqlvec.core import types as T
from sqlvec.core.textio import format_text, parse_text
from sqlvec.functions.vectors import BIT, HALFVEC, SPARSEVEC, VECTOR


def test_types_registered_with_stable_oids(regs):
    assert regs.types.by_name("vector").oid == 16385
    assert regs.types.by_oid(16386).element.short == "vector"
    assert regs.types.by_name("halfvec").oid == 16387
    assert regs.types.by_name("sparsevec").oid == 16389
    assert regs.types.by_name("bf16vec").oid == 16391
    assert regs.types.by_name("int8vec").oid == 16393
    assert regs.types.by_name("bit").codec is not None


def test_arrow_storage_follows_typmod():
    assert VECTOR.with_typmod(3).arrow == pa.list_(pa.float32(), 3)
    assert VECTOR.arrow == pa.list_(pa.float32())
    assert HALFVEC.with_typmod(2).arrow == pa.list_(pa.float16(), 2)
    assert VECTOR.with_typmod(3).display() == "vector(3)"


@pytest.mark.parametrize("text", ["[1,2,3]", " [ -128 , 127 ,0]", "[007,-0]", "[ 5 ]", "[128]",
                                  "[-129]", "[1.0]", "[1e1]", "[+1]", "[1,,2]", "[1-2]", "[--1]"])
def test_one_int8vec_value_parses_as_a_column_of_them(text):
    """One int8vec text (a literal, a parameter) is read by numpy, a column by Arrow: the
    same values, or both decline (the scalar parser then gives pgvector's error)."""
    from sqlvec.functions.vectors import INT8VEC
    from sqlvec.functions.vectors import textio as VT

    one = VT._one_dense(text, "int8vec")
    col = VT._fast_dense(pa.array([text]), INT8VEC)
    assert (one is None and col is None) or one.to_pylist() == col.to_pylist()[0]


@pytest.mark.parametrize("text,out", [
    ("[1,2,3]", "[1,2,3]"), ("[-1,-2,-3]", "[-1,-2,-3]"), ("[1.,2.,3.]", "[1,2,3]"),
    (" [ 1,  2 ,    3  ] ", "[1,2,3]"), ("[1.23456]", "[1.23456]"),
    ("[1.5e38,-1.5e38]", "[1.5e+38,-1.5e+38]"), ("[1.5e-38,-1.5e-38]", "[1.5e-38,-1.5e-38]"),
    ("[0.1,1e-05,123456789]", "[0.1,1e-05,1.2345679e+08]"),
])
def test_vector_text_roundtrip(text, out):
    v = parse_text(pa.array([text]), VECTOR)
    assert format_text(v, VECTOR).to_pylist() == [out]


@pytest.mark.parametrize("text,cls,msg", [
    ("[hello,1]", E.InvalidTextRepresentation, 'invalid input syntax for type vector: "[hello,1]"'),
    ("[NaN,1]", E.DataException, "NaN not allowed in vector"),
    ("[Infinity,1]", E.DataException, "infinite value not allowed in vector"),
    ("[4e38,1]", E.DataException, "infinite value not allowed in vector"),
    ("[1,2,3", E.InvalidTextRepresentation, 'malformed vector literal: "[1,2,3"'),
    ("[1,2,3]9", E.InvalidTextRepresentation, 'malformed vector literal: "[1,2,3]9"'),
    ("1,2,3", E.InvalidTextRepresentation, 'malformed vector literal: "1,2,3"'),
    ("[]", E.DataException, "vector must have at least 1 dimension"),
    ("[1,]", E.InvalidTextRepresentation, 'invalid input syntax for type vector: "[1,]"'),
    ("[1,,3]", E.InvalidTextRepresentation, 'malformed vector literal: "[1,,3]"'),
    ("[1, ,3]", E.InvalidTextRepresentation, 'invalid input syntax for type vector: "[1, ,3]"'),
])
def test_vector_input_errors(text, cls, msg):
    with pytest.raises(cls) as ei:
        parse_text(pa.array(["[1]", text]), VECTOR)
    assert ei.value.message == msg


def test_sqlstates_of_input_errors():
    with pytest.raises(E.SqlError) as ei:
        parse_text(pa.array(["[1,2]"]), VECTOR.with_typmod(3))
    assert (ei.value.code, ei.value.message) == ("22000", "expected 3 dimensions, not 2")
    with pytest.raises(E.SqlError) as ei:
        parse_text(pa.array(["[" + ",".join(["1"] * 16001) + "]"]), VECTOR)
    assert (ei.value.code, ei.value.message) == ("54000", "vector cannot have more than 16000 dimensions")
    with pytest.raises(E.SqlError) as ei:
        parse_text(pa.array(["[hello]"]), VECTOR)
    assert ei.value.code == "22P02"


def test_dimensions_above_pgvector_index_cap_are_fine():
    v = parse_text(pa.array(["[" + ",".join(["0.5"] * 4096) + "]"]), VECTOR.with_typmod(4096))
    assert v.type == pa.list_(pa.float32(), 4096)


def test_nulls_kept_and_column_parse_vectorised():
    arr = pa.array(["[1,2]", None, "[3,4]"] * 1000)
    v = parse_text(arr, VECTOR.with_typmod(2))
    assert v.null_count == 1000
    assert format_text(v, VECTOR)[:3].to_pylist() == ["[1,2]", None, "[3,4]"]


def test_halfvec_and_bf16_int8_text():
    h = parse_text(pa.array(["[1.5,2,65504]"]), HALFVEC)
    assert format_text(h, HALFVEC).to_pylist() == ["[1.5,2,65504]"]
    with pytest.raises(E.NumericValueOutOfRange):
        parse_text(pa.array(["[65520]"]), HALFVEC)
    from sqlvec.functions.vectors import BF16VEC, INT8VEC
    b = parse_text(pa.array(["[1,0.5,-3]"]), BF16VEC)
    assert format_text(b, BF16VEC).to_pylist() == ["[1,0.5,-3]"]
    i = parse_text(pa.array(["[1,-128,127]"]), INT8VEC)
    assert format_text(i, INT8VEC).to_pylist() == ["[1,-128,127]"]
    with pytest.raises(E.NumericValueOutOfRange):
        parse_text(pa.array(["[128]"]), INT8VEC)


@pytest.mark.parametrize("text,out", [
    ("{1:1.5,3:3.5}/5", "{1:1.5,3:3.5}/5"), (" { 1 : 1.5 ,  3  :  3.5  } / 5 ", "{1:1.5,3:3.5}/5"),
    (" { } / 5", "{}/5"), ("{1:0,2:1,3:0}/3", "{2:1}/3"), ("{,}/1", "{}/1"),
])
def test_sparsevec_text(text, out):
    assert format_text(parse_text(pa.array([text]), SPARSEVEC), SPARSEVEC).to_pylist() == [out]


@pytest.mark.parametrize("text,msg", [
    ("", 'invalid input syntax for type sparsevec: ""'),
    ("{}/1a", 'invalid input syntax for type sparsevec: "{}/1a"'),
    ("{1:1,}/1", 'invalid input syntax for type sparsevec: "{1:1,}/1"'),
    ("{2:1,1:1,2:3}/2", "sparsevec indices must not contain duplicates"),
    ("{}/-1", "sparsevec must have at least 1 dimension"),
    ("{0:1}/1", "sparsevec index out of bounds"),
    ("{2:1}/1", "sparsevec index out of bounds"),
])
def test_sparsevec_errors(text, msg):
    with pytest.raises(E.SqlError) as ei:
        parse_text(pa.array([text]), SPARSEVEC)
    assert ei.value.message == msg
    with pytest.raises(E.DataException, match="expected 2 dimensions, not 1"):
        parse_text(pa.array(["{}/1"]), SPARSEVEC.with_typmod(2))


def test_bit_text_and_length_check():
    b = parse_text(pa.array(["0101", None, "1"]), BIT)
    assert format_text(b, BIT).to_pylist() == ["0101", None, "1"]
    assert b[0].as_py() == b"\x00\x00\x00\x04\x50"
    with pytest.raises(E.SqlError) as ei:
        parse_text(pa.array(["012"]), BIT)
    assert (ei.value.code, ei.value.message) == ("22P02", '"2" is not a valid binary digit')
    with pytest.raises(E.StringDataLengthMismatch):
        parse_text(pa.array(["01"]), BIT.with_typmod(3))


def test_bit_format_many_rows_one_length():
    rng = np.random.default_rng(0)
    bits = ["".join(map(str, rng.integers(0, 2, 13))) for _ in range(200)]
    assert format_text(parse_text(pa.array(bits), BIT), BIT).to_pylist() == bits


def test_cast_text_both_ways(regs):
    v = regs.casts.cast(pa.array(["[1,2]"]), T.TEXT, VECTOR)
    assert regs.casts.cast(v, VECTOR, T.TEXT).to_pylist() == ["[1,2]"]


def test_one_vector_text_fast_parse_equals_the_scalar_parser():
    """dense_text_fast (one value: a literal, a text-format parameter) gives the scalar
    parser's float32 numbers or None, never another answer or a different error: the
    unusual inputs (NaN, infinity, '_', non-ASCII digits, hex, empty elements, beyond
    float32) fall through to the scalar parser, which raises pgvector's errors."""
    from sqlvec.functions.vectors.textio import dense_text_fast, parse_dense_value
    from sqlvec.wire.codecs import decode_text

    rng = np.random.default_rng(3)
    good = [" [1, 2.5,-3e1] ", "[0.1,+.5,-1.e3,1E-7]", "[\t4 ,5\n]",
            "[" + ",".join(repr(float(x)) for x in rng.standard_normal(64)) + "]"]
    for s in good:
        got = dense_text_fast(s)
        assert got is not None and got.dtype == np.float32
        assert got.tolist() == parse_dense_value(s, "vector"), s
        assert decode_text(s, VECTOR).tolist() == got.tolist()  # (a wire text parameter)
    for s in ["[1,nan]", "[inf,1]", "[1_0,2]", "[\u0661,2]", "[0x10]", "[1,,2]", "[]",
              "[1e39,1]", "1,2", "[1,2", "[1 2]"]:
        assert dense_text_fast(s) is None, s
    assert dense_text_fast("[1,2,3]", dim=2) is None
    with pytest.raises(E.DataException, match="expected 2 dimensions, not 3"):
        decode_text("[1,2,3]", VECTOR.with_typmod(2))
    with pytest.raises(E.DataException, match="NaN not allowed in vector"):
        decode_text("[1,nan]", VECTOR)
    assert parse_text(pa.array(["[1,2.5]"]), VECTOR.with_typmod(2)).to_pylist() == [[1.0, 2.5]]


@pytest.mark.parametrize("short", ["vector", "halfvec", "bf16vec"])
def test_one_value_parse_is_the_column_parse(short):
    """One halfvec / bf16vec value (a literal, a text parameter) takes the one-value parse as
    vector does (was ~1 ms through the Arrow kernels): the same elements as a column of
    several values, the same errors (out of range for halfvec, NaN, malformed)."""
    from sqlvec.functions.vectors import textio as VT

    t = {"vector": VECTOR, "halfvec": HALFVEC, "bf16vec": VT.BF16VEC}[short]

    def parsed(arr):
        try:
            return VT.parse_dense(arr, t).slice(0, 1)[0].values
        except E.SqlError as e:
            return type(e).__name__, str(e)

    rng = np.random.default_rng(5)
    texts = ["[1e5]", "[65504]", "[1,2,nan]", "[1,,2]", "[-0, 1e-8]", "[3e38,1]"]
    for _ in range(200):
        x = rng.standard_normal(int(rng.integers(1, 40))) * float(rng.choice([1e-6, 1, 1e3, 6e4]))
        texts.append("[" + ",".join(repr(float(v)) for v in x) + "]")
    for s in texts:
        one, col = parsed(pa.array([s])), parsed(pa.array([s, None]))
        assert one == col if isinstance(col, tuple) else one.equals(col), (s, one, col)
