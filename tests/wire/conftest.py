"""Fixtures shared by the wire tests."""

from __future__ import annotations

import pytest

from sqlvec.wire import inline


@pytest.fixture
def lifted_inline_limits(monkeypatch):
    """Measured time decides what runs inline, and on a loaded machine a trivial run can take
    milliseconds (a pipeline of three then outran the 2 ms budget in a full-suite run): the
    limits are 1000x the server's, in the same ratios, so only the tests' own clocks
    (monkeypatched) make a run slow or end a budget, and only statements never measured
    are slow."""
    monkeypatch.setattr(inline, "CPU_LIMIT_NS", inline.CPU_LIMIT_NS * 1000)
    monkeypatch.setattr(inline, "WALL_LIMIT_NS", inline.WALL_LIMIT_NS * 1000)
    monkeypatch.setattr("sqlvec.wire.protocol.INLINE_BUDGET_NS", inline.INLINE_BUDGET_NS * 1000)
