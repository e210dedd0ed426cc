"""DataRows of fixed-width columns (wire/fixed_rows.py) are byte for byte those of the
general segment path, for every fixed type and format, row counts and NULL patterns."""

from __future__ import annotations

import struct

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core import types
from sqlvec.wire.fixed_rows import fixed_rows
from sqlvec.wire.rows import _small_rows, data_rows, segment_rows

RNG = np.random.default_rng(7)

# (SqlType, format, Arrow type, value maker)
FIXED = [
    (types.INT2, 1, pa.int16(), lambda n: RNG.integers(-32768, 32767, n)),
    (types.INT4, 1, pa.int32(), lambda n: RNG.integers(-2**31, 2**31 - 1, n)),
    (types.INT8, 1, pa.int64(), lambda n: RNG.integers(-2**63, 2**63 - 1, n)),
    (types.OID, 1, pa.uint32(), lambda n: RNG.integers(0, 2**32 - 1, n)),
    (types.REGCLASS, 1, pa.uint32(), lambda n: RNG.integers(0, 2**32 - 1, n)),
    (types.FLOAT4, 1, pa.float32(), lambda n: RNG.standard_normal(n) * 1e6),
    (types.FLOAT8, 1, pa.float64(), lambda n: RNG.standard_normal(n) * 1e-3),
    (types.BOOL, 1, pa.bool_(), lambda n: RNG.integers(0, 2, n).astype(bool)),
    (types.BOOL, 0, pa.bool_(), lambda n: RNG.integers(0, 2, n).astype(bool)),
]
VARIABLE = [
    (types.INT4, 0, pa.int32(), lambda n: RNG.integers(-10**6, 10**6, n)),
    (types.TEXT, 0, pa.string(), lambda n: [f"v{i}" * (i % 3) for i in range(n)]),
    (types.FLOAT8, 0, pa.float64(), lambda n: RNG.standard_normal(n)),
]


def _batch(spec, n, nulls=None):
    arrays = []
    for i, (_, _, at, make) in enumerate(spec):
        values = make(n)
        mask = None if nulls is None or i not in nulls else nulls[i]
        arrays.append(pa.array(values, at, mask=mask))
    return pa.record_batch(arrays, names=[f"c{i}" for i in range(len(spec))])


def _reference(batch, col_types, formats):
    """DataRows built value by value with struct (independent of both paths)."""
    packs = {"int2": "!h", "int4": "!i", "int8": "!q", "oid": "!I", "regclass": "!I",
             "float4": "!f", "float8": "!d"}
    out = []
    for row in range(batch.num_rows):
        body = struct.pack("!h", batch.num_columns)
        for arr, t, fmt in zip(batch.columns, col_types, formats):
            v = arr[row].as_py()
            if v is None:
                body += b"\xff\xff\xff\xff"
                continue
            if t.short == "bool":
                b = (b"\x01" if v else b"\x00") if fmt == 1 else (b"t" if v else b"f")
            else:
                b = struct.pack(packs[t.short], v)
            body += struct.pack("!i", len(b)) + b
        out.append(b"D" + struct.pack("!i", len(body) + 4) + body)
    return b"".join(out)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 10, 100, 1000])
@pytest.mark.parametrize("spec", [[c] for c in FIXED] + [FIXED, FIXED[::-1]],
                         ids=[f"{c[0].short}/{c[1]}" for c in FIXED] + ["all", "reversed"])
def test_fixed_columns_match_general_path(spec, n):
    batch = _batch(spec, n)
    col_types, formats = [c[0] for c in spec], [c[1] for c in spec]
    fixed = fixed_rows(batch, col_types, formats)
    assert fixed is not None
    assert fixed == segment_rows(batch, col_types, formats) == _reference(batch, col_types,
                                                                          formats)
    assert data_rows(batch, col_types, formats) == fixed
    if n < 8:
        assert _small_rows(batch, col_types, formats, "UTC") == fixed


