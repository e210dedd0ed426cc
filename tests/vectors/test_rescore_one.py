"""index.exact.rescore_one (the one-query re-scoring of the compiled ANN path) gives
rescore's numbers bit for bit: l2, ip and cos, any dimension and scale, zero vectors (cos:
NaN, no warning), a candidate parallel to the query (similarity clamped to 1)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sqlvec.index.exact import rescore, rescore_one


def _cases(seed: int, zero_query: bool = True):
    """300 (query, candidates) pairs: any dimension and scale, a zero candidate, one parallel
    to the query (cos clamped to 1), now and then a zero query."""
    rng = np.random.default_rng(seed)
    for trial in range(300):
        d, c = int(rng.integers(1, 400)), int(rng.integers(1, 40))
        scale = float(rng.choice([1e-3, 1.0, 1e3]))
        q = (rng.standard_normal(d) * scale).astype(np.float32)
        x = (rng.standard_normal((c, d)) * scale).astype(np.float32)
        if trial % 10 == 0:
            x[0] = 0
        if trial % 15 == 0:
            x[-1] = q * 3
        if zero_query and trial % 37 == 0:
            q[:] = 0
        yield q, x


@pytest.mark.parametrize("metric", ["l2", "ip", "cos"])
def test_rescore_one_is_rescore_of_one_query(metric):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (a zero vector's 0/0 is silenced, as rescore does)
        for q, x in _cases(7):
            want = rescore(q[None], x[None], metric)[0]
            assert np.array_equal(rescore_one(q, x, metric), want, equal_nan=True)


@pytest.mark.parametrize("metric,kernel", [("l2", "l2"), ("ip", "neg_inner"), ("cos", "cosine")])
def test_rescore_is_the_operators_kernel(metric, kernel):
    """The SQL operator's kernel (functions/vectors/ops: `<->`, `<#>`, `<=>` over a column
    and a query) gives rescore's numbers bit for bit, so a graph that re-scores on float32
    vectors returns the operator's distances and nothing computes them again
    (HnswIndex.exact_for, the ANN paths' exact_d)."""
    from sqlvec.functions.vectors import ops

    fn = getattr(ops, kernel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (ops' zero-vector 0/0 warnings are its own business)
        for q, x in _cases(11, zero_query=False):
            want = rescore(q[None], x[None], metric)[0]
            assert np.array_equal(fn(x, q), want, equal_nan=True)
            assert np.array_equal(rescore_one(q, x, metric), fn(x, q), equal_nan=True)
