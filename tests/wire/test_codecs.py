"""Type codecs: whole-column binary/text encoding and Bind parameter decoding."""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core import types
from sqlvec.core.passwords import make_scram_verifier, verify_password
from sqlvec.wire.codecs import (
    decode_binary,
    decode_numeric,
    decode_param,
    encode_column,
    encode_numeric,
)
from sqlvec.wire.rows import data_rows
from sqlvec.wire.segments import I32, binary_seg, concat_rows


def enc(values, t, arrow=None, fmt=1):
    seg, valid = encode_column(pa.array(values, arrow or t.arrow), t, fmt)
    out = seg.to_list()
    return [None if valid is not None and not v else b for b, v in
            zip(out, valid if valid is not None else [True] * len(out))]


def test_fixed_width_binary():
    assert enc([1, None, -2], types.INT4) == [b"\0\0\0\1", None, b"\xff\xff\xff\xfe"]
    assert enc([1], types.INT8) == [struct.pack("!q", 1)]
    assert enc([-3], types.INT2) == [struct.pack("!h", -3)]
    assert enc([1.5, None], types.FLOAT8) == [struct.pack("!d", 1.5), None]
    assert enc([0.25], types.FLOAT4) == [struct.pack("!f", 0.25)]
    assert enc([True, False, None], types.BOOL) == [b"\1", b"\0", None]
    assert enc([5], types.OID) == [struct.pack("!I", 5)]


def test_datetime_binary_uses_pg_epoch():
    assert enc([dt.date(2000, 1, 2)], types.DATE) == [struct.pack("!i", 1)]
    assert enc([dt.datetime(2000, 1, 1, 0, 0, 1)], types.TIMESTAMP) == [struct.pack("!q", 10**6)]
    ts = dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    assert enc([ts], types.TIMESTAMPTZ) == [struct.pack("!q", -10**6)]
    assert enc([dt.time(0, 0, 2)], types.TIME) == [struct.pack("!q", 2 * 10**6)]
    iv = pa.array([pa.MonthDayNano([14, 3, 5_000_000_000])], pa.month_day_nano_interval())
    seg, _ = encode_column(iv, types.INTERVAL, 1)
    assert seg.to_list() == [struct.pack("!qii", 5_000_000, 3, 14)]


def test_strings_bytea_uuid_jsonb():
    assert enc(["é", None, ""], types.TEXT) == ["é".encode(), None, b""]
    assert enc([b"\x00\x01"], types.BYTEA) == [b"\x00\x01"]
    u = uuid.uuid4()
    assert enc([u.bytes], types.UUID) == [u.bytes]
    assert enc(['{"a": 1}', None], types.JSONB) == [b'\x01{"a": 1}', None]


def test_array_binary_header_and_nulls():
    t = types.array_of(types.INT4)
    out = enc([[1, None], [], None], t)
    one = struct.pack("!iiIii", 1, 1, 23, 2, 1) + struct.pack("!ii", 4, 1) + struct.pack("!i", -1)
    assert out[0] == one
    assert out[1] == struct.pack("!iiI", 0, 0, 23)
    assert out[2] is None
    assert decode_binary(one, t) == [1, None]
    ttext = types.array_of(types.TEXT)
    assert decode_binary(enc([["a", "bc"]], ttext)[0], ttext) == ["a", "bc"]


@pytest.mark.parametrize("x", ["0", "1", "-1", "12345.678", "0.0001", "1e20", "-0.5",
                               "123.4500", "99999999.99999999"])
def test_numeric_binary_round_trip(x):
    assert decode_numeric(encode_numeric(Decimal(x))) == Decimal(x)


def test_numeric_binary_matches_postgres():
    # SELECT 12345.678::numeric in binary from PostgreSQL 15
    assert encode_numeric(Decimal("12345.678")).hex() == "0003000100000003000109291a7c"


def test_text_output_fast_paths():
    assert enc([1, None, 30], types.INT4, fmt=0) == [b"1", None, b"30"]
    assert enc([True, False], types.BOOL, fmt=0) == [b"t", b"f"]


def test_param_decoding():
    assert decode_param(b"42", types.INT8, 0, 0) == 42
    assert decode_param(None, types.INT8, 0, 0) is None
    assert decode_param(struct.pack("!q", -7), types.INT8, 1, 0) == -7
    assert decode_param(b"\x01{}", types.JSONB, 1, 0) == "{}"
    assert decode_param(struct.pack("!q", 0), types.TIMESTAMPTZ, 1, 0) == \
        dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    u = uuid.uuid4()
    assert decode_param(u.bytes, types.UUID, 1, 0) == u


