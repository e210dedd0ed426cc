"""wire.vector_codecs.decode of a binary `vector` Bind parameter: the direct way taken by a
well-formed one gives what the checking way gives, and every malformed one still gets
pgvector's checks (the direct way only takes a finite vector of the right length)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from sqlvec.core.errors import DataException
from sqlvec.wire import vector_codecs as V


def _raw(values, dim: int | None = None, unused: int = 0) -> bytes:
    vals = np.asarray(values, ">f4")
    return struct.pack("!hh", len(vals) if dim is None else dim, unused) + vals.tobytes()


def test_well_formed_vectors_decode_to_float32_values():
    rng = np.random.default_rng(3)
    for dim in (1, 3, 128, 2000):
        v = rng.standard_normal(dim).astype(np.float32)
        got = V.decode(_raw(v), "vector")
        assert got.dtype == np.float32 and got.flags.c_contiguous
        np.testing.assert_array_equal(got, v)


def test_largest_finite_values_are_accepted_not_taken_for_infinity():
    big = np.float32(np.finfo(np.float32).max)
    got = V.decode(_raw([big, big, -big, 1.0]), "vector")
    np.testing.assert_array_equal(got, np.array([big, big, -big, 1.0], np.float32))


@pytest.mark.parametrize("values, word", [
    ([1.0, float("nan"), 2.0], "NaN not allowed in vector"),
    ([float("inf"), 1.0], "infinite value not allowed in vector"),
    ([float("inf"), float("-inf")], "infinite value not allowed in vector"),
])
def test_non_finite_elements_are_pgvectors_22000(values, word):
    with pytest.raises(DataException, match=word):
        V.decode(_raw(values), "vector")


def test_malformed_headers_and_lengths_take_the_checking_way():
    with pytest.raises(DataException, match="expected unused to be 0, not 2"):
        V.decode(_raw([1.0], unused=2), "vector")
    with pytest.raises(ValueError):  # bytes left over: the caller's 22P03
        V.decode(_raw([1.0, 2.0], dim=1), "vector")
    with pytest.raises(DataException, match="at least 1 dimension"):
        V.decode(struct.pack("!hh", 0, 0), "vector")
