"""PostgreSQL's per-value display scale of numeric results (functions/numeric_scale.py).

Expected strings are PostgreSQL 15's output of the same expression."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

from sqlvec.core import types as T
from sqlvec.core.errors import DivisionByZero, InvalidArgumentForLogarithm
from sqlvec.functions.numeric_scale import SCALED_OPS, Scaled, divide, from_text


def _num(*values):
    """An unconstrained numeric column (storage form: display trims trailing zeros)."""
    return Scaled.of(pa.array([None if v is None else Decimal(v) for v in values], T.NUMERIC.arrow))


def _fixed(values, p, s):
    return Scaled.of(pa.array([None if v is None else Decimal(v) for v in values], pa.decimal128(p, s)))


def test_divide_select_div_scale_per_row():
    n = _num("1", "1000000", "0.001", "-7", "0", None, "3.31", "33.1")
    three = Scaled.of(pa.array([3] * 8, pa.int32()))
    assert divide([n, three]).text().to_pylist() == [
        "0.33333333333333333333", "333333.333333333333", "0.00033333333333333333",
        "-2.3333333333333333", "0.00000000000000000000", None, "1.10333333333333333333",
        "11.0333333333333333"]


def test_divide_keeps_input_dscale_and_mixed_magnitudes():
    m = _fixed(["10000.50", "-0.01", "999999.99"], 8, 2)
    seven = Scaled.of(pa.array([7, 7, 7], pa.int64()))
    assert divide([m, seven]).text().to_pylist() == [
        "1428.6428571428571429", "-0.00142857142857142857", "142857.141428571429"]
    a = _num("1234567890123456789012.5", "0.0000000000001")
    b = _num("0.000000007", "99999999999999")
    assert divide([a, b]).text().to_pylist() == [
        "176366841446208112716071428571.428571429",
        "0.00000000000000000000000000100000000000001000"]


def test_divide_by_zero():
    with pytest.raises(DivisionByZero):
        divide([_num("1", "2"), _num("1", "0")])
    assert divide([_num(None, "2"), _num("0", "1")]).text().to_pylist() == [None, "2.0000000000000000"]


def test_multiply_adds_scales_add_keeps_larger():
    n, m = _num("1", "33.1", "-0.001"), _fixed(["1.00", "3.31", "-0.01"], 8, 2)
    assert SCALED_OPS["*", 2]([n, m]).text().to_pylist() == ["1.00", "109.561", "0.00001"]
    assert SCALED_OPS["+", 2]([n, m]).text().to_pylist() == ["2.00", "36.41", "-0.011"]
    assert SCALED_OPS["-", 1]([n]).text().to_pylist() == ["-1", "-33.1", "0.001"]


def test_transcendental_scales():
    x = _num("2", "0", "0.0001", None, "10000000000")
    assert SCALED_OPS["sqrt", 1]([x]).text().to_pylist() == [
        "1.414213562373095", "0.000000000000000", "0.01000000000000000", None, "100000.00000000000"]
    assert SCALED_OPS["log", 1]([_num("1000000", "0.001")]).text().to_pylist() == [
        "6.000000000000000", "-3.0000000000000000"]
    assert SCALED_OPS["power", 2]([_fixed(["0.01", "3.31"], 8, 2), _fixed(["2", "3.31"], 8, 2)]
                                  ).text().to_pylist() == ["0.0001000000000000", "52.557011139756965"]
    with pytest.raises(InvalidArgumentForLogarithm):
        SCALED_OPS["ln", 1]([_num("0")])


def test_from_text_round_trip():
    s = from_text(pa.array(["1.50", "-0.001", None, "7"]))
    assert s.dscale.tolist() == [2, 3, 0, 0]
    assert s.text().to_pylist() == ["1.50", "-0.001", None, "7"]


def test_null_divisor_gives_null():
    """A NULL divisor is not a zero: the quotient is NULL (not the dividend over 1)."""
    q = divide([_num("1.5", "3.25", None), _num(None, "5", "2")])
    assert q.text().to_pylist() == [None, "0.65000000000000000000", None]


def test_vectorised_sqrt_equals_the_exact_path():
    """sqrt's Newton step + exact check gives sqrt_var's digits and scale for every value
    (exact squares, tiny, 30-digit and wide-scale values); negatives are still 2201F."""
    import numpy as np

    from sqlvec.core.errors import InvalidArgumentForPowerFunction
    from sqlvec.functions.numeric_scale import _sqrt_exact, _sqrt_op

    rng = np.random.default_rng(3)
    texts = []
    for _ in range(2000):
        ds = "".join(str(x) for x in rng.integers(0, 10, int(rng.integers(1, 30))))
        texts.append(format(Decimal(int(ds)).scaleb(-int(rng.integers(0, 40))), "f"))
    texts += ["0", "0.00", "1", "2.25", "0.01", "0.000000000000000000000000000001",
              "99999999999999999999999999999999.5", None]
    s = from_text(pa.array(texts, pa.string()))
    assert _sqrt_op([s]).text().to_pylist() == _sqrt_exact([s]).text().to_pylist()
    with pytest.raises(InvalidArgumentForPowerFunction):
        _sqrt_op([from_text(pa.array(["4", "-1"]))])
