"""Numeric text output with a per-value display scale (core/textio_numeric.py)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa

from sqlvec.core import types as T
from sqlvec.core.textio import format_text
from sqlvec.core.textio_numeric import DecimalDigits, format_decimal, trimmed_scale


def _dec(values, p=38, s=20):
    return pa.array([None if v is None else Decimal(v) for v in values], pa.decimal128(p, s))


def test_format_decimal_per_row_scale_pads_and_drops_digits():
    a = _dec(["0.0000000001", "0", "-0.00033333333333333333", "123.5", None, "-100"])
    out = format_decimal(a, np.array([10, 20, 20, 1, 3, 0])).to_pylist()
    assert out == ["0.0000000001", "0.00000000000000000000", "-0.00033333333333333333", "123.5", None,
                   "-100"]
    assert format_decimal(pa.array([Decimal(5), Decimal(-3)], pa.decimal128(5, 0)), np.array([0, 3])
                          ).to_pylist() == ["5", "-3.000"]


def test_format_decimal_decimal256_and_sliced():
    a = pa.array([Decimal("1e-40"), Decimal("12345678901234567890.5")], pa.decimal256(76, 45))
    assert format_decimal(a, 45).to_pylist() == [
        "0." + "0" * 39 + "1" + "0" * 5, "12345678901234567890.5" + "0" * 44]
    assert format_decimal(_dec(["1.5", "2.25", "3"]).slice(1), 2).to_pylist() == ["2.25", "3.00"]


def test_trimmed_scale_and_digits():
    a = _dec(["1.50", "2", "0", None, "-0.001", "1000"])
    assert trimmed_scale(a).tolist() == [1, 0, 0, 0, 3, 0]
    d = DecimalDigits.of(a)
    assert d.exponent().tolist() == [0, 0, 0, 0, -3, 3]
    assert d.leading(np.array([2, 1, 1, 0, 1, 4])).tolist() == [15, 2, 0, 0, 1, 1000]


def test_small_values_print_without_exponent():
    """Arrow's decimal-to-string switches to '1.2E-7' below 1e-6; PostgreSQL never does."""
    fixed = T.SqlType(**{**T.NUMERIC.__dict__, "arrow": pa.decimal128(20, 10)})
    assert format_text(pa.array([Decimal("-0.00000012"), Decimal("0.5")], pa.decimal128(20, 10)),
                       fixed).to_pylist() == ["-0.0000001200", "0.5000000000"]
    storage = pa.array([Decimal("0.000000000001"), Decimal("1.5"), Decimal(0)], T.NUMERIC.arrow)
    assert format_text(storage, T.NUMERIC).to_pylist() == ["0.000000000001", "1.5", "0"]


def test_fast_text_matches_digit_by_digit():
    """format_decimal cuts Arrow's text per row; _format_digits writes every digit itself:
    the same strings for zeros, tiny values, padding, NULLs, negative and sliced arrays."""
    from decimal import localcontext

    from sqlvec.core.textio_numeric import _format_digits

    rng = np.random.default_rng(3)
    for trial in range(150):
        s = int(rng.integers(0, 30))
        n = int(rng.integers(1, 40))
        ds = rng.integers(0, s + 3, n)
        vals = []
        for i in range(n):
            r = rng.random()
            if r < 0.2:
                vals.append(None if r < 0.1 else Decimal(0))
                continue
            v = Decimal(int(rng.integers(-10**6, 10**6))).scaleb(int(rng.integers(-s - 2, max(-s - 1, 30 - s))))
            with localcontext() as c:
                c.prec = 80
                vals.append(v.quantize(Decimal(1).scaleb(-min(int(ds[i]), s))))
        a = pa.array(vals, pa.decimal128(38, s))
        if trial % 3 == 0 and n > 2:
            a, ds = a.slice(1), ds[1:]
        assert format_decimal(a, ds).to_pylist() == _format_digits(a, ds).to_pylist()
