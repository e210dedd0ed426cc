"""Fast paths of every execution's messages agree with the general ones: Describe's decoding,
and a Bind's binary vector parameter (the ANN query's) decoded by its slot's decoder."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from sqlvec.core.errors import ProtocolViolation, SqlError
from sqlvec.functions.vectors.textio import HALFVEC, INT8VEC, SPARSEVEC, VECTOR
from sqlvec.wire import messages as m
from sqlvec.wire.codecs import decode_param, param_decoder
from tests.wire import pgclient as c


def _decode(raw: bytes):
    d = m.Decoder()
    d.start_regular()
    d.feed(raw)
    return d.next()


@pytest.mark.parametrize("raw", [c.describe("P"), c.describe("S"), c.describe("P", "cur"),
                                 c.describe("S", "_pg3_0"), c.describe("S", "sé")])
def test_describe_fast_path_equals_the_general_reader(raw):
    got = _decode(raw)
    assert type(got) is m.Describe
    assert got == m.Decoder()._decode("D", raw[5:])


@pytest.mark.parametrize("raw", [c.describe("P", "cur"), c.describe("S")])
def test_truncated_or_padded_describe_is_08p01_or_what_the_reader_accepts(raw):
    body = raw[5:]
    for cut in range(len(body) + 1):
        for bad in (body[:cut], body[:cut] + b"\x00" + body[cut:], body[:cut] + b"x"):
            try:
                msg = _decode(raw[:1] + (len(bad) + 4).to_bytes(4, "big") + bad)
            except ProtocolViolation as e:
                with pytest.raises(ProtocolViolation) as general:
                    m.Decoder()._decode("D", bad)
                assert str(general.value) == str(e)
                continue
            assert msg == m.Decoder()._decode("D", bad)


def test_describe_of_another_subtype_or_bad_utf8():
    with pytest.raises(ProtocolViolation, match="invalid Describe message subtype 88"):
        _decode(c.msg(b"D", b"Xname\x00"))
    got = _decode(c.msg(b"D", b"S\xff\xfe\x00"))
    assert type(got) is m.Invalid and got.error.sqlstate == "22021"


def _vec(values, dim=None, dtype=">f4"):
    values = np.asarray(values, dtype=dtype)
    return struct.pack("!hh", len(values) if dim is None else dim, 0) + values.tobytes()


VECTORS = [
    _vec([0.5, -1.25, 3.0]), _vec(np.arange(128) / 7), _vec([]), _vec([1.0, np.nan]),
    _vec([np.inf, 0.0]), _vec([1.0, 2.0], dim=3), _vec([1.0, 2.0], dim=1), b"\x00",
    b"", _vec([3e38, -3e38]), None,
]


def _outcome(fn, raw):
    try:
        value = fn(raw)
    except SqlError as e:
        return ("error", type(e).__name__, e.sqlstate, str(e))
    return ("value", None if value is None else np.asarray(value).tolist(),
            getattr(value, "dtype", None))


@pytest.mark.parametrize("raw", VECTORS, ids=range(len(VECTORS)))
@pytest.mark.parametrize("t", [VECTOR, HALFVEC, INT8VEC], ids=lambda t: t.short)
def test_binary_vector_parameter_decoder_equals_decode_param(t, raw):
    if raw is not None and t.short != "vector" and raw[:2] != b"\x00" and len(raw) > 4:
        dim = struct.unpack_from("!h", raw)[0]  # the same values in the type's own width
        vals = np.frombuffer(raw, ">f4", offset=4)
        with np.errstate(all="ignore"):  # (inf/NaN/huge values cast as they may)
            vals = vals.astype(">f2" if t.short == "halfvec" else ">i1")
        raw = struct.pack("!hh", dim, 0) + vals.tobytes()
    fast = param_decoder(t, 1, 2)
    assert fast.__name__ == "binary_vector"
    assert _outcome(fast, raw) == _outcome(lambda r: decode_param(r, t, 1, 2), raw)


def test_a_vector_parameter_is_float32_numpy_and_bad_ones_get_pgvectors_errors():
    value = param_decoder(VECTOR, 1, 0)(_vec([1.0, 2.0]))
    assert isinstance(value, np.ndarray) and value.dtype == np.float32
    assert value.tolist() == [1.0, 2.0]
    # as PostgreSQL + pgvector 0.6.2: vector_recv's 22000, pq_getmsg*'s 08P01, then 22P03
    for raw, state in ((_vec([1.0, np.nan]), "22000"), (_vec([1.0], dim=2), "08P01"),
                       (b"\x00", "08P01"), (_vec([1.0, 2.0], dim=1), "22P03")):
        with pytest.raises(SqlError) as e:
            param_decoder(VECTOR, 1, 0)(raw)
        assert e.value.sqlstate == state


def test_sparse_vector_parameter_equals_decode_param():
    raw = struct.pack("!iii", 5, 2, 0) + struct.pack("!2i", 1, 3) + struct.pack("!2f", 0.5, 2)
    bad = struct.pack("!iii", 5, 2, 0) + struct.pack("!2i", 3, 1) + struct.pack("!2f", 0.5, 2)
    for r in (raw, bad, b"\x00\x01"):
        assert _outcome(param_decoder(SPARSEVEC, 1, 0), r) == \
            _outcome(lambda x: decode_param(x, SPARSEVEC, 1, 0), r)