@pytest.mark.parametrize("n", [1, 3, 10, 50])
@pytest.mark.parametrize("pattern", ["first", "last", "all", "alternate"])
def test_nulls_fall_back_and_match(n, pattern):
    spec = FIXED
    masks = {"first": np.arange(n) == 0, "last": np.arange(n) == n - 1,
             "all": np.ones(n, bool), "alternate": np.arange(n) % 2 == 1}
    nulls = {i: masks[pattern] for i in range(0, len(spec), 2)}  # every other column
    batch = _batch(spec, n, nulls)
    col_types, formats = [c[0] for c in spec], [c[1] for c in spec]
    if masks[pattern].any():
        assert fixed_rows(batch, col_types, formats) is None
    expected = _reference(batch, col_types, formats)
    assert segment_rows(batch, col_types, formats) == expected
    assert data_rows(batch, col_types, formats) == expected


@pytest.mark.parametrize("n", [2, 10, 100])
@pytest.mark.parametrize("var", VARIABLE, ids=[f"{c[0].short}/{c[1]}" for c in VARIABLE])
def test_a_variable_width_column_takes_the_general_path(var, n):
    spec = [FIXED[1], var, FIXED[6]]
    batch = _batch(spec, n)
    col_types, formats = [c[0] for c in spec], [c[1] for c in spec]
    assert fixed_rows(batch, col_types, formats) is None
    assert data_rows(batch, col_types, formats) == segment_rows(batch, col_types, formats)


def test_storage_of_another_width_is_cast_as_the_general_path_does():
    # an int4 column held as int64, a float4 one as float64, a sliced batch
    batch = pa.record_batch([pa.array([1, -2, 3, 2**31 - 1], pa.int64()),
                             pa.array([0.5, 1e10, -3.25, 0.1], pa.float64())],
                            names=["a", "b"]).slice(1, 3)
    col_types, formats = [types.INT4, types.FLOAT4], [1, 1]
    assert fixed_rows(batch, col_types, formats) == segment_rows(batch, col_types, formats)


def test_mismatched_storage_kind_falls_back():
    batch = pa.record_batch([pa.array([1.5, 2.5])], names=["a"])  # float storage, int4 type
    assert fixed_rows(batch, [types.INT4], [1]) is None


def _mixed(n):
    import datetime as dt
    from decimal import Decimal

    rng = np.random.default_rng(n)
    nulls = rng.random(n) < 0.2

    def arr(values, at=None):
        return pa.array([None if z else v for v, z in zip(values, nulls)], at)

    cols = [
        (arr(range(n), pa.int32()), types.INT4),
        (arr([x * 0.37 - 3 for x in range(n)]), types.FLOAT8),
        (arr([1e20, 1e-7, -0.0, 5.5][i % 4] for i in range(n)), types.FLOAT8),
        (arr([f"v{i}é" * (i % 3) for i in range(n)]), types.TEXT),
        (arr([i % 3 == 0 for i in range(n)]), types.BOOL),
        (arr([dt.date(2020, 1, 1 + i % 28) for i in range(n)]), types.DATE),
        (arr([dt.datetime(2021, 5, 1, i % 24, tzinfo=dt.UTC) for i in range(n)],
             pa.timestamp("us", tz="UTC")), types.TIMESTAMPTZ),
        (arr([Decimal(i) / 8 for i in range(n)], types.NUMERIC.arrow), types.NUMERIC),
        (arr([bytes([i % 256]) * (i % 4) for i in range(n)]), types.BYTEA),
        (arr([2**40 + i for i in range(n)], pa.int64()), types.INT8),
        (arr([[i, None, -i][: i % 4] for i in range(n)], pa.list_(pa.int32())),
         types.array_of(types.INT4)),
    ]
    batch = pa.record_batch([a for a, _ in cols], names=[str(i) for i in range(len(cols))])
    return batch, [t for _, t in cols]


@pytest.mark.parametrize("n", [1, 2, 9, 10, 31, 32, 40])
@pytest.mark.parametrize("fmt", [0, 1])
def test_small_path_matches_segment_path(n, fmt):
    """The value-by-value path (below SMALL_BATCH rows) and the segment path agree for many
    types with NULLs, in both formats; whatever the size, data_rows is the same bytes."""
    batch, ts = _mixed(n)
    fmts = [fmt] * len(ts)
    whole = segment_rows(batch, ts, fmts)
    assert _small_rows(batch, ts, fmts, "UTC") == whole
    assert data_rows(batch, ts, fmts) == whole
    assert b"".join(data_rows(batch.slice(i, 1), ts, fmts) for i in range(n)) == whole
