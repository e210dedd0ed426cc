"""The numpy path for a few float4[]/float8[] literals (a Bind parameter) gives the general
element parser's values and errors, bit for bit."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sqlvec.core import textio_arrays as TA
from sqlvec.core import types as T
from sqlvec.core.errors import SqlError
from sqlvec.core.textio import parse_text

CASES = ["{1.5, 2,3}", " {\t-0 ,+.5e3\n} ", "{1e-50,3.4028235e38}", "{1e39}", "{1e400}", "{1,NULL}",
         "{inf}", "{1.}", "{.5}", "{00012.5000}", "{3.4028234e38}", "{1e5x}"]


def _both(monkeypatch, a, t):
    def run():
        try:
            return TA.parse_arrays(a, t, parse_text)
        except SqlError as e:
            return (e.sqlstate, str(e))
    fast = run()
    with monkeypatch.context() as m:
        m.setattr(TA, "_small_floats", lambda *_: None)
        slow = run()
    return fast, slow


@pytest.mark.parametrize("t", [T.array_of(T.FLOAT4), T.array_of(T.FLOAT8)])
def test_small_float_literals_same_as_general(monkeypatch, t):
    for c in CASES:
        fast, slow = _both(monkeypatch, pa.array([c]), t)
        assert (fast.equals(slow) if isinstance(fast, pa.Array) else fast == slow), c
    rng = np.random.default_rng(1)
    x = rng.standard_normal(512) * 10.0 ** rng.integers(-30, 30, 512)
    lits = ["{" + ",".join(repr(float(v)) for v in x[i:i + 128]) + "}" for i in range(0, 512, 128)]
    a = pa.array([lits[0], None, *lits[1:]])
    assert TA._small_floats(a.to_pylist(), t.element) is not None
    fast, slow = _both(monkeypatch, a, t)
    assert fast.equals(slow) and fast.type == t.arrow and fast.null_count == 1


def test_out_of_range_still_22003(monkeypatch):
    fast, slow = _both(monkeypatch, pa.array(["{1,1e39}"]), T.array_of(T.FLOAT4))
    assert fast == slow and fast[0] == "22003"
