"""index.base.kth_smallest: each row's k-th smallest value, as np.partition gives it."""

from __future__ import annotations

import numpy as np
import pytest

from sqlvec.index.base import kth_smallest


@pytest.mark.parametrize("kind", ["normal", "ties", "mostly inf", "nan", "all equal", "sorted"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_partition(kind, dtype):
    """Long and short rows, 1-D and 2-D, k from 1 to 40: the value np.partition picks,
    NaN included (a row whose NaN leave fewer than k finite group minima)."""
    rng = np.random.default_rng(len(kind))
    for n in (5, 300, 3000, 19000):
        for k in (1, 2, 10, 20, 40):
            if k > n:
                continue
            d = rng.standard_normal((3, n)).astype(dtype)
            if kind == "ties":
                d = np.round(d, 1)
            elif kind == "mostly inf":
                d[:, rng.random(n) < 0.95] = np.inf
            elif kind == "nan":
                d[:, rng.random(n) < (0.5 if n < 3000 else 0.999)] = np.nan
            elif kind == "all equal":
                d[:] = 0.5
            elif kind == "sorted":
                d = np.sort(d, axis=1)
            want = np.partition(d, k - 1, axis=-1)[..., k - 1]
            assert np.array_equal(kth_smallest(d, k), want, equal_nan=True), (n, k)
            one = kth_smallest(d[1], k)
            assert one == want[1] or (np.isnan(one) and np.isnan(want[1])), (n, k)