def test_data_rows_vectorised_matches_per_row_layout():
    n = 1000
    ids = pa.array(np.arange(n, dtype=np.int64))
    names = pa.array([None if i % 7 == 0 else "x" * (i % 5) for i in range(n)])
    out = data_rows(pa.record_batch([ids, names], names=["a", "b"]),
                    [types.INT8, types.TEXT], [1, 0])
    expect = b""
    for i in range(n):
        name = None if i % 7 == 0 else ("x" * (i % 5)).encode()
        body = struct.pack("!hiq", 2, 8, i)
        body += struct.pack("!i", -1) if name is None else struct.pack("!i", len(name)) + name
        expect += b"D" + struct.pack("!i", len(body) + 4) + body
    assert out == expect


def test_concat_rows_mixed_pieces():
    seg = binary_seg(pa.array(["ab", "", "c"]))
    out = concat_rows(3, [b"<", I32(np.array([1, 2, 3])), seg])
    assert out.to_list() == [b"<\0\0\0\1ab", b"<\0\0\0\2", b"<\0\0\0\3c"]


def test_scram_verifier_format():
    v = make_scram_verifier("pw", salt=b"s" * 16, iterations=4096)
    assert v.startswith("SCRAM-SHA-256$4096:") and v.count("$") == 2
    assert verify_password(v, "pw", "u") and not verify_password(v, "pX", "u")


def test_small_batch_path_matches_vectorised_path():
    import datetime as dt

    cols = [
        (pa.array([1, None, -3, 4, 5, 6, 7, 8, 9, 10], pa.int32()), types.INT4),
        (pa.array([0.5, None, 1e20, -0.0, 1234.5, 1e-5, 3.0, 2.5, 0.1, 7.0]), types.FLOAT8),
        (pa.array(["a", None, "", "é", "x", "y", "z", "w", "v", "u"]), types.TEXT),
        (pa.array([True, None, False] + [True] * 7), types.BOOL),
        (pa.array([dt.date(2020, 1, i + 1) for i in range(10)]), types.DATE),
        (pa.array([2**40, None, -1, 0, 5, 6, 7, 8, 9, -(2**62)], pa.int64()), types.INT8),
        (pa.array([1, None, -3, 4, 5, 6, 7, 8, 9, 32767], pa.int16()), types.INT2),
        (pa.array([0.5, None, 1e20, 1.5, 2.0, 3.0, -4.25, 5.0, 6.0, 7.0], pa.float32()), types.FLOAT4),
        (pa.array(["v", None, "", "ß", "x", "y", "z", "w", "v", "u"]), types.VARCHAR),
        (pa.array([1, None, 2**32 - 1, 4, 5, 6, 7, 8, 9, 10], pa.uint32()), types.OID),
        (pa.array(['{"a": 1}', None, "[]", "1", "2", "3", "4", "5", "6", "7"]), types.JSON),
    ]
    batch = pa.record_batch([a for a, _ in cols], names=[str(i) for i in range(len(cols))])
    ts = [t for _, t in cols]
    for fmt in (0, 1):
        fmts = [fmt] * len(cols)
        whole = data_rows(batch, ts, fmts)
        pieces = b"".join(data_rows(batch.slice(i, 1), ts, fmts) for i in range(10))
        assert pieces == whole


def test_vector_binary_and_extension_codec_hook():
    from dataclasses import replace

    vec = replace(types.FLOAT4, name="vector", oid=90001, short="vector",
                  arrow=pa.list_(pa.float32(), 3))
    seg, _ = encode_column(pa.array([[1, 2, 3]], pa.list_(pa.float32(), 3)), vec, 1)
    assert seg.to_list() == [struct.pack("!hh3f", 3, 0, 1, 2, 3)]
    assert list(decode_binary(struct.pack("!hh2f", 2, 0, 0.5, 1.5), vec)) == [0.5, 1.5]  # (numpy f32)

    class Codec:
        def format_binary(self, arr, t):
            return pa.array([b"<" + v.encode() + b">" for v in arr.to_pylist()], pa.binary())

        def parse_binary(self, raw, t):
            return raw.decode()[1:-1]

    ext = replace(types.TEXT, name="ext", oid=90002, short="ext", codec=Codec())
    seg, _ = encode_column(pa.array(["a", None]), ext, 1)
    assert seg.to_list() == [b"<a>", b""]
    assert decode_binary(b"<z>", ext) == "z"


def test_unconstrained_numeric_binary_uses_display_scale():
    seg, _ = encode_column(pa.array([Decimal("1.25"), Decimal("100"), Decimal("0")],
                                    types.NUMERIC.arrow), types.NUMERIC, 1)
    assert [decode_numeric(b) for b in seg.to_list()] == [Decimal("1.25"), Decimal("100"),
                                                          Decimal("0")]
    assert str(decode_numeric(seg.to_list()[0])) == "1.25"
    assert str(decode_numeric(seg.to_list()[1])) == "100"
    t = types.NUMERIC.with_typmod(types.numeric_typmod(6, 2))
    seg, _ = encode_column(pa.array([Decimal("1.50")], t.arrow), t, 1)
    assert str(decode_numeric(seg.to_list()[0])) == "1.50"
